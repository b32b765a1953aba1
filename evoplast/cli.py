"""The ``evoplast`` command.

::

    evoplast run CONFIG [--set KEY=VALUE ...] [--out DIR] [--n-jobs N] [--quiet]
    evoplast resume DIR [--n-jobs N] [--quiet]
    evoplast show DIR
    evoplast simulate CONFIG [--set KEY=VALUE ...] --out DIR [--trials N]
    evoplast bench [rate|pca|istdp|dask|network|all] [--quick]

Bad input (unknown key, wrong type, impossible value, missing file, unreadable checkpoint) prints a
one-line ``evoplast: error: ...`` and exits with status 2; nothing already written is removed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import EvoplastError
from .storage import RESULT


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as a Ctrl-C: the run stops, its last checkpoint stays (exit 143)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage errors: also one line, exit 2
        self.exit(2, f"evoplast: error: {message}\n")


def _printer(quiet: bool):
    if quiet:
        return None
    return lambda line: print(line, flush=True)


def _print_result(run_dir, result: dict, config) -> None:
    """What ``evoplast show`` prints: the rule family and the task describe their parts."""
    from .tasks import make_task

    task = make_task(config)
    rule = task.rule_template
    print(f"run directory: {run_dir}")
    print(f"found rule ({result['task']}, {result['generations']} generations, "
          f"{result['evaluations']} evaluations):")
    pre = result.get("pretrain")
    if pre:
        print(f"  (started from the mean of a pretraining stage in {run_dir}/{pre['run_dir']}: "
              f"{pre['generations']} generations, {pre['evaluations']} evaluations on "
              f"{', '.join(pre['overrides'])}; both stages {result['total_s']:.0f} s)")
    bounds = config.cmaes.bounds
    if bounds:
        found = result["search_coefficients"]
        edge = [t for t, (lo, hi) in bounds.items() if min(found[t] - lo, hi - found[t]) <= 1e-3 * (hi - lo)]
        print("  (searched inside cmaes.bounds: " + ", ".join(f"{t} in [{lo:g}, {hi:g}]" for t, (lo, hi)
                                                          in bounds.items())
              + (f"; the search's mean is at the edge in {', '.join(edge)})" if edge else ")"))
    for line in [*rule.describe(result), *task.describe_head(result), rule.normalized_heading]:
        print(line)
    for term, value in sorted(result["normalized"].items(), key=lambda kv: -abs(kv[1])):
        if abs(value) >= 0.01:
            print(f"    {term:>10s}  {value:+.4f}")
    for line in task.describe(result):
        print(line)


def cmd_run(args: argparse.Namespace) -> int:
    from . import config as cfgmod
    from .search import Search
    from .storage import RunDir, default_run_dir

    config = _override_run(cfgmod.load_config(args.config, args.set), args)
    plain = config.to_dict()
    out = Path(args.out) if args.out else default_run_dir(args.config, plain)
    run_dir = RunDir(out)
    run_dir.create(plain, source=str(args.config))
    _print_header(run_dir, config)
    result = Search(config, run_dir, progress=_printer(args.quiet), progress_interval=1.0).run().to_json()
    _print_result(run_dir.path, result, config)
    return 0


def _override_run(config, args):
    """--n-jobs / --backend / --scheduler replace run.* (validated like the config file)."""
    from . import config as cfgmod

    new = {k: v for k, v in (("n_jobs", args.n_jobs), ("backend", args.backend),
                             ("scheduler", args.scheduler)) if v is not None}
    if args.scheduler and args.backend is None:
        new["backend"] = "dask"
    if not new:
        return config
    run = cfgmod.build_section(cfgmod.RunConfig, {**config.to_dict()["run"], **new}, "run")
    return config.replace(run=run)


def _print_header(run_dir, config) -> None:
    t, r = config.task, config.run
    where = f"backend {r.backend}" + (f" at {r.scheduler}" if r.scheduler else "")
    print(f"evoplast: task {t.name}, rule {config.rule.family}, seed {r.seed}, "
          f"n_jobs {r.n_jobs}, {where} -> {run_dir.path}", flush=True)
    if r.backend != "dask":
        _warn_beyond_cores(r.n_jobs)


def cmd_resume(args: argparse.Namespace) -> int:
    from . import config as cfgmod
    from .search import Search
    from .storage import RunDir

    run_dir = RunDir(args.dir)
    run_dir.require()
    try:
        config = cfgmod.from_dict(run_dir.meta()["config"])
    except EvoplastError as exc:
        raise EvoplastError(f"{run_dir.file('config.json')}: {exc}") from None
    config = _override_run(config, args)
    _print_header(run_dir, config)
    result = Search(config, run_dir, progress=_printer(args.quiet),
                    progress_interval=1.0).run().to_json()
    _print_result(run_dir.path, result, config)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from . import config as cfgmod
    from .storage import RunDir

    run_dir = RunDir(args.dir)
    run_dir.require()
    if not run_dir.file(RESULT).exists():
        raise EvoplastError(f"{run_dir.path} has no result yet (unfinished run? "
                            f"'evoplast resume {run_dir.path}' continues it)")
    try:
        config = cfgmod.from_dict(run_dir.meta()["config"])
    except EvoplastError as exc:
        raise EvoplastError(f"{run_dir.file('config.json')}: {exc}") from None
    _print_result(run_dir.path, run_dir.result(), config)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from . import config as cfgmod
    from .analysis.simulation import simulate

    config = cfgmod.load_config(args.config, args.set)
    summary, path = simulate(config, args.out, args.trials)
    for key, value in summary.items():
        if not isinstance(value, (list, dict)):
            print(f"{key}: {value}")
    print(f"wrote {path}")
    return 0


def cmd_landscape(args: argparse.Namespace) -> int:
    from . import config as cfgmod
    from .analysis import landscape as ls

    config = cfgmod.load_config(args.config, args.set)
    summary = ls.run_landscape(config, args.x, args.y, args.out, args.range, args.grid,
                               args.trials,
                               args.run, args.n_jobs, progress=print)
    fit = summary["measured_valley"]
    print(f"min loss {summary['min_loss']:.4g}; measured valley slope "
          f"{fit['slope'] if fit['slope'] is None else round(fit['slope'], 4)} ({fit['n_points']} columns)"
          + (f" vs analytic {summary['analytic_slope']:.4f}" if summary["analytic_slope"] else ""))
    print(f"wrote {summary['files']}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Re-score a run's found rule on new held-out trials, optionally under another config."""
    from .analysis.generalisation import rescore

    row, metrics, path = rescore(args.dir, args.set, args.trials, args.draw)
    key = metrics["headline"]
    print(f"{args.dir} [{row['overrides'] or 'as run'}]: {metrics['n_ok']}/{metrics['n_trials']} "
          f"trials ok, loss {metrics['loss']:.4g}" + (f", {key} {metrics[key]:.4g}" if key else "")
          + f" -> {path}")
    return 0


