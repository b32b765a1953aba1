"""Regenerate the paper's figures (and the scaling table) from run directories.

    python analysis/paper_figures.py --out OUT [--oja GLOB] [--pca GLOB] [--istdp GLOB]
                                     [--grid 25] [--trials K] [--n-jobs 2]

* ``--oja``: runs of ``runs/oja.toml`` (any N, distributions, seeds): a report of up to 10 runs
  (meta-loss, coefficients vs generation, input cloud with PC1 and the weight trajectory, ablation),
  the loss landscape over (``x*y``, ``y**2*w``) with the Oja valley and the runs' CMA-ES paths and
  found rules, and the scaling table (success and median time vs N, one pandas ``groupby`` over
  :func:`evoplast.analysis.load_runs`) as ``scaling.csv`` + ``scaling.png``;
* ``--pca``: runs of ``runs/pca*.toml``: report (meta-loss, feed-forward and lateral coefficients,
  |cos(w_i, PC_i)| per output);
* ``--istdp``: runs of ``runs/istdp*.toml``: report (output rate vs time, E/I input per pathway
  before/after) and the (alpha, beta) landscape with the mean-field line, its stable half, the
  CMA-ES paths and the found rules (measured valley slope against -nu_pre/nu*).

Success (Oja): the model-notes criterion (``theory.is_oja``) and mean 1-|cos(w, PC1)| < 0.01 on
the held-out datasets, rule exactly as found.
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path


def _dirs(pattern: str | None) -> list[Path]:
    if not pattern:
        return []
    return [Path(p) for p in sorted(glob.glob(pattern)) if (Path(p) / "result.json").is_file()]


def scaling_table(paths):
    """One row per (N, input distribution): runs, successes, is_oja, median time (s)."""
    from evoplast.analysis import load_runs

    df = load_runs(paths)
    last = df[df.generation == df.groupby("run_dir").generation.transform("max")].copy()
    last["success"] = last["theory.is_oja"].astype(bool) & (last["heldout.mean_one_minus_cos"] < 0.01)
    return (last.groupby(["task.n_inputs", "task.input_distribution"])
                .agg(runs=("success", "size"), success=("success", "sum"), is_oja=("theory.is_oja", "sum"),
                     median_time_s=("elapsed_s", "median"))
                .reset_index())


def plot_scaling(table, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for dist, t in table.groupby("task.input_distribution"):
        a1.plot(t["task.n_inputs"], t.success / t.runs, "o-", label=dist)
        a2.plot(t["task.n_inputs"], t.median_time_s, "o-", label=dist)
    sizes = sorted(table["task.n_inputs"].unique())
    for ax in (a1, a2):
        ax.set_xscale("log")
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.minorticks_off()
    a1.set_ylim(-0.05, 1.05)
    a1.set_xlabel("number of inputs N")
    a1.set_ylabel("rediscovery success rate")
    a1.set_title("Oja rediscovery vs N")
    a1.legend()
    a2.set_xlabel("number of inputs N")
    a2.set_ylabel("median search time per run (s)")
    a2.set_title("search time vs N (2-core machine)")
    a2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _landscape(runs: list[Path], x: str, y: str, out: Path, grid: int, trials, n_jobs, xr, yr) -> dict:
    """Landscape with the first run's config and found rule as the base, all runs overlaid."""
    from evoplast.analysis.landscape import run_landscape
    from evoplast.analysis.report import load_run

    config, _ = load_run(runs[0])
    return run_landscape(config, x, y, out, (*xr, *yr), grid, trials, runs[:10], n_jobs)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--oja")
    p.add_argument("--pca")
    p.add_argument("--istdp")
    p.add_argument("--grid", type=int, default=25)
    p.add_argument("--trials", type=int)
    p.add_argument("--n-jobs", type=int, default=1)
    args = p.parse_args(argv)
    from evoplast.analysis.report import report

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    oja, pca, istdp = _dirs(args.oja), _dirs(args.pca), _dirs(args.istdp)
    if not (oja or pca or istdp):
        print("paper_figures: no finished run directory matched", file=sys.stderr)
        return 2
    if oja:
        report(oja[:10], out / "oja", n_jobs=args.n_jobs)
        table = scaling_table([str(d) for d in oja])
        table.to_csv(out / "oja" / "scaling.csv", index=False)
        plot_scaling(table, out / "oja" / "scaling.png")
        print(table.to_string(index=False))
        s = _landscape(oja, "x*y", "y**2*w", out / "oja" / "landscape", args.grid, args.trials,
                       args.n_jobs, (-0.5, 2.0), (-2.0, 0.5))
        print(f"oja landscape: measured valley slope {s['measured_valley']['slope']} vs "
              f"analytic {s['analytic_slope']}")
    if pca:
        report(pca[:10], out / "pca", n_jobs=args.n_jobs)
    if istdp:
        report(istdp[:10], out / "istdp", n_jobs=args.n_jobs)
        s = _landscape(istdp, "alpha", "beta", out / "istdp" / "landscape", args.grid,
                       args.trials, args.n_jobs, (-0.4, 0.1), (-0.5, 3.0))
        print(f"istdp landscape: measured valley slope {s['measured_valley']['slope']} vs "
              f"analytic {s['analytic_slope']:.4g}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
