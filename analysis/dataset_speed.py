"""Time to make a generation's datasets, per rotation method (``task.rotation``): the oja task's
``make_trials`` of D datasets (samples, sample PC1, initial weights), one thread, like for like
(same config, same seeds, each method's own draws), minimum of ``--repeats`` after a warm-up.

    python analysis/dataset_speed.py [--config runs/oja_n1000.toml] [--sizes 100 300 1000]
                                     [--datasets 8] [--repeats 5]
                                     [--csv analysis/results/dataset_speed.csv]

Prints one row per (N, method) and the ratio qr / householder per N; writes them to ``--csv``.
Run it with one thread (``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1``): the script sets these
before numpy is imported.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def main(argv=None) -> int:
    import pandas as pd

    from evoplast import __version__, load_config, make_task, seeding

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="runs/oja_n1000.toml")
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000])
    p.add_argument("--datasets", type=int, default=8)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--csv", default=str(Path(__file__).parent / "results" / "dataset_speed.csv"))
    args = p.parse_args(argv)
    rows = []
    for n in args.sizes:
        seeds = seeding.trial_seeds(0, seeding.STREAM_TRAIN, 1, args.datasets)
        for rotation in ("qr", "householder"):
            task = make_task(load_config(args.config, [f"task.n_inputs={n}", f'task.rotation="{rotation}"']))
            task.make_trials(seeds[:1])  # warm-up (compile / cache load)
            times = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                task.make_trials(seeds)
                times.append(time.perf_counter() - t)
            rows.append({"n_inputs": n, "rotation": rotation, "datasets": args.datasets,
                         "n_samples": task.cfg.n_samples, "min_s": min(times),
                         "median_s": sorted(times)[len(times) // 2], "config": args.config,
                         "threads": os.environ["OMP_NUM_THREADS"], "evoplast_version": __version__})
            print(f"N = {n:5d}  {rotation:11s}  {args.datasets} datasets: min {min(times):.3f} s", flush=True)
        qr, hh = rows[-2]["min_s"], rows[-1]["min_s"]
        print(f"N = {n:5d}  qr / householder = {qr / hh:.2f}x", flush=True)
    pd.DataFrame(rows).to_csv(args.csv, index=False)
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
