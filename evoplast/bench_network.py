"""``evoplast bench network``: cost of the E-I network task (experiment 4) per candidate.

Rows ``network``: seconds of wall time per simulated second per candidate, for the network of
``runs/ei_ie.toml`` (1000 neurons) and the SpikES size (8000 E + 2000 I, p = 0.02: the same
in-degrees, hence the same weights), with K = 1, 8, 32 candidates on one trial (Vogels' rule on
I -> E, candidates spread around it, so the E rate is near 10 Hz; the row gives the rates), on one
thread and on all threads; the trial's construction (connectivity, source spikes) apart, per trial.
Best of 2 runs of 1 simulated second after a compile/warm-up run (``quick``: one run).

Reference: Auryn, one core, the SpikES-size Vogels network, 0.34 s per simulated second
(``network-notes.md``, measured outside this bench on this kind of machine); the row
``network_vs_auryn`` divides it by evoplast's one-thread time per candidate at K = 8 on the
SpikES size, and by the slowest of the one-thread K rows (``least_favourable_K``,
``least_favourable_ratio``). Rows ``network_brian2`` (where a Python with Brian2 is found, as for
``bench istdp``): the 1000-neuron network with the same connectivity and source spikes in Brian2,
cython and cpp_standalone, one thread, network already built, 2 simulated seconds (so that the
binary's start is spread thin; one candidate per network: Brian2 has no lock-step batch); the row
``network_vs_brian2`` divides the faster one by evoplast's one-thread time per candidate at K = 8,
and by the slowest of the one-thread K rows (usually K = 1: one candidate against one, no input
shared).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import numpy as np

AURYN_S_PER_S = 0.34  # network-notes.md: Auryn, one core, SpikES-size Vogels network

SIZES = {"ei_ie_1000": [], "spikes_10000": ["task.n_exc=8000", "task.n_inh=2000",
                                             "task.p={ee=0.02, ei=0.02, ie=0.02, ii=0.02}"]}


def bench_network(quick: bool = False, config_path: str = "runs/ei_ie.toml",
                  brian2_python: str | None = None) -> Iterator[dict]:
    import numba

    from . import seeding
    from .config import load_config
    from .tasks import make_task

    duration = 1.0
    repeats = 1 if quick else 2
    all_threads = numba.config.NUMBA_NUM_THREADS
    one_thread: dict[str, dict[int, float]] = {}  # size -> K -> s per simulated s per candidate
    for size, sets in SIZES.items():
        config = load_config(config_path, [*sets, "task.train_s=0.0", f"task.score_s={duration}",
                                           "task.record_neurons=0", "task.plausibility_weight=0.0"])
        task = make_task(config)
        t0 = time.perf_counter()
        trials = task.make_trials(seeding.trial_seeds(0, seeding.STREAM_TRAIN, 0, 1))
        build_s = time.perf_counter() - t0
        known = task.known_rule().to_vector()
        rng = np.random.default_rng(0)
        for threads in sorted({1, all_threads}):
            numba.set_num_threads(threads)
            for K in (1, 8, 32):
                V = known + rng.normal(0.0, 0.02, (K, known.size))
                task.simulate(V[:1], trials)  # compile / load the cache
                times = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    run = task.simulate(V, trials)
                    times.append(time.perf_counter() - t0)
                wall = float(np.min(times))
                nu_e, nu_i = task._rates(run, trials)
                per = wall / (K * duration)
                if threads == 1:
                    one_thread.setdefault(size, {})[K] = per
                yield {"bench": "network", "size": size, "neurons": task.cfg.n_exc + task.cfg.n_inh,
                       "synapses": int(trials.nets[0].syn_post.size), "K": K, "threads": threads,
                       "s_per_simulated_s_per_candidate": per, "simulated_s": duration,
                       "trial_build_s": build_s, "rate_e_hz_median": float(np.median(nu_e)),
                       "rate_i_hz_median": float(np.median(nu_i)),
                       "stopped": int((run.status != 0).sum()), "cores": os.cpu_count()}
        numba.set_num_threads(all_threads)
    brian2_rows = list(_brian2_rows(quick, brian2_python))
    yield from brian2_rows
    b2 = [r for r in brian2_rows if "s_per_simulated_s" in r]
    if b2 and "ei_ie_1000" in one_thread:
        best = min(b2, key=lambda r: r["s_per_simulated_s"])
        ours = one_thread["ei_ie_1000"][8]
        yield {"bench": "network_vs_brian2", "size": "ei_ie_1000", "K": 8, "threads": 1,
               "evoplast_s_per_simulated_s_per_candidate": ours, "brian2_target": best["target"],
               "brian2_s_per_simulated_s": best["s_per_simulated_s"],
               "brian2_over_evoplast": best["s_per_simulated_s"] / ours,
               **_least_favourable(one_thread["ei_ie_1000"], best["s_per_simulated_s"])}
    if "spikes_10000" in one_thread:
        ours = one_thread["spikes_10000"][8]
        yield {"bench": "network_vs_auryn", "size": "spikes_10000", "K": 8, "threads": 1,
               "evoplast_s_per_simulated_s_per_candidate": ours, "auryn_s_per_simulated_s": AURYN_S_PER_S,
               "auryn_over_evoplast": AURYN_S_PER_S / ours,
               **_least_favourable(one_thread["spikes_10000"], AURYN_S_PER_S),
               "note": "Auryn's figure is from network-notes.md, not measured in this run"}


def _least_favourable(per_k: dict[int, float], reference: float) -> dict:
    """The one-thread K row slowest per candidate, and the reference's time over it."""
    k = max(per_k, key=per_k.get)
    return {"least_favourable_K": k, "least_favourable_ratio": reference / per_k[k]}


def _brian2_rows(quick: bool, brian2_python: str | None = None) -> Iterator[dict]:
    """Brian2's rows (:func:`evoplast.kernels.brian2_network.time_network`: the 1000-neuron
    network, cython and cpp_standalone, one thread, built network), each in a fresh process of a
    Python with Brian2; one row ``available: False`` when there is none."""
    import json
    import subprocess
    from pathlib import Path

    from .bench import _brian2_python

    python = _brian2_python(brian2_python)
    if python is None:
        yield {"bench": "network_brian2", "available": False}
        return
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parent.parent)}
    for target in ("cython", "cpp_standalone"):
        out = subprocess.run([python, "-m", "evoplast.kernels.brian2_network",
                              json.dumps(SIZES["ei_ie_1000"]), "2.0", target],
                             capture_output=True, text=True, env=env)
        if out.returncode != 0:
            yield {"bench": "network_brian2", "target": target,
                   "error": out.stderr.strip().splitlines()[-1:]}
            continue
        yield json.loads(out.stdout.strip().splitlines()[-1])
