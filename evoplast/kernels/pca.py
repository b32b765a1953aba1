r"""Batched simulation of a two-layer linear network with plastic feed-forward and lateral weights.

N inputs x -> M outputs y. Feed-forward weights W (M x N), lateral weights L (M x M, zero diagonal)
among the outputs. Outputs settle at

.. math::  y = W x + L y \quad\Leftrightarrow\quad y = (I - L)^{-1} W x

``hierarchical`` topology: L strictly lower-triangular, solved by forward substitution
(``y_i = w_i . x + sum_{j<i} L_ij y_j``, Rubner & Tavan 1989); ``symmetric``: all-to-all (every
i != j; Foldiak 1989), solved by Gaussian elimination with partial pivoting.

After each sample both rules are applied with the same settled y (simultaneous update):

.. math::

    W_{ij} \mathrel{+}= \eta_A \sum_{abc} A_{abc}\, x_j^a\, y_i^b\, W_{ij}^c, \qquad
    L_{ij} \mathrel{+}= \eta_B \sum_{abc} B_{abc}\, y_j^a\, y_i^b\, L_{ij}^c \quad (L_{ij} \text{ allowed})

i.e. rule A sees (pre x_j, post y_i, weight W_ij) and rule B (pre y_j, post y_i, weight L_ij).

Two implementations with the same semantics: :func:`simulate_numpy` (batched numpy reference) and
:func:`simulate` (numba, parallel over (candidate, trial) pairs; Horner evaluation of both rules:
per output ``K_ac = sum_b A_abc y_i^b``, per synapse ``sum_a x^a sum_c K_ac w^c``, unrolled for the
default powers <= 2; there, the next sample's drive ``u_i = w_i . x_next`` is summed while row i is
updated (one pass over W per sample), and the sums are reassociated so that they vectorise (0.6.0:
``analysis/pca_kernel_ab.py``). Statuses as in
:mod:`evoplast.kernels.rate`: a pair whose output or weights leave ``[-bound, bound]`` stops with
``DIVERGED``, a NaN gives ``NAN`` (a singular ``I - L`` too).

Non-local baselines (not expressible as local polynomial rules) are in :func:`simulate_baseline`:
Oja's subspace rule ``dW = eta (y x^T - y y^T W)`` and Sanger's GHA
``dW = eta (y x^T - LT[y y^T] W)`` (LT: lower triangle with diagonal), with no lateral weights.
"""

from __future__ import annotations

import numba
import numpy as np

from .poly import FASTMATH, apply_k, horner_k, update_row_p2, update_row_p2_dot
from .rate import DEFAULT_BOUND, DIVERGED, NAN, OK

TOPOLOGIES = ("hierarchical", "symmetric")


def lateral_mask(m: int, topology: str) -> np.ndarray:
    """Allowed lateral connections (i receives from j): strictly lower triangle, or all i != j."""
    if topology == "hierarchical":
        return np.tril(np.ones((m, m), dtype=bool), -1)
    if topology == "symmetric":
        return ~np.eye(m, dtype=bool)
    raise ValueError(f"unknown topology {topology!r} (one of {', '.join(TOPOLOGIES)})")


def _settle_numpy(W, L, x, hierarchical):
    u = np.einsum("kdmn,dn->kdm", W, x)
    if hierarchical:
        y = u.copy()
        for i in range(1, y.shape[-1]):
            y[..., i] += np.einsum("kdj,kdj->kd", L[..., i, :i], y[..., :i])
        return y
    eye = np.eye(L.shape[-1])
    with np.errstate(all="ignore"):
        try:
            return np.linalg.solve(eye - L, u[..., None])[..., 0]
        except np.linalg.LinAlgError:
            out = np.empty_like(u)
            for idx in np.ndindex(u.shape[:2]):
                try:
                    out[idx] = np.linalg.solve(eye - L[idx], u[idx])
                except np.linalg.LinAlgError:
                    out[idx] = np.nan
            return out


def _poly_numpy(T, pre, post, w):
    """sum_abc T[k, a, b, c] pre^a post^b w^c, broadcast over (k, d, ...)."""
    out = np.zeros(np.broadcast(pre, post, w).shape)
    for k, a, b, c in np.argwhere(T != 0.0):
        out[k] += T[k, a, b, c] * pre[k] ** a * post[k] ** b * w[k] ** c
    return out


