r"""Rule-space maps: the task loss on a 2-D grid of two rule coefficients.

``landscape(config, x, y, ...)`` evaluates every grid point on the same validation trials (common
random numbers), with the other coefficients fixed at a run's found rule or at the config's values,
through the search's own evaluation path (:class:`evoplast.parallel.Evaluator`: same kernels,
parallel, cached). The analytic manifold of the task is drawn over the map:

* ``oja`` over (``x*y``, ``y**2*w``): the valley ``c[y**2*w] = -c[x*y]`` (Oja's ratio; the rule's
  fixed point has ``||w||^2 = -c[x*y] / c[y**2*w]``, 1 on the line);
* ``istdp`` over (``alpha``, ``beta``): the mean-field line
  ``beta = -(nu_pre/nu*) alpha - K nu_pre``, solid on its stable half (``beta + K nu_pre > 0``,
  i.e. ``alpha < 0``), dashed on the unstable one.

:func:`valley_fit` measures the map's own valley (the y of least loss in every x column that has a
clear minimum) and fits a line, to compare its slope with the analytic one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import parallel, seeding
from ..config import from_dict
from ..errors import EvoplastError
from ..objective import objective
from ..storage import CACHE, HISTORY, RESULT, RunDir
from ..tasks import make_task

if TYPE_CHECKING:
    from evoplast.config import Config


MAX_GRID = 400  # points per axis (160,000 rule evaluations x trials)


def _index(template, term: str) -> int:
    terms = list(template.terms)
    if term not in terms:
        raise EvoplastError(f"unknown rule term {term!r} (searched terms: {', '.join(terms)})")
    return terms.index(term)


def base_vector(config: Config, run_dir: str | Path | None = None) -> np.ndarray:
    """Coefficients held fixed off the grid: a run's found rule, else the config's rule."""
    from .report import found_rule

    task = make_task(config)
    if run_dir is None:
        return task.rule_template.to_vector()
    return found_rule(task, RunDir(run_dir).result()).to_vector()


def landscape(
    config: Config,
    x: str,
    y: str,
    x_range: Sequence[float],
    y_range: Sequence[float],
    grid: int = 25,
    trials: int | None = None,
    base: np.ndarray | None = None,
    n_jobs: int = 1,
    cache_path: str | Path | None = None,
) -> pd.DataFrame:
    """Loss on a grid x grid map; one row per point: ``x``, ``y`` (coefficient values), ``loss``
    (mean task loss over the validation trials), ``objective`` (loss + L1 as the search sees it),
    ``n_bad`` (trials that ended with a non-ok status)."""
    task = make_task(config)
    template = task.rule_template
    ix, iy = _index(template, x), _index(template, y)
    if ix == iy:
        raise EvoplastError("--x and --y must be different terms")
    if grid < 2:
        raise EvoplastError("--grid must be >= 2")
    xs = np.linspace(*x_range, grid)
    ys = np.linspace(*y_range, grid)
    V = np.repeat((template.to_vector() if base is None else np.asarray(base, float))[None], grid * grid, 0)
    gx, gy = np.meshgrid(xs, ys, indexing="xy")
    V[:, ix], V[:, iy] = gx.ravel(), gy.ravel()
    seeds = seeding.trial_seeds(config.run.seed, seeding.STREAM_VALIDATION, 7,
                                 trials or config.task.n_trials)
    out = parallel.evaluate_cached(config, task, V, seeds, cache_path, n_jobs)
    mask = template.l1_mask()
    loss = out.loss.mean(axis=1)
    return pd.DataFrame({"x": gx.ravel(), "y": gy.ravel(), "loss": loss,
                         "objective": objective(loss, V, config.cmaes.l1, mask)[0],
                         "n_bad": (out.status != 0).sum(axis=1)}).assign(x_term=x, y_term=y)


def analytic_manifold(config: Config, x: str, y: str, xs: np.ndarray) -> dict | None:
    """The task's predicted zero-loss set over (x, y) (:meth:`evoplast.tasks.base.Task.analytic_manifold`)."""
    return make_task(config).analytic_manifold(x, y, xs)


