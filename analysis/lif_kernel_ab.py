"""The LIF kernel (``lif.simulate``) at another git revision against this checkout's, in one process:
outputs compared to the bit, then timed interleaved (one thread, same trials, compiled first).

    python analysis/lif_kernel_ab.py --rev REV [--cases 1x20 12x10] [--repeats 7] [--csv PATH]

Loads ``evoplast/kernels/lif.py`` of ``--rev`` beside the installed one
(:func:`evoplast.analysis.revisions.module_at`). Equality: 11 candidates with random rules (some
stop early) on three 6-s trials of both input modes; every output array must be equal (NaN where
NaN), else the script stops. Timing: per case ``DxS`` (D pathway-input trials of S seconds), 8
candidates, ``--repeats`` alternating runs of each; prints and writes (default
``analysis/results/lif_kernel_ab.csv``) min and median ms per candidate per simulated second and
the ratios old / new.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    import numba

    from evoplast import __version__
    from evoplast.analysis.revisions import first_difference, interleaved_ab, module_at
    from evoplast.kernels import lif as new
    from evoplast.rules.pre_post_trace import PrePostTraceRule
    from evoplast.storage import git_revision
    from evoplast.tasks.istdp_inputs import make_inputs

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", required=True)
    ap.add_argument("--cases", nargs="+", default=["1x20", "12x10"])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--csv", default=str(Path(__file__).parent / "results" / "lif_kernel_ab.csv"))
    args = ap.parse_args(argv)
    old = module_at(args.rev, "evoplast/kernels/lif.py")
    p = new.NeuronParams()
    vogels = PrePostTraceRule(alpha=-0.2, beta=0.0, gamma=1.0, kappa=1.0, eta=1e-3).params()

    xs = [make_inputs(np.random.default_rng(d), 6.0, p, m)
          for d, m in enumerate(["pathways", "poisson", "pathways"])]
    rng = np.random.default_rng(5)
    rules = np.repeat(vogels[None], 11, 0)
    rules[:, 2] = rng.uniform(-3, 1, 11)
    rules[:, 3] = rng.uniform(-1, 1, 11)
    rules[:, 6] *= 30
    W0 = rng.uniform(0, 0.3, (3, xs[0].n_inh))
    a = old.simulate(xs, p, rules, W0, silent_s=2.0)
    b = new.simulate(xs, p, rules, W0, silent_s=2.0)
    if (f := first_difference(a, b)) is not None:
        raise SystemExit(f"outputs differ: {f}")
    stopped = int((a.status != new.OK).sum())
    print(f"outputs identical: 11 candidates x 3 trials ({stopped} stopped early)")

    numba.set_num_threads(1)
    rows = []
    for case in args.cases:
        D, S = case.split("x")
        D, S = int(D), float(S)
        trials = [make_inputs(np.random.default_rng(d), S, p, "pathways") for d in range(D)]
        r8 = np.repeat(vogels[None], 8, 0)
        r8[:, 2] *= np.linspace(0.8, 1.2, 8)
        W = np.full((D, trials[0].n_inh), 0.1)
        for m in (old, new):
            m.simulate(trials, p, r8, W, silent_s=1e9)
        timing = interleaved_ab(lambda x=trials, r=r8, w=W: old.simulate(x, p, r, w, silent_s=1e9),
                                lambda x=trials, r=r8, w=W: new.simulate(x, p, r, w, silent_s=1e9),
                                args.repeats, 8 * D * S / 1e3, "ms")
        row = {"trials": D, "seconds": S, "candidates": 8, "repeats": args.repeats, "old_rev": args.rev,
               **timing, "identical_outputs": True, "evoplast_version": __version__,
               "git_revision": git_revision()}
        rows.append(row)
        print(f"{D} x {S:g} s: old {row['old_min_ms']:.4f} new {row['new_min_ms']:.4f} ms per candidate "
              f"per simulated s (min of {args.repeats}); old/new {row['ratio_of_minima']:.2f} "
              f"(medians {row['ratio_of_medians']:.2f})")
    from evoplast.analysis.sweep import write_csv

    write_csv(rows, args.csv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
