"""The E-I network kernel (``ei_network.simulate``) at another git revision against this checkout's, in
one process: outputs compared to the bit, then timed interleaved (one thread, same trial, compiled
first).

    python analysis/ei_kernel_ab.py --rev REV [--sizes 1000 10000] [--candidates 8] [--steps 5000]
                                    [--repeats 7] [--old-indices {int64,same}] [--config PATH]
                                    [--csv PATH]

Loads ``evoplast/kernels/ei_network.py`` of ``--rev`` beside the installed one
(:func:`evoplast.analysis.revisions.module_at`). Per size (1000: ``runs/ei_ie.toml``; 10000: the
SpikES size, 8000 + 2000 at p 0.02) one trial of the config, K candidates near its rule template;
the old kernel gets the network with int64 indices (as revisions before int32 indices built it;
``--old-indices same``: the network as this checkout builds it, for revisions with int32 indices),
this one the network as this checkout builds it. Equality: every output of 2000 steps must be
equal (NaN where NaN), else the script stops. Timing: ``--steps`` steps, ``--repeats`` alternating
runs; prints and writes (default ``analysis/results/ei_kernel_ab.csv``) min and median seconds per
candidate per simulated second and the ratios old / new.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

INDEX_FIELDS = ("syn_post", "syn_pre", "in_syn", "s_post", "x_src")
SIZES = {1000: [], 10000: ["task.n_exc=8000", "task.n_inh=2000", "task.p={ee=0.02,ei=0.02,ie=0.02,ii=0.02}"]}


def main(argv=None) -> int:
    import numba

    from evoplast import __version__, load_config, make_task, seeding
    from evoplast.analysis.revisions import first_difference, interleaved_ab, module_at
    from evoplast.analysis.sweep import write_csv
    from evoplast.kernels import ei_network as new
    from evoplast.storage import git_revision

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", required=True)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], choices=sorted(SIZES))
    ap.add_argument("--candidates", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--config", default="runs/ei_ie.toml")
    ap.add_argument("--old-indices", choices=("int64", "same"), default="int64")
    ap.add_argument("--csv", default=str(Path(__file__).parent / "results" / "ei_kernel_ab.csv"))
    args = ap.parse_args(argv)
    old = module_at(args.rev, "evoplast/kernels/ei_network.py")
    numba.set_num_threads(1)
    rows = []
    for size in args.sizes:
        config = load_config(args.config, ["task.train_s=1.0", "task.score_s=1.0", *SIZES[size]])
        task = make_task(config)
        net = task.make_trials(seeding.trial_seeds(3, 0, 0, 1)).nets[0]
        net64 = (net._replace(**{f: getattr(net, f).astype(np.int64) for f in INDEX_FIELDS})
                 if args.old_indices == "int64" else net)
        c, dt = config.task, task.neuron.dt
        base = task.rule_template
        vectors = base.to_vector()[None] * np.random.default_rng(0).uniform(0.8, 1.2, (args.candidates,
                                                                                        base.n_params))
        rules = np.stack([base.from_vector(v).params() for v in vectors])

        def run(module, trial, n_steps, c=c, dt=dt, task=task, rules=rules):
            return module.simulate([trial], c.n_exc, task.neuron.array(), rules, task.plastic, c.w_ext,
                                   n_steps, int(round(c.bin_s / dt)), c.target_rate_hz, (0.0, 1e9), 1.0, 0,
                                   c.n_exc, 200000, (c.nmda_ratio, c.tau_nmda_s))

        a, b = run(old, net64, 2000), run(new, net, 2000)
        if (f := first_difference(a, b)) is not None:
            raise SystemExit(f"{size} neurons: outputs differ: {f}")
        print(f"{size} neurons: outputs identical ({args.candidates} candidates x 2000 steps, "
              f"{int(a.counts_e.sum())} E spikes)")
        timing = interleaved_ab(lambda x=net64: run(old, x, args.steps),
                                lambda x=net: run(new, x, args.steps),
                                args.repeats, args.candidates * args.steps * dt, "s")
        row = {"neurons": size, "config": args.config, "old_indices": args.old_indices,
               "candidates": args.candidates, "steps": args.steps, "repeats": args.repeats,
               "old_rev": args.rev, **timing, "identical_outputs": True, "evoplast_version": __version__,
               "git_revision": git_revision()}
        rows.append(row)
        print(f"{size} neurons: old {row['old_min_s']:.4f} new {row['new_min_s']:.4f} s per candidate per "
              f"simulated s (min of {args.repeats}); old/new {row['ratio_of_minima']:.2f} "
              f"(medians {row['ratio_of_medians']:.2f})")
    write_csv(rows, args.csv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
