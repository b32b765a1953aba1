"""Stopping a seed sweep stops its workers: no run goes on in a process nobody controls."""

import os
import signal
import subprocess
import sys
import time

import pytest


def _sizes(out):
    return {p: p.stat().st_size for p in out.glob("seed-*/evaluations.csv")}


@pytest.mark.parametrize("jobs", [1, 2])
def test_sigterm_to_a_sweep_stops_its_workers(tmp_path, jobs):
    """With --jobs 2 the runs are in worker processes; with --jobs 1 in the sweep's own. (A signal
    inside a long compiled call -- an `ei_all4` run with --jobs 1 went on after SIGTERM -- is not
    reproduced here: Oja's compiled calls are too short to be hit reliably.)"""
    out = tmp_path / "sweep"
    code = ("import sys; from evoplast.analysis.sweep import sweep_parser, run_seeds; "
            "run_seeds(sweep_parser('t').parse_args(sys.argv[1:]))")
    extra = ["task.n_inputs=3", "task.n_trials=4", "task.n_samples=30", "task.n_passes=20",
             "task.heldout_trials=4", "cmaes.popsize=8", "cmaes.generations=100000",
             "run.n_jobs=1"]  # each run evaluates in its own process
    args = ["runs/oja.toml", "--seeds", str(jobs), "--jobs", str(jobs), "--out", str(out)]
    p = subprocess.Popen([sys.executable, "-c", code, *args, "--extra", *extra],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(_sizes(out)) < jobs or min(_sizes(out).values()) == 0:  # every worker's run under way
        assert time.time() < deadline and p.poll() is None
        time.sleep(0.2)
    time.sleep(1.0)
    os.kill(p.pid, signal.SIGTERM)
    assert p.wait(timeout=60) == 128 + signal.SIGTERM
    time.sleep(1.0)
    after = _sizes(out)
    time.sleep(3.0)
    assert _sizes(out) == after  # nothing writes any more: the workers are gone
