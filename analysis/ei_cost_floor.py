"""How much of the E-I network kernel's time is the part every step pays whatever spikes: the
network as configured, the same without recurrent synapses (source input only: integration, the
spike scan and its bookkeeping, no delivery or plasticity), and without any input either (silent:
integration, decays and the scan of an empty step). Same trial seed, candidates (the config's known
rule, times U(0.95, 1.05) per parameter, seed 0), one thread, default block, no early stops, timings
interleaved.

    python analysis/ei_cost_floor.py [--config runs/ei_ie.toml] [--neurons 1000 10000]
                                     [--candidates 8] [--simulated-s 1.0] [--repeats 5] [--csv PATH]

Rows: neurons, variant, E rate, min and median seconds per candidate per simulated second over
``--repeats`` rounds, and each variant's share of the network's time (by minima and by medians).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from evoplast.bench_network import SIZES as BENCH_SIZES
from evoplast.bench_network import timing_config

SIZES = {1000: BENCH_SIZES["ei_ie_1000"], 10000: BENCH_SIZES["spikes_10000"]}  # the bench's two sizes
VARIANTS = {"network": [], "no recurrent synapses": ["task.p={ee=0.0,ei=0.0,ie=0.0,ii=0.0}"],
            "silent": ["task.p={ee=0.0,ei=0.0,ie=0.0,ii=0.0}", "task.p_ext=0.0"]}


def main(argv=None) -> int:
    import numba

    from evoplast import __version__, make_task, seeding
    from evoplast.analysis.sweep import write_csv
    from evoplast.storage import git_revision

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="runs/ei_ie.toml")
    ap.add_argument("--neurons", type=int, nargs="+", default=[1000, 10000], choices=sorted(SIZES))
    ap.add_argument("--candidates", type=int, default=8)
    ap.add_argument("--simulated-s", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--csv", default=str(Path(__file__).parent / "results" / "ei_cost_floor.csv"))
    args = ap.parse_args(argv)
    if args.simulated_s < 1.0 or args.candidates < 1 or args.repeats < 1:
        raise SystemExit("--simulated-s must be >= 1 (the task's shortest scoring phase); --candidates and "
                         "--repeats >= 1")
    numba.set_num_threads(1)
    rows = []
    for size in args.neurons:
        made = {}
        for name, sets in VARIANTS.items():
            task = make_task(timing_config(args.config, [*SIZES[size], *sets, "task.rate_bounds=[0.0, 1e9]"],
                                           args.simulated_s))
            trials = task.make_trials(seeding.trial_seeds(0, seeding.STREAM_TRAIN, 0, 1))
            rule = task.known_rule()
            spread = np.random.default_rng(0).uniform(0.95, 1.05, (args.candidates, rule.n_params))
            V = rule.to_vector()[None] * spread
            run = task.simulate(V, trials)  # compile / load the cache; the rate
            made[name] = (task, trials, V, float(np.mean(task._rates(run, trials)[0])))
        times: dict[str, list[float]] = {name: [] for name in made}
        for _ in range(args.repeats):
            for name, (task, trials, V, _) in made.items():
                t0 = time.perf_counter()
                task.simulate(V, trials)
                times[name].append((time.perf_counter() - t0) / (args.candidates * args.simulated_s))
        base = times["network"]
        for name, (_, trials, _, rate) in made.items():
            t = times[name]
            rows.append({"neurons": size, "variant": name, "synapses": int(trials.nets[0].syn_post.size),
                         "rate_e_hz": rate, "candidates": args.candidates, "repeats": args.repeats,
                         "min_s": min(t), "median_s": float(statistics.median(t)),
                         "share_of_network_min": min(t) / min(base),
                         "share_of_network_median": statistics.median(t) / statistics.median(base),
                         "evoplast_version": __version__, "git_revision": git_revision()})
            r = rows[-1]
            print(f"{size} neurons, {name:>21}: E {rate:6.2f} Hz, min {r['min_s']:.4f} median "
                  f"{r['median_s']:.4f} s per candidate per simulated s; share of the network's "
                  f"{r['share_of_network_min']:.2f} (medians {r['share_of_network_median']:.2f})", flush=True)
    write_csv(rows, args.csv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
