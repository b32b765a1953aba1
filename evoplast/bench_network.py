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
``least_favourable_ratio``).

Brian2 (where a Python with Brian2 is found, as for ``bench istdp``), in the same run and
interleaved with evoplast, so that both meet the same machine: the same network (same connectivity,
source spikes, initial weights, rule) built in Brian2 by a long-lived process per (size, target)
(:func:`evoplast.kernels.brian2_network.serve`: cython and cpp_standalone at 1000 neurons,
cpp_standalone at the SpikES size; one thread; one candidate per network, Brian2 has no lock-step
batch). After the builds, ``ROUNDS`` rounds (``quick``: 1), each timing, per size, evoplast at K = 8
and at K = 1 (one thread, 1 simulated second) and then every Brian2 process of that size (2
simulated seconds, so the binary's start is spread thin). Rows ``network_brian2``: each target's
best and median run per simulated second (cpp_standalone: also the run time the binary records
itself, without its process start and file input/output). Row ``network_vs_brian2`` (per size):
Brian2's fastest target over evoplast at K = 8, best against best and median against median, and
``least_favourable_ratio``: the smallest ratio over K = 1 and 8, best and median, and Brian2's wall
or self-recorded time (``least_favourable`` says which). At the SpikES size the row also scales
Auryn's 0.34 s by Brian2's time measured here over the 0.50 s the notes measured beside it
(``auryn_estimated_s_per_simulated_s``): an estimate of Auryn on this machine today, from a
reference measured in this run (the notes' Brian2 ran 20 s at an E rate of 13 Hz; here ~10 Hz).
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .config import Config

AURYN_S_PER_S = 0.34  # network-notes.md: Auryn, one core, SpikES-size Vogels network

NOTES_BRIAN2_S_PER_S = 0.50  # network-notes.md: Brian2 cpp_standalone, one thread, measured beside Auryn

SIZES = {"ei_ie_1000": [], "spikes_10000": ["task.n_exc=8000", "task.n_inh=2000",
                                             "task.p={ee=0.02, ei=0.02, ie=0.02, ii=0.02}"]}
BRIAN2_RUNS = (("ei_ie_1000", "cython"), ("ei_ie_1000", "cpp_standalone"), ("spikes_10000", "cpp_standalone"))
BRIAN2_S = 2.0  # simulated seconds per Brian2 run
ROUNDS = 4  # interleaved rounds of evoplast and Brian2 runs


def timing_config(config_path: str, sets: list[str], seconds: float) -> Config:
    """The config of a timing run: ``sets`` over ``config_path``, no training phase, ``seconds``
    scored, no spikes recorded, no plausibility term."""
    from .config import load_config

    return load_config(config_path, [*sets, "task.train_s=0.0", f"task.score_s={seconds}",
                                     "task.record_neurons=0", "task.plausibility_weight=0.0"])


def bench_network(quick: bool = False, config_path: str = "runs/ei_ie.toml",
                  brian2_python: str | None = None) -> Iterator[dict]:
    import numba

    from . import seeding
    from .tasks import make_task

    duration = 1.0
    repeats = 1 if quick else 2
    all_threads = numba.config.NUMBA_NUM_THREADS
    one_thread: dict[str, dict[int, float]] = {}  # size -> K -> s per simulated s per candidate
    made = {}  # size -> (task, trials, candidates (32, n))
    for size, sets in SIZES.items():
        task = make_task(timing_config(config_path, sets, duration))
        t0 = time.perf_counter()
        trials = task.make_trials(seeding.trial_seeds(0, seeding.STREAM_TRAIN, 0, 1))
        build_s = time.perf_counter() - t0
        known = task.known_rule().to_vector()
        rng = np.random.default_rng(0)
        made[size] = (task, trials, known + rng.normal(0.0, 0.02, (32, known.size)))
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
    auryn = {}
    if "spikes_10000" in one_thread:
        ours = one_thread["spikes_10000"][8]
        auryn = {"bench": "network_vs_auryn", "size": "spikes_10000", "K": 8, "threads": 1,
                 "evoplast_s_per_simulated_s_per_candidate": ours, "auryn_s_per_simulated_s": AURYN_S_PER_S,
                 "auryn_over_evoplast": AURYN_S_PER_S / ours,
                 **_least_favourable(one_thread["spikes_10000"], AURYN_S_PER_S),
                 "note": "Auryn's figure is from network-notes.md, not measured in this run"}
    for row in _brian2_interleaved(made, 1 if quick else ROUNDS, config_path, brian2_python):
        if row["bench"] == "network_vs_brian2" and row["size"] == "spikes_10000" and auryn:
            auryn.update(_auryn_estimate(row))
        yield row
    if auryn:
        yield auryn


def _auryn_estimate(vs: dict) -> dict:
    """Auryn's noted time scaled by Brian2 cpp_standalone's self-recorded time in this run (best and
    median) over the notes' Brian2 figure, against evoplast's interleaved K = 8 time (best, median)."""
    if "brian2_self_recorded_s_per_simulated_s" not in vs:
        return {}
    scale = AURYN_S_PER_S / NOTES_BRIAN2_S_PER_S
    best = scale * vs["brian2_self_recorded_s_per_simulated_s"]
    median = scale * vs["brian2_self_recorded_s_per_simulated_s_median"]
    return {"auryn_estimated_s_per_simulated_s": best, "auryn_estimated_s_per_simulated_s_median": median,
            "auryn_estimated_over_evoplast": best / vs["evoplast_s_per_simulated_s_per_candidate"],
            "auryn_estimated_over_evoplast_median":
                median / vs["evoplast_s_per_simulated_s_per_candidate_median"],
            "auryn_estimate_note": f"{AURYN_S_PER_S} s x Brian2 cpp_standalone's self-recorded time in this "
                                   f"run / its {NOTES_BRIAN2_S_PER_S} s in network-notes.md, over evoplast's "
                                   "one-thread K = 8 time interleaved with it"}


def _least_favourable(per_k: dict[int, float], reference: float) -> dict:
    """The one-thread K row slowest per candidate, and the reference's time over it."""
    k = max(per_k, key=per_k.get)
    return {"least_favourable_K": k, "least_favourable_ratio": reference / per_k[k]}


class _Brian2:
    """A :func:`evoplast.kernels.brian2_network.serve` process (one size and target)."""

    def __init__(self, python: str, size: str, target: str, rounds: int, config_path: str):
        import json
        import subprocess
        import tempfile
        from pathlib import Path

        self.size, self.target = size, target
        self.log = tempfile.TemporaryFile(mode="w+")  # stderr to a file: a full pipe would block it
        self.dir = tempfile.TemporaryDirectory(prefix="evoplast-brian2-net-")  # removed by close()
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parent.parent)}
        self.proc = subprocess.Popen(
            [python, "-m", "evoplast.kernels.brian2_network", json.dumps(SIZES[size]), str(BRIAN2_S),
             target, str(rounds), config_path, self.dir.name], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        self.ready: dict | None = None
        self.runs: list[dict] = []

    def read(self) -> dict:
        import json

        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            self.log.seek(0)
            last = self.log.read().strip().splitlines()[-1:]
            raise RuntimeError(f"Brian2 {self.target} process ended (exit {self.proc.returncode}): "
                               f"{last[0] if last else 'no message'}")
        return json.loads(line)

    def close(self) -> None:
        """Stop the process if it still runs; remove its build directory and log."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.dir.cleanup()
        self.log.close()

    def failed(self, err: Exception) -> dict:
        return {"bench": "network_brian2", "size": self.size, "target": self.target, "error": str(err)}

    def run(self) -> None:
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        self.runs.append(self.read())

    def finish(self) -> dict:
        self.proc.stdin.close()
        final = self.read()
        self.proc.wait()
        run = np.array([r["run_s"] for r in self.runs]) / BRIAN2_S
        row = {**final, "size": self.size, "build_s": self.ready["build_s"], "rounds": len(self.runs),
               "s_per_simulated_s": float(run.min()), "s_per_simulated_s_median": float(np.median(run))}
        if self.runs[0]["internal_s"] is not None:
            own = np.array([r["internal_s"] for r in self.runs]) / BRIAN2_S
            row.update(self_recorded_s_per_simulated_s=float(own.min()),
                       self_recorded_s_per_simulated_s_median=float(np.median(own)))
        return row


def _rounds(made: dict, servers: list[_Brian2], rounds: int,
            ours: dict[tuple[str, int], list[float]]) -> Generator[dict, None, list[dict]]:
    """Wait for the Brian2 builds, then time the rounds (evoplast's times per candidate into
    ``ours[size, K]``); yields the error rows and the rows of the Brian2 processes that ran every
    round, and returns the latter."""
    import numba

    live = []
    for b in servers:  # the builds run side by side; nothing is timed meanwhile
        try:
            b.ready = b.read()
            live.append(b)
        except RuntimeError as err:
            yield b.failed(err)
    numba.set_num_threads(1)
    for _ in range(rounds):
        for size, (task, trials, V) in made.items():
            for K in (8, 1):
                t0 = time.perf_counter()
                task.simulate(V[:K], trials)
                ours.setdefault((size, K), []).append((time.perf_counter() - t0) / K)
            for b in [b for b in live if b.size == size]:
                try:
                    b.run()
                except RuntimeError as err:  # the process ended: report it, go on without it
                    live.remove(b)
                    yield b.failed(err)
    rows = [b.finish() for b in live]
    yield from rows
    return rows


def _brian2_interleaved(made: dict, rounds: int, config_path: str,
                        brian2_python: str | None = None) -> Iterator[dict]:
    """Brian2's rows and the ratios (see the module), timed in ``rounds`` rounds interleaved with
    evoplast's; one row ``available: False`` when no Python with Brian2 is found, a row with
    ``error`` for a Brian2 process that fails."""
    import numba

    from .bench import _brian2_python

    python = _brian2_python(brian2_python)
    if python is None:
        yield {"bench": "network_brian2", "available": False}
        return
    servers = [_Brian2(python, size, target, rounds, config_path)
               for size, target in BRIAN2_RUNS if size in made]
    threads = numba.get_num_threads()
    ours: dict[tuple[str, int], list[float]] = {}
    try:
        rows = yield from _rounds(made, servers, rounds, ours)
    finally:  # also on an error or an interrupt: no process or build directory is left behind
        numba.set_num_threads(threads)
        for b in servers:
            b.close()
    for size in made:
        here = [r for r in rows if r["size"] == size]
        if not here:
            continue
        ev = {K: (min(ours[size, K]), float(np.median(ours[size, K]))) for K in (8, 1)}
        best = min(here, key=lambda r: r["s_per_simulated_s"])
        options = {}  # (K, statistic, Brian2 measure) -> Brian2's time over evoplast's
        for r in here:
            for measure in ("", "self_recorded_"):
                if f"{measure}s_per_simulated_s" not in r:
                    continue
                for stat, i, suffix in (("best", 0, ""), ("median", 1, "_median")):
                    for K in (8, 1):
                        key = f"K={K}, {stat}, {r['target']} {'self-recorded' if measure else 'wall'}"
                        options[key] = r[f"{measure}s_per_simulated_s{suffix}"] / ev[K][i]
        worst = min(options, key=options.get)
        row = {"bench": "network_vs_brian2", "size": size, "K": 8, "threads": 1, "rounds": rounds,
               "evoplast_s_per_simulated_s_per_candidate": ev[8][0],
               "evoplast_s_per_simulated_s_per_candidate_median": ev[8][1],
               "evoplast_K1_s_per_simulated_s": ev[1][0], "evoplast_K1_s_per_simulated_s_median": ev[1][1],
               "brian2_target": best["target"], "brian2_s_per_simulated_s": best["s_per_simulated_s"],
               "brian2_over_evoplast": best["s_per_simulated_s"] / ev[8][0],
               "brian2_over_evoplast_median": min(r["s_per_simulated_s_median"] for r in here) / ev[8][1],
               "least_favourable": worst, "least_favourable_ratio": options[worst]}
        own = [r for r in here if "self_recorded_s_per_simulated_s" in r]
        if own:
            for suffix in ("", "_median"):
                row[f"brian2_self_recorded_s_per_simulated_s{suffix}"] = min(
                    r[f"self_recorded_s_per_simulated_s{suffix}"] for r in own)
        yield row
