r"""Random numbers inside compiled loops: xoshiro256+ words and ziggurat exponentials.

The spike-train generators draw one exponential per spike; numpy's generators cannot be called
from inside a numba loop without a function-pointer call per draw, and ``-log(u)`` costs more
than the rest of a spike's work. So the loops carry their own generator, seeded from the
caller's :class:`numpy.random.Generator` (:func:`seed_state`, four 64-bit words), which keeps
every trial's inputs a function of the trial's seed alone.

- :func:`next_word`: xoshiro256+ (Blackman & Vigna 2018), state (s0, s1, s2, s3), output
  ``s0 + s3``; :func:`uniform` uses its top 53 bits. Its lowest bits are its weakest (they fail
  linearity tests); :func:`exponential` takes the layer from bits 0-7 (tests/test_rng.py finds
  the draws exponential; xoshiro256** would have no weak bits, at the price of other draws).
- :func:`exponential`: Marsaglia & Tsang's ziggurat (2000) for Exp(1) with 256 layers
  (r = 7.69711747013104972, v = 3.949659822581572e-3): one word gives the layer (bits 0-7) and a
  32-bit abscissa (bits 8-39); in about 99% of draws ``x = j w[i]`` is accepted by one comparison
  ``j < k[i]``; otherwise the wedge test against ``exp(-x)`` or, in the base layer, the tail
  ``r - log(u)`` (:func:`exponential_slow`). The word is returned too: its top 24 bits are free
  for a second, independent use (the spike generator's choice of afferent).

State lives in local variables of the calling loop (the functions take and return it), which is
several times faster than an array the compiler must store to after every draw.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_R = 7.69711747013104972  # the ziggurat's rightmost abscissa (256 layers)
_V = 3.949659822581572e-3  # the area of each layer
_M = 2.0**53
U11 = np.uint64(11)
U17 = np.uint64(17)
U19 = np.uint64(19)
U45 = np.uint64(45)
LOW8 = np.uint64(255)


def ziggurat_tables(bits: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exponential ziggurat's tables (k, w, f), each (256,), for ``bits``-bit abscissae j:
    layer i spans x in [0, x_i] with ``w[i] = x_i / 2^bits``, ``f[i] = exp(-x_i)``, and
    ``k[i] = 2^bits x_{i-1} / x_i`` the acceptance bound (layer 0 is the base strip with its tail)."""
    top = 2.0**bits
    k = np.zeros(256)
    w = np.zeros(256)
    f = np.zeros(256)
    de = te = _R
    q = _V / math.exp(-de)
    k[0] = (de / q) * top
    w[0] = q / top
    w[255] = de / top
    f[0] = 1.0
    f[255] = math.exp(-de)
    for i in range(254, 0, -1):
        de = -math.log(_V / de + math.exp(-de))
        k[i + 1] = (de / te) * top
        te = de
        f[i] = math.exp(-de)
        w[i] = de / top
    return k, w, f


ZIG_K, ZIG_W, ZIG_F = ziggurat_tables()  # for the 32-bit abscissae of :func:`exponential`


def seed_state(rng: np.random.Generator) -> np.ndarray:
    """Four nonzero 64-bit words from ``rng``: a xoshiro256+ state."""
    return rng.integers(1, 2**63, 4, dtype=np.int64).view(np.uint64)


@numba.njit(cache=True, inline="always")
def next_word(s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64) -> tuple:
    """One xoshiro256+ step: returns (word, s0, s1, s2, s3)."""
    r = s0 + s3
    t = s1 << U17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << U45) | (s3 >> U19)
    return r, s0, s1, s2, s3


@numba.njit(cache=True, inline="always")
def uniform(s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64) -> tuple:
    """A double in (0, 1] from the top 53 bits of one word: returns (u, s0, s1, s2, s3)."""
    r, s0, s1, s2, s3 = next_word(s0, s1, s2, s3)
    return (np.int64(r >> U11) + 1) * (1.0 / _M), s0, s1, s2, s3


U8 = np.uint64(8)
U32 = np.uint64(32)
LOW32 = np.uint64(0xFFFFFFFF)


@numba.njit(cache=True)
def exponential_slow(i: int, j: float, s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64,
                     zk: np.ndarray, zw: np.ndarray, zf: np.ndarray) -> tuple:
    """The ziggurat's rare branch (layer i, abscissa j rejected by the fast test); a new word's
    abscissa is its top 32 bits. Returns (e, s0, s1, s2, s3)."""
    while True:
        if i == 0:  # the tail beyond r
            u, s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
            return _R - math.log(u), s0, s1, s2, s3
        x = j * zw[i]
        u, s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
        if zf[i] + u * (zf[i - 1] - zf[i]) < math.exp(-x):
            return x, s0, s1, s2, s3
        r, s0, s1, s2, s3 = next_word(s0, s1, s2, s3)
        i = np.int64(r & LOW8)
        j = float(np.int64(r >> U32))
        if j < zk[i]:
            return j * zw[i], s0, s1, s2, s3


@numba.njit(cache=True, inline="always")
def exponential(s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64, zk: np.ndarray,
                zw: np.ndarray, zf: np.ndarray) -> tuple:
    """One Exp(1) draw (ziggurat; tables ``ZIG_K, ZIG_W, ZIG_F``): returns (e, word, s0, s1, s2,
    s3), the word's top 24 bits unused by the draw."""
    r, s0, s1, s2, s3 = next_word(s0, s1, s2, s3)
    i = r & LOW8
    j = float(np.int64((r >> U8) & LOW32))
    if j < zk[i]:
        return j * zw[i], r, s0, s1, s2, s3
    e, s0, s1, s2, s3 = exponential_slow(np.int64(i), j, s0, s1, s2, s3, zk, zw, zf)
    return e, r, s0, s1, s2, s3