def cmd_family(args: argparse.Namespace) -> int:
    """Pool the rules the runs evaluated, re-score the promising ones, describe the accepted set."""
    from .analysis.family import family

    s = family(args.dirs, args.out, tol=args.tol, trials=args.trials, n_jobs=args.n_jobs,
               max_candidates=args.max_candidates, merge=args.merge, seed=args.seed, progress=print,
               merge_units=args.merge_units)
    line = s.get("line")
    print(f"{s['n_accepted']} rules accepted of {s['pooled']} pooled ({s['n_distinct']} distinct); "
          f"best loss {s.get('loss_best', float('nan')):.4g}; dimension "
          f"{s.get('dimension_local_pca', float('nan')):.0f} (local PCA), "
          f"{s.get('dimension_pca95', '-')} (PCA 95%), {s.get('dimension_twonn', float('nan')):.2f} (TwoNN)"
          + (f"; slope along the first axis {line['slope_fitted_axis1']:.4g} vs analytic "
             f"{line['slope_analytic']:.4g}" if line else ""))
    print(f"wrote {args.out}/family.csv, family.json and {', '.join(s['figures']) or 'no figures'}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .analysis.report import report

    path = report(args.dirs, args.out, ablate=not args.no_ablation, n_jobs=args.n_jobs)
    print(f"wrote {path} and its figures")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from . import bench

    for row in bench.run(args.what, quick=args.quick, dask_config=args.config,
                         brian2_python=args.brian2_python):
        print(json.dumps(row), flush=True)
    return 0


def _parallel_args(p) -> None:
    p.add_argument("--n-jobs", type=int, help="workers (overrides run.n_jobs; results do not depend on it)")
    p.add_argument("--backend", choices=["loky", "threading", "sequential", "dask"],
                   help="joblib backend (overrides run.backend); dask: see --scheduler")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (implies --backend dask; "
                        "without it, --backend dask starts a local cluster of --n-jobs workers)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="evoplast", description="Meta-learn synaptic plasticity rules with CMA-ES.")
    from . import __version__

    p.add_argument("--version", action="version", version=f"evoplast {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="search a rule for the task of a config file")
    r.add_argument("config", help="experiment config (TOML), e.g. runs/oja.toml")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set task.n_inputs=7 (repeatable)")
    r.add_argument("--out", help="run directory (default: runs/out/<config>-<hash>)")
    _parallel_args(r)
    r.add_argument("--quiet", action="store_true",
                   help="no progress lines (default: one a second, with the current mean rule)")
    r.set_defaults(func=cmd_run)

    s = sub.add_parser("resume", help="continue a stopped run from its checkpoint")
    s.add_argument("dir")
    _parallel_args(s)
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_resume)

    w = sub.add_parser("show", help="print the found rule of a finished run")
    w.add_argument("dir")
    w.set_defaults(func=cmd_show)

    m = sub.add_parser("simulate", help="run the task's network once with the config's rule (no search)")
    m.add_argument("config")
    m.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    m.add_argument("--out", required=True, help="directory for summary.json")
    m.add_argument("--trials", type=int, help="trials to simulate (default: task.heldout_trials)")
    m.set_defaults(func=cmd_simulate)

    ls = sub.add_parser("landscape", help="task loss on a 2-D grid of two rule coefficients (CSV + PNG)")
    ls.add_argument("config")
    ls.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ls.add_argument("--x", required=True, help="rule term on the x axis, e.g. x*y or alpha")
    ls.add_argument("--y", required=True, help="rule term on the y axis, e.g. y**2*w or beta")
    ls.add_argument("--range", nargs=4, type=float, metavar=("XMIN", "XMAX", "YMIN", "YMAX"))
    ls.add_argument("--grid", type=int, default=25, help="points per axis (default 25)")
    ls.add_argument("--trials", type=int, help="validation trials per point (default task.n_trials)")
    ls.add_argument("--run", action="append", default=[], metavar="DIR",
                    help="run directory: its found rule fixes the other coefficients (first one), its "
                         "CMA-ES mean path and found rule are drawn (repeatable)")
    ls.add_argument("--n-jobs", type=int, default=1)
    ls.add_argument("--out", required=True, help="directory for landscape.csv/.png/.json")
    ls.set_defaults(func=cmd_landscape)

    e = sub.add_parser("evaluate", help="re-score a run's found rule on new held-out trials "
                                        "(other N, inputs, rates with --set); appends to generalisation.csv")
    e.add_argument("dir")
    e.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="change the task, e.g. task.n_inputs=20 or task.input_distribution=laplace")
    e.add_argument("--trials", type=int, help="held-out trials (default task.heldout_trials)")
    e.add_argument("--draw", type=int, default=0, help="which fresh set of held-out trials (default 0)")
    e.set_defaults(func=cmd_evaluate)

    fm = sub.add_parser("family", help="the family of rules that solve a task: pool every rule the runs "
                                       "evaluated, re-score the promising ones, keep those within --tol")
    fm.add_argument("dirs", nargs="+", metavar="RUN_DIR")
    fm.add_argument("--out", required=True, help="directory for family.csv, family.json and figures")
    fm.add_argument("--tol", type=float, default=0.01,
                    help="accept re-scored task loss <= best + TOL (task loss units; default %(default)s)")
    fm.add_argument("--trials", type=int, help="fresh trials per rule (default task.heldout_trials)")
    fm.add_argument("--max-candidates", type=int, default=2000,
                    help="re-score at most this many pooled rules, lowest logged loss first "
                         "(default %(default)s)")
    fm.add_argument("--merge", type=float, default=0.05,
                    help="near-duplicates: closer than this many standard deviations "
                         "(default %(default)s)")
    fm.add_argument("--merge-units", choices=["sd", "natural"], default="sd",
                    help="--merge in standard deviations of the accepted set (default) or in the "
                         "parameters' own units (compares families of different extent)")
    fm.add_argument("--seed", type=int, default=0, help="seed of the fresh trials (default 0)")
    fm.add_argument("--n-jobs", type=int, help="workers (default: the first run's run.n_jobs)")
    fm.set_defaults(func=cmd_family)

    rp = sub.add_parser("report", help="figures and report.md for one or several run directories")
    rp.add_argument("dirs", nargs="+")
    rp.add_argument("--out", required=True, help="directory for report.md and the PNG figures")
    rp.add_argument("--no-ablation", action="store_true", help="skip the per-term ablation (simulations)")
    rp.add_argument("--n-jobs", type=int, default=1)
    rp.set_defaults(func=cmd_report)

    b = sub.add_parser("bench", help="measure simulation speed (one JSON object per line)")
    b.add_argument("what", nargs="?", default="rate",
                   choices=["rate", "pca", "istdp", "dask", "network", "all"])
    b.add_argument("--quick", action="store_true", help="shorter measurement")
    b.add_argument("--config", default="runs/istdp_rate_only.toml",
                   help="spiking config whose generation the dask bench times (default %(default)s, "
                        "relative to the current directory)")
    b.add_argument("--brian2-python", help="istdp: a Python with Brian2 installed for the Brian2 rows "
                   "(default: $EVOPLAST_BRIAN2_PYTHON, else this one if it has Brian2)")
    b.set_defaults(func=cmd_bench)
    return p


def _warn_beyond_cores(n_jobs: int | None) -> None:
    """More workers than cores only slows a run down (results do not change): say so."""
    import os

    cores = os.cpu_count() or 1
    if n_jobs is not None and n_jobs > cores:
        print(f"evoplast: warning: --n-jobs {n_jobs} is more than this machine's {cores} cores; "
              "the workers will share them (same results, no faster)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors (exit 2), --help and --version (exit 0)
        return int(exc.code or 0)
    if getattr(args, "n_jobs", None) is not None and args.n_jobs == 0 or (
            getattr(args, "n_jobs", None) or 0) < -1:
        print("evoplast: error: --n-jobs must be >= 1 or -1 (all cores)", file=sys.stderr)
        return 2
    if getattr(args, "out", None) is not None and not str(args.out).strip():
        print("evoplast: error: --out must name a directory (got an empty path)", file=sys.stderr)
        return 2
    if args.command not in ("run", "resume"):  # those warn in their header (config or flag)
        _warn_beyond_cores(getattr(args, "n_jobs", None))
    import signal

    previous = {sig: signal.signal(sig, stop_on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return args.func(args)
    except EvoplastError as exc:
        print(f"evoplast: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `evoplast show DIR | head`
        sys.stderr.close()
        return 0
    except Exception as exc:  # a signal inside a compiled call arrives wrapped in a SystemError
        from .parallel import interrupt_in

        interrupt = interrupt_in(exc)
        if interrupt is None:
            raise
        return _stopped(interrupt)
    except KeyboardInterrupt as exc:
        return _stopped(exc)
    finally:
        if argv is not None:  # called from Python: the caller's handlers back (as the program, the
            for sig, handler in previous.items():  # process exits deaf to a late second signal)
                signal.signal(sig, handler)


def stop_on_signal(signum: int, frame: object) -> None:
    """Signal handler: the first Ctrl-C or SIGTERM stops the run (its last checkpoint stays); later
    ones are ignored while it unwinds, so the stop is clean and the exit status says why. Raises an
    interrupt (SIGTERM: :class:`Terminated`), which the evaluator passes on even from inside a
    compiled call (:func:`evoplast.parallel.interrupt_in`)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def _stopped(exc: KeyboardInterrupt) -> int:
    """The one line and exit status of a run stopped by Ctrl-C (130) or SIGTERM (143)."""
    what = "terminated" if isinstance(exc, Terminated) else "interrupted"
    print(f"evoplast: {what}; the last finished generation is checkpointed "
          "('evoplast resume DIR' continues)", file=sys.stderr)
    return 143 if isinstance(exc, Terminated) else 130


if __name__ == "__main__":
    sys.exit(main())
