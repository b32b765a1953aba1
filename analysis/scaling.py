"""Scaling of the rate experiments: cost of a rediscovery vs network size, as a table and a figure.

    python analysis/scaling.py [--points oja:2 oja:5 ... pca:5x3 ...] [--seeds 5] [--first-seed 30]
                               [--jobs 2] [--out runs/out/scaling] [--csv analysis/results/scaling.csv]
                               [--figure analysis/results/scaling.png] [--extra KEY=VALUE ...]
                               [--keep analysis/results/scaling_runs.csv]

Each point is ``oja:N`` (experiment 1, N inputs) or ``pca:NxM`` (experiment 2, N inputs, M
outputs), run from its base config (:data:`BASES`: the config tuned nearest that size) with
``task.n_inputs`` (and ``task.n_outputs``) set, the Oja points on the ``tail`` spectrum (PC1 at 1, a
flat tail at 0.01: effective dimension grows with N) and every point with the convergence stop
(``cmaes.converge_every = 10``), for seeds F..F+S-1 into ``OUT/<point>-<seed>`` (a finished run
of the same config and evoplast version is reused, an unfinished one resumed; one process and one
numba thread per run, ``--jobs`` at a time). Prints and writes one row per point: the base config
and overrides, runs, successes (:mod:`evoplast.analysis.verdicts`: Oja's shape and held-out
alignment within 1.5x of Oja's own rule; PCA: both rules' shapes and every output's held-out
mean |cos| >= 0.99), median wall time to the stop, generations and evaluations to the stop,
seconds per generation, synapse-steps per second (candidates x trials x samples x passes x plastic
synapses, over the search's wall time), and the evoplast version. A config with a curriculum stage
(``cmaes.pretrain``: ``runs/pca_n100.toml``) counts it: its search and finish time are in the time
to the stop (and in ``pretrain_s``), its generations and evaluations in theirs; seconds per generation
and synapse-steps per second are the main stage's. The figure: median time to the
stop vs N (log-log) per experiment, with the power law fitted to the Oja points with at least one
success; its exponent is printed and stored in the table's ``exponent`` column. ``--keep`` adds a
previous table's per-run rows of the points not run now (so a table can grow point by point; the
``evoplast_version`` column says which version ran each point).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

#: base config per point kind and size (the config tuned nearest it)
BASES = {"oja": [(20, "runs/oja.toml"), (200, "runs/oja_n100.toml"), (10**9, "runs/oja_n1000.toml")],
         "pca": [(5, "runs/pca.toml"), (50, "runs/pca_n50.toml"), (10**9, "runs/pca_n100.toml")]}
DEFAULT_POINTS = ["oja:2", "oja:5", "oja:10", "oja:20", "oja:50", "oja:100", "oja:200", "oja:500",
                  "oja:1000", "pca:5x3", "pca:20x4", "pca:50x4", "pca:100x8"]
COMMON = ["cmaes.converge_every=10"]


def parse_point(text: str) -> tuple[str, int, int]:
    """``oja:N`` -> ("oja", N, 1); ``pca:NxM`` -> ("pca", N, M)."""
    kind, _, size = text.partition(":")
    try:
        if kind == "oja" and size.isdigit():
            return kind, int(size), 1
        if kind == "pca":
            n, m = size.split("x")
            return kind, int(n), int(m)
    except ValueError:
        pass
    raise SystemExit(f"bad point {text!r}: oja:N or pca:NxM (e.g. oja:100, pca:50x4)")


def point_config(point: str) -> tuple[str, list[str]]:
    """The base config and the overrides of a point."""
    kind, n, m = parse_point(point)
    base = next(path for limit, path in BASES[kind] if n <= limit)
    over = [f"task.n_inputs={n}", *COMMON]
    over += ["task.spectrum=tail"] if kind == "oja" else [f"task.n_outputs={m}"]
    return base, over


def one_run(point: str, seed: int, out: Path, extra=()) -> str:
    from evoplast import ensure_run

    base, over = point_config(point)
    return ensure_run(base, [*over, *extra, f"run.seed={seed}"], out / f"{point.replace(':', '-')}-{seed}",
                      threads=1)


def synapses(config) -> int:
    t = config.task
    if t.name == "oja":
        return t.n_inputs
    m = t.n_outputs
    return m * t.n_inputs + (m * (m - 1) // 2 if t.topology == "hierarchical" else m * (m - 1))


def point_rows(out: Path, point: str, seeds) -> list[dict]:
    """One row per finished run of a point: verdict, wall time, generations, evaluations, speed."""
    import json

    from evoplast.analysis import load_results
    from evoplast.analysis.verdicts import oja_verdicts, pca_verdict
    from evoplast.config import from_dict

    kind, n, m = parse_point(point)
    dirs = [out / f"{point.replace(':', '-')}-{s}" for s in seeds]
    df = load_results([str(d) for d in dirs if (d / "result.json").exists()])
    if df.empty:
        return []
    if kind == "oja":
        oja_verdicts(df)
    else:
        df["success"] = [pca_verdict(json.loads((Path(d) / "result.json").read_text()))["success"]
                         for d in df["run_dir"]]
    rows = []
    for _, r in df.iterrows():
        config = from_dict(json.loads((Path(r["run_dir"]) / "config.json").read_text())["config"])
        pre = json.loads((Path(r["run_dir"]) / "result.json").read_text()).get("pretrain")
        pre_s = pre["elapsed_s"] + pre["finish_s"] if pre else 0.0  # cmaes.pretrain: its stage counts
        t = config.task
        steps = r["evaluations"] * t.n_trials * t.n_samples * t.n_passes * synapses(config)
        rows.append({"point": point, "experiment": kind, "n_inputs": n, "n_outputs": m,
                     "seed": int(r["run.seed"]), "success": bool(r["success"]),
                     "elapsed_s": float(r["elapsed_s"]) + pre_s, "pretrain_s": pre_s,
                     "generations": int(r["generations"]) + (pre["generations"] if pre else 0),
                     "evaluations": int(r["evaluations"]) + (pre["evaluations"] if pre else 0),
                     "s_per_generation": float(r["elapsed_s"]) / max(1, int(r["generations"])),
                     "synapse_steps_per_s": steps / float(r["elapsed_s"]),
                     "evoplast_version": r["evoplast_version"]})
    return rows


def summarise(runs, points):
    g = runs.groupby("point", sort=False)
    t = g.agg(experiment=("experiment", "first"), n_inputs=("n_inputs", "first"),
              n_outputs=("n_outputs", "first"), runs=("success", "size"), successes=("success", "sum"),
              median_time_to_stop_s=("elapsed_s", "median"), median_generations=("generations", "median"),
              median_evaluations=("evaluations", "median"), s_per_generation=("s_per_generation", "median"),
              synapse_steps_per_s=("synapse_steps_per_s", "median"),
              evoplast_version=("evoplast_version", "first")).reset_index()
    t["config"] = [point_config(p)[0] for p in t["point"]]
    t["overrides"] = [" ".join(point_config(p)[1]) for p in t["point"]]
    fit = power_law(t[(t.experiment == "oja") & (t.successes > 0)])
    t["exponent"] = np.where(t.experiment == "oja", fit[0] if fit else np.nan, np.nan)
    order = {p: i for i, p in enumerate(points)}
    return t.sort_values("point", key=lambda s: s.map(order)).reset_index(drop=True), fit


def power_law(t) -> tuple[float, float] | None:
    """Least-squares fit of log(time) = a log(N) + b over the rows; (a, b) or None (< 2 sizes)."""
    if len(t) < 2:
        return None
    a, b = np.polyfit(np.log(t["n_inputs"].astype(float)), np.log(t["median_time_to_stop_s"]), 1)
    return float(a), float(b)


def figure(t, fit, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for kind, marker in (("oja", "o"), ("pca", "s")):
        s = t[t.experiment == kind]
        if s.empty:
            continue
        ok = s.successes > 0
        ax.loglog(s.n_inputs[ok], s.median_time_to_stop_s[ok], marker, label=f"{kind} (>= 1 success)")
        if (~ok).any():
            ax.loglog(s.n_inputs[~ok], s.median_time_to_stop_s[~ok], marker, mfc="none", color="grey",
                      label=f"{kind} (no success)")
    if fit:
        xs = np.geomspace(t.n_inputs.min(), t.n_inputs.max(), 50)
        ax.loglog(xs, np.exp(fit[1]) * xs ** fit[0], "k--", lw=1, label=f"Oja fit: N^{fit[0]:.2f}")
    ax.set_xlabel("inputs N")
    ax.set_ylabel("median wall time to the stop (s)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--points", nargs="+", default=DEFAULT_POINTS)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--first-seed", type=int, default=30)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--out", default="runs/out/scaling")
    p.add_argument("--csv", default=str(Path(__file__).parent / "results" / "scaling.csv"))
    p.add_argument("--figure", default=None, help="default: the CSV's path with .png")
    p.add_argument("--extra", nargs="*", default=[], metavar="KEY=VALUE",
                   help="further config overrides for every run (e.g. a quick check)")
    p.add_argument("--keep", default=None, metavar="RUNS_CSV",
                   help="a previous table's per-run CSV (``*_runs.csv``): its rows of points not in "
                        "--points join this table (their runs need not be on disk); each row keeps its "
                        "evoplast version")
    args = p.parse_args(argv)
    for point in args.points:
        base, _ = point_config(point)
        if not Path(base).exists():
            raise SystemExit(f"{point}: its base config {base} does not exist")
    from joblib import Parallel, delayed

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    jobs = [(pt, s) for pt in args.points for s in seeds]
    t0 = time.time()
    for i, path in enumerate(Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
            delayed(one_run)(pt, s, out, args.extra) for pt, s in jobs)):
        print(f"[{i + 1}/{len(jobs)}] {path}  ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    import pandas as pd

    runs = pd.DataFrame([row for pt in args.points for row in point_rows(out, pt, seeds)])
    points = list(args.points)
    if args.keep:
        kept = pd.read_csv(args.keep)
        missing = {"point", "experiment", "n_inputs", "success", "elapsed_s"} - set(kept.columns)
        if missing:
            raise SystemExit(f"--keep {args.keep}: not a per-run table (no {', '.join(sorted(missing))})")
        kept = kept[~kept["point"].isin(points)]
        runs = pd.concat([kept, runs], ignore_index=True)
        points = sorted(set(runs["point"]), key=parse_point)  # oja before pca, then by size
        runs = runs.sort_values("point", key=lambda c: c.map({p: i for i, p in enumerate(points)}),
                                kind="stable").reset_index(drop=True)
    if runs.empty:
        raise SystemExit("no finished runs to tabulate")
    table, fit = summarise(runs, points)
    with pd.option_context("display.width", 250):
        print(table.drop(columns=["overrides"]).to_string(index=False))
    print(f"Oja: time to the stop ~ N^{fit[0]:.2f}" if fit
          else "Oja: fewer than 2 sizes with a success, no fit")
    csv = Path(args.csv)
    csv.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(csv, index=False)
    runs.to_csv(csv.with_name(csv.stem + "_runs.csv"), index=False)
    png = Path(args.figure) if args.figure else csv.with_suffix(".png")
    figure(table, fit, png)
    print(f"wrote {csv}, {csv.with_name(csv.stem + '_runs.csv')}, {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
