r"""Batched simulation of single linear rate neurons learning with a polynomial rule.

For every pair (candidate k, trial d) the neuron ``y = w . x`` sees the trial's samples
``X[d, s]`` in order, ``n_passes`` times, and after each sample applies

.. math::

    w_j \leftarrow w_j + \eta \sum_{abc} A_{abc}\, x_j^a\, y^b\, w_j^c .

Common random numbers: all candidates share the same trials (samples and initial weights).

Two implementations with the same semantics:

* :func:`simulate_numpy` -- the plain, batched numpy reference (any maximum power);
* :func:`simulate` -- the compiled kernel (numba), parallel over (block of 4 candidates, trial).
  Each candidate's arithmetic does not depend on its block or on threading, so results do not
  depend on how a generation is split across workers. For powers <= 2 it evaluates the rule in
  factored form (performance-notes technique 5):
  per step ``K_ac = sum_b A_abc y^b``; per synapse ``M_a = K_a0 + w (K_a1 + w K_a2)``,
  ``dw = M_0 + x (M_1 + x M_2)`` -- 22 flops per synapse-step including ``y = w . x``.

Divergence is an outcome, not an exception: a pair stops early with status ``DIVERGED`` when
``|y|`` or a weight exceeds ``bound``, and ``NAN`` when ``y`` is not a number.
"""

from __future__ import annotations

import numba
import numpy as np

from .poly import FASTMATH, apply_k, horner_k
from .status import DIVERGED, NAN, OK, names

STATUS_NAMES = names(OK, DIVERGED, NAN)
DEFAULT_BOUND = 1e6
BLOCK = 4  # candidates simulated together on one trial by the compiled kernel


def simulate_numpy(
    A: np.ndarray, X: np.ndarray, W0: np.ndarray, n_passes: int, bound: float = DEFAULT_BOUND
) -> tuple[np.ndarray, np.ndarray]:
    """Reference implementation: good batched numpy, all K x D runs advanced together per sample,
    the rule in the same factored (Horner) form as the compiled kernel:
    K_ac = sum_b A_abc y^b, M_a = sum_c K_ac w^c, dw = sum_a M_a x^a (array operations over
    (K, D, ...), no Python loop over candidates or terms).

    A: (K, Px+1, Py+1, Pw+1) coefficient tensors with eta folded in; X: (D, S, N) samples;
    W0: (D, N) initial weights. Returns (W (K, D, N), status (K, D) int8).
    """
    K, D = A.shape[0], X.shape[0]
    Pa, Pb, Pc = A.shape[1:]
    W = np.broadcast_to(W0, (K,) + W0.shape).astype(float).copy()
    status = np.zeros((K, D), dtype=np.int8)
    live = np.ones((K, D), dtype=bool)
    Ab = [A[:, None, :, b, :] for b in range(Pb)]  # (K, 1, Pa, Pc) each
    with np.errstate(all="ignore"):
        for _ in range(n_passes):
            for s in range(X.shape[1]):
                x = X[:, s, :]  # (D, N)
                y = np.einsum("kdn,dn->kd", W, x)
                bad = live & ~(np.abs(y) < bound)
                status[bad] = np.where(np.isnan(y[bad]), NAN, DIVERGED)
                live &= ~bad
                yy = y[:, :, None, None]
                Kc = Ab[-1]
                for b in range(Pb - 2, -1, -1):
                    Kc = Kc * yy + Ab[b]  # (K, D, Pa, Pc)
                M = np.broadcast_to(Kc[..., -1:], Kc.shape[:3] + (W.shape[2],))
                for c in range(Pc - 2, -1, -1):
                    M = M * W[:, :, None, :] + Kc[..., c:c + 1]  # (K, D, Pa, N)
                dW = M[:, :, -1]
                for a in range(Pa - 2, -1, -1):
                    dW = dW * x + M[:, :, a]
                W = np.where(live[..., None], W + dW, W)
            big = live & ~(np.abs(W).max(axis=2) < bound)
            status[big] = np.where(np.isnan(W[big]).any(axis=1), NAN, DIVERGED)
            live &= ~big
    return W, status


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def _block_p2(A, X, w, n_passes, bound, status):
    """BLOCK candidates on one trial, powers <= 2 (A is (BLOCK, 3, 3, 3)); w (BLOCK, N) in place.

    The candidates share every load of x and give the core independent chains to overlap
    (2x over one candidate per iteration). A candidate that diverges gets K = 0 from then on,
    so its weights stop changing; its status says why.
    """
    S, N = X.shape[0], X.shape[1]
    Kc = np.zeros((BLOCK, 9))
    y = np.empty(BLOCK)
    n_live = 0
    for b in range(BLOCK):
        if status[b] == OK:
            n_live += 1
    for _ in range(n_passes):
        for s in range(S):
            x = X[s]
            for b in range(BLOCK):
                y[b] = 0.0
            for j in range(N):
                xj = x[j]
                for b in range(BLOCK):
                    y[b] += w[b, j] * xj
            for b in range(BLOCK):
                if status[b] != OK:
                    continue
                yb = y[b]
                if not (abs(yb) < bound):
                    status[b] = NAN if yb != yb else DIVERGED
                    n_live -= 1
                    for i in range(9):
                        Kc[b, i] = 0.0
                    continue
                y2 = yb * yb
                for i in range(9):
                    a = i // 3
                    c = i - 3 * a
                    Kc[b, i] = A[b, a, 0, c] + A[b, a, 1, c] * yb + A[b, a, 2, c] * y2
            if n_live == 0:
                return
            for b in range(BLOCK):
                if status[b] != OK:
                    continue
                k00, k01, k02 = Kc[b, 0], Kc[b, 1], Kc[b, 2]
                k10, k11, k12 = Kc[b, 3], Kc[b, 4], Kc[b, 5]
                k20, k21, k22 = Kc[b, 6], Kc[b, 7], Kc[b, 8]
                for j in range(N):
                    wj = w[b, j]
                    xj = x[j]
                    m0 = k00 + wj * (k01 + wj * k02)
                    m1 = k10 + wj * (k11 + wj * k12)
                    m2 = k20 + wj * (k21 + wj * k22)
                    w[b, j] = wj + m0 + xj * (m1 + xj * m2)
        for b in range(BLOCK):
            if status[b] != OK:
                continue
            wmax = 0.0
            for j in range(N):
                wmax = max(wmax, abs(w[b, j]))
            if not (wmax < bound):
                status[b] = NAN if wmax != wmax else DIVERGED
                n_live -= 1
                for i in range(9):
                    Kc[b, i] = 0.0
        if n_live == 0:
            return


