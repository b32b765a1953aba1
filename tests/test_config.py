"""Config validation and the command line's one-line errors (exit status 2)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evoplast import ConfigError, load_config
from evoplast.cli import main
from evoplast.config import parse_override

BAD_OVERRIDES = [
    ("task.n_inputs=1", "n_inputs"),
    ("task.n_inputs=-3", "n_inputs"),
    ("task.n_inputs=2.5", "integer"),
    ("task.n_inputs=true", "integer"),
    ("task.input_distribution=cauchy", "input_distribution"),
    ("task.name=nope", "unknown task.name"),
    ("task.nosuchkey=1", "unknown key task.nosuchkey"),
    ("task.n_trials=0", "n_trials"),
    ("task.spectrum=[1.0, 0.5]", "spectrum"),
    ("task.spectrum=[1.0, 1.0, 0.5, 0.2, 0.1]", "gap"),
    ("task.spectrum=weird", "spectrum"),
    ("task.w0_scale=nan", "finite"),
    ("task.w0_scale=inf", "finite"),
    ("rule.family=spiking", "rule.family"),
    ("rule.eta=0", "eta"),
    ("rule.eta=-1", "eta"),
    ("rule.max_power=[2, 2]", "3 items"),
    ("rule.mask=['x*y', 'x*z']", "mask"),
    ("rule.coefficients={'z' = 1.0}", "coefficients"),
    ("task.max_gap_ratio=0", "max_gap_ratio"),
    ("task.max_gap_ratio=1.5", "max_gap_ratio"),
    ("task.spectrum=[1.0, 0.9, 0.1, 0.0, 0.0]", "max_gap_ratio"),
    ("cmaes.popsize=1", "popsize"),
    ("cmaes.sigma0=0", "sigma0"),
    ("cmaes.sigma0=nan", "finite"),
    ("cmaes.generations=0", "generations"),
    ("cmaes.l1=-0.1", "l1"),
    ("cmaes.restarts=-1", "restarts"),
    ("cmaes.restart_popsize_factor=0", "restart_popsize_factor"),
    ("cmaes.stall_generations=-1", "stall_generations"),
    ("cmaes.stall_generations=5", "stall_loss"),
    ("cmaes.restart_until_loss=-1", "restart_until_loss"),
    ("cmaes.popsize='big'", "integer"),
    ("run.seed=-1", "seed"),
    ("run.n_jobs=0", "n_jobs"),
    ("run.backend=mpi", "backend"),
    ("run.scheduler='tcp://x:8786'", "scheduler"),
    ("run.eval_timeout_s=-1", "eval_timeout_s"),
    ("run.eval_timeout_s=5", "eval_timeout_s"),
    ("run.retries=-1", "retries"),
    ("run.retries=1.5", "retries"),
    ("nosection.key=1", "SECTION.KEY"),
    ("task", "KEY=VALUE"),
]


@pytest.mark.parametrize("override,needle", BAD_OVERRIDES)
def test_bad_values_are_refused_with_the_key_named(override, needle):
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[").replace("*", r"\*")):
        load_config("runs/oja.toml", [override])


def test_defaults_and_overrides_resolve():
    c = load_config("runs/oja.toml", ["task.n_inputs=7", "task.input_distribution=laplace",
                                      "run.seed=3", "rule.coefficients={'x*y' = 0.5}"])
    assert c.task.n_inputs == 7 and c.task.input_distribution == "laplace" and c.run.seed == 3
    assert c.rule.rule().as_dict()["x*y"] == 0.5
    assert parse_override("cmaes.l1=0.5") == (["cmaes", "l1"], 0.5)


@pytest.mark.parametrize("text,needle", [
    ("", "empty"),
    ("[task\nname=", "not valid TOML"),
    ("[cmaes]\npopsize = 8\n", "task.name is missing"),
    ("[task]\nname = 'oja'\n[other]\nx = 1\n", "unknown config section"),
    ("task = 3\n", "must be a table"),
])
def test_bad_files(tmp_path, text, needle):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load_config(path)


def test_missing_file():
    with pytest.raises(ConfigError, match="not found"):
        load_config("runs/does-not-exist.toml")


@pytest.mark.parametrize("argv", [
    ["run", "runs/oja.toml", "--set", "task.n_inputs=zero"],
    ["run", "runs/missing.toml"],
    ["show", "/nonexistent/run"],
    ["resume", "/nonexistent/run"],
    ["run", "runs/oja.toml", "--n-jobs", "0"],
    ["frobnicate"],
])
def test_cli_errors_are_one_line_exit_2(argv, capsys, tmp_path):
    code = main(argv + (["--out", str(tmp_path / "r")] if argv[0] == "run" else []))
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("evoplast: error:") and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_cli_usage_error_via_subprocess_has_no_traceback():
    out = subprocess.run([sys.executable, "-m", "evoplast.cli", "run", "runs/oja.toml", "--set",
                          "cmaes.sigma0=-1"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and out.stderr.strip().count("\n") == 0
    assert "cmaes.sigma0" in out.stderr


def test_random_start_is_drawn_from_the_seed_in_the_box_with_its_hole():
    config = load_config("runs/istdp_vary_rate.toml")
    r = config.rule
    starts = np.array([r.start_vector(seed, 0) for seed in range(200)])
    alpha, beta = starts[:, 0], starts[:, 1]
    assert ((-0.6 <= alpha) & (alpha <= 0.0)).all()
    assert ((np.abs(beta) >= 0.3) & (np.abs(beta) <= 1.0)).all()
    assert (beta > 0).mean() == pytest.approx(0.5, abs=0.12)  # both sides of the hole
    np.testing.assert_array_equal(r.start_vector(3, 0), r.start_vector(3, 0))  # seeded
    assert not np.array_equal(r.start_vector(3, 0), r.start_vector(3, 1))  # each restart its own
    assert not np.array_equal(r.start_vector(3, 0), r.start_vector(4, 0))


def test_point_start_is_the_configured_values_and_the_default_is_not_vogels(tmp_path):
    config = load_config("runs/istdp.toml", ["rule.start=point", "rule.alpha=-0.3", "rule.beta=0.1"])
    np.testing.assert_array_equal(config.rule.start_vector(0, 0), [-0.3, 0.1])
    # a config that names neither alpha nor beta starts at 0, 0, not at Vogels' (-0.2, 0)
    bare = tmp_path / "bare.toml"
    bare.write_text('[task]\nname = "istdp"\n[rule]\nfamily = "pre_post_trace"\n')
    np.testing.assert_array_equal(load_config(bare).rule.start_vector(0, 0), [0.0, 0.0])


def test_random_start_with_log_time_constants_stays_in_seconds():
    config = load_config("runs/istdp_full.toml", ["rule.start=random"])
    rule = config.rule.rule().from_vector(config.rule.start_vector(0, 0))
    assert 0.005 <= rule.tau_pre <= 0.1 and 0.005 <= rule.tau_post <= 0.1


@pytest.mark.parametrize("override,message", [
    ("rule.start=somewhere", "rule.start must be 'point' or 'random'"),
    ("rule.start_box={gamma=[0, 1]}", "'gamma' is not a searched parameter"),
    ("rule.start_box={beta=[1, -1]}", "rule.start_box.beta must be [low, high]"),
    ("rule.start_min_abs={beta=5}", "rule.start_min_abs.beta must be >= 0 and leave part"),
])
def test_bad_start_settings_are_refused(override, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config("runs/istdp_vary_rate.toml", [override])


def test_the_spiking_task_has_one_name_and_its_old_name_says_so():
    """Task, module, configs, bench and tests all say 'istdp'; a config with the old task name
    is refused with the new one in the message."""
    from evoplast import TASKS

    assert "istdp" in TASKS and TASKS["istdp"].__module__ == "evoplast.tasks.istdp"
    with pytest.raises(ConfigError, match="'inhibitory_target_rate' is called 'istdp'"):
        load_config("runs/istdp.toml", ["task.name=inhibitory_target_rate"])


SHIPPED = sorted(str(p) for p in (Path(__file__).parent.parent / "runs").glob("*.toml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[Path(p).name for p in SHIPPED])
def test_every_shipped_config_loads_builds_its_task_and_fits_this_machine(path):
    """Each config under runs/ parses, validates, builds its task and rule, and passes the resource
    check a run makes before anything is written (memory, steps per generation): a config edited
    by hand is caught here, not by the user who runs it."""
    from evoplast.config import check_resources
    from evoplast.tasks import TASKS, make_task

    config = load_config(path)
    task = make_task(config)
    assert task.rule_template.n_params > 0
    check_resources(config, TASKS[config.task.name])
