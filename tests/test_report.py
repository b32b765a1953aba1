"""evoplast report: figures exist, are non-trivial, and report.md carries the numbers."""

import numpy as np
import pytest

from evoplast import seeding
from evoplast.cli import main
from tests.conftest import TINY


def _nontrivial_png(path):
    import matplotlib.image as mpimg

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 15_000, path
    img = mpimg.imread(path)
    assert img.std() > 0.05, path  # not a blank canvas


def _run(config, out, sets):
    args = [a for s in sets for a in ("--set", s)]
    assert main(["run", config, "--out", str(out), "--quiet", *args]) == 0


def test_report_of_two_oja_runs(tmp_path, capsys):
    for seed in (0, 1):
        _run("runs/oja.toml", tmp_path / f"s{seed}", [*TINY, f"run.seed={seed}"])
    out = tmp_path / "rep"
    assert main(["report", str(tmp_path / "s0"), str(tmp_path / "s1"), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert "found rule" in text and "ablation" in text and "## across runs" in text and "is_oja" in text
    assert "success (is_oja): " in text and " of 2 runs" in text
    for name in ("run0_history", "run0_coefficients", "run0_ablation", "run0_task", "run1_task", "seeds"):
        _nontrivial_png(out / f"{name}.png")
        assert f"({name}.png)" in text
    import pandas as pd

    ab = pd.read_csv(out / "run0_ablation.csv")
    assert len(ab) >= 10 and np.isfinite(ab.delta).all()
    # one row re-scored independently: the found rule without that term, on the same trials
    from evoplast import make_task
    from evoplast.analysis.report import found_rule, load_run

    config, result = load_run(tmp_path / "s0")
    task = make_task(config)
    top = ab.iloc[0]
    v = found_rule(task, result).to_vector()
    v[list(task.rule_template.terms).index(top.term)] = 0.0
    seeds = seeding.trial_seeds(config.run.seed, seeding.STREAM_VALIDATION, 9, config.task.n_trials)
    loss = task.evaluate(v[None], task.make_trials(seeds))[0].mean()
    assert loss == pytest.approx(top.loss_without, rel=1e-9)


@pytest.mark.parametrize("config,sets", [
    # prune_tol=0: a 2-generation search's pruned rule keeps a handful of terms (a near-empty bar plot)
    ("runs/pca.toml", ["task.n_trials=2", "task.n_passes=5", "task.heldout_trials=3", "cmaes.popsize=8",
                       "cmaes.generations=2", "cmaes.prune_tol=0"]),
    ("runs/istdp.toml", ["task.duration_s=2.0", "task.n_trials=2", "task.heldout_trials=2",
                         "cmaes.popsize=4", "cmaes.generations=2"]),
])
def test_report_task_figures_for_pca_and_istdp(config, sets, tmp_path):
    _run(config, tmp_path / "r", sets)
    out = tmp_path / "rep"
    assert main(["report", str(tmp_path / "r"), "--out", str(out)]) == 0
    for name in ("run0_history", "run0_coefficients", "run0_ablation", "run0_task"):
        _nontrivial_png(out / f"{name}.png")


def test_report_of_an_unfinished_run_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "config.json").write_text("{}")
    assert main(["report", str(tmp_path / "r"), "--out", str(tmp_path / "o")]) == 2
    assert "no result.json" in capsys.readouterr().err


def test_paper_figures_script_on_tiny_runs(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    import pandas as pd

    for n in (2, 3):
        _run("runs/oja.toml", tmp_path / "oja" / f"n{n}", [*TINY, f"task.n_inputs={n}"])
    _run("runs/pca.toml", tmp_path / "pca" / "s0",
         ["task.n_trials=2", "task.n_passes=5", "task.heldout_trials=3", "cmaes.popsize=8",
          "cmaes.generations=2"])
    _run("runs/istdp_rate_only.toml", tmp_path / "spk" / "s0",
         ["task.duration_s=2.0", "task.n_trials=2", "task.heldout_trials=2", "cmaes.popsize=4",
          "cmaes.generations=2"])
    path = Path(__file__).resolve().parent.parent / "analysis" / "paper_figures.py"
    spec = importlib.util.spec_from_file_location("paper_figures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "figs"
    assert module.main(["--out", str(out), "--oja", str(tmp_path / "oja" / "*"),
                        "--pca", str(tmp_path / "pca" / "*"), "--istdp", str(tmp_path / "spk" / "*"),
                        "--grid", "4", "--trials", "2"]) == 0
    table = pd.read_csv(out / "oja" / "scaling.csv")
    assert table["task.n_inputs"].tolist() == [2, 3] and (table.runs == 1).all()
    for png in ("oja/scaling.png", "oja/landscape/landscape.png", "oja/run0_task.png", "pca/run0_task.png",
                "istdp/run0_task.png", "istdp/landscape/landscape.png"):
        _nontrivial_png(out / png)
    assert "measured valley slope" in capsys.readouterr().out
    assert module.main(["--out", str(out), "--oja", str(tmp_path / "none*")]) == 2
