"""E-I network runs' found rules re-scored under other protocols (training length, scored window).

    python analysis/ei_protocols.py RUN_DIR [RUN_DIR ...] [--protocol task.train_s=30 ...]
                                    [--trials 8] [--draw 0] [--recompute] [--csv PATH]

For every run and protocol (``--protocol``: space-separated ``section.key=value`` overrides, one
string per protocol, repeatable; default: the config's own 6 s, then 30 s and 90 s of training,
then fSBI's 60 s of training and 10 s scored) the found rule is scored on ``--trials`` fresh
held-out trials (set ``--draw``), as ``evoplast evaluate RUN --set ...`` does: the rows are appended
to the run's ``generalisation.csv``; a row there with the same overrides, draw and number of trials
is reused instead of simulated again (``--recompute``: simulate anyway; the result is the same).
One table row per run and protocol: trials ok, within 10% of the target, plausible, both, the
largest relative rate error, each trial's E rate and ``w_creep``, and the metrics that failed on
some trial. Writes ``--csv`` (default ``analysis/results/ei_protocols.csv``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DEFAULT_PROTOCOLS = ["task.train_s=6", "task.train_s=30", "task.train_s=90",
                     "task.train_s=60 task.score_s=10"]
COLUMNS = ["overrides", "draw", "n_trials", "n_ok", "loss", "max_relative_rate_error", "within_10_percent",
           "plausible", "plausible_and_within"]


def protocol_row(run: str, row: dict) -> dict:
    """The table's row for one re-scoring (a ``generalisation.csv`` row, ``per_trial`` as JSON)."""
    per = row["per_trial"]
    per = json.loads(per) if isinstance(per, str) else per
    failed = sorted({m for t in per for m in t.get("implausible", [])})
    out = {"run": run, **{k: row[k] for k in COLUMNS}}
    out["overrides"] = out["overrides"] if isinstance(out["overrides"], str) else ""
    out["rate_e_hz_per_trial"] = json.dumps([round(float(t["rate_e_hz"]), 3) for t in per])
    out["w_creep_per_trial"] = json.dumps([round(float(t["w_creep"]), 3) if "w_creep" in t else None
                                           for t in per])
    out["implausible"] = " ".join(failed)
    return out


def main(argv=None) -> int:
    import pandas as pd

    from evoplast.analysis.generalisation import rescore
    from evoplast.analysis.sweep import write_csv
    from evoplast.storage import GENERALISATION

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--protocol", action="append", help="overrides of one protocol (repeatable)")
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--draw", type=int, default=0)
    ap.add_argument("--recompute", action="store_true")
    ap.add_argument("--csv", default=str(Path(__file__).parent / "results" / "ei_protocols.csv"))
    args = ap.parse_args(argv)
    rows = []
    for run in args.runs:
        table = Path(run) / GENERALISATION
        done = pd.read_csv(table) if table.exists() and not args.recompute else None
        for protocol in args.protocol or DEFAULT_PROTOCOLS:
            overrides = protocol.split()
            key = " ".join(overrides)
            old = None
            if done is not None:
                same = done[(done["overrides"].fillna("") == key) & (done["draw"] == args.draw)
                            & (done["n_trials"] == args.trials)]
                old = same.iloc[-1].to_dict() if len(same) else None
            if old is None:
                old, _, _ = rescore(run, overrides, args.trials, args.draw)
            r = protocol_row(run, old)
            rows.append(r)
            print(f"{run} [{key or 'as run'}]: within 10% {r['within_10_percent']}/{r['n_trials']}, "
                  f"plausible {r['plausible']}/{r['n_trials']}, both {r['plausible_and_within']}; w_creep "
                  f"{r['w_creep_per_trial']}; failed: {r['implausible'] or '-'}", flush=True)
    write_csv(rows, args.csv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
