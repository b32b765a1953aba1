"""The E-I network kernel's lock-step block size, timed: each block size (and optionally the kernel
of another git revision at its own default block) on the same trial and candidates, one thread,
outputs compared to the bit, timings interleaved.

    python analysis/ei_block_ab.py [--case CONFIG:NEURONS[:RULE_CSV]] ... [--blocks 1 2 4 8]
                                   [--rev REV] [--candidates 8] [--steps 10000] [--repeats 5]
                                   [--csv PATH]

A case: a config (``runs/ei_ie.toml``), the network size (1000: the config's own; 10000: the
SpikES size, 8000 + 2000 at p 0.02, as in ``analysis/ei_kernel_ab.py``; 5120: fSBI's, 4096 + 1024
at p 0.1) and optionally a result
table with ``coef.<term>`` columns (e.g. ``analysis/results/ei_all4_seeds10-10.csv``) whose first
row's rule the candidates spread around (default: the config's rule template); the K candidates
are that rule with every searched parameter times U(0.95, 1.05) (seed 0). One trial (training
stream, draw 3), ``--steps`` steps, no early stops. Every variant must give the same outputs as
block 1 (2000 steps, every field of the kernel's output; for ``--rev`` the network's indices as
this checkout builds them, so the revision must read int32 indices), else the script stops. Rows:
case, variant, min and median seconds per candidate per simulated second over ``--repeats``
interleaved runs, this checkout's default block (:func:`evoplast.kernels.ei_network.block_size`)
and each variant's ratio to the default (by minima and by medians).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

SIZES = {1000: [], 10000: ["task.n_exc=8000", "task.n_inh=2000", "task.p={ee=0.02,ei=0.02,ie=0.02,ii=0.02}"],
         5120: ["task.n_exc=4096", "task.n_inh=1024", "task.p={ee=0.1,ei=0.1,ie=0.1,ii=0.1}"]}
DEFAULT_CASES = ["runs/ei_ie.toml:1000", "runs/ei_all4.toml:1000:analysis/results/ei_all4_seeds10-10.csv",
                 "runs/ei_ie.toml:10000"]


def main(argv=None) -> int:
    import numba
    import pandas as pd

    from evoplast import __version__, load_config, make_task, seeding
    from evoplast.analysis.revisions import first_difference, module_at
    from evoplast.analysis.sweep import write_csv
    from evoplast.kernels import ei_network as kern
    from evoplast.storage import git_revision

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", action="append", help="CONFIG:NEURONS[:RULE_CSV] (repeatable)")
    ap.add_argument("--blocks", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--rev", help="also time this git revision's kernel (its default block)")
    ap.add_argument("--candidates", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--csv", default=str(Path(__file__).parent / "results" / "ei_block_ab.csv"))
    args = ap.parse_args(argv)
    if any(b < 1 for b in args.blocks):
        raise SystemExit("--blocks must be >= 1")
    old = module_at(args.rev, "evoplast/kernels/ei_network.py") if args.rev else None
    numba.set_num_threads(1)
    rows = []
    for case in args.case or DEFAULT_CASES:
        parts = case.split(":")
        if len(parts) not in (2, 3) or not parts[1].isdigit() or int(parts[1]) not in SIZES:
            raise SystemExit(f"--case {case!r}: expected CONFIG:NEURONS[:RULE_CSV], NEURONS in "
                             f"{sorted(SIZES)}")
        cfg_path, size = parts[0], int(parts[1])
        config = load_config(cfg_path, ["task.train_s=1.0", "task.score_s=1.0", *SIZES[size]])
        task = make_task(config)
        net = task.make_trials(seeding.trial_seeds(3, 0, 0, 1)).nets[0]
        c, dt = config.task, task.neuron.dt
        rule = task.rule_template
        if len(parts) == 3:
            table = pd.read_csv(parts[2])
            coef = {k[5:]: float(v) for k, v in table.iloc[0].items() if k.startswith("coef.")}
            rule = rule.from_values(coef)
        spread = np.random.default_rng(0).uniform(0.95, 1.05, (args.candidates, rule.n_params))
        rules = np.stack([rule.from_vector(v).params() for v in rule.to_vector()[None] * spread])
        n_plastic = int(np.count_nonzero(np.asarray(task.plastic)[net.syn_type]))
        default = kern.block_size(net.out_ptr.size - 1, n_plastic, net.syn_type.size)

        def run(module, n_steps, block, net=net, c=c, dt=dt, task=task, rules=rules):
            kw = {} if block is None else {"block": block}
            return module.simulate([net], c.n_exc, task.neuron.array(), rules, task.plastic, c.w_ext,
                                   n_steps, int(round(c.bin_s / dt)), c.target_rate_hz, (0.0, 1e9), 1.0, 0,
                                   c.n_exc, 200000, (c.nmda_ratio, c.tau_nmda_s), **kw)

        variants = [(f"block {b}", kern, b) for b in args.blocks]
        if old is not None:
            variants.append((f"{args.rev} (its default block)", old, None))
        ref = run(kern, 2000, 1)
        for name, module, block in variants:
            if (f := first_difference(ref, run(module, 2000, block))) is not None:
                raise SystemExit(f"{case}: {name}: outputs differ from block 1 ({f})")
        print(f"{case}: {len(variants)} variants give identical outputs ({args.candidates} candidates x "
              f"2000 steps); default block {default}", flush=True)
        times: dict[str, list[float]] = {name: [] for name, _, _ in variants}
        for _ in range(args.repeats):
            for name, module, block in variants:
                t0 = time.perf_counter()
                out = run(module, args.steps, block)
                times[name].append((time.perf_counter() - t0) / (args.candidates * args.steps * dt))
        rate_e = float(out.counts_e.sum() / (args.candidates * c.n_exc * args.steps * dt))
        base = f"block {default}"
        for name, _, _ in variants:
            t = times[name]
            row = {"case": case, "neurons": int(net.out_ptr.size - 1), "plastic_synapses": n_plastic,
                   "variant": name, "default_block": default, "candidates": args.candidates,
                   "steps": args.steps, "repeats": args.repeats, "rate_e_hz": rate_e,
                   "min_s": min(t), "median_s": float(statistics.median(t))}
            if base in times:
                row["default_over_this_min"] = min(times[base]) / min(t)
                row["default_over_this_median"] = statistics.median(times[base]) / statistics.median(t)
            row.update(identical_outputs=True, evoplast_version=__version__, git_revision=git_revision())
            rows.append(row)
            print(f"  {name:>28}: min {row['min_s']:.4f} median {row['median_s']:.4f} s per candidate per "
                  f"simulated s" + (f"; default/this {row['default_over_this_min']:.2f} (medians "
                                    f"{row['default_over_this_median']:.2f})" if base in times else ""),
                  flush=True)
    write_csv(rows, args.csv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
