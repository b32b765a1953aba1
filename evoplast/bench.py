"""Speed measurements printed by ``evoplast bench`` (one dict per line, ratios from one run).

``spiking``: wall seconds per simulated second per candidate of the LIF task (shared inputs),
against the numpy reference, and the cost of drawing inputs (paid once per trial, not per candidate).
Brian2 is compared only where it is installed (it is not a dependency); otherwise that figure is null.

``rate``: synapse-steps per second of the compiled rate kernel against the batched numpy
reference, both on the same 512 runs (64 candidates x 8 trials, Oja's rule, N = 2, 10, 100), in the
same process. A synapse-step is one weight updated for one sample (22 flops in factored form).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import numpy as np

from .kernels import rate
from .rules import OJA_TERMS, PolynomialRule
from .tasks.datasets import make_spectrum, sample_dataset


def _best_time(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_rate(sizes=(2, 10, 100), quick: bool = False) -> Iterator[dict]:
    import numba

    rng = np.random.default_rng(0)
    K, D, S = 64, 8, 100
    passes = 5 if quick else 20
    ref_passes = 1
    rule = PolynomialRule.from_terms(OJA_TERMS, eta=0.05)
    A = np.broadcast_to(rule.eta * rule.coefficient_tensor(), (K, 3, 3, 3)).copy()
    for n in sizes:
        spectrum = make_spectrum(n)
        X = np.stack([sample_dataset(S, spectrum, "gaussian", rng)[0] for _ in range(D)])
        W0 = 0.1 * rng.standard_normal((D, n)) / np.sqrt(n)
        rate.simulate(A, X, W0, 1)  # compile / load the cache
        t_fast = _best_time(lambda X=X, W0=W0: rate.simulate(A, X, W0, passes), 2 if quick else 5)
        t_ref = _best_time(lambda X=X, W0=W0: rate.simulate_numpy(A, X, W0, ref_passes), 1 if quick else 2)
        fast = K * D * S * passes * n / t_fast
        ref = K * D * S * ref_passes * n / t_ref
        yield {"bench": "rate", "n_inputs": n, "runs": K * D, "synapse_steps_per_s": fast,
               "numpy_reference_synapse_steps_per_s": ref, "speedup_vs_numpy": fast / ref,
               "flop_rate_gflops": 22 * fast / 1e9, "threads": numba.get_num_threads(),
               "cores": os.cpu_count()}


def bench_spiking(quick: bool = False) -> Iterator[dict]:
    """Wall seconds per simulated second per candidate of the LIF task (Vogels rule, pathway
    inputs generated once and replayed for every candidate), against the numpy reference (64 copies
    in lock-step) and, when it is installed, Brian2 on the same model."""
    import numba

    from .kernels import lif
    from .rules.pre_post_trace import PrePostTraceRule

    p = lif.NeuronParams()
    rule = PrePostTraceRule(alpha=-0.2, beta=0.0, gamma=1.0, kappa=1.0, eta=1e-3)
    duration = 5.0 if quick else 20.0
    K, D = 64, 2
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    inputs = [lif.make_inputs(rng, duration, p, "pathways") for _ in range(D)]
    t_inputs = (time.perf_counter() - t0) / (D * duration)
    rules = np.repeat(rule.params()[None], K, axis=0)
    rules[:, 2] *= np.linspace(0.8, 1.2, K)  # distinct candidates
    W0 = np.full((D, inputs[0].n_inh), 0.1)
    lif.simulate(inputs[:1], p, rules[:2], W0[:1], silent_s=1e9)  # compile / load the cache
    t_fast = _best_time(lambda: lif.simulate(inputs, p, rules, W0, silent_s=1e9), 1 if quick else 3)
    fast = t_fast / (K * D * duration)
    ref_duration, ref_k = (0.2, 64) if quick else (1.0, 64)
    short = lif.make_inputs(rng, ref_duration, p, "pathways")
    t_ref = _best_time(lambda: lif.simulate_numpy(short, p, rules[:ref_k], W0[0]), 1)
    ref = t_ref / (ref_k * ref_duration)
    brian = None
    try:
        import brian2  # noqa: F401
    except ImportError:
        brian = None
    yield {"bench": "spiking", "s_per_bio_s_per_candidate": fast,
           "numpy_reference_s_per_bio_s_per_candidate": ref, "speedup_vs_numpy": ref / fast,
           "brian2_s_per_bio_s_per_candidate": brian,
           "input_generation_s_per_bio_s_per_trial": t_inputs,
           "candidates": K, "trials": D, "bio_s_per_trial": duration,
           "threads": numba.get_num_threads(), "cores": os.cpu_count()}


def run(what: str = "rate", quick: bool = False) -> Iterator[dict]:
    if what in ("rate", "all"):
        yield from bench_rate(quick=quick)
    if what in ("spiking", "all"):
        yield from bench_spiking(quick=quick)
