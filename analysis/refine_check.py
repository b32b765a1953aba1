"""The steps after the search (scale refit, pruning) applied again to a finished run, with other
post-search settings: what would, e.g., the validation pruning make of this run's rule?

    python analysis/refine_check.py RUN_DIR [--set task.prune_terms=true cmaes.prune_tol=0.05]
                                    [--json analysis/results/NAME.json]

Reads the run's ``config.json`` and ``result.json``, applies ``--set`` (post-search keys only:
``task.prune_terms``, ``cmaes.prune_tol``, ``cmaes.calibrate_scale``; the search itself is what the
run did), refines the search's own mean (``search_coefficients``) with
:func:`evoplast.selection.refine_for` on the run's validation trials, and prints / writes the
refined rule, the refinement records, the task's theory comparison and the held-out score on the
run's own held-out trials (``task.heldout_trials``; never used by the refinement).
"""

from __future__ import annotations

import argparse
import json

POST_SEARCH = ("task.prune_terms", "cmaes.prune_tol", "cmaes.calibrate_scale")


def main(argv=None) -> int:
    from pathlib import Path

    from evoplast import __version__, parallel, seeding, selection
    from evoplast.config import apply_overrides, from_dict
    from evoplast.tasks import make_task

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", default=None, help="write the report here")
    p.add_argument("--n-jobs", type=int, default=2)
    args = p.parse_args(argv)
    bad = [s for s in args.set if s.partition("=")[0] not in POST_SEARCH]
    if bad:
        raise SystemExit(f"only post-search settings can change ({', '.join(POST_SEARCH)}): {bad}")
    run = Path(args.run_dir)
    stored = json.loads((run / "config.json").read_text())
    result = json.loads((run / "result.json").read_text())
    config = from_dict(apply_overrides(stored["config"], args.set))
    task = make_task(config)
    template = task.rule_template
    searched = template.from_values(result["search_coefficients"]).to_vector()
    with parallel.Evaluator(args.n_jobs) as evaluator:
        vector, records = selection.refine_for(config, task, evaluator, searched)
    rule = template.from_vector(vector)
    heldout = task.metrics(vector, task.make_trials(seeding.heldout_seeds(config)))
    for rec in records.values():
        rec.pop("vector", None)
    report = {"run_dir": str(run), "overrides": args.set,
              "run_evoplast_version": stored.get("evoplast_version"), "evoplast_version": __version__,
              "coefficients": rule.as_dict(),
              "formula": rule.formula(prune=0.0, digits=4), "refinement": records,
              "theory": task.theory(rule), "heldout": heldout}
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