def valley_fit(df: pd.DataFrame, max_loss: float | None = None) -> dict:
    """Least-loss y in every x column whose minimum is below ``max_loss`` (default: the 20th
    percentile of the map) and strictly inside the y range; a least-squares line through them."""
    threshold = np.percentile(df.loss, 20) if max_loss is None else max_loss
    ys = np.sort(df.y.unique())
    pts = []
    for xv, col in df.groupby("x"):
        best = col.loc[col.loss.idxmin()]
        if best.loss <= threshold and ys[0] < best.y < ys[-1]:
            pts.append((xv, best.y))
    if len(pts) < 3:
        return {"n_points": len(pts), "slope": None, "intercept": None}
    px, py = np.array(pts).T
    slope, intercept = np.polyfit(px, py, 1)
    return {"n_points": len(pts), "slope": float(slope), "intercept": float(intercept)}


def cma_path(run_dir: str | Path, x: str, y: str) -> pd.DataFrame:
    """The CMA-ES distribution mean per generation (``history.csv`` columns ``m:<term>``)."""
    h = pd.read_csv(Path(run_dir) / HISTORY)
    cols = [f"m:{x}", f"m:{y}"]
    if not all(c in h.columns for c in cols):
        raise EvoplastError(f"{run_dir}/history.csv has no mean columns {cols} (run made before they "
                            "were logged?)")
    return h[["generation", "restart", *cols]].rename(columns={cols[0]: "x", cols[1]: "y"})


