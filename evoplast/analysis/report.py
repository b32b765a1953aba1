"""``evoplast report``: figures and a Markdown report of one or several run directories.

One run: loss and step size vs generation, the CMA-ES mean coefficients vs generation, the found
formula and its comparison with the task's analytic prediction, a per-term ablation (the task loss
when each term of the found rule is set to 0, on validation trials), and the task's own picture:

* ``oja``: the input cloud of a held-out dataset in its (PC1, PC2) plane, PC1, and the weight
  trajectory under the found rule;
* ``pca_network``: |cos(w_i, PC_i)| per output on the held-out datasets, found rule and
  Rubner-Tavan side by side;
* ``istdp``: output rate and mean inhibitory weight vs time, and the mean
  excitatory and inhibitory conductance per pathway before and after learning (co-tuning).

Several runs: a table of the runs (seed, loss, theory verdict) and a scatter of their normalised
coefficients across seeds. Everything is computed from the run directories (plus simulations of
the found rules on held-out trials); figures are PNG, rendered headless.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import parallel, seeding
from ..config import from_dict
from ..errors import EvoplastError
from ..storage import CACHE, CONFIG, HISTORY, RESULT, RunDir
from ..tasks import make_task

if TYPE_CHECKING:
    from evoplast.config import Config
    from evoplast.rules.base import Rule
    from evoplast.tasks.base import Task


def require_plots() -> None:
    """Clear error when the plotting extra is missing."""
    try:
        import matplotlib  # noqa: F401
        import seaborn  # noqa: F401
    except ImportError:
        raise EvoplastError("figures need matplotlib and seaborn (dependencies of evoplast): "
                            "pip install evoplast") from None


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def load_run(run_dir: str | Path) -> tuple[Config, dict]:
    """(config, result dict) of a finished run directory."""
    d = Path(run_dir)
    if not (d / CONFIG).is_file():
        raise EvoplastError(f"{d} is not a run directory (no config.json)")
    if not (d / RESULT).is_file():
        raise EvoplastError(f"{d} has no result.json (unfinished run? 'evoplast resume {d}')")
    run_dir = RunDir(d)
    return from_dict(run_dir.meta()["config"]), run_dir.result()


def found_rule(task: Task, result: dict) -> Rule:
    """The found rule as a rule object of the task's family (from ``result.json``)."""
    return task.rule_template.from_values(result["coefficients"])


def ablation(run_dir: str | Path, trials: int | None = None, n_jobs: int = 1) -> pd.DataFrame:
    """Validation loss of the found rule with each term set to 0 (``delta`` = increase over the full
    rule). Terms searched in log space (time constants) are not ablated. Cached in the run
    directory's ``cache.sqlite``."""
    config, result = load_run(run_dir)
    task = make_task(config)
    v = found_rule(task, result).to_vector()
    template = task.rule_template
    mask = template.l1_mask()
    idx = [i for i in range(len(v)) if mask[i] and v[i] != 0.0]
    V = np.repeat(v[None], len(idx) + 1, axis=0)
    for row, i in enumerate(idx, start=1):
        V[row, i] = 0.0
    seeds = seeding.trial_seeds(config.run.seed, seeding.STREAM_VALIDATION, 9,
                                 trials or config.task.n_trials)
    loss = parallel.evaluate_cached(config, task, V, seeds, Path(run_dir) / CACHE,
                                    n_jobs).loss.mean(axis=1)
    terms = list(template.terms)
    return pd.DataFrame({"term": [terms[i] for i in idx], "value": [float(v[i]) for i in idx],
                         "loss_without": loss[1:], "loss_full": loss[0], "delta": loss[1:] - loss[0]}
                        ).sort_values("delta", ascending=False, ignore_index=True)


# -- figures --------------------------------------------------------------------------------------
def fig_history(run_dir: Path, out: Path) -> Path:
    plt = _plt()
    h = pd.read_csv(run_dir / HISTORY)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    a1.semilogy(h.generation, h.best_loss, label="best")
    a1.semilogy(h.generation, h.median_loss, label="median", alpha=0.7)
    a1.set_xlabel("generation")
    a1.set_ylabel("loss + L1 (unitless)")
    a1.set_title("meta-loss")
    a1.legend()
    a2.semilogy(h.generation, h.sigma, color="C2")
    a2.set_xlabel("generation")
    a2.set_ylabel("CMA-ES step size sigma")
    a2.set_title("step size")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def fig_coefficients(run_dir: Path, out: Path, top: int = 8) -> Path:
    plt = _plt()
    h = pd.read_csv(run_dir / HISTORY)
    cols = [c for c in h.columns if c.startswith("m:")]
    if not cols:
        raise EvoplastError(f"{run_dir}/history.csv has no m:<term> columns (older run)")
    final = h[cols].iloc[-1].abs().sort_values(ascending=False)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for c in cols:
        if c in final.index[:top]:
            ax.plot(h.generation, h[c], label=c[2:], lw=1.6)
        else:
            ax.plot(h.generation, h[c], color="0.75", lw=0.6)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("generation")
    ax.set_ylabel("coefficient (CMA-ES mean)")
    ax.set_title(f"coefficients vs generation ({len(cols)} terms; top {min(top, len(cols))} named)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def fig_ablation(df: pd.DataFrame, out: Path, top: int = 15) -> Path:
    import seaborn as sns

    plt = _plt()
    d = df.head(top)
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(d) + 1.5))
    sns.barplot(data=d, x="delta", y="term", color="C0", ax=ax)
    ax.set_xscale("symlog", linthresh=1e-3)
    ax.set_xlabel("validation loss increase when the term is removed (unitless)")
    ax.set_ylabel("term")
    ax.set_title(f"ablation (full rule: loss {df.loss_full.iloc[0]:.3g})")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def fig_task(config: Config, result: dict, out: Path) -> Path:
    """The task's own picture of the found rule (:meth:`evoplast.tasks.base.Task.plot`)."""
    plt = _plt()
    task = make_task(config)
    fig = task.plot(plt, found_rule(task, result), result, config)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def fig_seeds(results: pd.DataFrame, out: Path) -> Path:
    import seaborn as sns

    plt = _plt()
    long = results.melt(id_vars=["run"], value_vars=[c for c in results.columns if c.startswith("n:")],
                        var_name="term", value_name="normalised")
    long["term"] = long.term.str[2:]
    keep = long.groupby("term").normalised.apply(lambda v: v.abs().max()).sort_values(ascending=False)
    long = long[long.term.isin(keep.index[:12])]
    fig, ax = plt.subplots(figsize=(8, 4))
    sns.stripplot(data=long, x="term", y="normalised", hue="run", ax=ax, size=6, jitter=0.15)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("term (the 12 largest across runs)")
    ax.set_ylabel("normalised coefficient")
    ax.set_title(f"found rules across {results.run.nunique()} runs")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(fontsize=6, ncol=2, title="run")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


