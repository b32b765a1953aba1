"""How much do the O(1/N) terms of the N = 1000 Oja search's found rule matter?

    python analysis/oja_n1000_terms.py [--result analysis/results/oja_n1000_seed0_result.json]

Scores the found rule of ``runs/oja_n1000.toml`` (its ``result.json``) and three variants -- only
its ``x*y`` and ``y**2*w`` terms; without ``x**2*w`` and ``x*w**2``; Oja's rule at the found ``x*y``
scale -- on 16 datasets of the validation stream (seed 12345, never the held-out ones). Writes
``analysis/results/oja_n1000_terms.csv`` (loss, mean 1-|cos(w, PC1)|, mean |w|).
"""

from __future__ import annotations

import argparse
import json


def main(argv=None) -> int:
    import pandas as pd

    from evoplast import seeding
    from evoplast.config import load_config
    from evoplast.tasks import make_task

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="runs/oja_n1000.toml")
    p.add_argument("--result", default="analysis/results/oja_n1000_seed0_result.json")
    p.add_argument("--csv", default="analysis/results/oja_n1000_terms.csv")
    args = p.parse_args(argv)
    task = make_task(load_config(args.config))
    coef = json.loads(open(args.result).read())["coefficients"]
    trials = task.make_trials(seeding.trial_seeds(12345, seeding.STREAM_VALIDATION, 7, 16))
    oja = {"x*y": coef["x*y"], "y**2*w": -coef["x*y"]}
    variants = {
        "found": coef,
        "only x*y and y**2*w": {k: (v if k in oja else 0.0) for k, v in coef.items()},
        "found without x**2*w and x*w**2": {k: (0.0 if k in ("x**2*w", "x*w**2") else v)
                                            for k, v in coef.items()},
        "Oja at the found x*y scale": {k: oja.get(k, 0.0) for k in coef},
    }
    rows = []
    for name, values in variants.items():
        m = task.metrics(task.rule_template.from_values(values).to_vector(), trials)
        rows.append({"variant": name, "loss": m["loss"], "mean_one_minus_cos": m["mean_one_minus_cos"],
                     "mean_norm": m["mean_norm"]})
        print(f"{name:34s} loss {m['loss']:.5f}  mean 1-|cos| {m['mean_one_minus_cos']:.2e}")
    pd.DataFrame(rows).to_csv(args.csv, index=False)
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
