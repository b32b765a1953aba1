"""Run directories into pandas, and the success-table script on tiny runs."""

import importlib.util
from pathlib import Path

import pytest

from evoplast import run
from evoplast.analysis import load_evaluations, load_results, load_runs


def _script(name):
    path = Path(__file__).resolve().parent.parent / "analysis" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_load_results_one_row_per_finished_run(tiny_config, tmp_path):
    for seed in (0, 1):
        run(tiny_config.replace(run=type(tiny_config.run)(seed=seed)), tmp_path / f"r{seed}")
    (tmp_path / "unfinished").mkdir()
    df = load_results(str(tmp_path / "*"))
    assert len(df) == 2
    assert sorted(df["run.seed"]) == [0, 1]
    assert {"task.n_inputs", "theory.is_oja", "heldout.mean_one_minus_cos", "coef.x*y"} <= set(df.columns)
    assert df.groupby("task.n_inputs")["loss"].size().tolist() == [2]


def test_load_runs_one_row_per_generation_and_success_by_groupby(tiny_config, tmp_path):
    for n in (2, 3):
        for seed in (0, 1):
            task = {**tiny_config.to_dict()["task"], "n_inputs": n, "variance_range": (0.5, 2.0)}
            c = tiny_config.replace(run=type(tiny_config.run)(seed=seed), task=type(tiny_config.task)(**task))
            run(c, tmp_path / f"n{n}s{seed}")
    df = load_runs(str(tmp_path / "*"))
    assert len(df) == 4 * 6 and df.finished.all()
    wanted = {"generation", "best_loss", "sigma", "m:x*y", "task.n_inputs", "run.seed", "theory.is_oja"}
    assert wanted <= set(df.columns)
    last = df[df.generation == df.groupby("run_dir").generation.transform("max")]
    table = last.groupby("task.n_inputs")["theory.is_oja"].agg(["sum", "size"])
    assert table["size"].tolist() == [2, 2] and table.index.tolist() == [2, 3]
    ev = load_evaluations(str(tmp_path / "n2*"))
    assert len(ev) == 2 * 6 * 8 and (ev["task.n_inputs"] == 2).all() and "c:x*y" in ev.columns
    assert (ev.message == "").all()


def test_success_table_script_on_tiny_runs(tmp_path, capsys):
    from tests.conftest import TINY

    module = _script("oja_success")
    config = tmp_path / "tiny.toml"
    text = Path("runs/oja.toml").read_text()
    config.write_text(text)
    out = tmp_path / "table"
    code = module.main(["--sizes", "2", "3", "--dists", "gaussian", "--seeds", "2", "--jobs", "1",
                        "--config", str(config), "--out", str(out), "--csv", str(tmp_path / "runs.csv"),
                        "--extra", *TINY])
    assert code == 0
    printed = capsys.readouterr().out
    assert "success" in printed and "gaussian" in printed
    table = module.success_table(module.run_table(out))
    assert table["runs"].tolist() == [2, 2]
    assert set(table["task.n_inputs"]) == {2, 3}
    assert len(__import__("pandas").read_csv(tmp_path / "runs.csv")) == 4


def test_istdp_seed_table_script_on_tiny_runs(tmp_path, capsys):
    module = _script("istdp_seeds")
    short = ["task.duration_s=3.0", "task.n_trials=2", "task.heldout_trials=2", "cmaes.popsize=4",
             "cmaes.generations=2"]
    code = module.main(["runs/istdp_rate_only.toml", "--seeds", "2", "--jobs", "1",
                        "--out", str(tmp_path / "t"), "--csv", str(tmp_path / "t.csv"), "--extra", *short])
    assert code == 0
    printed = capsys.readouterr().out
    assert "within 5% of the line" in printed and "theory.distance" in printed
    assert len(module.seed_table(tmp_path / "t")) == 2


def test_cli_evaluate_rescores_the_found_rule_under_other_settings(tiny_config, tmp_path, capsys):
    import pandas as pd

    from evoplast.cli import main

    result = run(tiny_config, tmp_path / "r")
    assert main(["evaluate", str(tmp_path / "r"), "--trials", "4"]) == 0
    assert main(["evaluate", str(tmp_path / "r"), "--trials", "4", "--set", "task.n_inputs=6",
                 "--set", "task.input_distribution=laplace"]) == 0
    table = pd.read_csv(tmp_path / "r" / "generalisation.csv", keep_default_na=False)
    assert table.overrides.tolist() == ["", "task.n_inputs=6 task.input_distribution=laplace"]
    assert (table.n_trials == 4).all() and "mean_one_minus_cos" in table.columns
    assert table.loss[0] != result["loss"]  # fresh trials, not the run's own held-out ones
    out = capsys.readouterr().out
    assert "trials ok, loss" in out and "mean_one_minus_cos" in out
    assert main(["evaluate", str(tmp_path / "r"), "--set", "rule.family=pre_post_trace"]) == 2


def test_pca_seed_table_script_on_tiny_runs_reuses_finished_runs(tmp_path, capsys):
    module = _script("pca_seeds")
    tiny = ["task.n_trials=2", "task.n_passes=2", "task.heldout_trials=2", "cmaes.popsize=4",
            "cmaes.generations=2"]
    args = ["runs/pca.toml", "--seeds", "2", "--jobs", "1", "--out", str(tmp_path / "t"),
            "--csv", str(tmp_path / "t.csv"), "--extra", *tiny]
    assert module.main(args) == 0
    printed = capsys.readouterr().out
    assert "shape (A Oja, B anti-Hebbian):" in printed and "rt_mean_cos" in printed
    assert "rt_refit_mean_cos" in printed and (tmp_path / "t.csv").exists()
    before = (tmp_path / "t" / "seed-1" / "result.json").read_bytes()
    assert module.main(args) == 0  # finished runs are reused, not run again
    assert (tmp_path / "t" / "seed-1" / "result.json").read_bytes() == before
    assert len(module.seed_rows(tmp_path / "t")) == 2


def _fake_run(path, config, result):
    """A finished run directory with a chosen result (verdicts known by construction)."""
    import json

    import evoplast

    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"config": config, "evoplast_version": evoplast.__version__,
                                                  "git_revision": "test"}))
    (path / "result.json").write_text(json.dumps(result))


