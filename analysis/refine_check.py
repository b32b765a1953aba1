"""The steps after the search (scale refit, pruning) applied again to a finished run, with other
post-search settings: what would, e.g., the validation pruning make of this run's rule?

    python analysis/refine_check.py RUN_DIR [--set task.prune_terms=true cmaes.prune_tol=0.05]
                                    [--json analysis/results/NAME.json]
                                    [--generations G ... --csv analysis/results/NAME.csv]
    python analysis/refine_check.py RUN_DIR [RUN_DIR ...] --set ... --compare-csv analysis/results/NAME.csv
                                    [--variants "KEY=VALUE ..." "KEY=VALUE ..."] [--rubner-tavan]

Reads the run's ``config.json`` and ``result.json``, applies ``--set`` (post-search keys only:
``task.prune_terms``, ``cmaes.prune_tol``, ``cmaes.prune_rescale``, ``cmaes.calibrate_scale``,
``cmaes.fine_scale``, ``cmaes.renormalise``; the
search itself is what the run did), refines the search's own mean (``search_coefficients``) with
:func:`evoplast.selection.refine_for` on the run's validation trials, and prints / writes the
refined rule, the refinement records, the task's theory comparison and the held-out score on the
run's own held-out trials (``task.heldout_trials``; never used by the refinement).
``--generations``: instead, the mean of each given generation (``history.csv``), one row each
(generation, refined formula, the theory's verdicts, held-out mean loss and headline metric) to
``--csv``: how early in a search the refined rule has its final form. ``--compare-csv``: for each
of several finished runs, one row with the run's own reported rule (``run.*``: nonzero terms, the
theory's verdicts from its ``result.json``, held-out headline metric) beside the rule refined with
``--set`` (``refined.*``, the theory on the same held-out trials): what a post-search setting would
have changed, run by run (``--variants``: one row per run and group of settings); for PCA tasks
``--rubner-tavan`` adds ``*.where_rt_reaches`` / ``*.vs_rt_ok``, the strict Rubner-Tavan criterion
of ``analysis/pca_seeds.py``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

POST_SEARCH = ("task.prune_terms", "cmaes.prune_tol", "cmaes.prune_rescale", "cmaes.calibrate_scale",
               "cmaes.fine_scale", "cmaes.renormalise")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", default=None, help="write the report here")
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--generations", type=int, nargs="*", default=[])
    p.add_argument("--csv", default=None, help="with --generations: write the rows here")
    p.add_argument("--compare-csv", default=None, help="one row per RUN_DIR: its rule vs refined")
    p.add_argument("--variants", nargs="*", default=[], metavar='"KEY=VALUE ..."',
                   help="with --compare-csv: several groups of post-search settings (each one quoted "
                        "argument, added to --set), one row per RUN_DIR and group")
    p.add_argument("--rubner-tavan", action="store_true",
                   help="with --compare-csv, PCA runs: the strict criterion against the refit Rubner-Tavan "
                        "(one more validation refit per run: minutes at N = 100)")
    args = p.parse_args(argv)
    variants = [args.set + v.split() for v in args.variants] or [args.set]
    bad = [s for v in variants for s in v if s.partition("=")[0] not in POST_SEARCH]
    if bad:
        raise SystemExit(f"only post-search settings can change ({', '.join(POST_SEARCH)}): {bad}")
    if (args.variants or args.rubner_tavan) and not args.compare_csv:
        raise SystemExit("--variants and --rubner-tavan need --compare-csv")
    if len(args.run_dirs) > 1 and not args.compare_csv:
        raise SystemExit("several RUN_DIRs need --compare-csv (one row each)")
    if args.compare_csv:
        import pandas as pd

        rows = [compare_row(Path(d), v, args.n_jobs, args.rubner_tavan)
                for d in args.run_dirs for v in variants]
        pd.DataFrame(rows).to_csv(args.compare_csv, index=False)
        print(f"wrote {args.compare_csv}")
        return 0
    return one_run(Path(args.run_dirs[0]), args)


def _refiner(run, overrides):
    """(stored config.json, config, task, refined(evaluator, values)) for a finished run with the
    post-search ``overrides``; ``refined`` scores on the run's own held-out trials."""
    from evoplast import seeding, selection
    from evoplast.config import apply_overrides, from_dict
    from evoplast.tasks import make_task

    stored = json.loads((run / "config.json").read_text())
    config = from_dict(apply_overrides(stored["config"], overrides))
    task = make_task(config)
    template = task.rule_template
    heldout_trials = task.make_trials(seeding.heldout_seeds(config))

    def refined(evaluator, values: dict) -> tuple:
        """The rule of ``values`` (a search mean) refined: (rule, records, held-out metrics, theory)."""
        vector, records = selection.refine_for(config, task, evaluator,
                                               template.from_values(values).to_vector())
        for rec in records.values():
            rec.pop("vector", None)
        rule = template.from_vector(vector)
        return rule, records, task.metrics(vector, heldout_trials), task.theory(rule, heldout_trials)
    return stored, config, task, refined


