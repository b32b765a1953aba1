"""For finished PCA-network runs whose reported rule keeps terms beyond Rubner-Tavan's three: is
the rule with only those three (A ``x*y``, ``y**2*w``; B ``x*y``) as good once each rule's scale is
refit? (The question behind ``cmaes.prune_rescale`` on a rule pair.)

    python analysis/lateral_terms_check.py RUN_DIR [RUN_DIR ...] [--out analysis/results/NAME.csv]

Per run, on the run's own validation trials (``evoplast.selection.validation_loss``, never the
held-out ones): the reported rule's loss (``reported``; ``reported_fine``: with
:func:`evoplast.selection.refit_fine_scales`), the three-term rule at the reported coefficients
(``stripped_same_scale``), after each rule's grid refit (``stripped_rule_refit``) and the fine one
(``stripped_fine``), and the factors chosen.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def check(run: Path, n_jobs: int = 2) -> dict:
    from evoplast import parallel, selection
    from evoplast.analysis.report import found_rule, load_run
    from evoplast.tasks import make_task

    config, result = load_run(run)
    if config.task.name != "pca_network":
        raise SystemExit(f"{run} is a {config.task.name} run: this check is for pca_network runs")
    task = make_task(config)
    v = found_rule(task, result).to_vector()
    stripped = v * (task.known_rule().to_vector() != 0.0)  # Rubner-Tavan's terms only
    groups = task.rule_template.groups()
    with parallel.Evaluator(n_jobs) as ev:
        loss = selection.validation_loss(config, task, ev)
        base = float(loss(v[None], selection.CALIBRATION_TRIALS)[0])
        same = float(loss(stripped[None], selection.CALIBRATION_TRIALS)[0])
        coarse = selection.refit_rule_scales(loss, stripped, groups, current=same)
        fine = selection.refit_fine_scales(loss, coarse["vector"], groups, current=coarse["validation_loss"])
        reported_fine = selection.refit_fine_scales(loss, v, groups, current=base)
    return {"run_dir": str(run), "seed": config.run.seed, "reported": base,
            "reported_fine": reported_fine["validation_loss"], "stripped_same_scale": same,
            "stripped_rule_refit": coarse["validation_loss"], "stripped_fine": fine["validation_loss"],
            "rule_factors": json.dumps(coarse["rule_factors"]),
            "fine_factors": json.dumps(fine["fine_factors"]),
            "formula": result.get("formula_pruned")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", default=None, help="write the rows to this CSV")
    p.add_argument("--n-jobs", type=int, default=2)
    args = p.parse_args(argv)
    rows = []
    for d in args.run_dirs:
        rows.append(check(Path(d), args.n_jobs))
        print({k: v for k, v in rows[-1].items() if k != "formula"}, flush=True)
    if args.out:
        import pandas as pd

        pd.DataFrame(rows).to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
