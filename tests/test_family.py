"""evoplast family (pool, re-score, accept, describe) on a task whose solution set is a known line,
and the tabu restarts on a task with three separated minima."""

import json

import numpy as np
import pandas as pd
import pytest

from evoplast import TASKS
from evoplast.analysis.family import _twonn, load_family
from evoplast.cli import main
from tests.toy_family_tasks import CENTRES, ToyLineTask, ToyWellsTask

LINE = """
[task]
name = "toy_line"

[rule]
family = "pre_post_trace"
search = ["alpha", "beta"]
start = "random"
start_box = {{alpha = [-2.0, 2.0], beta = [-4.0, 4.0]}}

[cmaes]
popsize = 8
sigma0 = 0.3
generations = 25
l1 = 0.0

[run]
seed = {seed}
"""

WELLS = """
[task]
name = "toy_wells"

[rule]
family = "pre_post_trace"
search = ["alpha", "beta"]
alpha = -0.7
beta = 0.8

[cmaes]
popsize = 8
sigma0 = 0.3
generations = 60
l1 = 0.0
restarts = 2
tabu_radius = {radius}
tabu_penalty = 4.0

[run]
seed = 1
"""


@pytest.fixture
def toys(monkeypatch):
    monkeypatch.setitem(TASKS, ToyLineTask.name, ToyLineTask)
    monkeypatch.setitem(TASKS, ToyWellsTask.name, ToyWellsTask)


def test_twonn_gives_the_dimension_of_a_line_and_of_a_plane():
    rng = np.random.default_rng(0)
    t = rng.uniform(-1, 1, 1000)
    line = np.column_stack([t, 2 * t, -t])
    plane = np.column_stack([rng.uniform(-1, 1, 1000), rng.uniform(-1, 1, 1000), np.zeros(1000)])
    assert _twonn(line) == pytest.approx(1.0, abs=0.15)
    assert _twonn(plane) == pytest.approx(2.0, abs=0.25)


def test_family_recovers_a_known_solution_line(toys, tmp_path, capsys):
    dirs = []
    for seed in range(4):  # four searches from random starts, each settling somewhere on the line
        cfg = tmp_path / f"line{seed}.toml"
        cfg.write_text(LINE.format(seed=seed))
        d = tmp_path / f"run{seed}"
        assert main(["run", str(cfg), "--out", str(d), "--quiet"]) == 0
        dirs.append(str(d))
    out = tmp_path / "fam"
    assert main(["family", *dirs, "--out", str(out), "--tol", "0.002", "--trials", "6"]) == 0
    s = json.loads((out / "family.json").read_text())
    assert s["n_accepted"] >= 20 and s["pooled"] >= s["n_accepted"]
    assert s["line"]["slope_relative_error"] < 0.05  # the fitted axis has the line's slope, -2
    assert s["dimension_pca95"] == 1
    assert s["dimension_local_pca"] == 1
    assert s["theory_distance"]["max"] < 0.06  # every accepted rule lies near the line
    fam = load_family(out)
    assert len(fam) == s["n_accepted"] and fam.attrs["n_accepted"] == s["n_accepted"]
    assert {"alpha", "beta", "loss", "run", "generation", "theory.distance", "distinct"} <= set(fam.columns)
    assert (fam["loss"] <= fam["loss"].min() + 0.002).all()
    assert fam["alpha"].max() - fam["alpha"].min() > 0.5  # the searches spread along the line
    # a second call re-scores from the cache, and a tighter tol accepts a subset
    assert main(["family", *dirs, "--out", str(out), "--tol", "0.0005", "--trials", "6"]) == 0
    assert len(load_family(out)) <= s["n_accepted"]
    printed = capsys.readouterr().out
    assert "rules accepted" in printed
    assert s["pooled"] > 64 and f"re-scored {s['pooled']}/{s['pooled']} ({s['pooled']} simulated" in printed


