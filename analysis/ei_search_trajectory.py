"""How an E-I network search moved: per run and window of generations, what its candidates'
search trials showed (from ``evaluations.csv``; finished or unfinished runs).

    python analysis/ei_search_trajectory.py RUN_DIR [RUN_DIR ...] [--window 25] [--csv PATH]

Per run directory and window of ``--window`` generations: candidates evaluated, the fraction that
completed every trial (status ok), among those the mean ``w_creep`` (largest relative change of a
type's mean weight in the scored window, averaged over the candidate's trials; plausible range
0-0.05), the fraction of trials plausible (``metric:plausible``), the median |E rate - target| /
target, and the best task loss (the rate loss plus the plausibility term, as searched); the run's
``task.plausibility_weight`` from its ``config.json``. The last window may be partial (an
unfinished run). Writes the table (default ``analysis/results/ei_search_trajectory.csv``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def trajectory(run_dir: Path, window: int):
    import numpy as np
    import pandas as pd

    cfg = json.loads((run_dir / "config.json").read_text())["config"]["task"]
    ev = pd.read_csv(run_dir / "evaluations.csv")
    if "metric:w_creep" not in ev:
        raise SystemExit(f"{run_dir}: evaluations.csv has no plausibility metrics (plausibility_weight 0?)")
    target = float(cfg["target_rate_hz"])
    rows = []
    for lo in range(0, int(ev.generation.max()) + 1, window):
        g = ev[(ev.generation >= lo) & (ev.generation < lo + window)]
        ok = g[g.status == "ok"]
        rows.append({"run": str(run_dir), "plausibility_weight": float(cfg.get("plausibility_weight", 0.0)),
                     "generations": f"{lo}-{min(lo + window, int(ev.generation.max()) + 1) - 1}",
                     "candidates": len(g), "frac_ok": len(ok) / max(len(g), 1),
                     "mean_w_creep_ok": float(ok["metric:w_creep"].mean()) if len(ok) else np.nan,
                     "frac_trials_plausible_ok": float(ok["metric:plausible"].mean()) if len(ok) else np.nan,
                     "median_rel_rate_error_ok": (float((ok["metric:rate_e_hz"] - target).abs().median())
                                                  / target if len(ok) else np.nan),
                     "best_task_loss": float(g.task_loss.min())})
    return rows


def main(argv=None) -> int:
    import pandas as pd

    from evoplast.analysis.sweep import write_csv

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--window", type=int, default=25)
    ap.add_argument("--csv", default=str(Path(__file__).parent / "results" / "ei_search_trajectory.csv"))
    args = ap.parse_args(argv)
    if args.window < 1:
        raise SystemExit("--window must be >= 1")
    rows = []
    for r in args.runs:
        d = Path(r)
        if not (d / "evaluations.csv").is_file() or not (d / "config.json").is_file():
            raise SystemExit(f"{d}: not a run directory with evaluations.csv and config.json")
        rows += trajectory(d, args.window)
    t = pd.DataFrame(rows)
    print(t.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    write_csv(t, args.csv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
