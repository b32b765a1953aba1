r"""Families of rules: every rule the searches of some runs evaluated that solves the task.

A task is usually solved by a set of rules (experiment 3's line, the Oja ray of scales), and a
CMA-ES run evaluates thousands of candidates, many of them solutions, all logged in
``evaluations.csv``. :func:`family` pools them over runs (every generation, restart and seed),
re-scores the promising ones on fresh trials, and keeps those within ``tol`` of the best:

1. **pool**: every candidate whose every trial ended ``ok`` and whose logged task loss (on its
   generation's training trials) is within ``2 tol`` of the lowest logged one, the lowest
   ``max_candidates`` of them, exact duplicates dropped. The runs must share the task config and
   the rule family and searched parameters (their seeds, starts and search settings may differ).
2. **re-score**: the mean task loss on ``trials`` fresh trials, the same for every rule, from the
   family stream (``SeedSequence(seed, spawn_key=(STREAM_FAMILY, 0, d))``, never any run's
   trials), through an evaluation cache in the output directory (a second call with another
   ``tol`` simulates nothing again).
3. **accept**: every trial ``ok``, plausible on every trial where the task logs ``plausible``
   (:meth:`Task.evaluate_logged`; the E-I network with its plausibility term on), and mean task
   loss ``<= best + tol``, best over such rules (``tol`` in the task's loss units).
4. **describe** the accepted set in the searched parameters' natural units: near-duplicates
   merged (distance below ``merge`` in units of each parameter's standard deviation over the set,
   or with ``merge_units = "natural"`` in the parameters' own units, which compares families of
   different extent),
   principal axes and their variance fractions, the intrinsic dimension (the TwoNN estimator of
   Facco et al. 2017: with :math:`\mu_i = r_2^{(i)} / r_1^{(i)}` from each distinct rule's two
   nearest neighbours in standardised units, :math:`-\ln(1 - F(\mu)) = d \ln \mu`, fitted
   through the origin without the largest 10% of mu -- at the scale of nearest neighbours, where
   the set's thickness across a line counts; the median over distinct rules of the number of
   principal components holding 90% of the variance of their 12 nearest neighbours; and the number
   of principal components that hold 95% of the whole set's variance), the extent along the first
   axis and across it, and for every rule the task's
   own ``theory`` (its distance to the analytic solution set: ``theory.distance``, and for the LIF
   task the mean-field line's ``beta_line`` computed with the rule's own gamma, kappa and time
   constants; the summary gives the residual beta - beta_line and the share of beta's variance the
   line explains, r2). Where the task draws an analytic line over the first two searched parameters
   (:meth:`Task.analytic_manifold`), the slope of the first principal axis is compared with it.

Writes ``family.csv`` (one row per accepted rule: the parameters, ``loss`` (re-scored mean task
loss), ``n_ok``, ``metric.*`` (the task's logged metrics, mean over the fresh trials), ``theory.*``,
``distinct`` (False for a merged near-duplicate), the source
``run``, ``generation``, ``restart``, ``candidate`` and the logged ``logged_task_loss``),
``family.json`` (the summary) and, with matplotlib and seaborn, ``family_pairplot.png`` (the
accepted rules, the analytic line where the task has one) and ``family_axis.png`` (loss along the
first principal axis; residuals from the task's line against each parameter where it has one).
:func:`load_family` reads the table back; its columns are documented in the README as a training
set for simulation-based inference.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import parallel, seeding
from ..config import Config, check_trials, from_dict
from ..errors import EvoplastError
from ..storage import EVALUATIONS, EvalCache, RunDir
from ..tasks import make_task
from .runs import flatten

FAMILY_CSV, FAMILY_JSON = "family.csv", "family.json"
RESCORE_CHUNK = 64  # pooled rules re-scored per evaluator call (a progress line after each)
# rule settings that may differ between pooled runs: where each search started
START_KEYS = ("start", "start_box", "start_min_abs", "coefficients")


def _comparable(config: Config) -> dict:
    """The part of a run's config that must be equal across pooled runs: task and rule, without
    the start of the search."""
    d = config.to_dict()
    rule = {k: v for k, v in d["rule"].items() if k not in START_KEYS}
    for name in rule.get("search", []) or []:
        rule.pop(name, None)  # a searched parameter's config value is only its start
    return {"task": d["task"], "rule": rule}


def pool(run_dirs: list[str | Path], tol: float, max_candidates: int = 2000
         ) -> tuple[Config, pd.DataFrame, int]:
    """The promising candidates of the runs' ``evaluations.csv`` (step 1 of the module doc), the
    first run's config and the number of candidates the runs evaluated in all. Raises
    :class:`EvoplastError` for runs that cannot be pooled."""
    if not run_dirs:
        raise EvoplastError("evoplast family needs at least one run directory")
    config, frames, ref = None, [], None
    for path in run_dirs:
        rd = RunDir(path)
        rd.require()
        c = from_dict(rd.meta()["config"])
        if ref is None:
            config, ref = c, _comparable(c)
        elif _comparable(c) != ref:
            raise EvoplastError(f"{rd.path} has another task or rule config than {run_dirs[0]}: "
                                "a family pools runs of one task and rule (seeds and starts may differ)")
        table = rd.read_table(EVALUATIONS)
        if table.empty:
            continue
        table.insert(0, "run", str(rd.path))
        frames.append(table)
    if not frames:
        raise EvoplastError("the runs have evaluated nothing yet (empty evaluations.csv)")
    df = pd.concat(frames, ignore_index=True)
    terms = make_task(config).rule_template.terms
    cols = [f"c:{t}" for t in terms]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise EvoplastError(f"evaluations.csv lacks the columns {missing} of the rule's parameters")
    df[cols + ["task_loss"]] = df[cols + ["task_loss"]].astype(float)
    evaluated = len(df)
    ok = df[(df["status"] == "ok") & np.isfinite(df["task_loss"])]
    if ok.empty:
        raise EvoplastError("no evaluated rule of these runs ended ok on every trial")
    keep = ok[ok["task_loss"] <= ok["task_loss"].min() + 2 * tol]
    keep = keep.drop_duplicates(subset=cols).sort_values("task_loss", kind="stable")
    return config, keep.head(max_candidates).reset_index(drop=True), evaluated


def _twonn(Z: np.ndarray, discard: float = 0.1) -> float:
    """TwoNN intrinsic dimension of the rows of Z (Facco et al. 2017): with mu_i = r2 / r1 from each
    point's two nearest neighbours, ln(mu) is exponential with rate d; d is the slope through the
    origin of -ln(1 - F(mu)) against ln(mu), the largest ``discard`` fraction of mu left out."""
    if len(Z) < 3:
        return math.nan
    d2 = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(d2, np.inf)
    r = np.sqrt(np.sort(d2, axis=1)[:, :2])
    ok = r[:, 0] > 0
    x = np.sort(np.log(r[ok, 1] / r[ok, 0]))
    n = len(x)
    keep = int(n * (1 - discard))
    if keep < 2:
        return math.nan
    y = -np.log(1 - np.arange(1, n + 1) / (n + 1))
    x, y = x[:keep], y[:keep]
    return float((x @ y) / (x @ x)) if x @ x > 0 else math.nan


def _local_pca_dimension(Z: np.ndarray, k: int = 12, share: float = 0.9) -> float:
    """Median over the rows of Z of the number of principal components holding ``share`` of the
    variance of the row's k nearest rows (itself included): the family's dimension at the scale of
    k neighbours, where TwoNN sees the set's thickness across a line as a second dimension."""
    n = len(Z)
    if n < 3:
        return math.nan
    k = min(k, n)
    d2 = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(axis=2)
    dims = []
    for i in range(n):
        nb = Z[np.argsort(d2[i])[:k]]
        s = np.linalg.svd(nb - nb.mean(axis=0), compute_uv=False) ** 2
        dims.append(int(np.searchsorted(np.cumsum(s) / s.sum(), share) + 1) if s.sum() > 0 else 0)
    return float(np.median(dims))


