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
    brian = _brian2_figures(inputs[0], p, rule, duration)
    yield {"bench": "spiking", "s_per_bio_s_per_candidate": fast,
           "numpy_reference_s_per_bio_s_per_candidate": ref, "speedup_vs_numpy": ref / fast,
           **brian, "speedup_vs_brian2": (brian["brian2_s_per_bio_s_per_candidate"] / fast
                                          if brian["brian2_s_per_bio_s_per_candidate"] else None),
           "input_generation_s_per_bio_s_per_trial": t_inputs,
           "candidates": K, "trials": D, "bio_s_per_trial": duration,
           "threads": numba.get_num_threads(), "cores": os.cpu_count()}


def _brian2_figures(inputs, neuron, rule, duration: float) -> dict:
    """Brian2 (cython target, its default) on the same model, input and rule, one candidate per run:
    wall seconds of ``Network.run`` per simulated second (after a short run that compiles Brian2's
    code into its cache), and the output rate of both simulators on that trial. ``None`` figures
    when Brian2 is not installed (``pip install "evoplast[brian2]"``)."""
    figures = {"brian2_s_per_bio_s_per_candidate": None, "brian2_version": None}
    try:
        import brian2
    except ImportError:
        return figures
    from .kernels import brian2_ref, lif

    w0 = 0.1
    params = rule.params()
    short = lif.make_inputs(np.random.default_rng(1), 0.05, neuron, "pathways")
    brian2_ref.simulate_brian2(short, neuron, params, w0)  # code generation + compilation
    b = brian2_ref.simulate_brian2(inputs, neuron, params, w0)
    counts, _, W, _, _ = lif.simulate([inputs], neuron, params[None], np.full((1, inputs.n_inh), w0),
                                      silent_s=1e9)
    figures.update({
        "brian2_s_per_bio_s_per_candidate": b["run_s"] / b["bio_s"], "brian2_build_s": b["build_s"],
        "brian2_version": brian2.__version__, "brian2_rate_hz": b["rate_hz"],
        "evoplast_rate_hz": float(counts.sum() / duration), "brian2_mean_w_final": b["mean_w_final"],
        "evoplast_mean_w_final": float(W.mean())})
    return figures


def bench_pca(quick: bool = False) -> Iterator[dict]:
    """Synapse-steps per second of the PCA-network kernel (Rubner-Tavan rules, hierarchical) against
    the batched numpy reference on the same runs; a synapse-step is one feed-forward or lateral
    weight updated for one sample (M N + M (M - 1) / 2 per sample)."""
    import numba

    from .kernels import pca

    rng = np.random.default_rng(0)
    oja = PolynomialRule.from_terms(OJA_TERMS).coefficient_tensor()
    anti = PolynomialRule.from_terms({"x*y": -1.0}).coefficient_tensor()
    K, D, S = 32, 8, 100
    passes = 2 if quick else 10
    for n, m in ((5, 3), (50, 4)):
        A = np.broadcast_to(0.01 * oja, (K, 3, 3, 3)).copy()
        B = np.broadcast_to(0.02 * anti, (K, 3, 3, 3)).copy()
        X = np.stack([sample_dataset(S, make_spectrum(n), "gaussian", rng)[0] for _ in range(D)])
        W0 = 0.1 * rng.standard_normal((D, m, n)) / np.sqrt(n)
        L0 = np.zeros((D, m, m))
        pca.simulate(A[:1], B[:1], X[:1], W0[:1], L0[:1], 1)  # compile / load the cache
        args = (A, B, X, W0, L0)
        t_fast = _best_time(lambda args=args, p=passes: pca.simulate(*args, p), 2 if quick else 3)
        t_ref = _best_time(lambda args=args: pca.simulate_numpy(*args, 1), 1)
        syn = m * n + m * (m - 1) // 2
        fast = K * D * S * passes * syn / t_fast
        ref = K * D * S * syn / t_ref
        yield {"bench": "pca", "n_inputs": n, "n_outputs": m, "runs": K * D, "synapse_steps_per_s": fast,
               "numpy_reference_synapse_steps_per_s": ref, "speedup_vs_numpy": fast / ref,
               "threads": numba.get_num_threads(), "cores": os.cpu_count()}


DASK_CONFIG = "runs/istdp_rate_only.toml"


def bench_dask(quick: bool = False, n_jobs: int = 2, config_path: str = DASK_CONFIG) -> Iterator[dict]:
    """Wall time of one generation of the spiking experiment ``runs/istdp_rate_only.toml`` (its
    popsize of 8 candidates x 12 trials x 40 s of pathway input; ``quick``: 10 s), trials made from
    their seeds in the workers as in a search,
    on loky with ``n_jobs`` workers and on a Dask LocalCluster with ``n_jobs`` single-threaded
    workers; median over 6 generations after a warm-up one (worker start, kernel compilation), the
    layouts taking turns.
    ``generation_s_loky_driver_trials``: the same on loky with the trials made in the driver and
    sent to the workers (the layout before trials moved to the workers)."""
    from . import parallel
    from .config import load_config
    from .tasks import make_task

    config = load_config(config_path, ["task.duration_s=10.0"] if quick else [])
    task = make_task(config)
    K, repeats = config.cmaes.popsize, (2 if quick else 6)
    rng = np.random.default_rng(0)
    # candidates near the solution line beta = -alpha nu_pre / nu* (none silent or runaway)
    alpha = rng.uniform(-0.3, -0.1, K)
    X = np.column_stack([alpha, -alpha * 2.0 + rng.uniform(-0.05, 0.05, K)])
    gens = [parallel.trial_seeds(0, parallel.STREAM_TRAIN, g, config.task.n_trials)
            for g in range(repeats + 1)]
    names = ("loky", "dask", "loky_driver_trials")
    per_gen = {n: [] for n in names}
    losses = {}
    # the three layouts take turns generation by generation, so drifts of the machine hit all alike
    with parallel.Evaluator(n_jobs, "loky") as loky, parallel.Evaluator(n_jobs, "dask") as dask:
        for g, seeds in enumerate(gens):
            for name in names:
                t0 = time.perf_counter()
                if name == "loky_driver_trials":
                    losses[name] = loky.evaluate(task, X, trials=task.make_trials(seeds)).loss
                else:
                    losses[name] = (loky if name == "loky" else dask).evaluate(task, X, seeds=seeds).loss
                if g:  # generation 0 warms the workers up
                    per_gen[name].append(time.perf_counter() - t0)
    times = {n: float(np.median(v)) for n, v in per_gen.items()}
    yield {"bench": "dask", "generation_s_loky": times["loky"], "generation_s_dask": times["dask"],
           "dask_overhead_fraction": times["dask"] / times["loky"] - 1.0,
           "generation_s_loky_driver_trials": times["loky_driver_trials"],
           "same_losses": bool(all(np.array_equal(losses["loky"], v) for v in losses.values())),
           "candidates": K, "trials": config.task.n_trials, "bio_s_per_trial": config.task.duration_s,
           "workers": n_jobs, "generations_timed": repeats, "cores": os.cpu_count()}


def run(what: str = "rate", quick: bool = False, dask_config: str = DASK_CONFIG) -> Iterator[dict]:
    if what in ("rate", "all"):
        yield from bench_rate(quick=quick)
    if what in ("spiking", "all"):
        yield from bench_spiking(quick=quick)
    if what in ("pca", "all"):
        yield from bench_pca(quick=quick)
    if what in ("dask", "all"):
        yield from bench_dask(quick=quick, config_path=dask_config)
