"""Speed measurements printed by ``evoplast bench`` (one dict per line, ratios from one run).

``istdp``: milliseconds per simulated second per candidate of the LIF task on one thread, the
kernel and the input generation (paid once per trial, shared by its candidates) apart and summed,
at popsize 8 and 64; Brian2's batched model (cython, cpp_standalone) where a Python with Brian2 is
found; the least favourable fair ratio; and one real generation of ``runs/istdp.toml`` split into
inputs / kernel / other. See :func:`bench_istdp`.

``network``: the E-I network task per candidate (:mod:`evoplast.bench_network`).

``rate``: synapse-steps per second of the compiled rate kernel against the batched numpy
reference (all runs advanced together per sample, the rule in factored form), both on the same
512 runs (64 candidates x 8 trials, Oja's rule, N = 2, 10, 100), in the
same process. A synapse-step is one weight updated for one sample (22 flops in factored form).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .kernels import rate
from .rules import OJA_TERMS, PolynomialRule
from .tasks.datasets import make_spectrum, sample_dataset


def _time(fn, repeats: int, reduce=min) -> float:
    """Wall seconds of ``fn()``, ``repeats`` times, reduced (best by default; medians where the
    bench says so)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(reduce(times))


def bench_rate(sizes: Sequence[int] = (2, 10, 100), quick: bool = False) -> Iterator[dict]:
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
        t_fast = _time(lambda X=X, W0=W0: rate.simulate(A, X, W0, passes), 2 if quick else 5)
        t_ref = _time(lambda X=X, W0=W0: rate.simulate_numpy(A, X, W0, ref_passes), 1 if quick else 2)
        fast = K * D * S * passes * n / t_fast
        ref = K * D * S * ref_passes * n / t_ref
        diff = float(np.abs(rate.simulate(A, X, W0, ref_passes)[0]
                            - rate.simulate_numpy(A, X, W0, ref_passes)[0]).max())
        yield {"bench": "rate", "n_inputs": n, "runs": K * D, "synapse_steps_per_s": fast,
               "numpy_reference_synapse_steps_per_s": ref, "speedup_vs_numpy": fast / ref,
               "max_abs_weight_difference_vs_numpy": diff,
               "flop_rate_gflops": 22 * fast / 1e9, "threads": numba.get_num_threads(),
               "cores": os.cpu_count()}