def _merge(Z: np.ndarray, radius: float) -> np.ndarray:
    """Greedy merge in row order (lowest loss first): True for rows farther than ``radius`` from
    every earlier kept row."""
    kept: list[int] = []
    distinct = np.zeros(len(Z), dtype=bool)
    for i in range(len(Z)):
        if not kept or np.min(np.linalg.norm(Z[kept] - Z[i], axis=1)) > radius:
            kept.append(i)
            distinct[i] = True
    return distinct


def describe(values: pd.DataFrame, loss: np.ndarray, task: Any, merge: float,
             merge_units: str = "sd") -> tuple[dict, np.ndarray]:
    """The summary of an accepted set (rows: rules; columns: searched parameters, natural units)
    and the per-row ``distinct`` flags (step 4 of the module doc). The slope is compared with the
    task's analytic line only for a family of exactly two parameters (with more, the line's K
    varies along the family: see ``beta_line_residual``)."""
    names = list(values.columns)
    V = values.to_numpy(dtype=float)
    n = len(V)
    sd = V.std(axis=0)
    sd[sd == 0] = 1.0
    Z = (V - V.mean(axis=0)) / sd
    distinct = _merge(Z if merge_units == "sd" else V, merge)
    out: dict[str, Any] = {"n_accepted": n, "n_distinct": int(distinct.sum()), "merge_radius": merge,
                           "merge_units": merge_units,
                           "parameters": names,
                           "ranges": {k: [float(V[:, j].min()), float(V[:, j].max())]
                                      for j, k in enumerate(names)}}
    if n >= 2:
        # principal axes in natural units (directions as unit vectors), variance fractions
        C = V - V.mean(axis=0)
        _, s, vt = np.linalg.svd(C, full_matrices=False)
        var = s ** 2 / max(n - 1, 1)
        frac = var / var.sum() if var.sum() > 0 else var
        proj = C @ vt.T
        out["principal_axes"] = [{"direction": dict(zip(names, map(float, vt[i]))),
                                  "variance_fraction": float(frac[i])} for i in range(len(s))]
        out["extent_along_axis1"] = float(np.ptp(proj[:, 0]))
        out["extent_across_axis1_sd"] = float(proj[:, 1:].std()) if proj.shape[1] > 1 else 0.0
        # dimension: TwoNN on the distinct rules in standardised units; PCA components for 95%
        zs = (V - V.mean(axis=0)) / sd
        _, s2, _ = np.linalg.svd(zs, full_matrices=False)
        f2 = np.cumsum(s2 ** 2) / (s2 ** 2).sum() if (s2 ** 2).sum() > 0 else np.ones_like(s2)
        out["dimension_twonn"] = _twonn(zs[distinct])
        out["dimension_local_pca"] = _local_pca_dimension(zs[distinct])
        out["dimension_pca95"] = int(np.searchsorted(f2, 0.95) + 1)
        out["loss_best"] = float(loss.min())
        out["loss_median"] = float(np.median(loss))
        if len(names) == 2:
            x, y = names[0], names[1]
            xs = np.linspace(V[:, 0].min(), V[:, 0].max(), 64)
            line = task.analytic_manifold(x, y, xs)
            if line is not None and vt[0, 0] != 0:
                fitted = float(vt[0, 1] / vt[0, 0])
                out["line"] = {"label": line["label"], "x": x, "y": y, "slope_fitted_axis1": fitted,
                               "slope_analytic": float(line["slope"]),
                               "slope_relative_error": (abs(fitted / line["slope"] - 1)
                                                        if line["slope"] else None)}
        for j, k in enumerate(names):
            a = np.abs(V[:, j])
            if (V[:, j] < 0).all() or (V[:, j] > 0).all():
                out.setdefault("span_factor", {})[k] = float(a.max() / a.min())
    return out, distinct


