"""Haar rotations of the datasets: the blocked (compact WY) product equals one reflection at a time,
both dataset methods ("qr", "householder") draw Haar-distributed frames, and the tasks learn the
same on either."""

import numpy as np
import pytest

from evoplast import load_config, make_task
from evoplast.errors import ConfigError
from evoplast.seeding import trial_seeds
from evoplast.tasks.datasets import make_spectrum, random_rotation, sample_dataset
from evoplast.tasks.rotations import householder_draws, rotate_rows, rotate_rows_reference


@pytest.mark.parametrize("n", [2, 3, 7, 65, 130, 300])
@pytest.mark.parametrize("block", [1, 16, 64])
def test_blocked_product_equals_one_reflection_at_a_time(n, block):
    rng = np.random.default_rng(n)
    g, sign = householder_draws(n, rng)
    A = rng.standard_normal((20, n))
    B = A.copy()
    rotate_rows_reference(A, g, sign)
    rotate_rows(B, g, sign, block=block)
    np.testing.assert_allclose(B, A, rtol=0, atol=1e-12 * np.sqrt(n))


def test_rotation_is_orthogonal_and_its_rows_are_the_pcs():
    n = 50
    rng = np.random.default_rng(0)
    g, sign = householder_draws(n, rng)
    q = np.eye(n)
    rotate_rows(q, g, sign)
    np.testing.assert_allclose(q @ q.T, np.eye(n), atol=1e-13)
    s = rng.standard_normal((5, n))  # a sample s becomes U s: coordinates in the frame q's rows
    x = s.copy()
    rotate_rows(x, g, sign)
    np.testing.assert_allclose(x, s @ q, atol=1e-13)


def _haar_moments(draw, n, m=20000):
    """Means of tr U, (tr U)^2, tr U^2, det U, U_00^2, U_00^4 over m draws."""
    st = np.empty((m, 6))
    for i in range(m):
        U = draw()
        st[i] = (np.trace(U), np.trace(U) ** 2, np.trace(U @ U), np.linalg.det(U), U[0, 0] ** 2, U[0, 0] ** 4)
    return st.mean(axis=0)


@pytest.mark.parametrize("method", ["qr", "householder"])
@pytest.mark.parametrize("n", [3, 4])
def test_both_methods_draw_haar_rotations(method, n):
    """Haar on O(n): E tr U = 0, E (tr U)^2 = 1, E tr U^2 = 1, E det U = 0 (half the frames are
    reflections), E U_00^2 = 1/n, E U_00^4 = 3/(n(n+2)) (a uniform unit vector's coordinate).
    20000 draws: standard errors <= 0.01."""
    rng = np.random.default_rng(10 + n)

    def draw():
        if method == "qr":
            return random_rotation(n, rng)
        U = np.eye(n)
        rotate_rows(U, *householder_draws(n, rng))
        return U

    m = _haar_moments(draw, n)
    expected = np.array([0, 1, 1, 0, 1 / n, 3 / (n * (n + 2))])
    assert (np.abs(m - expected) <= [0.04, 0.05, 0.05, 0.03, 0.01, 0.01]).all(), (m, expected)


def test_haar_check_fails_without_the_random_sign():
    """The check above can fail: fixing U_1's sign to +1 draws from SO(n) only (det U = 1 always)."""
    rng = np.random.default_rng(0)

    def draw():
        U = np.eye(3)
        rotate_rows(U, householder_draws(3, rng)[0], 1.0)
        return U

    assert _haar_moments(draw, 3, m=500)[3] == pytest.approx(1.0)


@pytest.mark.parametrize("dist", ["gaussian", "laplace", "uniform"])
def test_householder_datasets_have_the_spectrum(dist):
    lam = make_spectrum(5)
    X, q = sample_dataset(200_000, lam, dist, np.random.default_rng(0), rotation="householder")
    C = X.T @ X / len(X)
    np.testing.assert_allclose(q @ C @ q.T, np.diag(lam), atol=0.015)
    assert sample_dataset(10, lam, dist, np.random.default_rng(0), "householder", with_pcs=False)[1] is None


def test_tasks_learn_alike_on_either_rotation():
    """Oja's rule on 64 datasets of each method, N = 100 tail spectrum: the same mean 1-|cos| and
    norm within their sampling error (the datasets differ, their distribution does not)."""
    out = {}
    for rotation in ("qr", "householder"):
        task = make_task(load_config("runs/oja.toml", ["task.n_inputs=100", "task.spectrum=\"tail\"",
                                                        "rule.eta=0.01", f"task.rotation=\"{rotation}\""]))
        trials = task.make_trials(trial_seeds(0, 2, 0, 64))
        out[rotation] = task.metrics(task.known_rule().to_vector(), trials)
    a, b = out["qr"], out["householder"]
    assert a["n_ok"] == b["n_ok"] == 64
    assert b["mean_one_minus_cos"] == pytest.approx(a["mean_one_minus_cos"], rel=0.25)
    assert b["mean_norm"] == pytest.approx(a["mean_norm"], abs=0.01)
    with pytest.raises(ConfigError, match="task.rotation must be one of"):
        load_config("runs/oja.toml", ["task.rotation=\"givens\""])
    with pytest.raises(ConfigError, match="task.rotation must be one of"):
        load_config("runs/pca.toml", ["task.rotation=\"givens\""])