def simulate_numpy(A: np.ndarray, B: np.ndarray, X: np.ndarray, W0: np.ndarray, L0: np.ndarray, n_passes: int,
                   topology: str = "hierarchical", bound: float = DEFAULT_BOUND) -> tuple[np.ndarray, ...]:
    """Reference. A, B: (K, Px+1, Py+1, Pw+1) rule tensors with eta folded in; X (D, S, N);
    W0 (D, M, N); L0 (D, M, M). Returns W (K, D, M, N), L (K, D, M, M), status (K, D) int8."""
    K, D = A.shape[0], X.shape[0]
    mask = lateral_mask(W0.shape[1], topology)
    hierarchical = topology == "hierarchical"
    W = np.broadcast_to(W0, (K,) + W0.shape).astype(float).copy()
    L = np.broadcast_to(L0 * mask, (K,) + L0.shape).astype(float).copy()
    status = np.zeros((K, D), dtype=np.int8)
    live = np.ones((K, D), dtype=bool)
    with np.errstate(all="ignore"):
        for _ in range(n_passes):
            for s in range(X.shape[1]):
                x = X[:, s, :]
                y = _settle_numpy(W, L, x, hierarchical)
                bad = live & ~(np.abs(y).max(axis=2) < bound)
                status[bad] = np.where(np.isnan(y[bad]).any(axis=1), NAN, DIVERGED)
                live &= ~bad
                xx = np.broadcast_to(x[None, :, None, :], W.shape)
                yy = np.broadcast_to(y[..., :, None], W.shape)
                dW = _poly_numpy(A, xx, yy, W)
                pre = np.broadcast_to(y[..., None, :], L.shape)
                post = np.broadcast_to(y[..., :, None], L.shape)
                dL = _poly_numpy(B, pre, post, L) * mask
                W = np.where(live[..., None, None], W + dW, W)
                L = np.where(live[..., None, None], L + dL, L)
            big = live & ~(np.maximum(np.abs(W).max(axis=(2, 3)), np.abs(L).max(axis=(2, 3))) < bound)
            nan = np.isnan(W).any(axis=(2, 3)) | np.isnan(L).any(axis=(2, 3))
            status[big] = np.where(nan[big], NAN, DIVERGED)
            live &= ~big
    return W, L, status


@numba.njit(cache=True)
def _solve(Mat, u, y):
    """y = Mat^-1 u by Gaussian elimination with partial pivoting (Mat, u overwritten);
    returns False if Mat is singular."""
    n = u.shape[0]
    for col in range(n):
        piv = col
        for r in range(col + 1, n):
            if abs(Mat[r, col]) > abs(Mat[piv, col]):
                piv = r
        if Mat[piv, col] == 0.0 or Mat[piv, col] != Mat[piv, col]:
            return False
        if piv != col:
            for c in range(n):
                Mat[col, c], Mat[piv, c] = Mat[piv, c], Mat[col, c]
            u[col], u[piv] = u[piv], u[col]
        for r in range(col + 1, n):
            f = Mat[r, col] / Mat[col, col]
            for c in range(col, n):
                Mat[r, c] -= f * Mat[col, c]
            u[r] -= f * u[col]
    for r in range(n - 1, -1, -1):
        s = u[r]
        for c in range(r + 1, n):
            s -= Mat[r, c] * y[c]
        y[r] = s / Mat[r, r]
    return True