def test_family_keeps_only_rules_plausible_on_every_trial(toys, tmp_path):
    """Where the task logs ``plausible`` (here: alpha <= 0 on the line), the search writes it to
    evaluations.csv and the family accepts only rules plausible on every fresh trial, best loss
    taken over those; the implausible near-best rules are counted, the metrics' means listed."""
    dirs = []
    for seed in range(3):
        cfg = tmp_path / f"line{seed}.toml"
        cfg.write_text(LINE.format(seed=seed).replace('name = "toy_line"',
                                                       'name = "toy_line"\nplausible_alpha_max = 0.0'))
        dirs.append(str(tmp_path / f"run{seed}"))
        assert main(["run", str(cfg), "--out", dirs[-1], "--quiet"]) == 0
    ev = pd.concat(pd.read_csv(f"{d}/evaluations.csv") for d in dirs)
    np.testing.assert_array_equal(ev["metric:plausible"], (ev["c:alpha"] <= 0).astype(float))
    np.testing.assert_allclose(ev["metric:alpha"], ev["c:alpha"])
    out = tmp_path / "fam"
    assert main(["family", *dirs, "--out", str(out), "--tol", "0.002", "--trials", "6"]) == 0
    fam = load_family(out)
    s = fam.attrs
    assert len(fam) >= 10 and (fam["alpha"] <= 0).all() and (fam["metric.plausible"] == 1.0).all()
    np.testing.assert_allclose(fam["metric.alpha"], fam["alpha"])
    assert s["plausibility"]["judged"] and s["plausibility"]["ok_within_tol_implausible"] > 0


def test_family_refuses_runs_of_different_tasks(toys, tmp_path, capsys):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(LINE.format(seed=0).replace("generations = 25", "generations = 2"))
    b.write_text(LINE.format(seed=0).replace("generations = 25", "generations = 2")
                 .replace('name = "toy_line"', 'name = "toy_line"\nslope = 1.0'))
    for cfg, d in ((a, "ra"), (b, "rb")):
        assert main(["run", str(cfg), "--out", str(tmp_path / d), "--quiet"]) == 0
    code = main(["family", str(tmp_path / "ra"), str(tmp_path / "rb"), "--out", str(tmp_path / "f")])
    err = capsys.readouterr().err
    assert code == 2 and "another task or rule config" in err and err.count("\n") == 1
    assert main(["family", str(tmp_path / "ra"), "--out", str(tmp_path / "f"), "--tol", "0"]) == 2


def _restart_wells(run_dir):
    ev = pd.read_csv(run_dir / "evaluations.csv")
    result = json.loads((run_dir / "result.json").read_text())
    return ev, result


@pytest.mark.parametrize("radius", [0.0, 5.0])
def test_tabu_restarts_find_distinct_minima(toys, tmp_path, radius):
    """Started at the same point near well 0, three restarts all end in well 0 without the tabu
    penalty; with it (radius 5 sigma0 = 1.5, beyond the ridges between the wells, and a bump
    steeper than the well), each restart ends in another well."""
    cfg = tmp_path / "wells.toml"
    cfg.write_text(WELLS.format(radius=radius))
    d = tmp_path / "run"
    assert main(["run", str(cfg), "--out", str(d), "--quiet"]) == 0
    ev, result = _restart_wells(d)
    finals = []
    for r in range(3):
        last = ev[ev["restart"] == r]
        last = last[last["generation"] == last["generation"].max()]
        x = last[["c:alpha", "c:beta"]].astype(float).mean().to_numpy()
        finals.append(int(np.argmin(((x - CENTRES) ** 2).sum(axis=1))))
        assert np.min(np.sqrt(((x - CENTRES) ** 2).sum(axis=1))) < 0.15
    if radius:
        assert sorted(finals) == [0, 1, 2] and "tabu" in ev.columns
    else:
        assert finals == [0, 0, 0] and "tabu" not in ev.columns
