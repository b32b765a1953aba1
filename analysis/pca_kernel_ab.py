"""The PCA-network kernel at another git revision against this checkout's, in one process,
interleaved (like for like: one numba thread, the same runs, compilation before timing).

    python analysis/pca_kernel_ab.py [--rev f9ae48e] [--sizes 5x3 50x4 100x8] [--repeats 7] [--csv PATH]

Loads ``evoplast/kernels/pca.py`` of ``--rev`` beside the installed one
(:func:`evoplast.analysis.revisions.module_at`: its relative imports resolve to this checkout's
evoplast) and times ``simulate`` of both on the
same rule pair (Rubner-Tavan, hierarchical: Oja feed-forward, anti-Hebbian lateral), the same 8
datasets of 200 samples (geometric spectrum) and 32 candidates, alternating, ``--repeats`` times.
Checks that both give the same weights (to 1e-9 relative) and prints and writes (default
``analysis/results/pca_kernel_ab.csv``) minimum and median ns per synapse-update of each and the
least favourable of the two ratios (old / new), one row per size, with the evoplast version and
git revision.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from evoplast.analysis.revisions import module_at


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rev", default="f9ae48e")
    p.add_argument("--sizes", nargs="+", default=["5x3", "50x4", "100x8"])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--passes", type=int, default=10, help="passes over the 200 samples per timing")
    p.add_argument("--csv", default=str(Path(__file__).parent / "results" / "pca_kernel_ab.csv"))
    args = p.parse_args(argv)
    import numba

    numba.set_num_threads(1)
    import evoplast
    from evoplast.kernels import pca as new
    from evoplast.rules import PolynomialRule
    from evoplast.tasks.datasets import make_spectrum, sample_dataset

    old = module_at(args.rev, "evoplast/kernels/pca.py")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    if subprocess.run(["git", "status", "--porcelain", "evoplast"], capture_output=True, text=True).stdout:
        head += "+uncommitted"
    oja = PolynomialRule.from_terms({"x*y": 1.0, "y**2*w": -1.0}).coefficient_tensor()
    anti = PolynomialRule.from_terms({"x*y": -1.0}).coefficient_tensor()
    rng = np.random.default_rng(0)
    K, D, S = 32, 8, 200
    rows = []
    for size in args.sizes:
        n, m = (int(v) for v in size.split("x"))
        A = np.broadcast_to(0.01 * oja, (K, 3, 3, 3)).copy()
        B = np.broadcast_to(0.02 * anti, (K, 3, 3, 3)).copy()
        X = np.stack([sample_dataset(S, make_spectrum(n), "gaussian", rng)[0] for _ in range(D)])
        W0 = 0.1 * rng.standard_normal((D, m, n)) / np.sqrt(n)
        L0 = np.zeros((D, m, m))
        case = (A, B, X, W0, L0, args.passes)
        run = {"old": lambda c=case: old.simulate(*c), "new": lambda c=case: new.simulate(*c)}
        res = {k: f() for k, f in run.items()}  # compile / load the cache, and compare
        np.testing.assert_allclose(res["new"][0], res["old"][0], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(res["new"][1], res["old"][1], rtol=1e-9, atol=1e-12)
        times = {"old": [], "new": []}
        for _ in range(args.repeats):
            for k, f in run.items():
                t = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t)
        updates = K * D * S * args.passes * (m * n + m * (m - 1) // 2)
        row = {"n_inputs": n, "n_outputs": m, "runs": K * D, "updates_per_run": S * args.passes,
               "repeats": args.repeats, "threads": 1}
        for k in ("old", "new"):
            row[f"{k}_min_ns"] = min(times[k]) / updates * 1e9
            row[f"{k}_median_ns"] = float(np.median(times[k])) / updates * 1e9
        row["ratio_min"] = row["old_min_ns"] / row["new_min_ns"]
        row["ratio_median"] = row["old_median_ns"] / row["new_median_ns"]
        row["ratio_least"] = min(row["ratio_min"], row["ratio_median"])
        row.update(old_rev=args.rev, new_rev=head, evoplast_version=evoplast.__version__)
        rows.append(row)
        print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    pd.DataFrame(rows).to_csv(args.csv, index=False)
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
