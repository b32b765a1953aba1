"""`evoplast bench` prints measured figures (not a timed test: only the output's shape is checked)."""

import json

from evoplast.bench import bench_rate
from evoplast.cli import main


def test_bench_rate_reports_both_implementations():
    (row,) = list(bench_rate(sizes=(3,), quick=True))
    assert row["n_inputs"] == 3 and row["runs"] == 512
    assert row["synapse_steps_per_s"] > 0 and row["numpy_reference_synapse_steps_per_s"] > 0
    # both implementations ran the same work: the same final weights
    assert row["max_abs_weight_difference_vs_numpy"] < 1e-9


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


def test_bench_istdp_says_when_no_brian2_is_found(monkeypatch):
    import evoplast.bench as bench

    monkeypatch.setattr(bench, "_brian2_python", lambda explicit: None)
    assert list(bench._brian2_rows(("pathways",), (8,), 1.0, None)) == [
        {"bench": "brian2", "available": False}]


def test_brian2_python_is_found_only_where_brian2_imports(tmp_path):
    import sys

    from evoplast.bench import _brian2_python

    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 1\n")  # a 'Python' on which `import brian2` fails
    fake.chmod(0o755)
    found = _brian2_python(str(fake))
    assert found != str(fake)
    assert found in (None, sys.executable) or "EVOPLAST_BRIAN2_PYTHON" in __import__("os").environ


def test_bench_network_rows(monkeypatch):
    """The network bench's rows (tiny networks stand in for the two sizes): every K, positive
    times and synapse counts, and the row against Auryn quotes the one-thread K = 8 row and the
    slowest one-thread row (the least favourable ratio)."""
    import evoplast.bench_network as bn

    small = ["task.n_exc=80", "task.n_inh=20", "task.n_ext=500", "task.p_ext=0.1"]
    monkeypatch.setattr(bn, "SIZES", {"ei_ie_1000": small, "spikes_10000": small})
    rows = list(bn.bench_network(quick=True))
    net = [r for r in rows if r["bench"] == "network"]
    assert {r["K"] for r in net} == {1, 8, 32}
    assert all(r["s_per_simulated_s_per_candidate"] > 0 and r["synapses"] > 0 for r in net)
    (vs,) = [r for r in rows if r["bench"] == "network_vs_auryn"]
    (k8,) = [r for r in net if r["size"] == "spikes_10000" and r["K"] == 8 and r["threads"] == 1]
    assert vs["evoplast_s_per_simulated_s_per_candidate"] == k8["s_per_simulated_s_per_candidate"]
    one = {r["K"]: r["s_per_simulated_s_per_candidate"] for r in net
           if r["size"] == "spikes_10000" and r["threads"] == 1}
    assert vs["least_favourable_K"] == max(one, key=one.get)
    assert vs["least_favourable_ratio"] == bn.AURYN_S_PER_S / max(one.values()) <= vs["auryn_over_evoplast"]