def compare_row(run, overrides, n_jobs, rubner_tavan: bool = False) -> dict:
    from evoplast import __version__, parallel

    result = json.loads((run / "result.json").read_text())
    stored, config, task, refined = _refiner(run, overrides)
    with parallel.Evaluator(n_jobs) as evaluator:
        rule, records, heldout, theory = refined(evaluator, result["search_coefficients"])
    head = task.headline_metric
    row = {"run_dir": str(run), "seed": config.run.seed, "overrides": " ".join(overrides),
           "run_evoplast_version": stored.get("evoplast_version"), "evoplast_version": __version__,
           "run.n_terms": sum(1 for v in result["coefficients"].values() if v != 0.0),
           "refined.n_terms": sum(1 for v in rule.as_dict().values() if v != 0.0),
           "run.formula": result.get("formula_pruned") or result.get("formula"),
           "refined.formula": rule.formula(prune=0.0, digits=3)}
    for key, value in result.get("theory", {}).items():
        if isinstance(value, bool):
            row[f"run.{key}"] = value
    for key, value in theory.items():
        if isinstance(value, bool):
            row[f"refined.{key}"] = value
    if head:
        row[f"run.{head}"] = result["heldout"].get(head)
        row[f"refined.{head}"] = heldout.get(head)
    if "pruning" in records:
        row["refined.pruning_factor"] = records["pruning"].get("factor", 1.0)
    if "fine_factor" in records.get("scale_calibration", {}):
        row["refined.fine_factor"] = json.dumps(records["scale_calibration"]["fine_factor"])
    if rubner_tavan:
        row.update(_vs_rubner_tavan(run, config, task, result, rule, n_jobs))
    print({k: v for k, v in row.items() if "formula" not in k}, flush=True)
    return row


_RT_VECTORS: dict = {}  # (run directory, calibrate_scale, fine_scale) -> the validation-refit Rubner-Tavan
# (the pruning settings do not change it: the known rules are refit without pruning)


def _vs_rubner_tavan(run, config, task, result, rule, n_jobs) -> dict:
    """PCA tasks: the strict criterion of ``analysis/pca_seeds.py`` (every output >= 0.99 on every
    held-out dataset where the validation-refit Rubner-Tavan has it) for the run's reported rule
    and for the refined one (:func:`evoplast.analysis.verdicts.pca_vs_rubner_tavan`)."""
    from evoplast import parallel, seeding
    from evoplast.analysis.verdicts import pca_vs_rubner_tavan
    from evoplast.selection import refine_for

    if config.task.name != "pca_network":
        raise SystemExit(f"--rubner-tavan is for pca_network runs; {run} is a {config.task.name} run")
    held = task.make_trials(seeding.heldout_seeds(config))
    key = (str(run), config.cmaes.calibrate_scale, config.cmaes.fine_scale,  # the refit settings move it
           config.cmaes.renormalise)
    if key not in _RT_VECTORS:
        with parallel.Evaluator(n_jobs) as evaluator:
            _RT_VECTORS[key] = refine_for(config, task, evaluator, task.known_rule().to_vector(),
                                          prune=False)[0]
    rt_vector = _RT_VECTORS[key]
    template = task.rule_template
    row = {}
    for name, vector in (("run", template.from_values(result["coefficients"]).to_vector()),
                         ("refined", rule.to_vector())):
        vs = pca_vs_rubner_tavan(task, vector, rt_vector, held)
        row[f"{name}.where_rt_reaches"] = f"{vs['rule_where_rt_reached']}/{vs['rt_reached']}"
        row[f"{name}.vs_rt_ok"] = vs["vs_rt_ok"]
    return row


def one_run(run, args) -> int:
    from evoplast import __version__, parallel

    result = json.loads((run / "result.json").read_text())
    stored, config, task, refined = _refiner(run, args.set)
    template = task.rule_template
    if args.generations:
        import pandas as pd

        history = pd.read_csv(run / "history.csv")
        rows = []
        with parallel.Evaluator(args.n_jobs) as evaluator:
            for g in args.generations:
                found = history[history.generation == g]
                if found.empty:
                    raise SystemExit(f"generation {g} is not in {run / 'history.csv'}")
                rule, _, m, theory = refined(evaluator, {t: found.iloc[-1][f"m:{t}"] for t in template.terms})
                rows.append({"run_dir": str(run), "generation": g,
                             "formula": rule.formula(prune=0.0, digits=3),
                             **{k: v for k, v in theory.items() if isinstance(v, (bool, int, float))},
                             "heldout_loss": m["loss"], "overrides": " ".join(args.set),
                             "evoplast_version": __version__})
                if task.headline_metric:
                    rows[-1][task.headline_metric] = m.get(task.headline_metric)
                print(f"generation {g}: {rows[-1]['formula']}; held-out loss {m['loss']:.4g}", flush=True)
        if args.csv:
            pd.DataFrame(rows).to_csv(args.csv, index=False)
            print(f"wrote {args.csv}")
        return 0
    with parallel.Evaluator(args.n_jobs) as evaluator:
        rule, records, heldout, theory = refined(evaluator, result["search_coefficients"])
    report = {"run_dir": str(run), "overrides": args.set,
              "run_evoplast_version": stored.get("evoplast_version"), "evoplast_version": __version__,
              "coefficients": rule.as_dict(), "formula": rule.formula(prune=0.0, digits=4),
              "refinement": records, "theory": theory, "heldout": heldout}
    print(f"refined rule: {report['formula']}")
    if "pruning" in records:
        pr = records["pruning"]
        print(f"pruning removed {len(pr['removed'])} terms; validation loss "
              f"{pr['validation_loss_before']:.5g} -> {pr['validation_loss_after']:.5g}")
    print(f"theory: {report['theory']}")
    print(f"held-out ({heldout['n_trials']} trials): {heldout}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=float) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