def bench_istdp(quick: bool = False, brian2_python: str | None = None,
                  config_path: str = "runs/istdp.toml") -> Iterator[dict]:
    """Whole-generation cost of the LIF task per candidate per simulated second, one thread.

    Rows ``istdp`` (per input mode and popsize K = 8, 64): the kernel's time per candidate (K
    candidates on one trial) and the input generation's time per trial (paid once per trial and
    shared by its K candidates), and their sum per candidate: ``kernel + inputs / K``; medians of 7
    (2 with ``quick``), each after one untimed call of the same length (as Brian2's second run).
    Rows ``brian2`` (where a Python with Brian2 is found: this one, or ``brian2_python``): the
    batched Brian2 model of :func:`evoplast.kernels.brian2_ref.build_batched` (K cells sharing
    inputs Brian2 generates itself), cython and cpp_standalone, one thread, a second run of the
    built network timed (build time apart). Row ``istdp_headline``: evoplast's total at popsize 8
    against the best (fastest per candidate) Brian2 row of the same input mode: the least
    favourable fair ratio. Row ``generation``: one real generation of ``config_path`` (default
    ``runs/istdp.toml``) on 2 loky workers, end to end, median of 3 after a warm-up, split into
    inputs / kernel (each timed alone on one thread over the generation's trials, divided by the
    2 workers) / other (the rest: process communication, scheduling, loss).
    """
    import numba

    from .kernels import lif
    from .rules.pre_post_trace import PrePostTraceRule
    from .tasks.istdp_inputs import make_inputs

    p = lif.NeuronParams()
    rule = PrePostTraceRule(alpha=-0.2, beta=0.0, gamma=1.0, kappa=1.0, eta=1e-3)
    duration = 5.0 if quick else 20.0
    repeats = 2 if quick else 7
    modes = ("pathways",) if quick else ("pathways", "poisson")
    rng = np.random.default_rng(0)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    totals = {}
    try:
        for mode in modes:
            make_inputs(rng, duration, p, mode)  # compile / load the cache; warm, like Brian2's 2nd run
            t_in = _time(lambda mode=mode: make_inputs(rng, duration, p, mode), repeats, np.median)
            inputs = [make_inputs(rng, duration, p, mode)]
            for K in (8, 64):
                rules = np.repeat(rule.params()[None], K, axis=0)
                rules[:, 2] *= np.linspace(0.8, 1.2, K)  # distinct candidates
                W0 = np.full((1, inputs[0].n_inh), 0.1)
                lif.simulate(inputs, p, rules, W0, silent_s=1e9)  # compile; one untimed run
                t_k = _time(lambda x=inputs, r=rules, W0=W0: lif.simulate(x, p, r, W0, silent_s=1e9),
                            repeats, np.median)
                kernel = t_k / (K * duration)
                per_trial = t_in / duration
                total = kernel + per_trial / K
                totals[mode, K] = total
                row = {"bench": "istdp", "setup": "evoplast", "mode": mode, "threads": 1,
                       "candidates": K, "trials": 1, "bio_s": duration,
                       "kernel_ms_per_bio_s_per_candidate": 1e3 * kernel,
                       "input_ms_per_bio_s_per_trial": 1e3 * per_trial,
                       "total_ms_per_bio_s_per_candidate": 1e3 * total,
                       "input_fraction": per_trial / K / total}
                if K == 64 and mode == "pathways":
                    ref_duration = 0.2 if quick else 1.0
                    short = make_inputs(rng, ref_duration, p, mode)
                    t_ref = _time(lambda x=short, r=rules, w=W0[0]: lif.simulate_numpy(x, p, r, w), 1)
                    row["numpy_reference_ms_per_bio_s_per_candidate"] = 1e3 * t_ref / (K * ref_duration)
                    row["kernel_speedup_vs_numpy"] = t_ref / (K * ref_duration) / kernel
                yield row
    finally:
        numba.set_num_threads(threads)
    best = {}
    for row in _brian2_rows(modes, (8, 64), 2.0 if quick else 10.0, brian2_python):
        yield row
        if row.get("s_per_bio_s_per_candidate"):
            b = 1e3 * row["s_per_bio_s_per_candidate"]
            best[row["mode"]] = min(best.get(row["mode"], np.inf), b)
    for mode in modes:
        head = {"bench": "istdp_headline", "mode": mode, "threads": 1,
                "evoplast_total_ms_per_bio_s_per_candidate_popsize_8": 1e3 * totals[mode, 8],
                "best_brian2_ms_per_bio_s_per_candidate": best.get(mode),
                "speedup_vs_best_brian2": (best[mode] / (1e3 * totals[mode, 8]) if mode in best
                                           else None)}
        yield head
    yield bench_generation(config_path, repeats=2 if quick else 3)


def bench_generation(config_path: str = "runs/istdp.toml", n_jobs: int = 2, repeats: int = 3) -> dict:
    """One real generation of a spiking config (its popsize x n_trials), see :func:`bench_istdp`."""
    import numba

    from . import parallel, seeding
    from .config import load_config
    from .tasks import make_task

    config = load_config(config_path)
    task = make_task(config)
    K, D = config.cmaes.popsize, config.task.n_trials
    rng = np.random.default_rng(0)
    alpha = rng.uniform(-0.3, -0.1, K)  # candidates near the solution line (none silent)
    X = np.column_stack([alpha, -alpha * 8.0 + rng.uniform(-0.05, 0.05, K)])
    seeds = [seeding.trial_seeds(0, seeding.STREAM_TRAIN, g, D) for g in range(repeats + 1)]
    times = []
    with parallel.Evaluator(n_jobs, "loky") as ev:
        for g, s in enumerate(seeds):
            t0 = time.perf_counter()
            ev.evaluate(task, X, seeds=s)
            if g:
                times.append(time.perf_counter() - t0)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        task.evaluate(X, task.make_trials(seeds[0]))  # warm-up here too (compile / cache load)
        t0 = time.perf_counter()
        trials = task.make_trials(seeds[-1])
        t_inputs = time.perf_counter() - t0
        t0 = time.perf_counter()
        task.evaluate(X, trials)
        t_kernel = time.perf_counter() - t0
    finally:
        numba.set_num_threads(threads)
    total = float(np.median(times))
    inputs, kernel = t_inputs / n_jobs, t_kernel / n_jobs
    return {"bench": "generation", "config": config_path, "workers": n_jobs, "candidates": K,
            "trials": D, "bio_s_per_trial": config.task.duration_s, "generation_s": total,
            "inputs_s": inputs, "kernel_s": kernel, "other_s": total - inputs - kernel,
            "generations_timed": repeats, "cores": os.cpu_count()}


