"""Bad input, by class: each case exits with status 2, prints one line naming the problem, and
writes nothing (table-driven; the classes of the robustness issue)."""

import pytest

from evoplast.cli import main

ISTDP = "runs/istdp.toml"
OJA = "runs/oja.toml"
PCA = "runs/pca.toml"

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
    # the shape of the config: sections, keys, types
    (["run", OJA, "--set", "task=oja"], "--set key must be SECTION.KEY"),
    (["run", "tests/data/task_string.toml", "--set", "task.n_inputs=3"], "[task] must be a table"),
    (["run", "tests/data/task_string.toml"], "[task] must be a table"),
    (["run", OJA, "--set", "task.n_input=7"], "unknown key task.n_input"),
    (["run", OJA, "--set", "cmaes.sigma=0.3"], "unknown key cmaes.sigma"),
    (["run", OJA, "--set", "run.sede=1"], "unknown key run.sede"),
    (["run", OJA, "--set", "task.name=ojaa"], "unknown task.name 'ojaa'"),
    (["run", OJA, "--set", "task.name=inhibitory_target_rate"], "is called 'istdp'"),
    (["run", OJA, "--set", "rule.family=pre_post_trace"], "does not support rule.family"),
    (["run", OJA, "--set", "rule.family=spiking"], "unknown rule.family 'spiking'"),
    (["run", OJA, "--set", "task.n_inputs=5.5"], "task.n_inputs must be an integer"),
    (["run", OJA, "--set", "task.n_inputs=true"], "task.n_inputs must be an integer"),
    (["run", OJA, "--set", "cmaes.sigma0=fast"], "cmaes.sigma0 must be a number"),
    (["run", OJA, "--set", "cmaes.calibrate_scale=1"], "cmaes.calibrate_scale must be true or false"),
    (["run", OJA, "--set", "task.variance_range=[1]"], "task.variance_range must have 2 items"),
    (["run", OJA, "--set", "rule.max_power=2"], "rule.max_power must be a list"),
    (["run", OJA, "--set", "rule.coefficients=3"], "rule.coefficients must be a table"),
    (["run", OJA, "--set", "n_inputs=3"], "--set key must be SECTION.KEY"),
    (["run", OJA, "--set", "task.n_inputs"], "--set needs KEY=VALUE"),
    (["run", OJA, "--set", "model.n=3"], "--set key must be SECTION.KEY"),
    # impossible values, per section
    (["run", OJA, "--set", "cmaes.popsize=1"], "cmaes.popsize must be 0 (default) or >= 2"),
    (["run", OJA, "--set", "cmaes.sigma0=0"], "cmaes.sigma0 must be > 0"),
    (["run", OJA, "--set", "cmaes.generations=0"], "cmaes.generations must be >= 1"),
    (["run", OJA, "--set", "cmaes.l1=-0.1"], "cmaes.l1 must be >= 0"),
    (["run", OJA, "--set", "cmaes.restarts=-1"], "cmaes.restarts must be >= 0"),
    (["run", OJA, "--set", "cmaes.stall_generations=10"], "cmaes.stall_loss must be > 0"),
    (["run", OJA, "--set", "cmaes.prune_tol=-1"], "cmaes.prune_tol must be >= 0"),
    (["run", OJA, "--set", "run.seed=-1"], "run.seed must be >= 0"),
    (["run", OJA, "--set", "run.n_jobs=0"], "run.n_jobs must be >= 1 or -1"),
    (["run", OJA, "--set", "run.backend=mpi"], "run.backend must be one of"),
    (["run", OJA, "--set", "run.eval_timeout_s=5"], "needs worker processes"),
    (["run", OJA, "--set", "run.retries=-1"], "run.retries must be >= 0"),
    (["run", OJA, "--n-jobs", "0"], "--n-jobs must be >= 1 or -1"),
    (["run", OJA, "--n-jobs", "-3"], "--n-jobs must be >= 1 or -1"),
    (["run", OJA, "--set", "task.n_inputs=1"], "task.n_inputs must be >= 2"),
    (["run", OJA, "--set", "task.input_distribution=cauchy"], "task.input_distribution must be one of"),
    (["run", OJA, "--set", "task.n_trials=0"], "task.n_trials must be >= 1"),
    (["run", OJA, "--set", "task.n_samples=0"], "task.n_samples must be >= 1"),
    (["run", OJA, "--set", "task.n_passes=0"], "task.n_passes must be >= 1"),
    (["run", OJA, "--set", "task.heldout_trials=0"], "task.heldout_trials must be >= 1"),
    (["run", OJA, "--set", "task.variance_range=[2.0, 1.0]"], "task.variance_range must be [low, high]"),
    (["run", OJA, "--set", "task.max_gap_ratio=0"], "task.max_gap_ratio must be in (0, 1]"),
    (["run", OJA, "--set", "task.w0_scale=-1"], "task.w0_scale must be >= 0"),
    (["run", OJA, "--set", "task.bound=0"], "task.bound must be > 0"),
    (["run", OJA, "--set", "task.kernel=gpu"], "task.kernel must be 'compiled' or 'numpy'"),
    (["run", OJA, "--set", "rule.mask=['x*y', 'x*y']"], "rule.mask names a term twice"),
    (["run", OJA, "--set", "rule.mask=['x*z']"], "rule.mask: unknown term 'x*z'"),
    (["run", OJA, "--set", "rule.coefficients={'x*z'=1}"], "rule.coefficients: unknown or masked-out"),
    (["run", OJA, "--set", "rule.eta=0"], "rule.eta must be > 0"),
    (["run", OJA, "--set", "rule.max_power=[5, 2, 2]"], "rule.max_power must be integers in 0..4"),
    (["run", PCA, "--set", "task.n_outputs=9"], "task.n_outputs"),
    (["run", PCA, "--set", "task.topology=ring"], "task.topology"),
    (["run", PCA, "--set", "task.loss=l1"], "task.loss"),
    (["run", PCA, "--set", "rule.ff={eta=0}"], "rule.ff.eta must be > 0"),
    (["run", PCA, "--set", "rule.lat={family='polynomial'}"], "rule.lat.family: not a key"),
    (["run", ISTDP, "--set", "task.duration_s=0"], "task.duration_s"),
    (["run", ISTDP, "--set", "task.input_mode=bursts"], "task.input_mode"),
    (["run", ISTDP, "--set", "rule.start=anywhere"], "rule.start"),
    (["run", ISTDP, "--set", "rule.search=['alpha', 'delta']"], "rule.search"),
    # work that would not end: refused with its estimate before anything runs
    (["run", OJA, "--set", "task.n_passes=1000000000"], "simulation steps"),
    (["run", ISTDP, "--set", "cmaes.popsize=100000"], "simulation steps"),
    (["run", ISTDP, "--set", "task.duration_s=1e9"], "GiB"),
    (["simulate", OJA, "--trials", "1000000000"], "GiB"),
    (["landscape", OJA, "--x", "x*y", "--y", "y**2*w", "--grid", "100000"], "grid"),
    (["landscape", OJA, "--x", "x*y", "--y", "y**2*w", "--trials", "-2"], "--trials must be >= 1"),
    (["landscape", OJA, "--x", "x*y", "--y", "x*y"], "must be different terms"),
    (["landscape", OJA, "--x", "x*z", "--y", "x*y"], "x*z"),
    # empty or broken config files
    (["run", "tests/data/empty.toml"], "is empty"),
    (["run", "tests/data/broken.toml"], "is not valid TOML"),
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


@pytest.mark.parametrize("argv", [["run", OJA], ["simulate", OJA],
                                  ["landscape", OJA, "--x", "x*y", "--y", "y**2*w"],
                                  ["report", "runs"]])
def test_an_empty_out_is_refused_not_the_default_directory(argv, capsys):
    assert main([*argv, "--out", ""]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["evoplast: error: --out must name a directory (got an empty path)"]
