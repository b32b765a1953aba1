"""Oja's own rule at a range of learning rates, on validation datasets of an Oja config.

    python analysis/oja_eta_scan.py [--config runs/oja_n1000.toml] [--etas 0.02 0.01 ...]
                                    [--trials 16] [--csv analysis/results/oja_eta_scan_n1000.csv]

The rule's scale sets the effective learning rate (only eta x theta matters), so ``rule.eta`` fixes
the units in which CMA-ES (sigma0, the L1 penalty) sees the coefficients. This scores Oja's rule
``dw = eta (x y - y^2 w)`` at each eta on ``--trials`` datasets of the validation stream (seed
12345, never a run's held-out ones) and prints / writes the task loss and mean 1-|cos(w, PC1)|:
where Oja's rule learns best at a given N, and how far the nominal eta is from it. It evaluates the
known rule only; no search starts from it.
"""

from __future__ import annotations

import argparse


def main(argv=None) -> int:
    import pandas as pd

    from evoplast import __version__, seeding
    from evoplast.config import load_config
    from evoplast.tasks import make_task

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="runs/oja_n1000.toml")
    p.add_argument("--etas", type=float, nargs="+",
                   default=[0.04, 0.02, 0.01, 0.005, 0.003, 0.002, 0.001, 0.0005])
    p.add_argument("--trials", type=int, default=16)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides")
    p.add_argument("--csv", default="analysis/results/oja_eta_scan_n1000.csv")
    args = p.parse_args(argv)
    rows = []
    for eta in args.etas:
        config = load_config(args.config, [*args.set, f"rule.eta={eta}"])
        task = make_task(config)
        trials = task.make_trials(seeding.trial_seeds(12345, seeding.STREAM_VALIDATION, 7, args.trials))
        oja = {"x*y": 1.0, "y**2*w": -1.0}
        theta = task.rule_template.from_values({t: oja.get(t, 0.0) for t in task.rule_template.terms})
        theta = theta.to_vector()  # every term named: from_values refuses a missing one
        m = task.metrics(theta, trials)
        rows.append({"config": args.config, "overrides": " ".join(args.set), "eta": eta,
                     "n_inputs": config.task.n_inputs, "trials": args.trials, "loss": m["loss"],
                     "mean_one_minus_cos": m["mean_one_minus_cos"], "mean_norm": m["mean_norm"],
                     "evoplast_version": __version__})
        print(f"eta {eta:<8g} loss {m['loss']:.5f}  mean 1-|cos| {m['mean_one_minus_cos']:.2e}  "
              f"mean |w| {m['mean_norm']:.3f}", flush=True)
    pd.DataFrame(rows).to_csv(args.csv, index=False)
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
