"""Adding a task is one module plus one registry line: the toy task of tests/toy_task.py, once
registered, goes through every command (run, show, simulate, evaluate, report, landscape) with no
other change to evoplast."""

import json

import pandas as pd
import pytest

from evoplast import TASKS
from evoplast.cli import main
from tests.toy_task import ToyTask

CONFIG = """
[task]
name = "toy_quadratic"
n_trials = 4
noise = 0.05

[rule]
family = "polynomial"
max_power = [1, 2, 1]
eta = 0.02
coefficients = {}

[cmaes]
popsize = 8
sigma0 = 0.5
generations = 60
l1 = 0.0
calibrate_scale = false

[run]
seed = 3
"""


@pytest.fixture
def toy(monkeypatch, tmp_path):
    monkeypatch.setitem(TASKS, ToyTask.name, ToyTask)  # the one registry line
    path = tmp_path / "toy.toml"
    path.write_text(CONFIG)
    return path


def test_a_toy_task_goes_through_every_command(toy, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["run", str(toy), "--out", str(run_dir), "--quiet"]) == 0
    result = json.loads((run_dir / "result.json").read_text())
    assert result["task"] == "toy_quadratic"
    # the search (started at 0, not at the target) lands near the quadratic's minimum
    assert result["start"]["x*y"] == 0.0 and result["theory"]["distance"] < 0.2
    assert abs(result["coefficients"]["x*y"] - 1.0) < 0.1
    assert abs(result["coefficients"]["y**2*w"] + 1.0) < 0.1

    assert main(["show", str(run_dir)]) == 0
    assert "distance to target (normalised)" in capsys.readouterr().out

    assert main(["simulate", str(toy), "--out", str(tmp_path / "sim")]) == 0
    summary = json.loads((tmp_path / "sim" / "summary.json").read_text())
    assert summary["n_trials"] == 8 and summary["distance"] == pytest.approx(2 ** 0.5)

    assert main(["evaluate", str(run_dir), "--set", "task.noise=0.2", "--trials", "16"]) == 0
    assert ", distance " in capsys.readouterr().out
    table = pd.read_csv(run_dir / "generalisation.csv")
    assert table["overrides"].tolist() == ["task.noise=0.2"] and table["n_trials"].tolist() == [16]

    assert main(["report", str(run_dir), "--out", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "report.md").stat().st_size > 0
    assert list((tmp_path / "report").glob("*task*.png"))

    assert main(["landscape", str(toy), "--x", "x*y", "--y", "y**2*w", "--grid", "5",
                 "--range", "0", "2", "-2", "0", "--run", str(run_dir),
                 "--out", str(tmp_path / "land")]) == 0
    grid = pd.read_csv(tmp_path / "land" / "landscape.csv")
    best = grid.loc[grid["loss"].idxmin()]
    assert (best["x"], best["y"]) == (1.0, -1.0)  # the grid point at the target
