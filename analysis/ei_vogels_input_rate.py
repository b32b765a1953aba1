"""Where Vogels' rule settles in the recurrent E-I network, per source rate: the E population rate,
how the E neurons' rates spread around the target, and where the I -> E weights end.

    python analysis/ei_vogels_input_rate.py [--config runs/ei_ie.toml] [--rates 1.2 1.6 2 3 4.5]
                                            [--trials 2] [--train-s 5 20 60] [--score-s 5]
                                            [--set KEY=VALUE ...] [--rule known|config]
                                            [--csv analysis/results/ei_vogels_input_rate.csv]

For each source rate (the config's ``task.ext_rate_range`` pinned to it) and training length,
``--trials`` trials of the training stream (seed 5; fresh connectivity each): the task's known
rule (Vogels' on I -> E) trained ``--train-s`` seconds, then scored ``--score-s`` seconds with every
E neuron recorded. Rows: the E population rate over the scoring phase, the fraction of E neurons
below 9 Hz and above 11 Hz (target 10 Hz), their median rate, the I -> E weights' mean and
fractions at 0 and at w_max, and the trial's status. Whether the single-neuron mean field's fixed
point (the target, whatever the presynaptic rate) holds in the network can be read off the first
column. ``--set``: further config overrides (recorded in the ``overrides`` column). ``--rule
config``: the config's own rule values instead of the known rule (e.g. a found rule given with
``--set rule.ie.alpha=... --set rule.ie.beta=...``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def rows_for(config_path: str, rate: float, trials: int, train_s: float, score_s: float,
             extra: tuple[str, ...] = (), rule: str = "known") -> list[dict]:
    from evoplast import load_config, make_task, seeding
    from evoplast.tasks.ei_network import TYPES

    sets = [f"task.ext_rate_range=[{rate}, {rate}]", f"task.train_s={train_s}", f"task.score_s={score_s}",
            "task.score_window_s=0.0", *extra]
    n_exc = load_config(config_path, sets).task.n_exc  # then every E neuron recorded
    config = load_config(config_path, [*sets, f"task.record_neurons={n_exc}"])
    c = config.task
    task = make_task(config)
    tset = task.make_trials(seeding.trial_seeds(5, 0, 0, trials))
    chosen = task.known_rule() if rule == "known" else task.rule_template
    run = task.simulate(chosen.to_vector()[None], tset, record=True)
    ie = TYPES.index("ie")
    out = []
    for d in range(trials):
        n = int(run.rec_count[0, d])
        per_neuron = np.bincount(run.rec_n[0, d, :n], minlength=c.n_exc) / c.score_s
        mean_w, at_zero, at_max = run.wstats[0, d, ie]
        out.append({"rule": chosen.formula(), "source_rate_hz": rate, "trial": d, "train_s": train_s,
                    "score_s": score_s,
                    "status": task.status_names[int(run.status[0, d])],
                    "rate_e_hz": float(per_neuron.mean()),
                    "frac_e_below_9hz": float(np.mean(per_neuron < 0.9 * c.target_rate_hz)),
                    "frac_e_above_11hz": float(np.mean(per_neuron > 1.1 * c.target_rate_hz)),
                    "median_e_hz": float(np.median(per_neuron)), "ie_mean_w": float(mean_w),
                    "ie_frac_at_0": float(at_zero), "ie_frac_at_w_max": float(at_max)})
    return out


def main(argv=None) -> int:

    from evoplast import __version__
    from evoplast.storage import git_revision

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="runs/ei_ie.toml")
    ap.add_argument("--rates", type=float, nargs="+", default=[1.2, 1.6, 2.0, 3.0, 4.5])
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--train-s", type=float, nargs="+", default=[5.0, 20.0, 60.0])
    ap.add_argument("--score-s", type=float, default=5.0)
    ap.add_argument("--rule", choices=("known", "config"), default="known")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--csv", default=str(Path(__file__).parent / "results" / "ei_vogels_input_rate.csv"))
    args = ap.parse_args(argv)
    rows = []
    for rate, train_s in ((r, t) for r in args.rates for t in args.train_s):
        for r in rows_for(args.config, rate, args.trials, train_s, args.score_s, tuple(args.sets), args.rule):
            r.update(overrides=" ".join(args.sets), evoplast_version=__version__, git_revision=git_revision())
            rows.append(r)
            print(f"sources {rate:g} Hz, {train_s:g} s training, trial {r['trial']}: "
                  f"E {r['rate_e_hz']:.2f} Hz ({r['status']}), E neurons < 9 Hz {r['frac_e_below_9hz']:.2f}, "
                  f"> 11 Hz {r['frac_e_above_11hz']:.2f}, I -> E mean w {r['ie_mean_w']:.3f} (at 0 "
                  f"{r['ie_frac_at_0']:.2f}, at w_max {r['ie_frac_at_w_max']:.2f})", flush=True)
    from evoplast.analysis.sweep import write_csv

    write_csv(rows, args.csv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
