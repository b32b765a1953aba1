"""Seed sweeps for the seed-table scripts of ``analysis/``: one run per seed, one process per core.

``sweep_args(description)`` parses the scripts' common options (``config``, ``--seeds``,
``--first-seed``, ``--jobs``, ``--out``, ``--extra``, ``--csv``); :func:`run_seeds` runs (or reuses,
or resumes: :func:`evoplast.ensure_run`) seed s into ``OUT/seed-<s>``; :func:`table_path` names the
table ``analysis/results/<config stem>_seeds<F>-<L>.csv`` unless ``--csv`` says otherwise. Stopping
a sweep (Ctrl-C, SIGTERM) stops its worker processes too; their runs resume where they stopped.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

RESULTS = Path(__file__).resolve().parent.parent.parent / "analysis" / "results"


def sweep_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("config")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--out", default=None)
    p.add_argument("--extra", nargs="*", default=[], metavar="KEY=VALUE")
    p.add_argument("--csv", default=None)
    return p


def one_run(config_path: str, seed: int, out: Path, extra: Sequence[str] = ()) -> str:
    from evoplast import ensure_run

    return ensure_run(config_path, [*extra, f"run.seed={seed}"], out / f"seed-{seed}", threads=1)


def sweep_dirs(args: argparse.Namespace) -> tuple[Path, range]:
    """The sweep's output folder (``--out``, default ``runs/out/<config stem>_seeds``) and seeds."""
    return (Path(args.out or f"runs/out/{Path(args.config).stem}_seeds"),
            range(args.first_seed, args.first_seed + args.seeds))


def run_seeds(args: argparse.Namespace, run: Callable[..., str] | None = None) -> tuple[Path, range]:
    """Every seed's run (``run(config, seed, out, extra)``, default :func:`one_run`), ``args.jobs``
    at a time; returns the output folder and the seeds."""
    import signal

    from joblib import Parallel, delayed

    out, seeds = sweep_dirs(args)
    out.mkdir(parents=True, exist_ok=True)

    from ..cli import Terminated, _stopped, stop_on_signal
    from ..parallel import interrupt_in

    # the CLI's handler: an interrupt, not SystemExit, since with --jobs 1 the run is in this process
    # and the evaluator passes on only an interrupt from inside a compiled call
    old = signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        for path in Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
                delayed(run or one_run)(args.config, s, out, args.extra) for s in seeds):
            print(f"done {path}", file=sys.stderr, flush=True)
    except BaseException as exc:  # Ctrl-C, SIGTERM: the workers' runs stop too (they resume from
        from joblib.externals.loky import get_reusable_executor  # their checkpoints), none is left behind

        get_reusable_executor().shutdown(wait=False, kill_workers=True)
        interrupt = interrupt_in(exc)
        if isinstance(interrupt, Terminated):
            raise SystemExit(_stopped(interrupt)) from None  # its one line, exit status 143
        raise
    finally:
        signal.signal(signal.SIGTERM, old)
    return out, seeds


def table_path(args: argparse.Namespace, seeds: range) -> Path:
    path = Path(args.csv or RESULTS / f"{Path(args.config).stem}_seeds{seeds[0]}-{seeds[-1]}.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_table(table: pd.DataFrame, args: argparse.Namespace, seeds: range) -> Path:
    """Write a seed table (a pandas DataFrame) to :func:`table_path` and say where."""
    return write_csv(table, table_path(args, seeds))


def write_csv(table: pd.DataFrame | list[dict], path: str | Path) -> Path:
    """Write a table (a DataFrame, or rows as dicts) as CSV without the index, creating its folder,
    and say where."""
    import pandas as pd

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    (table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)).to_csv(path, index=False)
    print(f"wrote {path}")
    return path
