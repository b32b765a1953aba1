"""Signals at random moments, then `evoplast resume`: SIGINT (once and twice), SIGTERM and SIGKILL,
n_jobs 1 and 2, the Oja, istdp and ei_network tasks. Every resumed run equals the uninterrupted run: the same
coefficients, evaluations.csv byte for byte, history.csv but its wall-clock column, and no
duplicated (generation, candidate) row. The default suite runs each signal on both tasks and
both n_jobs values (8 trials); the slow test every combination 3 times (48 trials)."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import pytest

TASKS = {
    "oja": ["runs/oja.toml", "task.n_inputs=3", "task.n_trials=4", "task.n_samples=30", "task.n_passes=20",
            "task.heldout_trials=4", "cmaes.popsize=8", "cmaes.generations=25", "cmaes.restarts=1"],
    "istdp": ["runs/istdp_rate_only.toml", "task.duration_s=2.0", "task.n_trials=2", "task.heldout_trials=2",
              "task.theory_trials=2", "cmaes.popsize=8", "cmaes.generations=12", "task.silent_s=100"],
    "ei": ["runs/ei_ie.toml", "task.n_exc=80", "task.n_inh=20", "task.n_ext=500", "task.p_ext=0.1",
           "task.train_s=0.5", "task.score_s=1.0", "task.n_trials=2", "task.heldout_trials=2",
           "task.theory_trials=1", "task.record_neurons=80", "task.rate_bounds=[0.0, 1000.0]",
           "cmaes.popsize=8", "cmaes.generations=12"],
}
SIGNALS = {"int": [signal.SIGINT], "int2": [signal.SIGINT, signal.SIGINT], "term": [signal.SIGTERM],
           "kill": [signal.SIGKILL]}
EXIT = {"int": 130, "int2": 130, "term": 143, "kill": -9}


def _evoplast(*args):
    """The CLI in a subprocess; its stderr goes to a file (a pipe would stay open in worker
    processes that outlive a killed run, and block the reader)."""
    err = tempfile.NamedTemporaryFile("w+", suffix=".stderr", delete=False)
    p = subprocess.Popen([sys.executable, "-m", "evoplast.cli", *args], stdout=subprocess.DEVNULL,
                         stderr=err, text=True)
    p.err_path = err.name
    err.close()
    return p


def _stderr(p):
    with open(p.err_path) as fh:
        text = fh.read()
    os.unlink(p.err_path)
    return text


def _run_args(task, out, n_jobs):
    path, *sets = TASKS[task]
    return ["run", path, "--out", str(out), "--n-jobs", str(n_jobs), "--quiet",
            *[a for s in sets for a in ("--set", s)]]


def _first_generation(out, p):
    """Wait until the run has logged a generation (the signal then lands mid-search)."""
    while p.poll() is None and not (out / "history.csv").exists():
        time.sleep(0.01)


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    root = tmp_path_factory.mktemp("ref")
    refs = {}
    for task in TASKS:
        out = root / task
        p = _evoplast(*_run_args(task, out, 1))
        _first_generation(out, p)
        t0 = time.perf_counter()
        assert p.wait(timeout=300) == 0, _stderr(p)
        refs[task] = (out, time.perf_counter() - t0)
    return refs


def _differences(out, ref):
    """How a resumed run differs from the uninterrupted one (empty: it does not)."""
    result, expected = (json.loads((d / "result.json").read_text()) for d in (out, ref))
    h, h_ref = (pd.read_csv(d / "history.csv").drop(columns="elapsed_s") for d in (out, ref))
    checks = {
        "coefficients": json.dumps(result["coefficients"]) == json.dumps(expected["coefficients"]),
        "evaluations.csv": (out / "evaluations.csv").read_bytes() == (ref / "evaluations.csv").read_bytes(),
        "history.csv": h.equals(h_ref),
        "no duplicated rows": not pd.read_csv(out / "evaluations.csv").duplicated(
            ["generation", "candidate"]).any(),
    }
    return [name for name, ok in checks.items() if not ok]


def _signal_then_resume(tmp_path, references, task, n_jobs, how, rng):
    ref, duration = references[task]
    out = tmp_path / f"{task}-{n_jobs}-{how}"
    p = _evoplast(*_run_args(task, out, n_jobs))
    _first_generation(out, p)
    time.sleep(rng.uniform(0.0, 0.6 * duration))
    landed = p.poll() is None
    for k, sig in enumerate(SIGNALS[how]):
        if p.poll() is None:
            os.kill(p.pid, sig)
            time.sleep(0.05 * k + 0.05)
    code = p.wait(timeout=120)
    err = _stderr(p)
    finished = (out / "result.json").exists()
    if landed and not finished:  # stopped mid-run: the status says why, the message where to go on
        assert code == EXIT[how], (code, err)
        if how != "kill":
            assert "checkpointed" in err, err
    else:  # the run had ended (a signal in the interpreter's exit, after result.json, kills it)
        assert code in (0, EXIT[how], -SIGNALS[how][0]), (code, err)
    r = _evoplast("resume", str(out), "--quiet")
    assert r.wait(timeout=300) == 0, _stderr(r)
    return _differences(out, ref), landed and not finished


# every signal on both tasks and with both n_jobs (the slow test: every combination, repeatedly)
DEFAULT = [("oja", 1, "int"), ("oja", 2, "int2"), ("oja", 1, "term"), ("oja", 2, "kill"),
           ("istdp", 2, "int"), ("istdp", 1, "int2"), ("istdp", 2, "term"), ("istdp", 1, "kill"),
           ("ei", 2, "kill"), ("ei", 1, "int")]


@pytest.mark.parametrize("task,n_jobs,how", DEFAULT)
def test_a_signal_then_resume_gives_the_uninterrupted_result(references, tmp_path, task, n_jobs, how):
    rng = np.random.default_rng([len(task), n_jobs, len(how)])
    differences, _ = _signal_then_resume(tmp_path, references, task, n_jobs, how, rng)
    assert differences == [], differences


@pytest.mark.slow
def test_signal_matrix_every_combination_three_times(references, tmp_path, capsys):
    rng = np.random.default_rng(20261130)
    landed = total = 0
    for task in TASKS:
        for n_jobs in (1, 2):
            for how in SIGNALS:
                for i in range(3):
                    differences, mid_run = _signal_then_resume(tmp_path / f"t{i}", references, task,
                                                               n_jobs, how, rng)
                    assert differences == [], (task, n_jobs, how, i, differences)
                    landed += mid_run
                    total += 1
    with capsys.disabled():
        print(f"\nsignal matrix: {total} trials, {landed} signals landed mid-run, every resume matched")
    assert landed >= total // 2
