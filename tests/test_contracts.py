"""Every registered task with each of its rule families fulfils the contracts of
:class:`evoplast.tasks.base.Task` and :class:`evoplast.rules.base.Rule` (a new task or family is
tested here by adding it to the registry)."""

import numpy as np
import pytest

from evoplast import TASKS, load_config, make_task, run
from evoplast.rules.base import Rule
from evoplast.seeding import STREAM_HELDOUT, STREAM_TRAIN, heldout_seeds, trial_seeds
from evoplast.tasks.base import Task

# a config file per task, and the overrides that make a run of it take seconds
TINY = {
    "oja": ("runs/oja.toml", ["task.n_inputs=3", "task.n_trials=3", "task.n_samples=20",
                              "task.n_passes=3", "task.heldout_trials=3", "cmaes.popsize=4",
                              "cmaes.generations=2"]),
    "pca_network": ("runs/pca.toml", ["task.n_trials=2", "task.n_passes=2", "task.heldout_trials=2",
                                      "cmaes.popsize=4", "cmaes.generations=2", "cmaes.restarts=0"]),
    "istdp": ("runs/istdp_full.toml", ["task.duration_s=2.0", "task.n_trials=2",
                                                        "task.heldout_trials=2", "cmaes.popsize=4",
                                                        "cmaes.generations=2", "task.silent_s=100"]),
    "ei_network": ("runs/ei_ie.toml", ["task.n_exc=40", "task.n_inh=10", "task.n_ext=200",
                                       "task.p_ext=0.2", "task.train_s=1.0", "task.score_s=1.0",
                                       "task.n_trials=2", "task.heldout_trials=2", "task.theory_trials=1",
                                       "task.record_neurons=40", "task.rate_bounds=[0.0, 1000.0]",
                                       "task.w0={ie=[0.3, 0.5]}", "cmaes.popsize=4", "cmaes.generations=2"]),
}
PAIRS = [(name, family) for name, cls in TASKS.items() for family in cls.families]


def test_every_registered_task_has_a_tiny_config():
    assert set(TINY) == set(TASKS)


def _config(name, family):
    path, overrides = TINY[name]
    return load_config(path, [*overrides, f"rule.family={family}"] if family != TASKS[name].default_family
                       else overrides)


@pytest.mark.parametrize("name,family", PAIRS)
def test_trials_evaluation_and_rule_views(name, family):
    config = _config(name, family)
    task = make_task(config)
    assert isinstance(task, Task) and task.name == name
    rule = task.rule_template
    assert isinstance(rule, Rule) and rule.family == family
    trials = task.make_trials(trial_seeds(0, STREAM_TRAIN, 0, 2))
    assert len(trials) == 2
    v = rule.to_vector()
    V = np.stack([v, v + 0.05 * np.arange(1, v.size + 1) / v.size])
    loss, status = task.evaluate(V, trials)
    assert loss.shape == status.shape == (2, 2)
    assert np.isfinite(loss).all() and set(np.unique(status)) <= set(task.status_names)
    logged_loss, logged_status, logged = task.evaluate_logged(V, trials)  # the same, plus its metrics
    np.testing.assert_array_equal(logged_loss, loss)
    np.testing.assert_array_equal(logged_status, status)
    assert tuple(logged) == task.logged_metrics and all(m.shape == (2, 2) for m in logged.values())
    # vector <-> reported values <-> symbolic views, from one definition
    again = rule.from_vector(V[1])
    np.testing.assert_allclose(again.to_vector(), V[1], rtol=1e-12)
    np.testing.assert_allclose(rule.from_values(again.as_dict()).to_vector(), V[1], rtol=1e-12)
    assert len(again.terms) == again.n_params == v.size == rule.l1_mask().size
    assert again.to_sympy() is not None and isinstance(again.latex(), str) and again.formula()
    assert isinstance(task.theory(again), dict)


@pytest.mark.parametrize("name,family", PAIRS)
def test_a_finished_run_is_described_drawn_and_rescored(name, family, tmp_path, capsys):
    from evoplast.analysis.report import fig_task
    from evoplast.cli import main

    config = _config(name, family)
    result = run(config, tmp_path / "r")
    task = make_task(config)
    rule = task.rule_template.from_values(result["coefficients"])
    # the reported values rebuild the rule that scored the run's held-out loss
    metrics = task.metrics(rule.to_vector(), task.make_trials(heldout_seeds(config)))
    assert metrics["loss"] == result["heldout"]["loss"]
    lines = task.rule_template.describe(result) + task.describe(result)
    assert lines and all(isinstance(line, str) and line for line in lines)
    assert main(["show", str(tmp_path / "r")]) == 0
    assert "held-out" in capsys.readouterr().out
    out = fig_task(config, result, tmp_path / "task.png")
    assert out.stat().st_size > 1000


def test_a_status_code_means_one_thing_across_tasks_and_kernels():
    """Status codes come from one table (evoplast.kernels.status): no code has two names in two
    tasks (before, 2 was 'nan' in the rate kernel and 'runaway' in the LIF kernel)."""
    from evoplast.kernels import status
    from evoplast.parallel import FAULT_NAMES

    seen = {}
    for cls in TASKS.values():
        for code, name in {**cls.status_names, **FAULT_NAMES}.items():
            assert status.NAMES[code] == name
            assert seen.setdefault(name, code) == code, f"{name!r} has two codes"
    assert len(set(status.NAMES.values())) == len(status.NAMES)


@pytest.mark.parametrize("name,family", PAIRS)
def test_evaluate_rescores_the_run_s_own_rule(name, family, tmp_path, capsys):
    """``evoplast evaluate`` rebuilds the found rule from result.json and scores it: the same loss
    as the search's own rule vector (the optimiser's view, log time constants for istdp_full) on
    the same fresh held-out trials -- the bug of rebuilding natural values with from_vector cannot
    come back unnoticed."""
    from evoplast.cli import main
    from evoplast.search import Search
    from evoplast.storage import RunDir

    config = _config(name, family)
    run_dir = RunDir(tmp_path / "r")
    run_dir.create(config.to_dict())
    result = Search(config, run_dir).run()
    assert main(["evaluate", str(tmp_path / "r")]) == 0
    row = (tmp_path / "r" / "generalisation.csv").read_text().splitlines()
    header, values = row[0].split(","), row[1].split(",")
    task = make_task(config)
    fresh = task.make_trials(trial_seeds(config.run.seed, STREAM_HELDOUT, 1, config.task.heldout_trials))
    expected = task.metrics(result.rule.to_vector(), fresh)["loss"]
    assert float(values[header.index("loss")]) == pytest.approx(expected, rel=1e-12)
