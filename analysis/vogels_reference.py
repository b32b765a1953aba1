"""Vogels' rule on the LIF task over many independent trials: the reference figures of
``performance-notes.md`` (rate ~54 Hz in the first 10 s; 4.0-4.4 Hz with pathway inputs, 5.2-5.4 Hz
with 40 Hz Poisson inputs over the last 50 s of 100 s; mean inhibitory weight ~0.9), per trial and
as mean +- s.e.m. over trials. A check that a change of the input generator or the kernel leaves the
simulated model unchanged in distribution.

    python analysis/vogels_reference.py [--trials 100] [--duration 100] [--csv PATH]

Trial d draws its inputs from ``SeedSequence(20261130, spawn_key=(mode, d))``; inhibitory weights
start at 0.1; the rule is eta = 1e-3, tau = 20 ms, alpha = -2 rho0 tau (rho0 = 5 Hz), beta = 0,
gamma = kappa = 1. Writes one row per trial (mode, trial, early rate, late rate, final mean weight,
evoplast version, git revision) to the CSV (default ``analysis/results/vogels_reference.csv``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

RANGES = {"pathways": (4.0, 4.4), "poisson": (5.2, 5.4)}


def measure(mode: str, trials: int, duration: float) -> pd.DataFrame:
    from evoplast.kernels import lif
    from evoplast.rules.pre_post_trace import PrePostTraceRule
    from evoplast.tasks import istdp_inputs

    p = lif.NeuronParams()
    rule = PrePostTraceRule(tau_pre=0.02, tau_post=0.02, alpha=-0.2, beta=0.0, gamma=1.0, kappa=1.0,
                            eta=1e-3)
    rows = []
    for d in range(trials):
        rng = np.random.default_rng(np.random.SeedSequence(20261130, spawn_key=(list(RANGES).index(mode), d)))
        x = istdp_inputs.make_inputs(rng, duration, p, mode)
        counts, _, W, status, _ = lif.simulate([x], p, rule.params()[None],
                                               np.full((1, x.n_inh), 0.1), silent_s=1e9)
        rate = counts[0, 0]
        rows.append({"mode": mode, "trial": d, "status": lif.STATUS_NAMES[int(status[0, 0])],
                     "early_rate_hz": rate[:10].mean(), "late_rate_hz": rate[-50:].mean(),
                     "final_mean_w": W[0, 0].mean(), "inh_afferent_rate_hz": x.inh_rate_hz})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--duration", type=float, default=100.0)
    ap.add_argument("--csv", default=str(Path(__file__).parent / "results" / "vogels_reference.csv"))
    args = ap.parse_args(argv)
    import evoplast
    from evoplast.storage import git_revision

    t0 = time.perf_counter()
    df = pd.concat([measure(m, args.trials, args.duration) for m in RANGES], ignore_index=True)
    df["evoplast_version"] = evoplast.__version__
    df["git_revision"] = git_revision()
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.csv, index=False)
    for mode, (lo, hi) in RANGES.items():
        g = df[df["mode"] == mode]
        sem = lambda c, g=g: g[c].std(ddof=1) / np.sqrt(len(g))  # noqa: E731
        print(f"{mode}: {len(g)} trials x {args.duration:g} s, status ok {int((g.status == 'ok').sum())}; "
              f"first 10 s {g.early_rate_hz.mean():.2f} +- {sem('early_rate_hz'):.2f} Hz; "
              f"last 50 s {g.late_rate_hz.mean():.3f} +- {sem('late_rate_hz'):.3f} Hz "
              f"(reference {lo}-{hi}; trials inside {int(g.late_rate_hz.between(lo, hi).sum())}); "
              f"final mean w {g.final_mean_w.mean():.3f} +- {sem('final_mean_w'):.3f}; "
              f"inhibitory afferents {g.inh_afferent_rate_hz.mean():.2f} Hz")
    print(f"wrote {args.csv} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
