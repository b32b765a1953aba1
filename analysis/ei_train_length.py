"""Does longer training let Vogels' rule hold the E rate on low-input trials of ``runs/ei_ie.toml``?

    python analysis/ei_train_length.py [--train 6,15,30] [--trials 16] [--csv PATH]

Vogels' rule on I -> E (the task's known rule) on the same ``--trials`` trials (training stream of
run seed 999, which no search uses) with ``task.train_s`` set to each value (scoring window as
configured). One row per trial and training length: source rate, E and I rates in the scoring
window, within 10% of the target, mean final I -> E weight and the fraction of those weights at a
bound. Writes ``analysis/results/ei_vogels_train_length.csv`` (default) and prints the count within
10% per training length.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv=None) -> int:
    import numpy as np
    import pandas as pd

    from evoplast import seeding
    from evoplast.config import load_config
    from evoplast.tasks import make_task

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="runs/ei_ie.toml")
    p.add_argument("--train", default="6,15,30")
    p.add_argument("--trials", type=int, default=16)
    p.add_argument("--csv", default="analysis/results/ei_vogels_train_length.csv")
    args = p.parse_args(argv)
    rows = []
    for train in (float(x) for x in args.train.split(",")):
        task = make_task(load_config(args.config, [f"task.train_s={train}", "task.plausibility_weight=0.0"]))
        trials = task.make_trials(seeding.trial_seeds(999, seeding.STREAM_TRAIN, 0, args.trials))
        run = task.simulate(task.known_rule().to_vector()[None], trials)
        nu_e, nu_i = task._rates(run, trials)
        target = task.cfg.target_rate_hz
        ie = task.plastic.nonzero()[0][0]
        for d in range(args.trials):
            rows.append({"train_s": train, "trial": d, "ext_rate_hz": float(trials.ext_rate[d]),
                         "status": task.status_names[int(run.status[0, d])],
                         "rate_e_hz": float(nu_e[0, d]), "rate_i_hz": float(nu_i[0, d]),
                         "within_10pct": bool(abs(nu_e[0, d] - target) <= 0.1 * target),
                         "w_ie_mean": float(run.wstats[0, d, ie, 0]),
                         "w_ie_at_bounds": float(run.wstats[0, d, ie, 1] + run.wstats[0, d, ie, 2])})
    df = pd.DataFrame(rows)
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.csv, index=False)
    low = df.ext_rate_hz < 2.0
    for train, g in df.groupby("train_s"):
        gl = g[low[g.index]]
        low_rates = np.round(gl.rate_e_hz.values, 2).tolist()
        print(f"train_s {train:g}: within 10% {int(g.within_10pct.sum())}/{len(g)}; sources < 2 Hz: "
              f"{int(gl.within_10pct.sum())}/{len(gl)}, their E rate {low_rates}")
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
