"""A family of rules as committed tables: runs ``evoplast family`` on every run directory under
RUNS (``RUNS/seed-*``) and copies its summary and its distinct rules to ``analysis/results/``.

    python analysis/family_table.py runs/out/istdp_seeds_v04 --name istdp_seeds10-19
                                    [--tol 0.01] [--max-candidates 10000] [--n-jobs 1]
                                    [--merge 0.05] [--merge-units sd|natural]

RUNS may also be one run directory. Writes ``runs/out/family/<name>/`` (the full output of
``evoplast family``), ``analysis/results/family_<name>.json`` (family.json) and
``family_<name>_distinct.csv`` (the rows of family.csv left after merging near-duplicates), and
prints the headline figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs")
    p.add_argument("--name", required=True)
    p.add_argument("--tol", type=float, default=0.01)
    p.add_argument("--max-candidates", type=int, default=10000)
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--runs-glob", default="seed-*", help="run directories under RUNS (default seed-*)")
    p.add_argument("--merge", type=float, default=0.05)
    p.add_argument("--merge-units", choices=["sd", "natural"], default="sd")
    args = p.parse_args(argv)
    from evoplast.analysis.family import family, load_family

    root = Path(args.runs)
    dirs = sorted(str(d) for d in ([root] if (root / "result.json").exists() else root.glob(args.runs_glob))
                  if (Path(d) / "result.json").exists())
    out = Path("runs/out/family") / args.name
    s = family(dirs, out, tol=args.tol, max_candidates=args.max_candidates, n_jobs=args.n_jobs,
               merge=args.merge, merge_units=args.merge_units, progress=lambda m: print(m, file=sys.stderr))
    results = Path(__file__).parent / "results"
    shutil.copy(out / "family.json", results / f"family_{args.name}.json")
    fam = load_family(out)
    fam[fam["distinct"]].to_csv(results / f"family_{args.name}_distinct.csv", index=False)
    keys = ("n_accepted", "pooled", "n_distinct", "merge_radius", "merge_units", "simulations",
            "dimension_local_pca", "dimension_pca95",
            "dimension_twonn", "span_factor", "extent_along_axis1", "extent_across_axis1_sd", "line",
            "theory_distance", "theory_stable_fraction", "beta_line_residual")
    print(json.dumps({k: s.get(k) for k in keys}, indent=1, default=float))
    print(f"wrote {results / f'family_{args.name}.json'} and family_{args.name}_distinct.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