# -- the report -----------------------------------------------------------------------------------
def _verdict(theory: dict) -> str:
    for key in ("is_oja+anti_hebbian", "is_oja"):
        if key in theory:
            return f"{key}: {theory[key]}"
    if "distance" in theory:
        return f"distance to {theory.get('known_rule', 'known rule')}: {theory['distance']:.4g}"
    return ""


def report(
    dirs: list[str | Path],
    out: str | Path,
    ablate: bool = True,
    n_jobs: int = 1,
    progress: Callable[[str], None] | None = print,
) -> Path:
    """Write figures and ``report.md`` for the run directories ``dirs`` into ``out``."""
    require_plots()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise EvoplastError(f"{out} exists and is not a directory; pass another --out")
    if (out / "report.md").exists():
        raise EvoplastError(f"{out / 'report.md'} exists; pass another --out")
    runs = [Path(d) for d in dirs]
    loaded = [load_run(d) for d in runs]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EvoplastError(f"cannot create {out}: {exc}") from None
    lines = ["# evoplast report", ""]
    rows = []
    for i, (d, (config, result)) in enumerate(zip(runs, loaded)):
        tag = f"run{i}"
        progress(f"report: {d} ({config.task.name}, seed {config.run.seed})")
        lines += [f"## {d}", "",
                  f"task `{config.task.name}`, rule family `{config.rule.family}`, seed {config.run.seed}, "
                  f"{result['generations']} generations, {result['evaluations']} evaluations, "
                  f"{result.get('elapsed_s', float('nan')):.0f} s", "",
                  "found rule (pruned at 5% of the largest term):", "", "```",
                  str(result["formula_pruned"]), "```", "",
                  f"held-out loss {result['loss']:.4g}; theory: {_verdict(result.get('theory', {}))}", "",
                  "```json", json.dumps(result.get("theory", {}), indent=1, default=str)[:2000], "```", ""]
        figs = [fig_history(d, out / f"{tag}_history.png"),
                fig_coefficients(d, out / f"{tag}_coefficients.png")]
        if ablate:
            ab = ablation(d, n_jobs=n_jobs)
            ab.to_csv(out / f"{tag}_ablation.csv", index=False)
            figs.append(fig_ablation(ab, out / f"{tag}_ablation.png"))
            top = ab.head(5)
            lines += ["ablation (largest validation-loss increases when a term is removed):", "",
                      "| term | value | loss without | increase |", "|---|---|---|---|"]
            lines += [f"| `{r.term}` | {r.value:.4g} | {r.loss_without:.4g} | {r.delta:+.4g} |"
                      for r in top.itertuples()]
            lines.append("")
        figs.append(fig_task(config, result, out / f"{tag}_task.png"))
        lines += [f"![{p.stem}]({p.name})" for p in figs] + [""]
        row = {"run": d.name, "task": config.task.name, "seed": config.run.seed, "loss": result["loss"],
               "verdict": _verdict(result.get("theory", {}))}
        row.update({f"n:{k}": v for k, v in result["normalized"].items()})
        rows.append(row)
    if len(runs) > 1:
        table = pd.DataFrame(rows)
        lines += ["## across runs", "", "| run | task | seed | held-out loss | theory |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['run']} | {r['task']} | {r['seed']} | {r['loss']:.4g} | {r['verdict']} |"
                  for r in rows]
        verdicts = [r["verdict"] for r in rows if r["verdict"].startswith("is_")]
        if verdicts:
            key = verdicts[0].split(":")[0]
            lines += ["", f"success ({key}): {sum(v.endswith('True') for v in verdicts)} of {len(rows)} runs"]
        lines.append("")
        if table.task.nunique() == 1:
            lines.append(f"![seeds]({fig_seeds(table, out / 'seeds.png').name})")
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
