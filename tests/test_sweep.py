"""Stopping a seed sweep stops its workers: no run goes on in a process nobody controls."""

import os
import signal
import subprocess
import sys
import time


def _sizes(out):
    return {p: p.stat().st_size for p in out.glob("seed-*/evaluations.csv")}


def test_sigterm_to_a_sweep_stops_its_workers(tmp_path):
    out = tmp_path / "sweep"
    code = ("import sys; from evoplast.analysis.sweep import sweep_parser, run_seeds; "
            "run_seeds(sweep_parser('t').parse_args(sys.argv[1:]))")
    extra = ["task.n_inputs=3", "task.n_trials=4", "task.n_samples=30", "task.n_passes=20",
             "task.heldout_trials=4", "cmaes.popsize=8", "cmaes.generations=100000"]
    p = subprocess.Popen([sys.executable, "-c", code, "runs/oja.toml", "--seeds", "2", "--jobs", "2",
                          "--out", str(out), "--extra", *extra],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(_sizes(out)) < 2 or min(_sizes(out).values()) == 0:  # both workers' runs under way
        assert time.time() < deadline and p.poll() is None
        time.sleep(0.2)
    time.sleep(1.0)
    os.kill(p.pid, signal.SIGTERM)
    assert p.wait(timeout=60) != 0
    time.sleep(1.0)
    after = _sizes(out)
    time.sleep(3.0)
    assert _sizes(out) == after  # nothing writes any more: the workers are gone
