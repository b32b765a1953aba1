"""Bad input, by class: each case exits with status 2, prints one line naming the problem, and
writes nothing (table-driven; the classes of the robustness issue)."""

import pytest

from evoplast.cli import main

ISTDP = "runs/istdp.toml"
OJA = "runs/oja.toml"

CASES = [
    # impossible physical settings
    (["run", ISTDP, "--set", "task.neuron={dt=0}"], "task.neuron.dt must be > 0"),
    (["run", ISTDP, "--set", "task.neuron={tau_m=-0.02}"], "task.neuron.tau_m must be > 0"),
    (["run", ISTDP, "--set", "task.neuron={t_ref=-1}"], "task.neuron.t_ref must be >= 0"),
    (["run", ISTDP, "--set", "task.neuron={v_th=-70.0}"], "must be below v_th"),
    (["run", ISTDP, "--set", "task.neuron={dt=0.01}"], "too coarse"),
    (["run", ISTDP, "--set", "task.target_rate_hz=1e-300"], "task.target_rate_hz must be >= 0.01"),
    (["run", ISTDP, "--set", "task.runaway_hz=3"], "must be above task.target_rate_hz"),
    # non-finite numbers, wherever they are
    (["run", OJA, "--set", "task.spectrum=[1, inf, 0.5, 0.2, 0.1]"], "task.spectrum[1] must be finite"),
    (["run", OJA, "--set", "cmaes.sigma0=nan"], "cmaes.sigma0 must be finite"),
    (["run", ISTDP, "--set", "task.w0_range=[0.1, inf]"], "task.w0_range[1] must be finite"),
    # what cannot fit the machine is refused before anything is written
    (["run", OJA, "--set", "task.n_inputs=100000"], "GiB"),
    (["run", OJA, "--set", "cmaes.popsize=100000000"], "GiB"),
    (["run", OJA, "--set", "cmaes.restarts=100000"], "GiB"),
    (["run", OJA, "--set", "task.n_trials=1000000000"], "GiB"),
    # scheduler addresses
    (["run", OJA, "--scheduler", "http://host:8786"], "run.scheduler must be an address"),
    (["run", OJA, "--scheduler", "host:8786"], "run.scheduler must be an address"),
    (["run", OJA, "--scheduler", "tcp://"], "run.scheduler must be an address"),
    # paths
    (["run", "runs"], "is a directory, not a config file"),
    (["run", "runs/no_such.toml"], "config file not found"),
]


@pytest.mark.parametrize("argv,message", CASES, ids=[" ".join(c[0][2:])[:50] for c in CASES])
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("evoplast: error:") and message in err[0], err
    assert not out.exists()  # nothing written


def test_an_unreachable_scheduler_is_one_line_within_seconds(tmp_path, capsys):
    import time

    t0 = time.perf_counter()
    code = main(["run", OJA, "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "o")])
    assert code == 2 and time.perf_counter() - t0 < 30
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot reach the Dask scheduler" in err[0]
