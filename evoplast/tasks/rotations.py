r"""Haar-random rotations applied to samples without forming the rotation matrix.

A Haar-distributed orthogonal matrix of :math:`\mathbb{R}^n` is made by the recursion

.. math::  U_n = H(v)\, \mathrm{diag}(1, U_{n-1}), \qquad U_1 = \pm 1 \text{ (fair sign)},

with :math:`v` uniform on the unit sphere of :math:`\mathbb{R}^n` (a normalised Gaussian vector)
and :math:`H(v) = I - 2 w w^\top / (w^\top w)`, :math:`w = e_1 - v`, the reflection that maps
:math:`e_1` to :math:`v`. :math:`U_n`'s first column is uniform on the sphere and, given it, the
other columns are :math:`H(v)` applied to a Haar frame of :math:`\mathbb{R}^{n-1}`, i.e. a Haar
frame of the complement of :math:`v`: so :math:`U_n` is Haar on :math:`O(n)`.

Unrolled, :math:`U = H_0 \cdots H_{n-2} \cdot \mathrm{diag}(1, \dots, 1, \pm 1)` where
:math:`H_k` acts on coordinates :math:`k..n-1` with a direction :math:`v_k \in \mathbb{R}^{n-k}`.
A batch of row vectors becomes :math:`T \leftarrow T U^\top`, i.e. every sample :math:`s` becomes
:math:`U s`, in :math:`O(S n^2)` for S rows instead of the :math:`O(n^3)` of forming U (QR of a
Gaussian matrix).

Two implementations with the same arithmetic up to rounding (tested equal to 1e-12):

* :func:`rotate_rows_reference` -- one reflection at a time, a plain compiled loop;
* :func:`rotate_rows` -- blocks of ``BLOCK`` reflections in compact WY form,
  :math:`H_{k_1} \cdots H_{k_0} = I - V T V^\top` with
  :math:`T^{-1} = \mathrm{striu}(V^\top V) + \mathrm{diag}(1/\tau)` (Joffrain et al. 2006),
  applied with matrix products (``python analysis/dataset_speed.py`` times the datasets made
  this way against the QR method).
"""

from __future__ import annotations

import numba
import numpy as np

BLOCK = 64  # reflections per compact-WY block (the fastest of 16, 32, 64, 128 in a one-off timing, n = 1000)


def householder_draws(n: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """The random numbers of one rotation of R^n: n(n+1)/2 - 1 standard normals (the directions
    v_k in R^(n-k), k = 0..n-2, one after the other) and U_1's sign."""
    g = rng.standard_normal(n * (n + 1) // 2 - 1)
    return g, (1.0 if rng.random() < 0.5 else -1.0)


@numba.njit(cache=True)
def reflectors(g: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """V (n, n-1): column k holds w_k = e_1 - v_k on rows k..n-1 (zeros above), and
    tau_k = 2 / (w_k . w_k) (0 where H_k = I: v_k = e_1 or g_k = 0, probability 0).
    1 - v_0 = (|g| - g_0)/|g| is computed as |g_rest|^2 / (|g| + g_0) / |g| when g_0 > 0: no
    cancellation."""
    V = np.zeros((n, n - 1))
    tau = np.zeros(n - 1)
    for k in range(n - 1):
        m = n - k
        o = k * n - k * (k - 1) // 2  # sum_{j<k} (n - j)
        g0 = g[o]
        rest = 0.0
        for i in range(1, m):
            rest += g[o + i] * g[o + i]
        norm = np.sqrt(g0 * g0 + rest)
        if norm == 0.0:
            continue
        w0 = (norm - g0) / norm if g0 <= 0.0 else rest / (norm + g0) / norm
        V[k, k] = w0
        ww = w0 * w0
        for i in range(1, m):
            V[k + i, k] = -g[o + i] / norm
            ww += V[k + i, k] * V[k + i, k]
        if ww > 0.0:
            tau[k] = 2.0 / ww
    return V, tau


@numba.njit(cache=True)
def rotate_rows_reference(T: np.ndarray, g: np.ndarray, sign: float) -> None:
    """In place, every row t of T (S, n) becomes (U t^T)^T: U_1's sign on the last coordinate, then
    H_k on coordinates k..n-1 for k = n-2 down to 0, one reflection at a time."""
    S, n = T.shape
    for s in range(S):
        T[s, n - 1] *= sign
    V, tau = reflectors(g, n)
    for k in range(n - 2, -1, -1):
        if tau[k] == 0.0:
            continue
        for s in range(S):
            dot = 0.0
            for i in range(k, n):
                dot += T[s, i] * V[i, k]
            f = tau[k] * dot
            for i in range(k, n):
                T[s, i] -= f * V[i, k]


def rotate_rows(T: np.ndarray, g: np.ndarray, sign: float, block: int = BLOCK) -> None:
    """:func:`rotate_rows_reference`'s result (to rounding) with blocks of ``block`` reflections in
    compact WY form: T[:, k0:] -= ((T[:, k0:] V) T_wy) V^T. Applied to the identity it gives U^T,
    whose rows are the principal components of samples rotated this way."""
    S, n = T.shape
    T[:, n - 1] *= sign
    V, tau = reflectors(g, n)
    k1 = n - 2
    while k1 >= 0:
        k0 = max(0, k1 - block + 1)
        cols = np.arange(k1, k0 - 1, -1)  # applied in this order: T H_k1 H_(k1-1) ... H_k0
        tb = tau[cols]
        live = tb > 0.0
        Vb = V[k0:, cols] * live  # identity reflections drop out
        Tinv = np.triu(Vb.T @ Vb, 1)
        np.fill_diagonal(Tinv, 1.0 / np.where(live, tb, 1.0))  # 1/tau; 1 for a dropped reflection
        sub = T[:, k0:]
        sub -= ((sub @ Vb) @ np.linalg.inv(Tinv)) @ Vb.T
        k1 = k0 - 1
