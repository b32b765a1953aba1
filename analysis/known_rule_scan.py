"""A task's known rule (Oja; Rubner-Tavan for the PCA network) under a grid of settings, on
validation datasets: where it learns best (e.g. which eta at a size), whether a new size is
learnable at all, and what one simulation costs -- before a config is written. It only scores the
known rule; no search starts from it.

    python analysis/known_rule_scan.py [--config runs/oja_n1000.toml] [--set KEY=VALUE ...]
                                       [--grid rule.eta=0.02,0.01,0.005 task.n_passes=40,80 ...]
                                       [--trials 16] [--csv analysis/results/NAME.csv]

For every combination of the ``--grid`` values (on top of ``--set``), ``task.known_rule()`` (at the
config's eta(s)) is scored by ``task.metrics`` on ``--trials`` datasets of the validation stream
(seed 12345, never a run's held-out ones); one row each: the grid values, the task's metrics (Oja:
loss, mean 1-|cos(w, PC1)|, mean |w|; PCA: loss, mean and min |cos| per output, datasets with every
output >= 0.99, ...), and the seconds per (rule x dataset) simulation on one thread.
"""

from __future__ import annotations

import argparse
import itertools
import time


def main(argv=None) -> int:
    import pandas as pd

    from evoplast import __version__, seeding
    from evoplast.config import load_config
    from evoplast.tasks import make_task

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="runs/oja_n1000.toml")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    p.add_argument("--grid", nargs="*", default=[], metavar="KEY=V1,V2")
    p.add_argument("--trials", type=int, default=16)
    p.add_argument("--csv", default="analysis/results/known_rule_scan.csv")
    args = p.parse_args(argv)
    keys = [g.partition("=")[0] for g in args.grid]
    values = [g.partition("=")[2].split(",") for g in args.grid]
    seeds = seeding.trial_seeds(12345, seeding.STREAM_VALIDATION, 7, args.trials)
    rows = []
    for combo in itertools.product(*values):
        grid = [f"{k}={v}" for k, v in zip(keys, combo)]
        task = make_task(load_config(args.config, [*args.set, *grid]))
        vector = task.known_rule().to_vector()
        trials = task.make_trials(seeds)
        task.metrics(vector, task.make_trials(seeds[:1]))  # compile / load the cache before timing
        t0 = time.perf_counter()
        m = task.metrics(vector, trials)
        seconds = (time.perf_counter() - t0) / args.trials
        shown = {k: v for k, v in m.items() if isinstance(v, (int, float, list)) and k != "n_trials"}
        rows.append({"config": args.config, "set": " ".join(args.set), "grid": " ".join(grid),
                     "trials": args.trials, **shown, "s_per_simulation": seconds,
                     "evoplast_version": __version__})
        print(f"{' '.join(grid) or '(config)'}: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float)
                                                               else f"{k} {v}" for k, v in shown.items())
              + f", {seconds:.3f} s per simulation", flush=True)
    pd.DataFrame(rows).to_csv(args.csv, index=False)
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
