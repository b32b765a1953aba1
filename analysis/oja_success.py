"""Success table of experiment 1: rediscovery of Oja's rule vs N and input distribution.

    python analysis/oja_success.py [--sizes 2 5 10 20] [--dists gaussian laplace] [--seeds 10]
                                   [--jobs 2] [--out runs/out/oja_success] [--config runs/oja.toml]
                                   [--extra KEY=VALUE ...]

Runs ``evoplast run CONFIG`` for every (N, distribution, seed) into OUT/<N>-<dist>-<seed> (a finished
run is reused), then prints one row per (N, distribution): successes out of seeds, where success is
the model-notes criterion (``theory.is_oja``) AND mean 1-|cos(w, PC1)| < 0.01 on the held-out
datasets, for the reported rule (``success``: after the overall-scale refit on validation trials,
``cmaes.calibrate_scale``) and for the search's own mean (``success_search_mean``), with the median
wall time per run. Runs go
in parallel (one joblib worker each, one numba thread per worker).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from joblib import Parallel, delayed


def one_run(config_path: str, n: int, dist: str, seed: int, out: Path, extra=()) -> str:
    from evoplast import ensure_run

    return ensure_run(config_path, [*extra, f"task.n_inputs={n}", f"task.input_distribution={dist}",
                                    f"run.seed={seed}"], out / f"{n}-{dist}-{seed}", threads=1)


def success_table(out: Path):
    from evoplast.analysis import load_results

    df = load_results(str(out / "*"))
    is_oja = df["theory.is_oja"].astype(bool)
    df["success"] = is_oja & (df["heldout.mean_one_minus_cos"] < 0.01)
    search = df.get("heldout_search.mean_one_minus_cos", df["heldout.mean_one_minus_cos"])
    df["success_search_mean"] = is_oja & (search.fillna(df["heldout.mean_one_minus_cos"]) < 0.01)
    return (df.groupby(["task.n_inputs", "task.input_distribution"])
              .agg(success=("success", "sum"),
                   success_search_mean=("success_search_mean", "sum"),
                   is_oja=("theory.is_oja", "sum"), runs=("success", "size"),
                   median_time_s=("elapsed_s", "median"),
                   median_one_minus_cos=("heldout.mean_one_minus_cos", "median"),
                   median_max_other=("theory.max_other_over_xy", "median"))
              .reset_index())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[2, 5, 10, 20])
    p.add_argument("--dists", nargs="+", default=["gaussian", "laplace"])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--config", default="runs/oja.toml")
    p.add_argument("--out", default="runs/out/oja_success")
    p.add_argument("--extra", nargs="*", default=[], metavar="KEY=VALUE",
                   help="further config overrides for every run")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(n, d, s) for n in args.sizes for d in args.dists for s in range(args.seeds)]
    t0 = time.time()
    for i, path in enumerate(Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
            delayed(one_run)(args.config, n, d, s, out, args.extra) for n, d, s in jobs)):
        print(f"[{i + 1}/{len(jobs)}] {path}  ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    table = success_table(out)
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