def test_oja_success_verdicts_on_synthetic_runs(tmp_path):
    """Each case's verdict is known: a rule within 1.5x of Oja's own score counts, one 2.5x worse
    does not, a wrong shape never does, and the absolute criterion differs on hard datasets."""
    from evoplast import load_config

    module = _script("oja_success")
    cases = [  # is_oja, rule's mean 1-|cos|, Oja's -> success, success_abs
        (True, 0.004, 0.003, True, True),
        (True, 0.030, 0.025, True, False),   # hard held-out datasets: Oja itself is at 0.025
        (True, 0.050, 0.020, False, False),  # 2.5x Oja's score: a known failure
        (False, 0.001, 0.003, False, False),  # wrong shape
        (True, 0.009, 0.001, True, True),     # 9x Oja's but below 0.01
    ]
    for seed, (is_oja, rule, oja, *_) in enumerate(cases):
        config = load_config("runs/oja.toml", [f"run.seed={seed}"]).to_dict()
        _fake_run(tmp_path / f"r{seed}", config, {
            "elapsed_s": 1.0, "generations": 10,
            "heldout": {"mean_one_minus_cos": rule},
            "theory": {"is_oja": is_oja, "heldout_oja_mean_one_minus_cos": oja, "max_other_over_xy": 0.0}})
    runs = module.run_table(tmp_path)
    assert runs["success"].tolist() == [c[3] for c in cases]
    assert runs["success_abs"].tolist() == [c[4] for c in cases]
    table = module.success_table(runs)
    assert table["success"].tolist() == [3] and table["runs"].tolist() == [5]


def test_istdp_verdicts_on_synthetic_runs(tmp_path):
    """On the line and held-out within 10% are counted jointly; beta within 3% of K nu_pre."""
    from evoplast import load_config

    module = _script("istdp_seeds")
    K, nu = 0.04, 40.0
    cases = [  # distance, alpha<0, within_10 of 4, beta -> on_line, heldout_ok, beta within 3%
        (0.01, True, 4, 0.01, True, True, True),
        (0.01, True, 3, 0.01, True, False, True),   # on the line, one held-out trial off: joint no
        (0.20, True, 4, 0.10, False, True, False),  # off the line; beta 6% of K nu_pre
        (0.01, False, 4, -0.04, False, True, True),  # unstable half
    ]
    for seed, (dist, neg, within, beta, *_) in enumerate(cases):
        config = load_config("runs/istdp.toml", [f"run.seed={seed}"]).to_dict()
        _fake_run(tmp_path / f"seed-{seed}", config, {
            "elapsed_s": 1.0, "coefficients": {"alpha": -0.2, "beta": beta},
            "start": {"alpha": 0.0, "beta": 0.5},
            "heldout": {"within_10_percent": within, "n_trials": 4},
            "theory": {"distance": dist, "alpha_negative": neg, "nu_pre_hz": nu, "beta_line": 0.0,
                       "fixed_point_rate_hz": 5.0, "target_hz": 5.0, "vogels_ray_distance": 0.0,
                       "K_s": K}})
    t = module.add_verdicts(module.seed_table(tmp_path))
    assert t["on_line"].tolist() == [c[4] for c in cases]
    assert t["heldout_ok"].tolist() == [c[5] for c in cases]
    assert (t["on_line"] & t["heldout_ok"]).sum() == 1
    assert t["beta_within_3pct"].tolist() == [c[6] for c in cases]
    assert t["start.beta"].tolist() == [0.5] * 4


def test_evaluate_rebuilds_a_rule_with_searched_time_constants(tmp_path):
    """istdp_full searches log time constants; result.json reports them in seconds. Re-scoring the
    found rule on the run's own held-out trials gives the run's held-out loss (the rule is rebuilt
    from its reported values, not read as an optimiser vector)."""
    import numpy as np

    from evoplast import load_config, make_task
    from evoplast.seeding import heldout_seeds

    config = load_config("runs/istdp_full.toml", ["task.duration_s=2.0", "task.n_trials=2",
                                                  "task.heldout_trials=2", "cmaes.popsize=4",
                                                  "cmaes.generations=2", "task.silent_s=100"])
    result = run(config, tmp_path / "r")
    task = make_task(config)
    rule = task.rule_template.from_values(result["coefficients"])
    assert rule.tau_pre == result["coefficients"]["tau_pre"] != config.rule.tau_pre
    metrics = task.metrics(rule.to_vector(), task.make_trials(heldout_seeds(config)))
    assert metrics["loss"] == result["heldout"]["loss"]
    wrong = task.rule_template.from_vector([result["coefficients"][n] for n in task.rule_template.search])
    assert not np.isclose(wrong.tau_pre, rule.tau_pre)  # the old bug: seconds read as log seconds


