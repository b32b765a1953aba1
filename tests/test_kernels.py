"""The compiled rate kernel against the plain numpy reference, and its invariances."""

import numpy as np
import pytest

from evoplast.kernels import rate


def problem(K=6, D=3, S=40, N=5, scale=0.005, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((D, S, N)) * 0.7
    W0 = rng.standard_normal((D, N)) * 0.2
    A = rng.standard_normal((K, 3, 3, 3)) * scale
    A[0] = 0.0
    A[0, 1, 1, 0], A[0, 0, 2, 1] = 0.05, -0.05  # Oja
    return A, X, W0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compiled_kernel_matches_numpy_reference(seed):
    A, X, W0 = problem(seed=seed)
    W1, s1 = rate.simulate(A, X, W0, 3)
    W2, s2 = rate.simulate_numpy(A, X, W0, 3)
    np.testing.assert_array_equal(s1, s2)
    ok = s1 == rate.OK
    assert ok.sum() >= 6
    np.testing.assert_allclose(W1[ok], W2[ok], rtol=1e-9, atol=1e-12)


def test_general_kernel_matches_for_higher_powers():
    rng = np.random.default_rng(5)
    A, X, W0 = problem()
    A4 = np.zeros((A.shape[0], 4, 3, 2))
    A4[:, :3, :3, :2] = A[:, :, :, :2]
    A4[:, 3, 0, 0] = 0.01 * rng.standard_normal(A.shape[0])  # an x**3 term
    W1, s1 = rate.simulate(A4, X, W0, 2)
    W2, s2 = rate.simulate_numpy(A4, X, W0, 2)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_allclose(W1[s1 == 0], W2[s1 == 0], rtol=1e-9, atol=1e-12)


def test_lower_powers_are_padded_into_fast_layout():
    A, X, W0 = problem()
    A2 = A[:, :2, :2, :2].copy()
    W1, _ = rate.simulate(A2, X, W0, 2)
    A3 = np.zeros_like(A)
    A3[:, :2, :2, :2] = A2
    W2, _ = rate.simulate(A3, X, W0, 2)
    np.testing.assert_array_equal(W1, W2)


def test_result_of_a_candidate_does_not_depend_on_its_batch():
    """Same bits whatever the candidate's position and the batch size (n_jobs independence)."""
    A, X, W0 = problem(K=9)
    W_all, s_all = rate.simulate(A, X, W0, 3)
    for k in range(A.shape[0]):
        W_one, s_one = rate.simulate(A[k:k + 1], X, W0, 3)
        assert W_one.tobytes() == W_all[k:k + 1].tobytes()
        assert s_one.tobytes() == s_all[k:k + 1].tobytes()
    W_rev, _ = rate.simulate(A[::-1].copy(), X, W0, 3)
    assert W_rev[::-1].tobytes() == W_all.tobytes()


def test_divergence_and_nan_get_a_status_not_an_exception():
    A, X, W0 = problem(K=3)
    A[1] = 0.0
    A[1, 1, 1, 0] = 1.0  # pure Hebb with a big rate: explodes
    A[2] = np.nan
    for sim in (rate.simulate, rate.simulate_numpy):
        W, status = sim(A, X, W0, 5)
        assert (status[0] == rate.OK).all()
        assert (status[1] == rate.DIVERGED).all()
        assert (status[2] == rate.NAN).all()
