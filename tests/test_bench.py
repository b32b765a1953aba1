"""`evoplast bench` prints measured figures (not a timed test: only the output's shape is checked)."""

import json

from evoplast.bench import bench_rate
from evoplast.cli import main


def test_bench_rate_reports_both_implementations():
    (row,) = list(bench_rate(sizes=(3,), quick=True))
    assert row["n_inputs"] == 3 and row["runs"] == 512
    assert row["synapse_steps_per_s"] > 0 and row["numpy_reference_synapse_steps_per_s"] > 0
    assert row["speedup_vs_numpy"] == row["synapse_steps_per_s"] / row["numpy_reference_synapse_steps_per_s"]


def test_bench_cli_prints_json_lines(capsys, monkeypatch):
    import evoplast.bench as bench

    monkeypatch.setattr(bench, "bench_rate", lambda quick=False: iter([{"bench": "rate", "n_inputs": 2}]))
    assert main(["bench", "rate", "--quick"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(line)["bench"] for line in lines] == ["rate"]


def test_bench_dask_config_path_is_checked(capsys):
    from evoplast.cli import main

    assert main(["bench", "dask", "--config", "no/such.toml"]) == 2
    assert "config file not found: no/such.toml" in capsys.readouterr().err


def test_bench_spiking_brian2_figures_are_null_without_brian2(monkeypatch):
    import sys

    from evoplast.bench import _brian2_figures

    monkeypatch.setitem(sys.modules, "brian2", None)  # import brian2 -> ImportError
    figures = _brian2_figures(None, None, None, 1.0)
    assert figures == {"brian2_s_per_bio_s_per_candidate": None, "brian2_version": None}
