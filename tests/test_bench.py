"""`evoplast bench` prints measured figures (not a timed test: only the output's shape is checked)."""

import json

import pytest

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


FAKE_BRIAN2 = '''\
import json, sys
target = sys.argv[3]  # argv: sets, duration, target, rounds, config
base = {"cython": 0.8, "cpp_standalone": 0.2}[target]
print(json.dumps({"ready": True, "build_s": 1.0}), flush=True)
k = 0
for line in sys.stdin:
    k += 1
    run = base * k  # 1x, 2x, 3x: best and median differ
    print(json.dumps({"run_s": run, "internal_s": 0.5 * run if target == "cpp_standalone" else None}),
          flush=True)
print(json.dumps({"bench": "network_brian2", "target": target, "runs": k, "rate_e_hz": 10.0}), flush=True)
'''


def test_bench_network_interleaves_brian2_and_quotes_the_least_favourable_ratio(monkeypatch, tmp_path):
    """With a stand-in for the Brian2 processes (fixed run times, speaking the line protocol of
    ``brian2_network.serve``): every (size, target) process runs once per round, its best, median and
    self-recorded times are reported, the ratios are Brian2's time over evoplast's interleaved
    times, and the least favourable ratio is the smallest over K, statistic and Brian2 measure."""
    import sys

    import numpy as np

    import evoplast.bench as bench
    import evoplast.bench_network as bn

    fake = tmp_path / "brian2_python"
    fake.write_text(f"#!/bin/sh\nshift 2\nexec {sys.executable} {tmp_path / 'serve.py'} \"$@\"\n")
    fake.chmod(0o755)
    (tmp_path / "serve.py").write_text(FAKE_BRIAN2)
    monkeypatch.setattr(bench, "_brian2_python", lambda explicit: str(fake))
    small = ["task.n_exc=80", "task.n_inh=20", "task.n_ext=500", "task.p_ext=0.1"]
    monkeypatch.setattr(bn, "SIZES", {"ei_ie_1000": small, "spikes_10000": small})
    monkeypatch.setattr(bn, "ROUNDS", 3)
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    rows = list(bn.bench_network(quick=False))
    assert not list(scratch.iterdir())  # the Brian2 processes' build directories are removed
    b2 = {(r["size"], r["target"]): r for r in rows if r["bench"] == "network_brian2"}
    assert set(b2) == set(bn.BRIAN2_RUNS)
    for (_size, target), r in b2.items():
        base = 0.8 if target == "cython" else 0.2
        assert r["rounds"] == r["runs"] == 3
        assert np.isclose(r["s_per_simulated_s"], base / bn.BRIAN2_S)
        assert np.isclose(r["s_per_simulated_s_median"], 2 * base / bn.BRIAN2_S)
        assert ("self_recorded_s_per_simulated_s" in r) == (target == "cpp_standalone")
    vs = {r["size"]: r for r in rows if r["bench"] == "network_vs_brian2"}
    assert set(vs) == {"ei_ie_1000", "spikes_10000"}
    for r in vs.values():
        assert r["brian2_target"] == "cpp_standalone"
        assert np.isclose(r["brian2_over_evoplast"], 0.1 / r["evoplast_s_per_simulated_s_per_candidate"])
        assert np.isclose(r["brian2_over_evoplast_median"],
                          0.2 / r["evoplast_s_per_simulated_s_per_candidate_median"])
        # Brian2's fastest: cpp's self-recorded time (half its wall time), best 0.05, median 0.1
        slowest_best = max(r["evoplast_s_per_simulated_s_per_candidate"], r["evoplast_K1_s_per_simulated_s"])
        slowest_median = max(r["evoplast_s_per_simulated_s_per_candidate_median"],
                             r["evoplast_K1_s_per_simulated_s_median"])
        worst = min(0.05 / slowest_best, 0.1 / slowest_median)
        assert np.isclose(r["least_favourable_ratio"], worst)
        assert r["least_favourable_ratio"] <= min(r["brian2_over_evoplast"], r["brian2_over_evoplast_median"])
    (au,) = [r for r in rows if r["bench"] == "network_vs_auryn"]
    scale = bn.AURYN_S_PER_S / bn.NOTES_BRIAN2_S_PER_S
    assert np.isclose(au["auryn_estimated_s_per_simulated_s"], scale * 0.05)
    assert np.isclose(au["auryn_estimated_over_evoplast"], scale * 0.05
                      / vs["spikes_10000"]["evoplast_s_per_simulated_s_per_candidate"])


@pytest.mark.parametrize("when", ["build", "run"])
def test_bench_network_reports_a_failing_brian2_process(monkeypatch, tmp_path, when):
    """A Brian2 process that ends before it is ready, or at its first run, gives a row with its exit
    status and last message; the bench goes on without it (no ratio from it)."""
    import evoplast.bench as bench
    import evoplast.bench_network as bn

    fake = tmp_path / "brian2_python"
    ready = 'echo \'{"ready": true, "build_s": 1.0}\'\nread line\n' if when == "run" else ""
    fake.write_text(f"#!/bin/sh\n{ready}echo 'ImportError: no brian2 here' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(bench, "_brian2_python", lambda explicit: str(fake))
    small = ["task.n_exc=80", "task.n_inh=20", "task.n_ext=500", "task.p_ext=0.1"]
    monkeypatch.setattr(bn, "SIZES", {"ei_ie_1000": small})
    rows = list(bn.bench_network(quick=True))
    errors = [r for r in rows if r["bench"] == "network_brian2"]
    assert [(r["target"], "exit 3" in r["error"] and "no brian2 here" in r["error"]) for r in errors] == [
        ("cython", True), ("cpp_standalone", True)]
    assert not [r for r in rows if r["bench"] == "network_vs_brian2"]