def test_cli_trial_counts_and_draws_must_be_meaningful(tiny_config, tmp_path, capsys):
    """--trials 0 and negative draws are refused with one line and exit 2 (0 used to mean
    'the default', --draw -1 re-scored on the run's own held-out trials), and nothing is written."""
    from evoplast.cli import main

    run(tiny_config, tmp_path / "r")
    before = sorted(p.name for p in (tmp_path / "r").iterdir())
    cases = [
        (["evaluate", str(tmp_path / "r"), "--trials", "0"], "--trials must be >= 1, got 0"),
        (["evaluate", str(tmp_path / "r"), "--draw", "-1"], "--draw must be >= 0"),
        (["evaluate", str(tmp_path / "r"), "--draw", "-2"], "--draw must be >= 0"),
        (["simulate", "runs/oja.toml", "--out", str(tmp_path / "s"), "--trials", "0"],
         "--trials must be >= 1"),
        (["landscape", "runs/oja.toml", "--x", "x*y", "--y", "y**2*w", "--trials", "-2",
          "--out", str(tmp_path / "l")], "--trials must be >= 1"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], (argv, err)
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == before
    assert not (tmp_path / "s").exists() and not (tmp_path / "l").exists()


def test_ei_verdicts_on_synthetic_runs(tmp_path, monkeypatch):
    """Experiment 4's acceptance count: every held-out trial within 10%, plausible on every trial,
    and a type on the stable half of its line within 10% -- a run failing any one counts as a
    failure; the known rule's baseline is simulated on each run's held-out trials."""
    from evoplast import load_config

    module = _script("ei_seeds")
    tiny = ["task.n_exc=40", "task.n_inh=10", "task.n_ext=200", "task.p_ext=0.2", "task.train_s=0.0",
            "task.score_s=1.0", "task.heldout_trials=2", "task.rate_bounds=[0.0, 1000.0]"]
    cases = [  # within, plausible, distance, stable -> accepted
        (2, 2, 0.05, True, True),
        (1, 2, 0.05, True, False),   # one held-out trial off
        (2, 1, 0.05, True, False),   # one trial implausible
        (2, 2, 0.20, True, False),   # off the line
        (2, 2, 0.05, False, False),  # on the unstable half
    ]
    rates = {2: [10.0, 10.5], 1: [10.0, 12.0]}  # within 10% on both trials / on the first only
    for seed, (within, plaus, dist, stable, _) in enumerate(cases):
        config = load_config("runs/ei_ie.toml", [*tiny, f"run.seed={seed}"]).to_dict()
        per = [{"implausible": [] if d < plaus else ["w_blow"]} for d in range(2)]
        _fake_run(tmp_path / f"seed-{seed}", config, {
            "elapsed_s": 1.0, "generations": 2, "coefficients": {"ie:alpha": -0.4, "ie:beta": 0.0},
            "start": {"ie:alpha": 0.5, "ie:beta": 0.5},
            "heldout": {"n_trials": 2, "within_10_percent": within, "plausible": plaus,
                        "plausible_and_within": min(within, plaus), "per_trial": per,
                        "rate_e_hz": rates[within], "rate_i_hz": [9.0, 9.0], "status": ["ok", "ok"]},
            "theory": {"types": {"ie": {"distance": dist, "stable": stable, "beta_line": 0.0,
                                        "nu_pre_hz": 9.0}}}})
    t = module.seed_table(tmp_path, range(len(cases)))
    assert t["accepted"].tolist() == [c[4] for c in cases]
    assert t["implausible"].tolist() == ["", "", "w_blow", "", ""]
    assert ((t["known.within_10pct"] >= 0) & (t["known.within_10pct"] <= 2)).all()
    # the reference criterion: within 10% on every trial where the known rule is (known rule
    # replaced by fixed verdicts: it holds trial 2 only) -- seed 1 misses trial 2, the others not
    monkeypatch.setattr(module, "known_baseline", lambda cfg: {
        "known.within_10pct": 1, "known.plausible": 2, "known.rate_e_hz_mean": 9.0,
        "known.within_trials": [False, True]})
    t = module.seed_table(tmp_path, range(len(cases)))
    assert t["heldout_ok_where_known"].tolist() == [True, False, True, True, True]
    assert t["within_where_known"].tolist() == [1, 0, 1, 1, 1]
    assert module.within_trials({"rate_e_hz": [10.9, 11.1, 10.0], "status": ["ok", "ok", "silent"]},
                                10.0) == [True, False, False]


def test_scaling_script_on_tiny_runs_and_its_power_law(tmp_path, capsys):
    """analysis/scaling.py: one row per point with its runs, times, evaluations and synapse-steps
    per second (counted from the run's config), a figure; the fit recovers a known exponent; a bad
    point or a missing base config is refused before anything runs."""
    import numpy as np
    import pandas as pd
    import pytest

    module = _script("scaling")
    tiny = ["task.n_trials=4", "task.n_samples=30", "task.n_passes=10", "task.heldout_trials=4",
            "cmaes.popsize=8", "cmaes.generations=20", "cmaes.restarts=0"]
    first = tmp_path / "first.csv"  # two points now, a third later with --keep
    assert module.main(["--points", "oja:6", "pca:4x2", "--seeds", "2", "--jobs", "1",
                        "--out", str(tmp_path / "o"), "--csv", str(first), "--extra", *tiny]) == 0
    csv = tmp_path / "s.csv"
    assert module.main(["--points", "oja:3", "--seeds", "2", "--jobs", "1", "--out", str(tmp_path / "o2"),
                        "--csv", str(csv), "--extra", *tiny, "--keep", str(tmp_path / "first_runs.csv")]) == 0
    t, runs = pd.read_csv(csv), pd.read_csv(tmp_path / "s_runs.csv")
    assert t["point"].tolist() == ["oja:3", "oja:6", "pca:4x2"] and t["runs"].tolist() == [2, 2, 2]
    assert (runs["evaluations"] == 8 * runs["generations"]).all()
    syn = runs["n_inputs"].where(runs["experiment"] == "oja", 4 * 2 + 1)  # W (2 x 4) + one lateral
    np.testing.assert_allclose(runs["synapse_steps_per_s"],
                               runs["evaluations"] * 4 * 30 * 10 * syn / runs["elapsed_s"])
    assert t.loc[0, "overrides"] == "task.n_inputs=3 cmaes.converge_every=10 task.spectrum=tail"
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    fake = pd.DataFrame({"n_inputs": [2, 20, 200], "median_time_to_stop_s": [3.0, 300.0, 30000.0]})
    assert module.power_law(fake)[0] == pytest.approx(2.0)
    assert module.power_law(fake[:1]) is None
    with pytest.raises(SystemExit, match="bad point"):
        module.main(["--points", "oja:x"])
    first_t = pd.read_csv(first)
    assert first_t["point"].tolist() == ["oja:6", "pca:4x2"]  # the kept rows are the same numbers
    for col in ("successes", "median_time_to_stop_s", "median_evaluations"):
        assert t.set_index("point").loc[["oja:6", "pca:4x2"], col].tolist() == first_t[col].tolist()
    fit = module.power_law(t[(t.experiment == "oja") & (t.successes > 0)])  # over kept and new rows
    assert t.loc[0, "exponent"] == pytest.approx(fit[0] if fit else np.nan, nan_ok=True)
    with pytest.raises(SystemExit, match="not a per-run table"):
        module.main(["--points", "oja:3", "--seeds", "2", "--jobs", "1", "--out", str(tmp_path / "o2"),
                     "--csv", str(tmp_path / "x.csv"), "--extra", *tiny, "--keep", str(first)])
    module.BASES["pca"] = [(10**9, "runs/no_such_config.toml")]  # this module object only
    with pytest.raises(SystemExit, match="does not exist"):
        module.main(["--points", "pca:100x8"])


def test_pca_verdict_against_rubner_tavan_counts_a_known_failure():
    """The known rules pass against themselves on every dataset they reach; the zero rule (weights
    stay at their random start) reaches none of them and fails; a rule reaching fewer fails."""
    import numpy as np

    from evoplast import load_config, make_task, seeding
    from evoplast.analysis.verdicts import pca_vs_rubner_tavan

    config = load_config("runs/pca.toml", ["task.heldout_trials=6"])
    task = make_task(config)
    held = task.make_trials(seeding.heldout_seeds(config))
    rt = task.known_rule().to_vector()
    same = pca_vs_rubner_tavan(task, rt, rt, held)
    assert same["rt_reached"] >= 3 and same["vs_rt_ok"]
    assert same["rule_where_rt_reached"] == same["rt_reached"]
    assert same["count_ok"] and same["rule_reached"] == same["rt_reached"]
    zero = pca_vs_rubner_tavan(task, np.zeros_like(rt), rt, held)
    assert zero["rule_where_rt_reached"] == 0 and not zero["vs_rt_ok"]
    assert zero["rule_reached"] == 0 and not zero["count_ok"]
    slow = pca_vs_rubner_tavan(task, 0.05 * rt, rt, held)  # 20x slower learning: not converged
    assert slow["rule_where_rt_reached"] < slow["rt_reached"] and not slow["vs_rt_ok"]
    assert slow["rule_reached"] < slow["rt_reached"] and not slow["count_ok"]


def test_pca_verdict_against_rubner_tavan_strict_and_count_criteria_differ():
    """Two rules reaching the 0.99 bar on as many datasets, not the same ones: the strict criterion
    fails the rule, the count passes it; reaching fewer fails both; a superset passes both."""
    from types import SimpleNamespace

    import numpy as np

    from evoplast.analysis.verdicts import pca_vs_rubner_tavan

    class Fake:  # vector = which of 4 datasets every output reaches (1) or not (0)
        def simulate(self, v, trials):
            return np.asarray(v, float)[None], None, np.zeros((1, len(v)), dtype=int)

        def alignment(self, W, U):
            return np.where(W[:, None] > 0, 0.995, 0.98) * np.ones((len(W), 3))

    held = SimpleNamespace(U=None)
    rt = [1, 1, 1, 0]
    other = pca_vs_rubner_tavan(Fake(), [1, 1, 0, 1], rt, held)
    assert (other["rt_reached"], other["rule_reached"], other["rule_where_rt_reached"]) == (3, 3, 2)
    assert not other["vs_rt_ok"] and other["count_ok"]
    fewer = pca_vs_rubner_tavan(Fake(), [0, 0, 0, 1], rt, held)
    assert not fewer["vs_rt_ok"] and not fewer["count_ok"]
    more = pca_vs_rubner_tavan(Fake(), [1, 1, 1, 1], rt, held)
    assert more["vs_rt_ok"] and more["count_ok"]


def test_refine_check_applies_post_search_settings_to_a_finished_run(tiny_config, tmp_path, capsys):
    """``analysis/refine_check.py``: the pruning switched on after the fact on a finished run gives
    the refinement a run with the switch would have made (same ``pruning`` and coefficients), and
    a setting that would change the search itself is refused."""
    import dataclasses
    import json

    import pytest

    run(tiny_config, tmp_path / "plain")
    pruned = run(tiny_config.replace(task=dataclasses.replace(tiny_config.task, prune_terms=True)),
                 tmp_path / "pruned")
    module = _script("refine_check")
    report_path = tmp_path / "report.json"
    assert module.main([str(tmp_path / "plain"), "--set", "task.prune_terms=true", "--n-jobs", "1",
                        "--json", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    assert report["refinement"]["pruning"]["removed"] == pruned["pruning"]["removed"]
    assert report["coefficients"] == pytest.approx(pruned["coefficients"])
    assert report["heldout"]["loss"] == pytest.approx(pruned["heldout"]["loss"])
    with pytest.raises(SystemExit, match="post-search"):
        module.main([str(tmp_path / "plain"), "--set", "task.n_inputs=4"])
    # --generations: the last generation's mean is the search's final mean, refined the same way
    last = int(__import__("pandas").read_csv(tmp_path / "plain" / "history.csv").generation.iloc[-1])
    csv = tmp_path / "by_generation.csv"
    assert module.main([str(tmp_path / "plain"), "--set", "task.prune_terms=true", "--n-jobs", "1",
                        "--generations", "0", str(last), "--csv", str(csv)]) == 0
    rows = __import__("pandas").read_csv(csv)
    assert rows.generation.tolist() == [0, last]
    assert rows.heldout_loss.iloc[1] == pytest.approx(pruned["heldout"]["loss"])
    with pytest.raises(SystemExit, match="not in"):
        module.main([str(tmp_path / "plain"), "--generations", str(last + 1)])
    # --compare-csv: one row per run, the run's own rule beside the refined one; for the run made
    # with the setting both sides agree, for the plain run the refined side is the pruned run's
    cmp = tmp_path / "compare.csv"
    assert module.main([str(tmp_path / "plain"), str(tmp_path / "pruned"), "--set", "task.prune_terms=true",
                        "--n-jobs", "1", "--compare-csv", str(cmp)]) == 0
    rows = __import__("pandas").read_csv(cmp)
    n_pruned = sum(1 for v in pruned["coefficients"].values() if v != 0.0)
    assert rows["refined.n_terms"].tolist() == [n_pruned, n_pruned]
    assert rows["run.n_terms"].iloc[1] == n_pruned
    assert rows["refined.is_oja"].tolist() == [pruned["theory"]["is_oja"]] * 2
    assert rows["refined.rediscovered"].iloc[1] == pruned["theory"]["rediscovered"]
    assert rows["run.rediscovered"].iloc[1] == pruned["theory"]["rediscovered"]
    with pytest.raises(SystemExit, match="compare-csv"):
        module.main([str(tmp_path / "plain"), str(tmp_path / "pruned")])
    with pytest.raises(SystemExit, match="--rubner-tavan is for pca_network runs"):
        module.main([str(tmp_path / "plain"), "--compare-csv", str(cmp), "--rubner-tavan"])


def test_refine_check_scores_pca_runs_against_rubner_tavan(tmp_path, capsys, monkeypatch):
    """``--compare-csv`` on a PCA run adds the strict Rubner-Tavan criterion of ``pca_seeds.py``
    for the run's rule and the refined one; with the run's own post-search settings both agree, and
    the counts are those of :func:`pca_vs_rubner_tavan` on the run's held-out datasets. (The refits
    use 32 validation trials instead of 256 here, for time: the search, the script and the direct
    computation alike.)"""
    import json

    import pandas as pd
    import pytest

    from evoplast import load_config, make_task, parallel, seeding, selection
    from evoplast.analysis.verdicts import pca_vs_rubner_tavan
    from evoplast.selection import refine_for

    monkeypatch.setattr(selection, "CALIBRATION_TRIALS", 32)
    config = load_config("runs/pca.toml", ["cmaes.generations=3", "cmaes.popsize=8", "cmaes.restarts=0",
                                           "task.heldout_trials=6", "run.n_jobs=1"])
    run(config, tmp_path / "pca")
    cmp = tmp_path / "compare.csv"
    module = _script("refine_check")
    assert module.main([str(tmp_path / "pca"), "--n-jobs", "1", "--compare-csv", str(cmp),
                        "--variants", "cmaes.prune_tol=0.05", "cmaes.prune_tol=0", "--rubner-tavan"]) == 0
    rows = pd.read_csv(cmp)
    assert rows.overrides.tolist() == ["cmaes.prune_tol=0.05", "cmaes.prune_tol=0"]
    assert rows["refined.n_terms"].iloc[1] >= rows["refined.n_terms"].iloc[0]  # no pruning: no fewer
    row = rows.iloc[0]  # pca.toml's own prune_tol: the run's reported rule again
    assert row["refined.n_terms"] == row["run.n_terms"]
    assert row["refined.where_rt_reaches"] == row["run.where_rt_reaches"]
    assert bool(row["refined.vs_rt_ok"]) == bool(row["run.vs_rt_ok"])
    task = make_task(config)
    held = task.make_trials(seeding.heldout_seeds(config))
    with parallel.Evaluator(1) as ev:
        rt, _ = refine_for(config, task, ev, task.known_rule().to_vector(), prune=False)
    result = json.loads((tmp_path / "pca" / "result.json").read_text())
    found = task.rule_template.from_values(result["coefficients"]).to_vector()
    vs = pca_vs_rubner_tavan(task, found, rt, held)
    assert row["run.where_rt_reaches"] == f"{vs['rule_where_rt_reached']}/{vs['rt_reached']}"
    assert vs["rt_reached"] >= 3  # the refit known rules reach most of the 6 datasets
    assert bool(row["run.vs_rt_ok"]) == vs["vs_rt_ok"]
    with pytest.raises(SystemExit, match="need --compare-csv"):
        module.main([str(tmp_path / "pca"), "--variants", "cmaes.prune_tol=0"])


def test_known_rule_scan_rows_and_learnability(tmp_path, capsys):
    """``analysis/known_rule_scan.py``: one row per grid combination. Oja's own rule at a rate far
    too small to learn in the trial's updates ends near its small initial weights (loss ~1), at the
    config's rate near PC1; the known PCA rules with a few hundred updates learn no dataset (every
    output >= 0.99), with the config's 20,000 most."""
    import pandas as pd

    module = _script("known_rule_scan")
    csv = tmp_path / "oja.csv"
    assert module.main(["--config", "runs/oja.toml", "--grid", "rule.eta=0.02,1e-5", "--trials", "4",
                        "--csv", str(csv)]) == 0
    rows = pd.read_csv(csv)
    assert rows["grid"].tolist() == ["rule.eta=0.02", "rule.eta=1e-5"]
    assert rows["loss"].iloc[0] < 0.05 and rows["loss"].iloc[1] > 0.5 and rows["mean_norm"].iloc[1] < 0.2
    csv = tmp_path / "pca.csv"
    assert module.main(["--config", "runs/pca.toml", "--grid", "task.n_passes=2,200", "--trials", "8",
                        "--csv", str(csv)]) == 0
    rows = pd.read_csv(csv)
    assert rows["grid"].tolist() == ["task.n_passes=2", "task.n_passes=200"]
    assert rows["trials_all_cos_ge_0.99"].tolist()[0] == 0 and rows["trials_all_cos_ge_0.99"].iloc[1] >= 6


def test_module_at_rewrites_relative_imports_and_loads_an_old_revision():
    """``evoplast.analysis.revisions``: relative imports of any depth become absolute against the
    current package; a kernel module at HEAD loads beside the installed one (git checkouts only)."""
    import shutil
    import subprocess

    import pytest

    from evoplast.analysis import revisions

    src = ("from .poly import k\nfrom .. import seeding\nfrom ..tasks.base import Task\n"
           "    from . import rate\n")
    assert revisions.absolute_imports(src, "evoplast.kernels") == (
        "from evoplast.kernels.poly import k\nfrom evoplast import seeding\n"
        "from evoplast.tasks.base import Task\n    from evoplast.kernels import rate\n")
    inside = shutil.which("git") and subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=revisions.ROOT, capture_output=True).returncode == 0
    if not inside:
        pytest.skip("not a git checkout")
    old = revisions.module_at("HEAD", "evoplast/kernels/poly.py")
    from evoplast.kernels import poly

    assert old.__name__ == "poly_old" and old is not poly and callable(old.update_row_p2)


def test_lateral_terms_check_scores_the_three_term_rule_at_each_rule_s_refit_scale(tmp_path):
    """``analysis/lateral_terms_check.py``: a finished PCA run whose reported rule is Rubner-Tavan
    plus a lateral ``y**2*w``; the stripped rule at the same scale scores as Rubner-Tavan's own
    vector on the run's validation trials, each refit only lowers the loss, and non-PCA runs are
    refused."""
    import json

    import numpy as np
    import pytest

    from evoplast import load_config, make_task, parallel, selection

    config = load_config("runs/pca.toml", ["cmaes.generations=2", "cmaes.popsize=8", "cmaes.restarts=0",
                                           "task.heldout_trials=4", "task.n_passes=10", "run.n_jobs=1"])
    run(config, tmp_path / "pca")
    result_path = tmp_path / "pca" / "result.json"
    result = json.loads(result_path.read_text())
    rt = {"ff:x*y": 1.0, "ff:y**2*w": -1.0, "lat:x*y": -1.0}
    result["coefficients"] = {t: rt.get(t, -0.3 if t == "lat:y**2*w" else 0.0)
                              for t in result["coefficients"]}
    result_path.write_text(json.dumps(result))
    module = _script("lateral_terms_check")
    row = module.check(tmp_path / "pca", n_jobs=1)
    task = make_task(config)
    with parallel.Evaluator(1) as ev:
        loss = selection.validation_loss(config, task, ev)
        expected = loss(task.known_rule().to_vector()[None], selection.CALIBRATION_TRIALS)[0]
    assert row["stripped_same_scale"] == pytest.approx(expected, rel=1e-12)
    assert row["stripped_fine"] <= row["stripped_rule_refit"] <= row["stripped_same_scale"]
    assert row["reported_fine"] <= row["reported"] and np.isfinite(row["reported"])
    run(load_config("runs/oja.toml", ["cmaes.generations=2", "run.n_jobs=1"]), tmp_path / "oja")
    with pytest.raises(SystemExit, match="for pca_network runs"):
        module.check(tmp_path / "oja", n_jobs=1)


def test_input_walk_floor_prints_every_row_and_the_implied_fraction(tmp_path):
    """``analysis/input_walk_floor.py`` (short and once: a smoke run, not a timing): every row, each
    time positive, and the floor rows' input time and fraction follow from the ``place`` row and
    the kernel row of the same run."""
    import pandas as pd
    import pytest

    module = _script("input_walk_floor")
    out = tmp_path / "floor.csv"
    assert module.main(["--seconds", "0.5", "--repeats", "1", "--csv", str(out)]) == 0
    rows = pd.read_csv(out).set_index("row")
    assert list(rows.index) == ["exponential", "place", "walk_poisson", "walk_pathways", "kernel_k8",
                                "place_floor_pathways", "place_floor_poisson"]
    assert (rows["ns_per_candidate"].dropna() > 0).all() and rows["ns_per_candidate"].notna().sum() == 4
    kernel = rows.loc["kernel_k8", "ms_per_bio_s_per_candidate"]
    for mode, hz in (("pathways", module.PATHWAY_RATE_HZ), ("poisson", 40.0)):
        inputs = rows.loc["place", "ns_per_candidate"] * 1e-3 * hz
        assert rows.loc[f"place_floor_{mode}", "input_ms_per_bio_s_per_trial"] == pytest.approx(inputs)
        assert rows.loc[f"place_floor_{mode}", "input_fraction_popsize_8"] == pytest.approx(
            inputs / 8 / (kernel + inputs / 8))
    assert module.PATHWAY_RATE_HZ == pytest.approx(64.84, abs=0.01)


@pytest.mark.slow  # ~25 s: compiles the other revision's kernel (no cache)
def test_lif_kernel_ab_compares_outputs_to_the_bit_and_writes_its_rows(tmp_path):
    """``analysis/lif_kernel_ab.py`` against this checkout's own revision: outputs identical (the
    script stops otherwise), one row per case with positive times (a smoke run, not a timing)."""
    import pandas as pd

    module = _script("lif_kernel_ab")
    out = tmp_path / "ab.csv"
    assert module.main(["--rev", "HEAD", "--cases", "2x0.5", "--repeats", "1", "--csv", str(out)]) == 0
    row = pd.read_csv(out).iloc[0]
    assert (row["trials"], row["seconds"], row["old_rev"]) == (2, 0.5, "HEAD") and row["identical_outputs"]
    assert row["old_min_ms"] > 0 and row["new_min_ms"] > 0


@pytest.mark.slow  # ~30 s: compiles the other revision's kernel (no cache)
def test_ei_kernel_ab_compares_outputs_to_the_bit_and_writes_its_rows(tmp_path):
    """``analysis/ei_kernel_ab.py`` against this checkout's own revision (the old side gets int64
    indices): outputs identical (the script stops otherwise), one row with positive times."""
    import pandas as pd

    module = _script("ei_kernel_ab")
    out = tmp_path / "ab.csv"
    assert module.main(["--rev", "HEAD", "--sizes", "1000", "--steps", "100", "--repeats", "1",
                        "--csv", str(out)]) == 0
    row = pd.read_csv(out).iloc[0]
    assert (row["neurons"], row["old_rev"]) == (1000, "HEAD") and row["identical_outputs"]
    assert row["old_min_s"] > 0 and row["new_min_s"] > 0


def test_ei_block_ab_times_each_block_size_on_identical_outputs(tmp_path):
    """``analysis/ei_block_ab.py``: every block size gives the same outputs (the script stops
    otherwise), one row per variant with the default's ratio, a rule read from a result table's
    ``coef.`` columns; a malformed case is refused."""
    import pandas as pd

    module = _script("ei_block_ab")
    out = tmp_path / "b.csv"
    case = "runs/ei_all4.toml:1000:analysis/results/ei_all4_seeds10-10.csv"
    assert module.main(["--case", case, "--blocks", "1", "2", "--candidates", "3", "--steps", "100",
                        "--repeats", "1", "--csv", str(out)]) == 0
    t = pd.read_csv(out)
    assert list(t.variant) == ["block 1", "block 2"] and t.identical_outputs.all()
    assert (t.default_block == 2).all() and (t.plastic_synapses == t.plastic_synapses[0]).all()
    assert t.default_over_this_min[t.variant == "block 2"].iloc[0] == 1.0 and (t.min_s > 0).all()
    with pytest.raises(SystemExit, match="CONFIG:NEURONS"):
        module.main(["--case", "runs/ei_ie.toml:123", "--csv", str(out)])


def test_ei_cost_floor_times_the_network_without_synapses_and_without_input(tmp_path):
    """``analysis/ei_cost_floor.py``: the three variants on one size, the variants really without
    recurrent synapses (and silent without input), shares relative to the network's own time."""
    import pandas as pd

    module = _script("ei_cost_floor")
    out = tmp_path / "f.csv"
    assert module.main(["--neurons", "1000", "--candidates", "2", "--simulated-s", "1.0", "--repeats", "1",
                        "--csv", str(out)]) == 0
    t = pd.read_csv(out).set_index("variant")
    assert list(t.index) == ["network", "no recurrent synapses", "silent"]
    assert t.synapses["network"] > 100_000
    assert t.synapses["no recurrent synapses"] == t.synapses["silent"] == 0
    assert t.rate_e_hz["silent"] == 0 < t.rate_e_hz["network"] < t.rate_e_hz["no recurrent synapses"]
    assert t.share_of_network_min["network"] == 1.0 and (t.min_s > 0).all()


def test_node_fingerprint_is_stable_and_tells_configs_apart(capsys):
    """``analysis/node_fingerprint.py``: the same line twice in one environment; another config
    gives other trial and loss hashes."""
    module = _script("node_fingerprint")
    a = module.fingerprint("runs/oja.toml", 2)
    assert a == module.fingerprint("runs/oja.toml", 2)
    assert all(len(a[k]) == 16 for k in ("trials", "loss", "cmaes"))
    b = module.fingerprint("runs/pca.toml", 2)
    assert b["trials"] != a["trials"] and b["loss"] != a["loss"]
    assert module.main(["--trials", "2"]) == 0
    assert capsys.readouterr().out.startswith(f"config=runs/oja.toml trials={a['trials']} loss={a['loss']}")


def test_ei_search_trajectory_summarises_windows_of_generations(tmp_path):
    """``analysis/ei_search_trajectory.py`` on a made-up run directory: per window, candidates,
    fraction ok, mean w_creep and plausible fraction of the ok ones, median relative rate error,
    best task loss; a directory without the metrics is refused."""
    import json

    import pandas as pd

    module = _script("ei_search_trajectory")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"config": {"task": {"target_rate_hz": 10.0,
                                                                      "plausibility_weight": 0.1}}}))
    pd.DataFrame({"generation": [0, 0, 1, 2, 2], "status": ["ok", "runaway", "ok", "ok", "ok"],
                  "task_loss": [0.5, 9.0, 0.3, 0.2, 0.1],
                  "metric:w_creep": [0.4, float("nan"), 0.2, 0.04, 0.06],
                  "metric:plausible": [0.0, 0.0, 0.0, 1.0, 0.5],
                  "metric:rate_e_hz": [12.0, float("nan"), 9.0, 10.0, 10.5]}).to_csv(run / "evaluations.csv")
    out = tmp_path / "t.csv"
    assert module.main([str(run), "--window", "2", "--csv", str(out)]) == 0
    t = pd.read_csv(out)
    assert list(t.generations) == ["0-1", "2-2"] and list(t.candidates) == [3, 2]
    assert t.frac_ok[0] == pytest.approx(2 / 3) and t.mean_w_creep_ok[0] == pytest.approx(0.3)
    assert t.frac_trials_plausible_ok[1] == pytest.approx(0.75)
    assert t.median_rel_rate_error_ok[0] == pytest.approx(0.15) and t.best_task_loss[1] == 0.1
    assert (t.plausibility_weight == 0.1).all()
    pd.DataFrame({"generation": [0], "status": ["ok"], "task_loss": [1.0]}).to_csv(run / "evaluations.csv")
    with pytest.raises(SystemExit, match="no plausibility metrics"):
        module.main([str(run), "--csv", str(out)])


