"""Brian2 (optional extra) and the compiled LIF kernel simulate the same model: same input spikes and
rule give the same output rate and mean final inhibitory weight. Skipped where Brian2 is absent (it
needs numpy < 2.4: `pip install ".[brian2]"` in its own environment); CI runs it in such an
environment with EVOPLAST_REQUIRE_BRIAN2=1, where a missing Brian2 fails instead of skipping."""

import os

import numpy as np
import pytest

from evoplast.kernels import lif
from evoplast.rules.pre_post_trace import PrePostTraceRule
from evoplast.tasks import istdp_inputs

if os.environ.get("EVOPLAST_REQUIRE_BRIAN2"):
    import brian2  # noqa: F401
else:
    brian2 = pytest.importorskip("brian2")


@pytest.mark.timeout(300)
def test_brian2_and_the_compiled_kernel_agree_on_rate_and_weights():
    from evoplast.kernels import brian2_ref

    p = lif.NeuronParams()
    rule = PrePostTraceRule(alpha=-0.2, beta=0.0, gamma=1.0, kappa=1.0, eta=1e-3).params()
    inputs = istdp_inputs.make_inputs(np.random.default_rng(0), 2.0, p, "pathways")
    b = brian2_ref.simulate_brian2(inputs, p, rule, 0.1)
    counts, _, W, status, _ = lif.simulate([inputs], p, rule[None], np.full((1, inputs.n_inh), 0.1),
                                           silent_s=1e9)
    rate = counts.sum() / 2.0
    assert rate > 20  # starts far above the target: the rule has work to do
    assert abs(b["rate_hz"] - rate) <= 0.05 * rate
    assert abs(b["mean_w_final"] - W.mean()) <= 0.05 * W.mean()
    assert W.mean() > 0.2  # the weights moved from 0.1


@pytest.mark.timeout(600)
def test_brian2_and_the_network_kernel_agree_on_rates_and_weights():
    """The E-I network (experiment 4) in Brian2 and in the compiled kernel, on the same connectivity,
    source spikes, initial weights and rule (Vogels' rule on I -> E from weak inhibition, so the
    rule has work to do): E and I rates over 2 s within 10%, mean final I -> E weight within 5%.
    (Not equal: Brian2's Euler decay of the conductances and its trace timing differ; see
    ``evoplast/kernels/brian2_network.py``.)"""
    from evoplast import seeding
    from evoplast.config import from_dict
    from evoplast.kernels import brian2_network
    from evoplast.tasks import make_task

    cfg = from_dict({"task": {"name": "ei_network", "train_s": 0.0, "score_s": 2.0, "w0": {"ie": [0.1, 0.1]},
                              "ext_rate_range": [3.0, 3.0], "record_neurons": 0},
                     "rule": {"family": "pre_post_trace_types", "plastic": ["ie"],
                              "ie": {"eta": 0.01, "w_max": 3.0}}})
    task = make_task(cfg)
    trials = task.make_trials(seeding.trial_seeds(0, seeding.STREAM_TRAIN, 0, 1))
    rule = task.known_rule()
    run = task.simulate(rule.to_vector(), trials)
    c = cfg.task
    rate_e = run.counts_e[0, 0].sum() / (c.n_exc * 2.0)
    rate_i = run.counts_i[0, 0].sum() / (c.n_inh * 2.0)
    w_ie = run.wstats[0, 0, 2, 0]
    b = brian2_network.simulate_brian2(trials.nets[0], c.n_exc, task.neuron.array(), rule.params(),
                                       task.plastic, c.w_ext, c.n_steps())
    assert rate_e > 12  # starts above the target: weak inhibition
    assert abs(b["rate_e_hz"] - rate_e) <= 0.1 * rate_e, (b["rate_e_hz"], rate_e)
    assert abs(b["rate_i_hz"] - rate_i) <= 0.1 * rate_i, (b["rate_i_hz"], rate_i)
    assert abs(b["mean_w_final"]["ie"] - w_ie) <= 0.05 * w_ie, (b["mean_w_final"]["ie"], w_ie)
    assert w_ie > 0.15  # the weights moved from 0.1


@pytest.mark.timeout(900)
def test_bench_network_times_brian2_interleaved_with_evoplast(monkeypatch, tmp_path):
    """``evoplast bench network``'s Brian2 side for real, on a small network: long-lived processes
    (numpy target, and cpp_standalone with the run time its binary records) answer one run per
    round, and the rows compare them with evoplast's runs of the same rounds."""
    import sys

    import evoplast.bench_network as bn
    from evoplast import seeding
    from evoplast.config import load_config
    from evoplast.tasks import make_task

    small = ["task.n_exc=80", "task.n_inh=20", "task.n_ext=500", "task.p_ext=0.3"]  # E ~18 Hz in evoplast
    monkeypatch.setattr(bn, "SIZES", {"small": small})
    monkeypatch.setattr(bn, "BRIAN2_RUNS", (("small", "numpy"), ("small", "cpp_standalone")))
    task = make_task(load_config("runs/ei_ie.toml", [*small, "task.train_s=0.0", "task.score_s=1.0"]))
    trials = task.make_trials(seeding.trial_seeds(0, seeding.STREAM_TRAIN, 0, 1))
    V = np.repeat(task.known_rule().to_vector()[None], 8, axis=0)
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    rows = list(bn._brian2_interleaved({"small": (task, trials, V)}, 2, "runs/ei_ie.toml", sys.executable))
    assert not list(scratch.iterdir())  # cpp_standalone's build directory is removed
    b2 = {r["target"]: r for r in rows if r["bench"] == "network_brian2"}
    assert set(b2) == {"numpy", "cpp_standalone"}, rows
    for r in b2.values():
        assert r["runs"] == r["rounds"] == 2
        assert 0 < r["s_per_simulated_s"] <= r["s_per_simulated_s_median"]
        assert r["rate_e_hz"] > 5  # the network ran, not silent
    cpp = b2["cpp_standalone"]
    assert 0 < cpp["self_recorded_s_per_simulated_s"] <= cpp["s_per_simulated_s"]  # without start and I/O
    (vs,) = [r for r in rows if r["bench"] == "network_vs_brian2"]
    assert 0 < vs["least_favourable_ratio"] <= min(vs["brian2_over_evoplast"],
                                                   vs["brian2_over_evoplast_median"])