def family(run_dirs: list[str | Path], out: str | Path, tol: float = 0.01, trials: int | None = None,
           n_jobs: int | None = None, max_candidates: int = 2000, merge: float = 0.05, seed: int = 0,
           progress: Any = None, merge_units: str = "sd") -> dict:
    """Pool, re-score, accept and describe (module doc); writes ``OUT/family.csv``,
    ``OUT/family.json`` and, with matplotlib and seaborn, the figures. Returns the summary."""
    if not tol > 0:
        raise EvoplastError(f"--tol must be > 0 (task loss units), got {tol}")
    if max_candidates < 1:
        raise EvoplastError(f"--max-candidates must be >= 1, got {max_candidates}")
    if not merge >= 0:
        raise EvoplastError(f"--merge must be >= 0, got {merge}")
    if merge_units not in ("sd", "natural"):
        raise EvoplastError(f"--merge-units must be sd or natural, got {merge_units!r}")
    out = Path(out)
    if str(out) in ("", "."):
        raise EvoplastError("--out must name a directory for the family's files")
    out.mkdir(parents=True, exist_ok=True)
    config, cand, evaluated = pool(run_dirs, tol, max_candidates)
    n_trials = trials or config.task.heldout_trials
    check_trials(config, n_trials)
    task = make_task(config)
    terms = task.rule_template.terms
    X = cand[[f"c:{t}" for t in terms]].to_numpy(dtype=float)
    seeds = seeding.trial_seeds(seed, seeding.STREAM_FAMILY, 0, n_trials)
    if progress:
        progress(f"re-scoring {len(X)} pooled rules of {len(run_dirs)} runs on {n_trials} fresh trials")
    cache = EvalCache(out / "cache.sqlite")
    parts = []
    with parallel.Evaluator(n_jobs or config.run.n_jobs, config.run.backend, config.run.scheduler,
                            cache=cache) as ev:
        t0 = time.monotonic()
        for k0 in range(0, len(X), RESCORE_CHUNK):  # chunks: progress, and the cache fills as it goes
            parts.append(ev.evaluate(task, X[k0:k0 + RESCORE_CHUNK], seeds=seeds,
                                     context=EvalCache.context(config)))
            if progress and len(X) > RESCORE_CHUNK:
                done = min(k0 + RESCORE_CHUNK, len(X))
                progress(f"  re-scored {done}/{len(X)} ({sum(p.evaluated for p in parts)} simulated, "
                         f"{time.monotonic() - t0:.0f} s)")
    evaluation = parallel.Evaluation.concat(parts)
    loss = evaluation.loss.mean(axis=1)
    ok = (evaluation.status == 0).all(axis=1)
    judged = "plausible" in evaluation.metrics
    plausible = (evaluation.metrics["plausible"] == 1.0).all(axis=1) if judged else ok
    if not (ok & plausible).any():
        raise EvoplastError("no pooled rule ended ok" + (" and plausible" if judged else "")
                            + " on every fresh trial")
    best = float(loss[ok & plausible].min())
    accepted = ok & plausible & (loss <= best + tol)
    means = {n: m[accepted] for n, m in evaluation.metric_means().items()}
    rules = [task.rule_template.from_vector(x) for x in X[accepted]]
    values = pd.DataFrame([{t: r.as_dict()[t] for t in terms} for r in rules])
    summary, distinct = describe(values, loss[accepted], task, merge, merge_units)
    rows = []
    src = cand[accepted].reset_index(drop=True)
    for i, rule in enumerate(rules):
        row: dict[str, Any] = {**values.iloc[i].to_dict(), "loss": float(loss[accepted][i]),
                               "n_ok": int((evaluation.status[accepted][i] == 0).sum()),
                               **{f"metric.{n}": float(m[i]) for n, m in means.items()},
                               "distinct": bool(distinct[i])}
        flatten("theory", task.theory(rule), row)
        row.update({"run": src.at[i, "run"], "generation": int(src.at[i, "generation"]),
                    "restart": int(src.at[i, "restart"]), "candidate": int(src.at[i, "candidate"]),
                    "logged_task_loss": float(src.at[i, "task_loss"])})
        rows.append(row)
    table = pd.DataFrame(rows)
    if "theory.distance" in table:
        d = pd.to_numeric(table["theory.distance"], errors="coerce")
        summary["theory_distance"] = {"median": float(d.median()), "max": float(d.max())}
    if "theory.stable" in table:
        summary["theory_stable_fraction"] = float(table["theory.stable"].astype(bool).mean())
    quant = {}
    for col in table.columns:
        if col.startswith("theory.") and pd.api.types.is_numeric_dtype(table[col]) \
                and not pd.api.types.is_bool_dtype(table[col]):
            q = table[col].quantile([0.25, 0.5, 0.75])
            quant[col[len("theory."):]] = [float(v) for v in q]
    summary["theory_quartiles"] = quant  # every numeric theory value over the family: q25, median, q75
    if "theory.beta_line" in table and "beta" in table:  # the LIF task's line, with each rule's own K
        res = table["beta"] - pd.to_numeric(table["theory.beta_line"])
        var = float(table["beta"].var())
        summary["beta_line_residual"] = {
            "median": float(res.median()), "q25": float(res.quantile(0.25)),
            "q75": float(res.quantile(0.75)),
            "r2": 1 - float(res.var()) / var if var > 0 else None}
    from .. import __version__

    searched = evaluated * config.task.n_trials
    summary["plausibility"] = ({"judged": True, "ok_within_tol_implausible":
                                int((ok & ~plausible & (loss <= best + tol)).sum())}
                               if judged else {"judged": False})
    summary.update({"runs": [str(p) for p in run_dirs], "pooled": int(len(X)), "trials": n_trials,
                    "simulations": {"searches": int(searched), "rescoring": int(len(X) * n_trials),
                                    "distinct_per_1000": 1000 * int(distinct.sum())
                                    / max(1, searched + len(X) * n_trials)},
                    "tol": tol, "seed": seed, "task": config.task.name, "family": config.rule.family,
                    "evoplast_version": __version__})
    table.to_csv(out / FAMILY_CSV, index=False)
    (out / FAMILY_JSON).write_text(json.dumps(summary, indent=2, default=float))
    try:
        summary["figures"] = figures(table, terms, task, out)
        (out / FAMILY_JSON).write_text(json.dumps(summary, indent=2, default=float))
    except ImportError:
        summary["figures"] = []
    return summary