def test_ei_vogels_input_rate_rows(tmp_path):
    """``analysis/ei_vogels_input_rate.py`` on a short run: one row per trial, the population rate
    from every recorded E neuron within the spread it reports, fractions in [0, 1]."""
    import pandas as pd

    module = _script("ei_vogels_input_rate")
    out = tmp_path / "v.csv"
    assert module.main(["--rates", "3", "--trials", "2", "--train-s", "0.2", "--score-s", "1.0",
                        "--csv", str(out)]) == 0
    t = pd.read_csv(out)
    assert len(t) == 2 and set(t.status) == {"ok"} and (t.source_rate_hz == 3.0).all()
    for col in ("frac_e_below_9hz", "frac_e_above_11hz", "ie_frac_at_0", "ie_frac_at_w_max"):
        assert t[col].between(0.0, 1.0).all()
    assert (t.frac_e_below_9hz + t.frac_e_above_11hz <= 1.0).all() and (t.rate_e_hz > 0).all()
    assert (t.ie_mean_w > 0).all() and t.rule[0].startswith("ie: pre: dw = eta*(-0.4 ")  # Vogels'
    # the config's rule instead, given by overrides (recorded)
    assert module.main(["--rates", "3", "--trials", "1", "--train-s", "0.2", "--score-s", "1.0", "--rule",
                        "config", "--set", "rule.ie.alpha=-0.3", "--set", "rule.ie.beta=-0.1",
                        "--csv", str(out)]) == 0
    t = pd.read_csv(out)
    assert t.rule[0].startswith("ie: pre: dw = eta*(-0.3 ") and "post: dw = eta*(-0.1 " in t.rule[0]
    assert t.overrides[0] == "rule.ie.alpha=-0.3 rule.ie.beta=-0.1"


