"""Analytic facts of experiment 1 checked on the task's own simulator."""

import numpy as np
import pytest

from evoplast import PolynomialRule, load_config, make_task
from evoplast.errors import ConfigError
from evoplast.kernels import rate
from evoplast.seeding import trial_seeds
from evoplast.tasks.datasets import make_spectrum, sample_dataset
from evoplast.tasks.oja import PENALTY


def task_and_trials(*overrides, n=16):
    task = make_task(load_config("runs/oja.toml", list(overrides)))
    return task, task.make_trials(trial_seeds(0, 2, 0, n))


@pytest.mark.parametrize("dist", ["gaussian", "laplace", "uniform"])
def test_true_oja_rule_converges_to_unit_pc1(dist):
    task, trials = task_and_trials(f"task.input_distribution={dist}")
    m = task.metrics(task.known_rule().to_vector(), trials)
    assert m["n_ok"] == m["n_trials"]
    assert m["mean_one_minus_cos"] < 0.01
    assert abs(m["mean_norm"] - 1.0) < 0.02


def test_fixed_point_norm_follows_minus_a_over_b():
    """dw = a x y + b y^2 w converges to ||w||^2 = -a/b along PC1 (here a=1, b=-0.5: norm sqrt 2)."""
    task, trials = task_and_trials()
    rule = PolynomialRule.from_terms({"x*y": 1.0, "y**2*w": -0.5}, eta=task.rule_template.eta)
    W, status = task.simulate(rule.to_vector(), trials)
    assert (status == rate.OK).all()
    norms = np.linalg.norm(W[0], axis=1)
    np.testing.assert_allclose(norms.mean(), np.sqrt(2.0), rtol=0.02)
    loss, _ = task.evaluate(rule.to_vector(), trials)
    np.testing.assert_allclose(loss.mean(), (np.sqrt(2) - 1) ** 2, atol=0.02)


def test_loss_is_sign_invariant():
    task, trials = task_and_trials()
    W, _ = task.simulate(task.known_rule().to_vector(), trials)
    flipped = type(trials)(trials.X, -trials.W0, -trials.U1)
    loss1, _ = task.evaluate(task.known_rule().to_vector(), trials)
    loss2, _ = task.evaluate(task.known_rule().to_vector(), flipped)
    np.testing.assert_allclose(loss1, loss2, rtol=1e-10, atol=1e-14)


def test_divergent_and_nan_rules_get_status_and_finite_penalty():
    task, trials = task_and_trials(n=4)
    hebb = PolynomialRule.from_terms({"x*y": 50.0}).to_vector()
    nan = np.full(27, np.nan)
    loss, status = task.evaluate(np.stack([hebb, nan, task.known_rule().to_vector()]), trials)
    assert np.isfinite(loss).all()
    assert (status[0] == rate.DIVERGED).all() and (loss[0] == PENALTY).all()
    assert (status[1] == rate.NAN).all() and (loss[1] == PENALTY).all()
    assert (status[2] == rate.OK).all() and (loss[2] < 0.1).all()


def test_nothing_learned_scores_about_one():
    task, trials = task_and_trials()
    loss, status = task.evaluate(np.zeros(27), trials)
    assert (status == 0).all()
    np.testing.assert_allclose(loss.mean(), 1.0, atol=0.1)


@pytest.mark.parametrize("dist", ["gaussian", "laplace", "uniform"])
def test_dataset_covariance_matches_spectrum(dist):
    rng = np.random.default_rng(0)
    lam = make_spectrum(5)
    X, q = sample_dataset(200_000, lam, dist, rng)
    C = X.T @ X / len(X)
    np.testing.assert_allclose(q @ C @ q.T, np.diag(lam), atol=0.015)
    np.testing.assert_allclose(q @ q.T, np.eye(5), atol=1e-12)


def test_spectra():
    assert tuple(make_spectrum(3)) == (1.0, 0.5, 0.0)
    assert tuple(make_spectrum(5)) == (1.0, 0.7, 0.2, 0.1, 0.0)
    lam = make_spectrum(20)
    assert lam[0] - lam[1] == 0.5 and np.all(np.diff(lam) <= 0) and lam[-1] > 0
    assert lam.sum() < 2.7


def test_tail_spectrum_and_effective_dimension():
    """The "tail" family: lambda_1 = 1, lambda_k = level (k - 1)^-power; its effective dimension
    (sum l)^2 / sum l^2 grows with N (flat tail at 0.01: 3.9 at N = 100, 110 at N = 1000); bad
    parameters and tail parameters without the tail spectrum are refused."""
    from evoplast.tasks.datasets import effective_dimension

    lam = make_spectrum(6, "tail", 0.2, 1.0)
    np.testing.assert_allclose(lam, [1.0, 0.2, 0.1, 0.2 / 3, 0.05, 0.04])
    flat = make_spectrum(1000, "tail")
    assert flat[0] == 1.0 and (flat[1:] == 0.01).all()
    assert effective_dimension(flat) == pytest.approx(10.99 ** 2 / (1 + 999e-4))
    assert effective_dimension(flat) > 100 > effective_dimension(make_spectrum(100, "tail"))
    assert effective_dimension(np.ones(7)) == pytest.approx(7) and effective_dimension([2.0, 0.0]) == 1
    for bad in (["task.spectrum=\"tail\"", "task.tail_level=1.0"],
                ["task.spectrum=\"tail\"", "task.tail_power=-1"]):
        with pytest.raises(ConfigError, match="tail spectrum needs"):
            load_config("runs/oja.toml", bad)
    with pytest.raises(ConfigError, match="apply to spectrum = \"tail\" only"):
        load_config("runs/oja.toml", ["task.tail_level=0.1"])
    task = make_task(load_config("runs/oja.toml", ["task.n_inputs=300", "task.spectrum=\"tail\""]))
    assert task.theory(task.known_rule())["effective_dimension"] == pytest.approx(
        effective_dimension(make_spectrum(300, "tail")))