@numba.njit(cache=True, fastmath=FASTMATH)
def _pair_general(A, X, w, n_passes, bound):
    """One pair, any maximum power (Horner in y, w and x)."""
    S, N = X.shape[0], X.shape[1]
    Kac = np.empty((A.shape[0], A.shape[2]))
    for _ in range(n_passes):
        for s in range(S):
            x = X[s]
            y = 0.0
            for j in range(N):
                y += w[j] * x[j]
            if not (abs(y) < bound):
                return NAN if y != y else DIVERGED
            horner_k(A, y, Kac)
            for j in range(N):
                w[j] += apply_k(Kac, x[j], w[j])
        wmax = 0.0
        for j in range(N):
            wmax = max(wmax, abs(w[j]))
        if not (wmax < bound):
            return NAN if wmax != wmax else DIVERGED
    return OK


@numba.njit(cache=True, parallel=True, nogil=True)
def _simulate_p2(A, X, W0, n_passes, bound):
    K, D, N = A.shape[0], X.shape[0], X.shape[2]  # K is a multiple of BLOCK
    W = np.empty((K, D, N))
    status = np.zeros((K, D), dtype=np.int8)
    n_blocks = K // BLOCK
    for p in numba.prange(n_blocks * D):
        kb = p // D
        d = p - kb * D
        w = np.empty((BLOCK, N))
        st = np.zeros(BLOCK, dtype=np.int8)
        for b in range(BLOCK):
            w[b] = W0[d]
        _block_p2(A[kb * BLOCK:(kb + 1) * BLOCK], X[d], w, n_passes, bound, st)
        for b in range(BLOCK):
            W[kb * BLOCK + b, d] = w[b]
            status[kb * BLOCK + b, d] = st[b]
    return W, status


@numba.njit(cache=True, parallel=True, nogil=True)
def _simulate_general(A, X, W0, n_passes, bound):
    K, D, N = A.shape[0], X.shape[0], X.shape[2]
    W = np.empty((K, D, N))
    status = np.zeros((K, D), dtype=np.int8)
    for p in numba.prange(K * D):
        k = p // D
        d = p - k * D
        w = W0[d].copy()
        status[k, d] = _pair_general(A[k], X[d], w, n_passes, bound)
        W[k, d] = w
    return W, status


def simulate(
    A: np.ndarray, X: np.ndarray, W0: np.ndarray, n_passes: int, bound: float = DEFAULT_BOUND
) -> tuple[np.ndarray, np.ndarray]:
    """Compiled kernel; same arguments and results as :func:`simulate_numpy`."""
    A = np.ascontiguousarray(A, dtype=np.float64)
    X = np.ascontiguousarray(X, dtype=np.float64)
    W0 = np.ascontiguousarray(W0, dtype=np.float64)
    if max(A.shape[1:]) > 3:
        return _simulate_general(A, X, W0, int(n_passes), float(bound))
    # pad lower powers into the 3x3x3 layout and candidates to a multiple of BLOCK
    K = A.shape[0]
    Kp = -(-K // BLOCK) * BLOCK
    A3 = np.zeros((Kp, 3, 3, 3))
    A3[:K, : A.shape[1], : A.shape[2], : A.shape[3]] = A
    W, status = _simulate_p2(A3, X, W0, int(n_passes), float(bound))
    return W[:K], status[:K]
