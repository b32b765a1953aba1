"""Experiment 3 across seeds: where the found (alpha, beta) lie relative to the mean-field theory.

    python analysis/istdp_seeds.py runs/istdp_rate_only.toml [--seeds 10] [--first-seed 0] [--jobs 2]
                                   [--out DIR] [--extra KEY=VALUE ...] [--csv PATH]

Runs the config for seeds F..F+S-1 into OUT/seed-<s> (finished runs of the same config and evoplast
version are reused; others are refused) and prints one row per
seed: alpha, beta, distance to the line beta = -(nu_pre/nu*) alpha - K nu_pre relative to |alpha|,
the fixed-point rate the mean field predicts for the found rule, the held-out trials within 10% of
the target, and the distance to the Vogels ray; then the counts the acceptance asks for (on the line
for a fixed input rate; near the Vogels ray {beta = 0, alpha = -K nu*} when the rate varies), and
the joint count (on the line and every held-out trial within 10% of the target). Writes the table,
with each run's verdicts, start, evoplast version and git revision, to the CSV (default
``analysis/results/<config stem>_seeds<F>-<F+S-1>.csv``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from evoplast.analysis.sweep import run_seeds, sweep_parser, write_table


def seed_table(out: Path):
    from evoplast.analysis import load_results

    df = load_results(str(out / "seed-*"))
    df["held_out_within_10pct"] = df["heldout.within_10_percent"] / df["heldout.n_trials"]
    for name in ("alpha", "beta"):
        if f"start.{name}" not in df:
            df[f"start.{name}"] = float("nan")
    searched = [c for c in ("coef.tau_pre", "coef.tau_post", "coef.gamma", "coef.kappa")
                if c in df and df[c].nunique() > 1]  # the other searched parameters (istdp_full)
    cols = ["run.seed", "start.alpha", "start.beta", "coef.alpha", "coef.beta", *searched,
            "theory.nu_pre_hz", "theory.beta_line",
            "theory.distance", "theory.alpha_negative", "theory.fixed_point_rate_hz", "theory.target_hz",
            "held_out_within_10pct", "theory.vogels_ray_distance", "theory.K_s", "elapsed_s",
            "evoplast_version", "git_revision"]
    return df[cols].sort_values("run.seed").reset_index(drop=True)


def main(argv=None) -> int:
    args = sweep_parser(__doc__.split("\n\n")[0]).parse_args(argv)
    out, seeds = run_seeds(args)
    t = seed_table(out)
    t = t[t["run.seed"].isin(seeds)].reset_index(drop=True)
    t = add_verdicts(t)
    print(t.drop(columns=["evoplast_version", "git_revision"]).to_string(
        index=False, float_format=lambda v: f"{v:.4g}"))
    n = len(t)
    print(f"within 5% of the line (relative to |alpha|), alpha < 0: {int(t.on_line.sum())}/{n}")
    print(f"all held-out trials within 10% of the target: {int(t.heldout_ok.sum())}/{n}")
    print(f"on the line and held-out within 10% (joint): {int((t.on_line & t.heldout_ok).sum())}/{n}")
    print(f"mean-field fixed-point rate within 5% of target: {int(t.fixed_point_ok.sum())}/{n}")
    print(f"|beta| within 3% of K nu_pre of beta = 0: {int(t.beta_within_3pct.sum())}/{n} "
          f"(beta/(K nu_pre): median {t.beta_rel.median():.3g}, max |.| {t.beta_rel.abs().max():.3g})")
    print(f"near the Vogels ray (distance <= 10% of |alpha| and |beta| <= 5% of K nu_pre): "
          f"{int(t.on_ray.sum())}/{n}")
    write_table(t, args, seeds)
    return 0


def add_verdicts(t):
    """Per run: on the mean-field line (within 5% of |alpha|, alpha < 0), every held-out trial within
    10% of the target, the mean field's fixed-point rate within 5% of the target, beta relative to
    K nu_pre (within 3%: at the Vogels ray's beta = 0), near the Vogels ray."""
    t = t.copy()
    t["on_line"] = (t["theory.distance"] <= 0.05) & t["theory.alpha_negative"].astype(bool)
    t["heldout_ok"] = t["held_out_within_10pct"] == 1
    t["fixed_point_ok"] = (t["theory.fixed_point_rate_hz"] / t["theory.target_hz"] - 1).abs() <= 0.05
    t["beta_rel"] = t["coef.beta"] / (t["theory.K_s"] * t["theory.nu_pre_hz"])
    t["beta_within_3pct"] = t["beta_rel"].abs() <= 0.03
    t["on_ray"] = (t["theory.vogels_ray_distance"] <= 0.1) & (t["beta_rel"].abs() <= 0.05)
    return t


if __name__ == "__main__":
    sys.exit(main())
