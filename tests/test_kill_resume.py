"""SIGKILL at a random moment, then `evoplast resume`: the result equals an uninterrupted run's."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd

from tests.conftest import TINY

ARGS = [a for t in TINY if not t.startswith("cmaes.generations") for a in ("--set", t)]
ARGS += ["--set", "cmaes.generations=25", "--set", "cmaes.restarts=1", "--quiet"]


def _evoplast(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "evoplast.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, **kw)


def _history(run_dir):
    return pd.read_csv(run_dir / "history.csv").drop(columns="elapsed_s")


def _wait_for_start(p, out):
    while not (out / "config.json").exists() and p.poll() is None:
        time.sleep(0.005)


def test_kill_at_random_times_then_resume_gives_the_uninterrupted_result(tmp_path):
    ref = tmp_path / "ref"
    p = _evoplast("run", "runs/oja.toml", "--out", str(ref), *ARGS)
    _wait_for_start(p, ref)
    t0 = time.perf_counter()
    assert p.wait(timeout=120) == 0, p.stderr.read()
    ref_result = json.loads((ref / "result.json").read_text())
    ref_evals = (ref / "evaluations.csv").read_bytes()
    ref_history = _history(ref)
    duration = time.perf_counter() - t0
    rng = np.random.default_rng(20261128)
    killed = 0
    for i in range(10):
        out = tmp_path / f"k{i}"
        p = _evoplast("run", "runs/oja.toml", "--out", str(out), *ARGS)
        _wait_for_start(p, out)
        time.sleep(rng.uniform(0.0, duration))
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            killed += 1
        p.wait(timeout=60)
        r = _evoplast("resume", str(out))
        assert r.wait(timeout=120) == 0, (i, r.stderr.read())
        result = json.loads((out / "result.json").read_text())
        assert json.dumps(result["coefficients"]) == json.dumps(ref_result["coefficients"]), i
        assert (out / "evaluations.csv").read_bytes() == ref_evals, i
        assert _history(out).equals(ref_history), i  # all but the wall-clock column
    print(f"{killed}/10 kills landed while the run was going; every resume matched")
    assert killed >= 7  # most kills land while the run is going
