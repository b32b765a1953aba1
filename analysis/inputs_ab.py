"""Input generation of the istdp task at another git revision against this checkout's, in one
process, interleaved (like for like: one thread, same durations, numba compilation before timing).

    python analysis/inputs_ab.py [--rev d33eba4] [--duration 20 40] [--repeats 15] [--csv PATH]

Loads ``evoplast/tasks/istdp_inputs.py`` of ``--rev`` as a module beside the installed one
(:func:`evoplast.analysis.revisions.module_at`: its relative imports resolve to this checkout's
evoplast, so the two revisions' other modules must be compatible) and times ``make_inputs`` of
both for each input mode and trial duration, alternating, ``--repeats`` times; prints and writes
(default ``analysis/results/inputs_ab.csv``) the minimum and median ms per simulated second of
each and the ratio of the minima (old / new), one row per mode and duration, with the evoplast
version and git revision.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from evoplast.analysis.revisions import module_at


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", default="d33eba4")
    ap.add_argument("--duration", type=float, nargs="+", default=[20.0, 40.0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--csv", default=str(Path(__file__).parent / "results" / "inputs_ab.csv"))
    args = ap.parse_args(argv)
    import numba

    import evoplast
    from evoplast.kernels.lif import NeuronParams
    from evoplast.storage import git_revision
    from evoplast.tasks import istdp_inputs as new

    numba.set_num_threads(1)
    old = module_at(args.rev, "evoplast/tasks/istdp_inputs.py")
    p = NeuronParams()
    rows = []
    for mode in ("pathways", "poisson"):
        for m in (old, new):
            m.make_inputs(np.random.default_rng(0), 1.0, p, mode)  # compile / load the cache
        for dur in args.duration:
            t = {"old": [], "new": []}
            for rep in range(args.repeats):
                for name, m in (("old", old), ("new", new)):
                    t0 = time.perf_counter()
                    m.make_inputs(np.random.default_rng(rep), dur, p, mode)
                    t[name].append((time.perf_counter() - t0) / dur * 1e3)
            row = {"mode": mode, "duration_s": dur, "repeats": args.repeats, "old_rev": args.rev,
                   "old_min_ms_per_s": min(t["old"]), "old_median_ms_per_s": float(np.median(t["old"])),
                   "new_min_ms_per_s": min(t["new"]), "new_median_ms_per_s": float(np.median(t["new"])),
                   "ratio_of_minima": min(t["old"]) / min(t["new"]),
                   "ratio_of_medians": float(np.median(t["old"]) / np.median(t["new"])),
                   "evoplast_version": evoplast.__version__, "git_revision": git_revision()}
            rows.append(row)
            print(f"{mode} {dur:g} s: old {row['old_min_ms_per_s']:.3f} new {row['new_min_ms_per_s']:.3f} "
                  f"ms per simulated s (min of {args.repeats}); old/new {row['ratio_of_minima']:.2f} "
                  f"(medians {row['ratio_of_medians']:.2f})", flush=True)
    pd.DataFrame(rows).to_csv(args.csv, index=False)
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