def test_ei_ie_grid_scores_every_rule_on_every_trial(tmp_path):
    """``analysis/ei_ie_grid.py`` on a 2 x 2 grid, one rate, one trial: a row per rule with its E
    rate; the worst error is that rate's relative error, and the flag follows it."""
    import numpy as np
    import pandas as pd

    module = _script("ei_ie_grid")
    out = tmp_path / "g.csv"
    assert module.main(["--rates", "3", "--trials", "1", "--alpha", "-0.4", "-0.3", "2",
                        "--beta", "-0.1", "0", "2", "--csv", str(out)]) == 0
    t = pd.read_csv(out)
    assert sorted(zip(t.alpha, t.beta)) == [(-0.4, -0.1), (-0.4, 0.0), (-0.3, -0.1), (-0.3, 0.0)]
    rate = t["rate_e_hz@3Hz#0"]
    np.testing.assert_allclose(t.worst_relative_error, np.abs(rate - 10.0) / 10.0)
    assert (t.within_10pct_everywhere == (t.worst_relative_error <= 0.1)).all()
    assert rate.nunique() == 4  # different rules, different rates


def test_pca_rt_vs_rt_judges_a_refit_known_rule_against_another(tmp_path, capsys):
    import json

    import pandas as pd

    from evoplast import make_task
    from evoplast.config import load_config

    seeds = _script("pca_seeds")
    tiny = ["task.n_trials=2", "task.heldout_trials=4", "cmaes.popsize=4", "cmaes.generations=2",
            "cmaes.calibrate_scale=false", "cmaes.fine_scale=false", "cmaes.prune_tol=0"]
    assert seeds.main(["runs/pca.toml", "--seeds", "2", "--first-seed", "1", "--jobs", "1", "--out",
                       str(tmp_path / "t"), "--csv", str(tmp_path / "s.csv"), "--extra", *tiny]) == 0
    rt = make_task(load_config("runs/pca.toml")).known_rule().to_vector()
    module = _script("pca_rt_vs_rt")
    cache = tmp_path / "t" / "rt_refit.json"  # the refits as if done: run 1's is Rubner-Tavan itself,
    cache.write_text(json.dumps({f"seed-{s}": {"key": module.cache_key(tmp_path / "t" / f"seed-{s}"),
                                               "vector": (f * rt).tolist()}  # run 2's 20x slower
                                 for s, f in ((1, 1.0), (2, 0.05))}, sort_keys=True))
    before = cache.read_text()
    capsys.readouterr()
    assert module.main([str(tmp_path / "t"), "--csv", str(tmp_path / "r.csv")]) == 0
    assert cache.read_text() == before  # cached refits are not redone
    t = pd.read_csv(tmp_path / "r.csv", dtype={"other": str}).set_index(["seed", "reference", "other"])
    assert sorted(t.index) == sorted((s, ref, o) for s in (1, 2) for ref, o in
                                     [("refit", str(3 - s)), ("refit", "found"), ("config", "found"),
                                      ("config", "refit")])
    one_two, two_one = t.loc[(1, "refit", "2")], t.loc[(2, "refit", "1")]
    assert one_two["rt_reached"] >= 2 and one_two["other_reached"] == 0
    assert not one_two["vs_rt_ok"] and not one_two["count_ok"]
    assert two_one["rt_reached"] == 0 and two_one["vs_rt_ok"]  # nothing to match
    assert two_one["other_reached"] >= 2  # Rubner-Tavan itself does reach run 2's datasets
    assert one_two["rt_speeds"] == "0.01/0.02" and one_two["other_speeds"] == "0.0005/0.001"
    same = t.loc[(1, "config", "refit")]  # run 1's "refit" is Rubner-Tavan at the config's etas
    assert same["vs_rt_ok"] and same["other_reached"] == same["rt_reached"] == one_two["rt_reached"]
    assert not t.loc[(2, "config", "refit")]["vs_rt_ok"]
    assert "passes the strict criterion" in capsys.readouterr().out
    stale = json.loads(before)
    stale["seed-2"]["key"] = "another config"  # a cached refit of another config is redone
    cache.write_text(json.dumps(stale))
    assert module.main([str(tmp_path / "t"), "--csv", str(tmp_path / "r2.csv")]) == 0
    redone = json.loads(cache.read_text())
    assert redone["seed-1"] == stale["seed-1"]
    assert redone["seed-2"]["key"] == module.cache_key(tmp_path / "t" / "seed-2")
    assert redone["seed-2"]["vector"] != stale["seed-2"]["vector"]
    (tmp_path / "one").mkdir()
    with pytest.raises(SystemExit, match="at least 2"):
        module.main([str(tmp_path / "one")])


