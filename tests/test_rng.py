"""The compiled loops' own random numbers (evoplast.kernels.rng): xoshiro256+ against a plain
Python transcription of the published algorithm, and the ziggurat exponentials (fast path, wedges
and tail) against Exp(1)."""

import numba
import numpy as np
from scipy import stats

from evoplast.kernels import rng

MASK = (1 << 64) - 1


def _xoshiro_reference(s, n):
    """Blackman & Vigna's xoshiro256+ (xoshiro256plus.c), in Python integers."""
    s = [int(v) for v in s]
    out = []
    for _ in range(n):
        out.append((s[0] + s[3]) & MASK)
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = ((s[3] << 45) | (s[3] >> 19)) & MASK
    return out


@numba.njit
def _words(state, n):
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i], s0, s1, s2, s3 = rng.next_word(s0, s1, s2, s3)
    return out


@numba.njit
def _exponentials(state, n, zk, zw, zf):
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    out = np.empty(n)
    for i in range(n):
        out[i], _, s0, s1, s2, s3 = rng.exponential(s0, s1, s2, s3, zk, zw, zf)
    return out


def test_xoshiro256plus_matches_the_reference_algorithm():
    state = rng.seed_state(np.random.default_rng(3))
    assert (state != 0).all()
    assert [int(w) for w in _words(state, 50)] == _xoshiro_reference(state, 50)


def test_the_seed_state_is_a_function_of_the_generator():
    a = rng.seed_state(np.random.default_rng(11))
    b = rng.seed_state(np.random.default_rng(11))
    c = rng.seed_state(np.random.default_rng(12))
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_ziggurat_draws_are_exponential():
    x = _exponentials(rng.seed_state(np.random.default_rng(5)), 1_000_000, rng.ZIG_K, rng.ZIG_W, rng.ZIG_F)
    n = x.size
    assert x.min() > 0
    assert abs(x.mean() - 1.0) < 5 / np.sqrt(n)
    assert abs(x.var() - 1.0) < 5 * np.sqrt(8 / n)  # var of the sample variance of Exp(1): 8 / n
    assert stats.kstest(x[:200_000], "expon").pvalue > 1e-3
    # the tail beyond the ziggurat's last layer (r = 7.697) comes from the slow path: P = e^-r
    tail = (x > 7.69711747013104972).sum()
    expected = n * np.exp(-7.69711747013104972)
    assert abs(tail - expected) < 5 * np.sqrt(expected)
    # and the wedges: the histogram over [0, 8) in 64 bins against Exp(1)'s probabilities
    counts, edges = np.histogram(x, bins=64, range=(0.0, 8.0))
    p = np.exp(-edges[:-1]) - np.exp(-edges[1:])
    assert stats.chisquare(counts, counts.sum() * p / p.sum()).pvalue > 1e-4