def test_sample_pc1_from_the_svd_equals_the_eigendecomposition():
    """N > samples: the sample PC1 and top eigenvalues come from the SVD of X; they equal
    eigh(X^T X)'s (up to sign and rounding)."""
    from evoplast.tasks.oja import _top_two

    X, _ = sample_dataset(40, make_spectrum(120, "tail", 0.05), "laplace", np.random.default_rng(3))
    vals, u1 = _top_two(X)
    ev, evec = np.linalg.eigh(X.T @ X)
    np.testing.assert_allclose(vals, ev[::-1][:2], rtol=1e-10)
    assert abs(u1 @ evec[:, -1]) == pytest.approx(1.0, abs=1e-12)
    small = X[:, :30]  # N <= samples: the eigendecomposition itself
    vals, u1 = _top_two(small)
    ev, evec = np.linalg.eigh(small.T @ small)
    assert (vals == ev[::-1][:2]).all() and (u1 == evec[:, -1]).all()


def test_datasets_keep_a_clear_sample_eigen_gap():
    """Heavy-tailed 100-sample datasets of the N=5 paper spectrum lose the gap in a few % of draws;
    those are redrawn, so every dataset has sample lambda_2 / lambda_1 <= task.max_gap_ratio, and
    Oja's rule itself then meets the held-out criterion on each."""
    seeds = trial_seeds(9, 3, 0, 64)
    kept = make_task(load_config("runs/oja.toml", ["task.input_distribution=laplace"]))
    every = make_task(load_config("runs/oja.toml", ["task.input_distribution=laplace",
                                                    "task.max_gap_ratio=1"]))

    def ratios(trials):
        vals = np.linalg.eigvalsh(np.einsum("dsi,dsj->dij", trials.X, trials.X))
        return vals[:, -2] / vals[:, -1]

    t_kept, t_every = kept.make_trials(seeds), every.make_trials(seeds)
    assert ratios(t_every).max() > 0.85  # the seeds include a nearly degenerate draw
    assert ratios(t_kept).max() <= 0.85
    m = kept.metrics(kept.known_rule().to_vector(), t_kept)
    assert m["max_one_minus_cos"] < 0.05
    assert every.metrics(every.known_rule().to_vector(), t_every)["max_one_minus_cos"] > 0.1
    with pytest.raises(ConfigError, match="max_gap_ratio"):
        make_task(load_config("runs/oja.toml", ["task.max_gap_ratio=0.01"])).make_trials(seeds[:1])


def test_rule_distance_is_the_same_in_every_process():
    """The distance sums over term names in a fixed order (a set's order follows the per-process
    string hash, and a different summation order changed the last digit between runs)."""
    import os
    import subprocess
    import sys

    code = ("from evoplast.theory import rule_distance; import numpy as np; "
            "c = {f't{k}': float(v) for k, v in enumerate(np.random.default_rng(0).normal(size=54))}; "
            "print(repr(rule_distance(c, {'t3': 1.0, 'x*y': -1.0})))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": str(h)}).stdout for h in range(6)}
    assert len(outs) == 1 and outs.pop().strip()


def test_heldout_datasets_are_not_filtered_and_rules_are_judged_against_oja():
    """The gap filter applies to the search's own datasets only: held-out datasets (stream
    STREAM_HELDOUT) are drawn as with max_gap_ratio = 1, hard draws included; a found rule's
    held-out alignment is compared with Oja's own rule on those same datasets."""
    from evoplast.seeding import STREAM_HELDOUT, STREAM_TRAIN

    task = make_task(load_config("runs/oja.toml", ["task.input_distribution=laplace"]))
    every = make_task(load_config("runs/oja.toml", ["task.input_distribution=laplace",
                                                    "task.max_gap_ratio=1"]))
    held = trial_seeds(9, STREAM_HELDOUT, 0, 64)
    np.testing.assert_array_equal(task.make_trials(held).X, every.make_trials(held).X)
    train = task.make_trials(trial_seeds(9, STREAM_TRAIN, 0, 64))
    vals = np.linalg.eigvalsh(np.einsum("dsi,dsj->dij", train.X, train.X))
    assert (vals[:, -2] / vals[:, -1]).max() <= 0.85
    trials = task.make_trials(held)
    oja = task.known_rule()
    th = task.theory(oja, trials)
    assert th["rediscovered"]
    assert th["heldout_rule_mean_one_minus_cos"] == th["heldout_oja_mean_one_minus_cos"]
    assert th["heldout_oja_mean_one_minus_cos"] > 0.01  # the unfiltered sets include hard draws
    half = PolynomialRule.from_terms({"x*y": 1.0, "y**2*w": -0.5}, eta=oja.eta)  # ||w||^2 = 2
    th2 = task.theory(half, trials)
    assert th2["is_oja"] is False and th2["rediscovered"] is False
    slow = PolynomialRule.from_terms({"x*y": 0.05, "y**2*w": -0.05}, eta=oja.eta)  # 20x too slow
    th3 = task.theory(slow, trials)
    assert th3["is_oja"] and not th3["heldout_vs_oja"]