def test_first_difference_names_the_first_unequal_field_nan_equal_to_nan():
    from typing import NamedTuple

    import numpy as np

    from evoplast.analysis.revisions import first_difference

    class Out(NamedTuple):
        x: np.ndarray
        y: np.ndarray

    a = Out(np.array([1.0, np.nan]), np.array([1, 2]))
    assert first_difference(a, Out(np.array([1.0, np.nan]), np.array([1, 2]))) is None
    assert first_difference(a, Out(np.array([1.0, np.nan]), np.array([1, 3]))) == "y"
    assert first_difference(a, Out(np.array([1.0, 0.0]), np.array([1, 3]))) == "x"


def test_ei_protocols_rescores_under_each_protocol_and_reuses_rows(tmp_path):
    """``analysis/ei_protocols.py`` on a tiny finished E-I run: a row per protocol whose counts are
    ``evoplast evaluate``'s (the rows appended to ``generalisation.csv``); a second call reuses those
    rows (same table, nothing appended), ``--recompute`` simulates again to the same numbers."""
    import json

    import pandas as pd

    from evoplast import run
    from evoplast.config import from_dict

    from .test_ei_network import small_config

    cfg = small_config(plausibility_weight=0.1, n_trials=1, heldout_trials=2, train_s=0.2, score_s=1.0)
    cfg = from_dict({**cfg.to_dict(), "cmaes": {"popsize": 4, "generations": 1, "sigma0": 0.3},
                     "run": {"seed": 3, "n_jobs": 1}})
    run(cfg, tmp_path / "r")
    module = _script("ei_protocols")
    out = tmp_path / "p.csv"
    protocols = ["--protocol", "task.train_s=0.2", "--protocol", "task.train_s=0.6 task.score_s=1.2"]
    assert module.main([str(tmp_path / "r"), *protocols, "--trials", "2", "--csv", str(out)]) == 0
    t = pd.read_csv(out)
    gen = pd.read_csv(tmp_path / "r" / "generalisation.csv")
    assert list(t.overrides) == ["task.train_s=0.2", "task.train_s=0.6 task.score_s=1.2"]
    assert list(gen.overrides) == list(t.overrides)
    for i in range(2):
        per = json.loads(gen.per_trial[i])
        assert len(per) == t.n_trials[i] == 2
        assert json.loads(t.w_creep_per_trial[i]) == [round(p["w_creep"], 3) for p in per]
        assert t.plausible[i] == sum(p["plausible"] for p in per) == gen.plausible[i]
        assert t.within_10_percent[i] == gen.within_10_percent[i]
        assert set(t.implausible.fillna("")[i].split()) == {m for p in per for m in p["implausible"]}
    assert t.w_creep_per_trial[0] != t.w_creep_per_trial[1]  # the protocols differ
    assert module.main([str(tmp_path / "r"), *protocols, "--trials", "2", "--csv", str(out)]) == 0
    assert len(pd.read_csv(tmp_path / "r" / "generalisation.csv")) == 2  # reused, nothing appended
    pd.testing.assert_frame_equal(pd.read_csv(out), t)
    assert module.main([str(tmp_path / "r"), *protocols[:2], "--trials", "2", "--recompute",
                        "--csv", str(out)]) == 0
    assert len(pd.read_csv(tmp_path / "r" / "generalisation.csv")) == 3
    pd.testing.assert_frame_equal(pd.read_csv(out), t.iloc[:1])