@numba.njit(cache=True, fastmath=FASTMATH)
def _run_pair(A, B, X, W, L, mask, n_passes, hierarchical, bound):
    S, N = X.shape
    M = W.shape[0]
    y = np.empty(M)
    u = np.empty(M)
    Mat = np.empty((M, M))
    Ka = np.empty((A.shape[0], A.shape[2]))
    Kb = np.empty((B.shape[0], B.shape[2]))
    row = np.empty(M)
    p2 = A.shape == (3, 3, 3) and B.shape == (3, 3, 3)
    have_u = False  # u = W x already computed (powers <= 2: fused into the previous update)
    for _ in range(n_passes):
        for s in range(S):
            x = X[s]
            if not have_u:
                for i in range(M):
                    acc = 0.0
                    for j in range(N):
                        acc += W[i, j] * x[j]
                    u[i] = acc
            if hierarchical:
                for i in range(M):
                    acc = u[i]
                    for j in range(i):
                        acc += L[i, j] * y[j]
                    y[i] = acc
            else:
                for i in range(M):
                    for j in range(M):
                        Mat[i, j] = (1.0 if i == j else 0.0) - L[i, j]
                if not _solve(Mat, u, y):
                    return NAN
            for i in range(M):
                if not (abs(y[i]) < bound):
                    return NAN if y[i] != y[i] else DIVERGED
            if p2:
                nxt = X[s + 1] if s + 1 < S else X[0]
                for i in range(M):
                    u[i] = update_row_p2_dot(A, y[i], x, W[i], N, nxt)
                have_u = True
                for i in range(M):  # a row of L, then masked entries restored (never plastic)
                    for j in range(M):
                        row[j] = L[i, j]
                    update_row_p2(B, y[i], y, row, M)
                    for j in range(M):
                        if mask[i, j]:
                            L[i, j] = row[j]
            else:
                for i in range(M):
                    horner_k(A, y[i], Ka)
                    for j in range(N):
                        W[i, j] += apply_k(Ka, x[j], W[i, j])
                for i in range(M):
                    horner_k(B, y[i], Kb)
                    for j in range(M):
                        if mask[i, j]:
                            L[i, j] += apply_k(Kb, y[j], L[i, j])
        big = 0.0
        for i in range(M):
            for j in range(N):
                big = max(big, abs(W[i, j]))
            for j in range(M):
                big = max(big, abs(L[i, j]))
        if not (big < bound):
            return NAN if big != big else DIVERGED
    return OK


@numba.njit(cache=True, parallel=True, nogil=True)
def _simulate(A, B, X, W0, L0, mask, n_passes, hierarchical, bound):
    K, D = A.shape[0], X.shape[0]
    M, N = W0.shape[1], W0.shape[2]
    W = np.empty((K, D, M, N))
    L = np.empty((K, D, M, M))
    status = np.zeros((K, D), dtype=np.int8)
    for p in numba.prange(K * D):
        k = p // D
        d = p - k * D
        w = W0[d].copy()
        lat = L0[d] * mask
        status[k, d] = _run_pair(A[k], B[k], X[d], w, lat, mask, n_passes, hierarchical, bound)
        W[k, d] = w
        L[k, d] = lat
    return W, L, status


def simulate(A: np.ndarray, B: np.ndarray, X: np.ndarray, W0: np.ndarray, L0: np.ndarray, n_passes: int,
             topology: str = "hierarchical", bound: float = DEFAULT_BOUND) -> tuple[np.ndarray, ...]:
    """Compiled kernel; same arguments and results as :func:`simulate_numpy`."""
    f = np.ascontiguousarray
    mask = lateral_mask(W0.shape[1], topology)
    return _simulate(f(A, dtype=np.float64), f(B, dtype=np.float64), f(X, dtype=np.float64),
                     f(W0, dtype=np.float64), f(L0, dtype=np.float64), mask, int(n_passes),
                     topology == "hierarchical", float(bound))


def simulate_baseline(
    kind: str, X: np.ndarray, W0: np.ndarray, eta: float, n_passes: int, bound: float = DEFAULT_BOUND
) -> tuple[np.ndarray, np.ndarray]:
    """Non-local baselines without lateral weights: ``oja_subspace`` or ``sanger`` (GHA).
    X (D, S, N), W0 (D, M, N). Returns W (D, M, N), status (D,)."""
    if kind not in ("oja_subspace", "sanger"):
        raise ValueError(f"unknown baseline {kind!r}")
    W = np.array(W0, dtype=float)
    status = np.zeros(len(W), dtype=np.int8)
    tri = np.tril(np.ones((W.shape[1], W.shape[1])))
    with np.errstate(all="ignore"):
        for _ in range(n_passes):
            for s in range(X.shape[1]):
                x = X[:, s, :]
                y = np.einsum("dmn,dn->dm", W, x)
                yy = y[:, :, None] * y[:, None, :]
                if kind == "sanger":
                    yy = yy * tri
                W = W + eta * (y[:, :, None] * x[:, None, :] - yy @ W)
        big = ~(np.abs(W).max(axis=(1, 2)) < bound)
        status[big] = np.where(np.isnan(W[big]).any(axis=(1, 2)), NAN, DIVERGED)
    return W, status