def plot_landscape(df: pd.DataFrame, path: str | Path, title: str, manifold: dict | None = None,
                   paths: list[pd.DataFrame] | None = None, found: list[tuple[float, float]] | None = None,
                   fit: dict | None = None) -> Path:
    """Heatmap of log10(loss) with the analytic manifold, CMA-ES mean paths and found rules."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs, ys = np.sort(df.x.unique()), np.sort(df.y.unique())
    Z = df.pivot(index="y", columns="x", values="loss").loc[ys, xs].to_numpy()
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    im = ax.pcolormesh(xs, ys, np.log10(np.maximum(Z, 1e-6)), shading="nearest", cmap="viridis")
    fig.colorbar(im, ax=ax, label="log10 task loss (mean over validation trials)")
    if manifold is not None:
        st = np.asarray(manifold["stable"], bool)
        ax.plot(np.where(st, manifold["x"], np.nan), np.where(st, manifold["y"], np.nan), "w-", lw=2,
                label=manifold["label"] + " (stable)")
        if (~st).any():
            ax.plot(np.where(~st, manifold["x"], np.nan), np.where(~st, manifold["y"], np.nan), "w--",
                    lw=1.5, label="(unstable half)")
    if manifold is not None and "point" in manifold:
        px, py, label = manifold["point"]
        ax.plot([px], [py], "wD", ms=8, mec="k", label=label)
    if fit is not None and fit.get("slope") is not None:
        ax.plot(xs, fit["slope"] * xs + fit["intercept"], "r:", lw=1.5,
                label=f"measured valley, slope {fit['slope']:.3f}")
    for i, p in enumerate(paths or []):
        ax.plot(p.x, p.y, "-", color="orange", lw=1, alpha=0.9, label="CMA-ES mean path" if i == 0 else None)
        ax.plot(p.x.iloc[-1:], p.y.iloc[-1:], "o", color="orange", ms=4)
    if found:
        fx, fy = np.array(found).T
        ax.plot(fx, fy, "r*", ms=10, label=f"found rules ({len(found)} runs)")
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel(f"coefficient {df.x_term.iloc[0]} (unitless)")
    ax.set_ylabel(f"coefficient {df.y_term.iloc[0]} (unitless)")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=7, framealpha=0.7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def run_landscape(
    config: Config,
    x: str,
    y: str,
    out: str | Path,
    value_range: Sequence[float] | None = None,
    grid: int = 25,
    trials: int | None = None,
    runs: Sequence[str | Path] = (),
    n_jobs: int = 1,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """``evoplast landscape``: the map, its figure and a summary, written to ``out``
    (``landscape.csv``, ``landscape.png``, ``landscape.json``); returns the summary."""
    from ..storage import write_json
    from .report import found_rule, require_plots

    require_plots()
    out = Path(out)
    if x == y:
        raise EvoplastError("--x and --y must be different terms")
    if not 2 <= grid <= MAX_GRID:
        raise EvoplastError(f"--grid must be in 2..{MAX_GRID} points per axis, got {grid}")
    if trials is not None and trials < 1:
        raise EvoplastError(f"--trials must be >= 1, got {trials}")
    if (out / "landscape.csv").exists():
        raise EvoplastError(f"{out / 'landscape.csv'} exists; pass another --out")
    task = make_task(config)
    terms = list(task.rule_template.terms)
    runs = [Path(r) for r in runs]
    for r in runs:
        if not (r / RESULT).is_file():
            raise EvoplastError(f"{r} is not a finished run directory (no result.json)")
        other = from_dict(RunDir(r).meta()["config"])
        other_task = make_task(other)
        if type(other_task) is not type(task) or list(other_task.rule_template.terms) != terms:
            raise EvoplastError(f"{r} is a run of task {other.task.name!r} with other rule terms than "
                                f"this map's ({config.task.name!r}): its rule cannot be drawn here")
    for term in (x, y):
        if term not in terms:
            raise EvoplastError(f"unknown rule term {term!r} (searched terms: {', '.join(terms)})")
    base = base_vector(config, runs[0] if runs else None)
    if value_range:
        x0, x1, y0, y1 = value_range
    else:  # around the base point
        cx, cy = base[terms.index(x)], base[terms.index(y)]
        wx, wy = max(1.0, 2 * abs(cx)), max(1.0, 2 * abs(cy))
        x0, x1, y0, y1 = cx - wx, cx + wx, cy - wy, cy + wy
    if not (x0 < x1 and y0 < y1):
        raise EvoplastError("--range needs XMIN < XMAX and YMIN < YMAX")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EvoplastError(f"cannot create {out}: {exc}") from None
    if progress:
        progress(f"evoplast: {grid}x{grid} grid of {x} in [{x0:g}, {x1:g}], {y} in [{y0:g}, {y1:g}] on "
                 f"{trials or config.task.n_trials} validation trials ...")
    df = landscape(config, x, y, (x0, x1), (y0, y1), grid, trials, base, n_jobs,
                   cache_path=out / CACHE)
    df.to_csv(out / "landscape.csv", index=False)
    manifold = analytic_manifold(config, x, y, np.sort(df.x.unique()))
    fit = valley_fit(df)
    paths = [cma_path(r, x, y) for r in runs if (r / HISTORY).is_file()]
    found = []
    for r in runs:
        rule = found_rule(task, RunDir(r).result())
        found.append(tuple(rule.as_dict()[t] for t in (x, y)))
    png = plot_landscape(df, out / "landscape.png", f"{config.task.name}: task loss over ({x}, {y})",
                         manifold, paths, found, fit)
    summary = {"x": x, "y": y, "grid": grid, "range": [x0, x1, y0, y1], "min_loss": float(df.loss.min()),
               "measured_valley": fit, "analytic_slope": manifold["slope"] if manifold else None,
               "analytic": manifold["label"] if manifold else None, "runs": [str(r) for r in runs],
               "files": [str(out / "landscape.csv"), str(png), str(out / "landscape.json")]}
    write_json(out / "landscape.json", summary)
    return summary