def _brian2_python(explicit: str | None) -> str | None:
    """A Python that imports Brian2: ``explicit``, else $EVOPLAST_BRIAN2_PYTHON, else this one."""
    import subprocess
    import sys

    for candidate in (explicit, os.environ.get("EVOPLAST_BRIAN2_PYTHON"), sys.executable):
        if candidate and subprocess.run([candidate, "-c", "import brian2"], capture_output=True
                                        ).returncode == 0:
            return candidate
    return None


def _brian2_rows(modes, popsizes, duration: float, python: str | None) -> Iterator[dict]:
    """Brian2's batched rows, each in a fresh process of a Python with Brian2 (evoplast importable
    there too); one row ``{"bench": "brian2", "available": False}`` when there is none
    (``pip install "evoplast[brian2]"`` in a separate environment: Brian2 2.9 needs numpy < 2.4)."""
    import subprocess

    python = _brian2_python(python)
    if python is None:
        yield {"bench": "brian2", "available": False}
        return
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parent.parent)}
    for mode in modes:
        for target in ("cython", "cpp_standalone"):
            for K in popsizes:
                out = subprocess.run([python, "-m", "evoplast.kernels.brian2_ref", str(K),
                                      str(duration), mode, target], capture_output=True, text=True,
                                     env=env)
                if out.returncode != 0:
                    yield {"bench": "brian2", "mode": mode, "target": target, "candidates": K,
                           "error": out.stderr.strip().splitlines()[-1:]}
                    continue
                yield {"bench": "brian2", **json.loads(out.stdout.strip().splitlines()[-1])}


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
        t_fast = _time(lambda args=args, p=passes: pca.simulate(*args, p), 2 if quick else 3)
        t_ref = _time(lambda args=args: pca.simulate_numpy(*args, 1), 1)
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
    from . import parallel, seeding
    from .config import load_config
    from .tasks import make_task

    config = load_config(config_path, ["task.duration_s=10.0"] if quick else [])
    task = make_task(config)
    K, repeats = config.cmaes.popsize, (2 if quick else 6)
    rng = np.random.default_rng(0)
    # candidates near the solution line beta = -alpha nu_pre / nu* (none silent or runaway)
    alpha = rng.uniform(-0.3, -0.1, K)
    X = np.column_stack([alpha, -alpha * 2.0 + rng.uniform(-0.05, 0.05, K)])
    gens = [seeding.trial_seeds(0, seeding.STREAM_TRAIN, g, config.task.n_trials)
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


def run(what: str = "rate", quick: bool = False, dask_config: str = DASK_CONFIG,
        brian2_python: str | None = None) -> Iterator[dict]:
    if what in ("rate", "all"):
        yield from bench_rate(quick=quick)
    if what in ("istdp", "all"):
        yield from bench_istdp(quick=quick, brian2_python=brian2_python)
    if what in ("pca", "all"):
        yield from bench_pca(quick=quick)
    if what in ("dask", "all"):
        yield from bench_dask(quick=quick, config_path=dask_config)
    if what in ("network", "all"):
        from .bench_network import bench_network

        yield from bench_network(quick=quick, brian2_python=brian2_python)
