"""The iSTDP task (experiment 3) through the whole pipeline: config, search, result, simulate command."""

import json

import numpy as np
import pytest

from evoplast import ConfigError, load_config, make_task, run
from evoplast.cli import main
from evoplast.kernels import lif
from evoplast.seeding import trial_seeds

SHORT = ["task.duration_s=3.0", "task.n_trials=2", "task.heldout_trials=2", "cmaes.popsize=4",
         "cmaes.generations=3"]


def test_rule_search_space_and_log_time_constants():
    cfg = load_config("runs/istdp_full.toml")
    rule = cfg.rule.rule()
    v = rule.to_vector()
    assert rule.terms == ["tau_pre", "tau_post", "alpha", "beta", "gamma", "kappa"]
    assert v[0] == pytest.approx(np.log(0.02))
    back = rule.from_vector(v + np.array([np.log(2.0), 0, 0.1, 0, 0, 0]))
    assert back.tau_pre == pytest.approx(0.04) and back.alpha == pytest.approx(0.1)
    assert list(rule.l1_mask()) == [0, 0, 1, 1, 1, 1]
    e = rule.to_sympy()
    assert set(e) == {"on_pre", "on_post"} and "x_post" in str(e["on_pre"])


@pytest.mark.parametrize("override,needle", [
    ("task.inputs=spikes", "task.inputs"),
    ("task.target_rate_hz=0", "target_rate_hz"),
    ("task.late_fraction=1.5", "late_fraction"),
    ("task.neuron={tau_x = 1.0}", "task.neuron"),
    ("rule.search=['alpha', 'zeta']", "rule.search"),
    ("rule.tau_pre=-0.01", "tau_pre"),
    ("rule.coefficients={}", "unknown key rule.coefficients"),
    ("rule.family=polynomial", "does not support"),
])
def test_bad_istdp_configs(override, needle):
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[")):
        load_config("runs/istdp.toml", [override])


def test_escapes_score_between_cap_and_penalty_and_late_escapes_less():
    cfg = load_config("runs/istdp_rate_only.toml", ["task.duration_s=12", "task.silent_s=2"])
    task = make_task(cfg)
    trials = task.make_trials(trial_seeds(0, 2, 0, 1))
    silencing = [1.0, 10.0]  # alpha > 0, beta > 0: inhibition only grows: the cell falls silent
    slow = [0.05, 0.2]
    loss, status = task.evaluate(np.array([silencing, slow, [-0.2, 1.5]]), trials)
    assert status[0, 0] == lif.SILENT and task.cap < loss[0, 0] <= task.penalty
    assert np.isfinite(loss).all() and (loss[1:] < task.cap).all()


def test_tiny_istdp_search_writes_theory(tmp_path):
    result = run(load_config("runs/istdp_rate_only.toml", SHORT), tmp_path / "r")
    th = result["theory"]
    assert th["known_rule"] == "mean_field_line" and 20 < th["nu_pre_hz"] < 50
    assert set(result["coefficients"]) == {"tau_pre", "tau_post", "alpha", "beta", "gamma", "kappa"}
    assert "scale_calibration" not in result and "heldout_search" not in result
    hist = (tmp_path / "r" / "history.csv").read_text().splitlines()[0]
    assert "n_silent" in hist and "n_runaway" in hist


def test_simulate_command_writes_summary(tmp_path, capsys):
    out = tmp_path / "sim"
    code = main(["simulate", "runs/istdp.toml", "--out", str(out), "--trials", "1",
                 "--set", "task.duration_s=4", "--set", "rule.alpha=-0.2"])
    assert code == 0
    s = json.loads((out / "summary.json").read_text())
    assert len(s["rate_hz"]) == 4 and len(s["mean_inh_weight"]) == 4
    assert len(s["exc_conductance_per_pathway"]) == 8 and len(s["inh_conductance_per_pathway_after"]) == 8
    assert s["status"] == "ok" and s["final_rate_hz"] > 0
    assert s["final_rate_hz_per_trial"] == [s["final_rate_hz"]] and s["final_rate_hz_sem_ok_trials"] is None
    assert main(["simulate", "runs/istdp.toml", "--out", str(out), "--trials", "1"]) == 2
    assert "exists" in capsys.readouterr().err


def test_simulate_command_for_oja(tmp_path):
    out = tmp_path / "sim"
    assert main(["simulate", "runs/oja.toml", "--out", str(out), "--trials", "8",
                 "--set", "rule.coefficients={'x*y' = 1.0, 'y**2*w' = -1.0}"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["mean_one_minus_cos"] < 0.01 and s["theory"]["is_oja"]


def test_theory_nu_pre_is_the_input_process_rate():
    poisson = make_task(load_config("runs/istdp_vary_rate.toml", ["task.vary_input_rate=false"]))
    assert poisson.nu_pre() == 40.0
    pathways = make_task(load_config("runs/istdp.toml", ["task.theory_trials=4", "task.duration_s=10"]))
    nu = pathways.nu_pre()
    assert 35.0 < nu < 39.0 and pathways.nu_pre() == nu  # measured once, then cached
