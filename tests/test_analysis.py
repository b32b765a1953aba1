"""Run directories into pandas, and the success-table script on tiny runs."""

import importlib.util
from pathlib import Path

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
                        "--config", str(config), "--out", str(out), "--extra", *TINY])
    assert code == 0
    printed = capsys.readouterr().out
    assert "success" in printed and "gaussian" in printed
    table = module.success_table(out)
    assert table["runs"].tolist() == [2, 2]
    assert set(table["task.n_inputs"]) == {2, 3}


def test_istdp_seed_table_script_on_tiny_runs(tmp_path, capsys):
    module = _script("istdp_seeds")
    short = ["task.duration_s=3.0", "task.n_trials=2", "task.heldout_trials=2", "cmaes.popsize=4",
             "cmaes.generations=2"]
    code = module.main(["runs/istdp_rate_only.toml", "--seeds", "2", "--jobs", "1",
                        "--out", str(tmp_path / "t"), "--extra", *short])
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
    args = ["runs/pca.toml", "--seeds", "2", "--jobs", "1", "--out", str(tmp_path / "t"), "--extra", *tiny]
    assert module.main(args) == 0
    printed = capsys.readouterr().out
    assert "shape (A Oja, B anti-Hebbian):" in printed and "rt_mean_cos" in printed
    before = (tmp_path / "t" / "seed-1" / "result.json").read_bytes()
    assert module.main(args) == 0  # finished runs are reused, not run again
    assert (tmp_path / "t" / "seed-1" / "result.json").read_bytes() == before
    assert len(module.seed_rows(tmp_path / "t")) == 2
