"""Evaluation of a polynomial plasticity rule inside the compiled rate kernels (Horner form).

A rule ``sum_abc T[a, b, c] pre^a post^b w^c`` is evaluated in two steps: once per postsynaptic
value, ``K[a, c] = sum_b T[a, b, c] post^b`` (:func:`horner_k`); then per synapse
``sum_a pre^a sum_c K[a, c] w^c`` (:func:`apply_k`). :func:`update_row_p2` is the same for the
default powers <= 2, unrolled, applied to a row of weights. All are inlined into their callers.
"""

from __future__ import annotations

import numba
import numpy as np

#: numba fastmath flags of the rate kernels: reassociation lets the dot products vectorise; no
#: 'nnan'/'ninf', so the NaN checks stay
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


@numba.njit(cache=True, inline="always")
def horner_k(T: np.ndarray, y: float, Kc: np.ndarray) -> None:
    """Kc[a, c] = sum_b T[a, b, c] y^b."""
    Pa, Pb, Pc = T.shape
    for a in range(Pa):
        for c in range(Pc):
            s = 0.0
            for b in range(Pb - 1, -1, -1):
                s = s * y + T[a, b, c]
            Kc[a, c] = s


@numba.njit(cache=True, inline="always")
def apply_k(Kc: np.ndarray, pre: float, w: float) -> float:
    """sum_a pre^a sum_c Kc[a, c] w^c."""
    Pa, Pc = Kc.shape
    r = 0.0
    for a in range(Pa - 1, -1, -1):
        m = 0.0
        for c in range(Pc - 1, -1, -1):
            m = m * w + Kc[a, c]
        r = r * pre + m
    return r


@numba.njit(cache=True, inline="always")
def k_p2(T: np.ndarray, y: float) -> tuple:
    """For powers <= 2: the nine ``K_ac = sum_b T_abc y^b`` (a, c = 0..2, row-major)."""
    y2 = y * y
    return (T[0, 0, 0] + T[0, 1, 0] * y + T[0, 2, 0] * y2,
            T[0, 0, 1] + T[0, 1, 1] * y + T[0, 2, 1] * y2,
            T[0, 0, 2] + T[0, 1, 2] * y + T[0, 2, 2] * y2,
            T[1, 0, 0] + T[1, 1, 0] * y + T[1, 2, 0] * y2,
            T[1, 0, 1] + T[1, 1, 1] * y + T[1, 2, 1] * y2,
            T[1, 0, 2] + T[1, 1, 2] * y + T[1, 2, 2] * y2,
            T[2, 0, 0] + T[2, 1, 0] * y + T[2, 2, 0] * y2,
            T[2, 0, 1] + T[2, 1, 1] * y + T[2, 2, 1] * y2,
            T[2, 0, 2] + T[2, 1, 2] * y + T[2, 2, 2] * y2)


@numba.njit(cache=True, inline="always")
def update_row_p2(T: np.ndarray, y: float, pre: np.ndarray, w: np.ndarray, n: int) -> None:
    """w[j] += sum_{abc <= 2} T[a, b, c] pre[j]^a y^b w[j]^c for j < n, in factored form:
    K_ac = sum_b T_abc y^b once (:func:`k_p2`), then per synapse
    (K_00 + w (K_01 + w K_02)) + pre (...) (...)."""
    k00, k01, k02, k10, k11, k12, k20, k21, k22 = k_p2(T, y)
    for j in range(n):
        wj = w[j]
        xj = pre[j]
        m0 = k00 + wj * (k01 + wj * k02)
        m1 = k10 + wj * (k11 + wj * k12)
        m2 = k20 + wj * (k21 + wj * k22)
        w[j] = wj + m0 + xj * (m1 + xj * m2)


@numba.njit(cache=True, inline="always")
def update_row_p2_dot(T: np.ndarray, y: float, pre: np.ndarray, w: np.ndarray, n: int,
                      nxt: np.ndarray) -> float:
    """:func:`update_row_p2`, returning ``sum_j w_new[j] nxt[j]`` computed in the same pass over the row
    (the next sample's drive ``u = w . x_next``: one load and one store of each weight per step)."""
    k00, k01, k02, k10, k11, k12, k20, k21, k22 = k_p2(T, y)
    acc = 0.0
    for j in range(n):
        wj = w[j]
        xj = pre[j]
        m0 = k00 + wj * (k01 + wj * k02)
        m1 = k10 + wj * (k11 + wj * k12)
        m2 = k20 + wj * (k21 + wj * k22)
        wn = wj + m0 + xj * (m1 + xj * m2)
        w[j] = wn
        acc += wn * nxt[j]
    return acc
