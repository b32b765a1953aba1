"""The known PCA-network rules (Rubner-Tavan: Oja feed-forward, anti-Hebbian lateral) under a grid
of task settings, on validation datasets: which data, updates and learning rates make the task
solvable by the known answer, and what one evaluation costs -- before a config for a new size is
written (no search runs, and no search starts from these rules).

    python analysis/pca_rt_scan.py [--config runs/pca_n50.toml] [--set task.n_inputs=100 ...]
                                   [--grid task.n_passes=100,200 rule.ff.eta=0.01,0.02 ...]
                                   [--trials 16] [--csv analysis/results/pca_rt_scan.csv]

For every combination of the ``--grid`` values (on top of ``--set``), the known rules at the
config's etas are simulated on ``--trials`` datasets of the validation stream (seed 12345, never a
run's held-out ones): task loss, per-output mean |cos(w_i, PC_i)|, the fraction of datasets where
every output reaches 0.99, and the seconds one (candidate x dataset) simulation takes on one
thread (the search's cost per generation is about popsize x n_trials of them / cores).
"""

from __future__ import annotations

import argparse
import itertools
import time


def main(argv=None) -> int:
    import numpy as np
    import pandas as pd

    from evoplast import __version__, seeding
    from evoplast.config import load_config
    from evoplast.tasks import make_task

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="runs/pca_n50.toml")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    p.add_argument("--grid", nargs="*", default=[], metavar="KEY=V1,V2")
    p.add_argument("--trials", type=int, default=16)
    p.add_argument("--csv", default="analysis/results/pca_rt_scan.csv")
    args = p.parse_args(argv)
    keys = [g.partition("=")[0] for g in args.grid]
    values = [g.partition("=")[2].split(",") for g in args.grid]
    rows = []
    for combo in itertools.product(*values) if values else [()]:
        grid = [f"{k}={v}" for k, v in zip(keys, combo)]
        config = load_config(args.config, [*args.set, *grid])
        task = make_task(config)
        trials_seeds = seeding.trial_seeds(12345, seeding.STREAM_VALIDATION, 7, args.trials)
        trials = task.make_trials(trials_seeds)
        vector = task.known_rule().to_vector()
        task.simulate(vector, task.make_trials(trials_seeds[:1]))  # compile / load the cache first
        t0 = time.perf_counter()
        W, L, status = task.simulate(vector, trials)
        seconds = (time.perf_counter() - t0) / args.trials
        loss = float(task.evaluate(vector, trials)[0].mean())
        cos = np.where((status[0] == 0)[:, None], task.alignment(W[0], trials.U), 0.0)
        cos = np.nan_to_num(cos, nan=0.0)
        row = {"config": args.config, "set": " ".join(args.set), "grid": " ".join(grid),
               "trials": args.trials, "loss": loss, "all_ge_0.99": float((cos.min(axis=1) >= 0.99).mean()),
               "mean_cos": [round(float(c), 4) for c in cos.mean(axis=0)],
               "s_per_simulation": seconds, "evoplast_version": __version__}
        rows.append(row)
        print(f"{' '.join(grid) or '(config)'}: loss {loss:.4f}, every output >= 0.99 on "
              f"{row['all_ge_0.99']:.0%} of datasets, mean |cos| {row['mean_cos']}, "
              f"{seconds:.3f} s per simulation", flush=True)
    pd.DataFrame(rows).to_csv(args.csv, index=False)
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