def figures(table: pd.DataFrame, terms: list[str], task: Any, out: Path) -> list[str]:
    """``family_pairplot.png`` (accepted rules; the task's analytic line over the first two
    parameters where it draws one) and ``family_axis.png`` (loss along the first principal axis;
    signed residuals from the LIF task's line against alpha where the table has them)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    paths = []
    grid = sns.pairplot(table[terms + ["loss"]], vars=terms, hue=None, corner=True,
                        plot_kws={"s": 8, "alpha": 0.5})
    if len(terms) >= 2:
        xs = np.linspace(table[terms[0]].min(), table[terms[0]].max(), 64)
        line = task.analytic_manifold(terms[0], terms[1], xs)
        if line is not None:
            ax = grid.axes[1, 0]
            ax.plot(line["x"], line["y"], "r-", lw=1, label="analytic line")
            if "point" in line:  # e.g. the Vogels ray when the input rate varies
                px, py, label = line["point"]
                ax.plot([px], [py], "k*", ms=10, label=label)
            ax.legend(fontsize=7)
    grid.figure.suptitle(f"family: {len(table)} accepted rules", y=1.02)
    p = out / "family_pairplot.png"
    grid.figure.savefig(p, dpi=110, bbox_inches="tight")
    plt.close(grid.figure)
    paths.append(p.name)
    V = table[terms].to_numpy(dtype=float)
    C = V - V.mean(axis=0)
    vt = np.linalg.svd(C, full_matrices=False)[2] if len(V) >= 2 else np.eye(len(terms))
    has_line = "theory.beta_line" in table and "beta" in table and "alpha" in table
    fig, axes = plt.subplots(1, 2 if has_line else 1, figsize=(10 if has_line else 5, 4), squeeze=False)
    axes[0, 0].scatter(C @ vt[0], table["loss"], s=6)
    axes[0, 0].set_xlabel("position along the first principal axis (natural units)")
    axes[0, 0].set_ylabel("re-scored task loss")
    axes[0, 0].set_title("loss along the family's first axis")
    if has_line:
        res = table["beta"] - table["theory.beta_line"]
        axes[0, 1].scatter(table["alpha"], res, s=6)
        axes[0, 1].axhline(0, color="r", lw=1)
        axes[0, 1].set_xlabel("alpha")
        axes[0, 1].set_ylabel("beta - mean-field line (rule's own K)")
        axes[0, 1].set_title("residuals from the mean-field line")
    p = out / "family_axis.png"
    fig.savefig(p, dpi=110, bbox_inches="tight")
    plt.close(fig)
    paths.append(p.name)
    return paths


def load_family(path: str | Path) -> pd.DataFrame:
    """``family.csv`` of an ``evoplast family`` output directory as a DataFrame (one row per
    accepted rule), with the summary of ``family.json`` in ``df.attrs``."""
    path = Path(path)
    csv = path / FAMILY_CSV if path.is_dir() else path
    if not csv.is_file():
        raise EvoplastError(f"{csv} does not exist; 'evoplast family RUN_DIR ... --out DIR' writes it")
    df = pd.read_csv(csv)
    meta = csv.with_name(FAMILY_JSON)
    if meta.is_file():
        df.attrs.update(json.loads(meta.read_text()))
    return df
