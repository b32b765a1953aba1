"""Can any I -> E rule of the searched family hold the E rate within 10% on every trial? A grid over
(alpha, beta), each rule on the same trials at several pinned source rates.

    python analysis/ei_ie_grid.py [--config runs/ei_ie.toml] [--rates 1.2 1.6 3 4.5] [--trials 2]
                                  [--alpha -0.7 -0.1 13] [--beta -0.5 0.3 9] [--seed 7]
                                  [--csv analysis/results/ei_ie_grid.csv]

For each source rate (``task.ext_rate_range`` pinned to it), ``--trials`` trials of the training
stream of ``--seed`` (not the held-out stream of any search), the config's phases (training, then
the whole scoring phase scored); every rule of the grid (``--alpha LOW HIGH N``, ``--beta LOW HIGH
N``; the config's other rule values) simulated on them in one batch. Rows: alpha, beta, the E rate
of each (rate, trial) over the scoring phase (NaN where the trial stopped early), and the worst
relative error over all of them (inf when one stopped). Prints the ten best rules by that worst
error; writes every row to ``--csv``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    import pandas as pd

    from evoplast import __version__, load_config, make_task, seeding
    from evoplast.analysis.sweep import write_csv
    from evoplast.kernels.status import OK
    from evoplast.storage import git_revision

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="runs/ei_ie.toml")
    ap.add_argument("--rates", type=float, nargs="+", default=[1.2, 1.6, 3.0, 4.5])
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--alpha", type=float, nargs=3, default=[-0.7, -0.1, 13], metavar=("LOW", "HIGH", "N"))
    ap.add_argument("--beta", type=float, nargs=3, default=[-0.5, 0.3, 9], metavar=("LOW", "HIGH", "N"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--csv", default=str(Path(__file__).parent / "results" / "ei_ie_grid.csv"))
    args = ap.parse_args(argv)
    alphas = np.linspace(args.alpha[0], args.alpha[1], int(args.alpha[2]))
    betas = np.linspace(args.beta[0], args.beta[1], int(args.beta[2]))
    grid = np.array([(a, b) for a in alphas for b in betas])
    table = pd.DataFrame({"alpha": grid[:, 0], "beta": grid[:, 1]})
    errors = []
    target = None
    for rate in args.rates:
        config = load_config(args.config, [f"task.ext_rate_range=[{rate}, {rate}]",
                                           "task.score_window_s=0.0"])
        task = make_task(config)
        if list(task.rule_template.terms) != ["ie:alpha", "ie:beta"]:
            raise SystemExit(f"{args.config}: the grid needs a rule searching ie:alpha and ie:beta only")
        c = config.task
        target = c.target_rate_hz
        run = task.simulate(grid, task.make_trials(seeding.trial_seeds(args.seed, 0, 0, args.trials)))
        n_bins = int(round(c.score_s / c.bin_s))
        rate_e = run.counts_e[:, :, -n_bins:].sum(axis=2) / (c.n_exc * c.score_s)
        rate_e = np.where(run.status == OK, rate_e, np.nan)
        for d in range(args.trials):
            table[f"rate_e_hz@{rate:g}Hz#{d}"] = rate_e[:, d]
        errors.append(np.abs(rate_e - target) / target)
    err = np.concatenate(errors, axis=1)
    table["worst_relative_error"] = np.where(np.isnan(err).any(axis=1), np.inf, np.nanmax(err, axis=1))
    table["within_10pct_everywhere"] = table["worst_relative_error"] <= 0.1
    table["seed"] = args.seed
    table["evoplast_version"] = __version__
    table["git_revision"] = git_revision()
    best = table.sort_values("worst_relative_error").head(10)
    rate_cols = [c for c in table.columns if c.startswith("rate_e_hz@")]
    cols = ["alpha", "beta", "worst_relative_error", *rate_cols]
    print(best[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"rules within 10% of {target:g} Hz on every trial: {int(table.within_10pct_everywhere.sum())}"
          f"/{len(table)}; best worst-case error {table.worst_relative_error.min():.3f}")
    write_csv(table, args.csv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
