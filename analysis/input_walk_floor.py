"""How far the istdp input generator can go: its compiled walk against stripped-down loops that
do less than it must, and the LIF kernel, timed in one process on one thread.

    python analysis/input_walk_floor.py [--seconds 20] [--repeats 7]
                                        [--csv analysis/results/input_walk_floor.csv]

Rows (ns per candidate event, minimum of ``--repeats``; one pathway of 100 excitatory afferents):

- ``exponential``: the ziggurat exponential of :mod:`evoplast.kernels.rng` and the running sum,
  nothing else (every candidate event needs one);
- ``place``: plus the step (one constant-rate run), the afferent and ``gE[step] += jump[a]``: no
  dead time, no spike counts, no rate runs -- less than either input mode needs;
- ``walk_poisson`` / ``walk_pathways``: the generator's own walk (:func:`_pathway_spikes`), a
  constant 40 Hz without dead time / Ornstein-Uhlenbeck rates in 1-ms blocks with the 5-ms dead time;
- ``kernel_k8``: the LIF kernel, 8 candidates on one pathway-input trial, ms per candidate per
  simulated second (median of ``--repeats``).

From these: the input time per trial per simulated second the ``place`` loop alone would take
for the model's 1000 afferents (mean candidate rate 5 + 150 E[max(0, s)] = 64.8 Hz with pathway
inputs, 40 Hz with Poisson inputs), and the input fraction of the total at popsize 8 that even it
would leave: ``(inputs / 8) / (kernel + inputs / 8)``. Writes the rows to ``--csv``.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # numba: set_num_threads(1)
    os.environ.setdefault(_var, "1")

import numba  # noqa: E402
import numpy as np  # noqa: E402

from evoplast.kernels import rng  # noqa: E402

U40 = np.uint64(40)
U24 = np.uint64(24)
PATHWAY_RATE_HZ = 5.0 + 150.0 / math.sqrt(2.0 * math.pi)  # E[5 + 150 max(0, s)], s ~ N(0, 1)


@numba.njit(cache=False)
def _exponential_only(state, n, zk, zw, zf):
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    level = 0.0
    for _ in range(n):
        e, r, s0, s1, s2, s3 = rng.exponential(s0, s1, s2, s3, zk, zw, zf)
        level += e
    return level


@numba.njit(cache=False)
def _place(state, n, zk, zw, zf, gE, jump, inv_h):
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    level = 0.0
    npart = np.uint64(jump.shape[0])
    last_step = gE.shape[0] - 1
    for _ in range(n):
        e, r, s0, s1, s2, s3 = rng.exponential(s0, s1, s2, s3, zk, zw, zf)
        level += e
        t = min(int(level * inv_h), last_step)
        a = ((r >> U40) * npart) >> U24
        gE[np.uint64(t)] += jump[a]
    return level


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None) -> int:

    from evoplast import __version__
    from evoplast.kernels import lif
    from evoplast.rules.pre_post_trace import PrePostTraceRule
    from evoplast.storage import git_revision
    from evoplast.tasks import istdp_inputs as inp

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--csv", default=str(Path(__file__).parent / "results" / "input_walk_floor.csv"))
    args = ap.parse_args(argv)
    numba.set_num_threads(1)
    p = lif.NeuronParams()
    dt, n_part = p.dt, 100
    n_steps = int(round(args.seconds / dt))
    n_blocks = n_steps // 10
    tables = (rng.ZIG_K, rng.ZIG_W, rng.ZIG_F)
    state = np.array([1, 2, 3, 4], dtype=np.uint64)
    rows = []

    n_cand = int(n_part * 40.0 * args.seconds)
    jump = np.ones(n_part)
    for name, fn in (("exponential", lambda: _exponential_only(state, n_cand, *tables)),
                     ("place", lambda: _place(state, n_cand, *tables, np.zeros(n_steps), jump,
                                              1.0 / (n_part * 40.0 * dt)))):
        fn()
        rows.append({"row": name, "ns_per_candidate": _best(fn, args.repeats) / n_cand * 1e9})

    ou = inp._ou_rates(np.random.default_rng(0).standard_normal((1, n_blocks)), 10 * dt, 0.05, 5.0, 150.0,
                       np.empty((1, n_blocks)))[0]
    for name, rates_k, ref in (("walk_poisson", np.full(n_blocks, 40.0), 0), ("walk_pathways", ou, 50)):
        start, rate = np.empty(n_blocks + 1, dtype=np.int64), np.empty(n_blocks)
        n_runs = inp._rate_runs(rates_k, 10, n_steps, start, rate)
        start, rate = start[:n_runs + 1], rate[:n_runs]
        cum, inv = np.empty(n_runs + 1), np.empty(n_runs)
        inp._run_hazards(start, rate, n_part, dt, cum, inv)
        ev = np.empty(1, dtype=np.int32)

        def walk(start=start, cum=cum, inv=inv, ref=ref, ev=ev):
            inp._pathway_spikes(start, cum, inv, n_part, ref, jump, np.full(n_part, -(ref + 1)),
                                np.zeros(n_part, dtype=np.int64), np.zeros(n_steps), ev, ev, 0,
                                state.copy(), *tables)

        walk()
        cand = float(np.sum(rate * np.diff(start))) * dt * n_part
        rows.append({"row": name, "ns_per_candidate": _best(walk, args.repeats) / cand * 1e9})

    x = [inp.make_inputs(np.random.default_rng(1), args.seconds, p, "pathways")]
    vogels = PrePostTraceRule(alpha=-0.2, beta=0.0, gamma=1.0, kappa=1.0, eta=1e-3)
    rules = np.repeat(vogels.params()[None], 8, 0)
    W0 = np.full((1, x[0].n_inh), 0.1)
    lif.simulate(x, p, rules, W0, silent_s=1e9)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        lif.simulate(x, p, rules, W0, silent_s=1e9)
        times.append(time.perf_counter() - t0)
    kernel_ms = float(np.median(times)) / (8 * args.seconds) * 1e3
    rows.append({"row": "kernel_k8", "ms_per_bio_s_per_candidate": kernel_ms})

    place = rows[1]["ns_per_candidate"]
    for mode, hz in (("pathways", PATHWAY_RATE_HZ), ("poisson", 40.0)):
        inputs_ms = place * 1e-6 * 1000 * hz  # ns per candidate x candidates per simulated second
        rows.append({"row": f"place_floor_{mode}", "input_ms_per_bio_s_per_trial": inputs_ms,
                     "input_fraction_popsize_8": inputs_ms / 8 / (kernel_ms + inputs_ms / 8)})
    for r in rows:
        r.update(evoplast_version=__version__, git_revision=git_revision(), seconds=args.seconds,
                 repeats=args.repeats)
        print(", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()
                        if k not in ("evoplast_version", "git_revision")))
    from evoplast.analysis.sweep import write_csv

    write_csv(rows, args.csv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
