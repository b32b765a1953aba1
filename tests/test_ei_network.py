"""Experiment 4 (recurrent E-I network): kernel against the numpy reference, task contract pieces,
plausibility metrics on spike trains of known statistics, bad configs."""

import math

import numpy as np
import pytest

from evoplast import seeding
from evoplast.config import from_dict
from evoplast.errors import ConfigError
from evoplast.kernels import ei_network as kern
from evoplast.kernels import ei_network_numpy
from evoplast.tasks import ei_metrics, make_task
from evoplast.tasks.ei_network import make_net


def small_config(**task):
    t = {"name": "ei_network", "n_exc": 48, "n_inh": 12, "p": {"ee": 0.3, "ei": 0.3, "ie": 0.5, "ii": 0.5},
         "n_ext": 200, "p_ext": 0.2, "w_ext": 0.12, "ext_rate_range": [4.0, 6.0], "train_s": 0.3,
         "score_s": 1.0, "bin_s": 0.1, "w0": {"ee": [0.05, 0.05], "ei": [0.05, 0.05], "ie": [0.2, 0.4],
                                              "ii": [0.3, 0.3]},
         "record_neurons": 48, "rate_bounds": [0.0, 1000.0], **task}
    rule = {"family": "pre_post_trace_types", "plastic": ["ee", "ie", "ii"],
            "ee": {"alpha": 0.1, "beta": -0.2, "gamma": 0.5, "kappa": -0.3, "eta": 0.01, "w_max": 0.2,
                   "tau_pre": 0.015},
            "ie": {"alpha": -0.4, "beta": 0.1, "eta": 0.02, "w_max": 1.0,
                   "search": ["alpha", "beta", "tau_post"]},
            "ii": {"alpha": -0.1, "beta": 0.05, "gamma": 1.0, "kappa": 1.0, "eta": 0.01, "w_max": 1.0}}
    return from_dict({"task": t, "rule": rule})


@pytest.mark.parametrize("nmda, jitter", [(0.0, False), (0.3, False), (0.0, True)])
def test_compiled_kernel_equals_numpy_reference_exactly(nmda, jitter):
    """Same spikes (every step, every neuron), same per-bin counts, same weights to the last bit,
    for three plastic types with different parameters (one static type), two candidates; without
    and with the NMDA conductance; with the static type's weights all equal (the kernel adds its
    one weight) and different per synapse (the kernel reads them)."""
    cfg = small_config(nmda_ratio=nmda)
    task = make_task(cfg)
    trials = task.make_trials(seeding.trial_seeds(3, 0, 0, 2))
    if jitter:
        rng = np.random.default_rng(1)
        trials.nets[:] = [x._replace(w0=np.where(np.asarray(task.plastic)[x.syn_type], x.w0,
                                                 x.w0 * rng.uniform(0.5, 1.5, x.w0.size)))
                          for x in trials.nets]
    base = task.rule_template
    other = base.from_vector(base.to_vector() * np.array([1.3, 0.5, 1.0, 0.7, 1.2, 1.0, 0.9, 1.1, 1.0]
                                                         [: base.n_params]))
    rules = np.stack([base.params(), other.params()])
    c = cfg.task
    dt = task.neuron.dt
    n_steps = c.n_steps()
    both = kern.simulate(trials.nets, c.n_exc, task.neuron.array(), rules, task.plastic, c.w_ext, n_steps,
                         int(round(c.bin_s / dt)), c.target_rate_hz, (0.0, 1e9), 1.0, 0, c.n_exc,
                         200000, (c.nmda_ratio, c.tau_nmda_s))
    # trial 0 below; trial 1 (packed after it, with its own tables) against the reference too
    net = trials.nets[1]
    run = kern.NetRun(*(x[:, 1:] for x in both))
    for k in range(2):
        ref = ei_network_numpy.simulate(net, c.n_exc, task.neuron.array(), rules[k], task.plastic,
                                        c.w_ext, n_steps, int(round(c.bin_s / dt)), c.target_rate_hz, 1.0,
                                        (c.nmda_ratio, c.tau_nmda_s))
        np.testing.assert_array_equal(run.counts_e[k, 0], ref["counts_e"])
        np.testing.assert_array_equal(run.wmean[k, 0], ref["wmean"])
    net = trials.nets[0]
    run = kern.NetRun(*(x[:, :1] for x in both))
    for k in range(2):
        ref = ei_network_numpy.simulate(net, c.n_exc, task.neuron.array(), rules[k], task.plastic,
                                        c.w_ext, n_steps, int(round(c.bin_s / dt)), c.target_rate_hz, 1.0,
                                        (c.nmda_ratio, c.tau_nmda_s))
        assert run.status[k, 0] == kern.OK
        assert ref["counts_e"].sum() > 50 and ref["counts_i"].sum() > 10  # the network is active
        np.testing.assert_array_equal(run.counts_e[k, 0], ref["counts_e"])
        np.testing.assert_array_equal(run.counts_i[k, 0], ref["counts_i"])
        e_spikes = ref["spikes"][ref["spikes"][:, 1] < c.n_exc]
        n = int(run.rec_count[k, 0])
        got = np.stack([run.rec_t[k, 0, :n], run.rec_n[k, 0, :n]], axis=1)
        np.testing.assert_array_equal(got, e_spikes)
        np.testing.assert_array_equal(run.wmean[k, 0], ref["wmean"])
        w = ref["w"]
        for ti in range(4):
            sel = net.syn_type == ti
            assert run.wstats[k, 0, ti, 0] == np.cumsum(w[sel])[-1] / sel.sum()
    # the rules changed the plastic weights and left the static type alone
    assert not np.allclose(run.wmean[0, 0, 0], net.w0[net.syn_type == 0][0])
    np.testing.assert_allclose(run.wmean[0, 0, 1], net.w0[net.syn_type == 1].mean(), rtol=1e-12)
    assert not np.array_equal(run.counts_e[0], run.counts_e[1])


def test_trial_tables_constant_static_weights_and_incoming_split():
    """``_prepare``: a static type whose weights are all equal gets that weight (else NaN, as plastic
    types do); each neuron's incoming plastic synapses from E neurons come before ``in_mid``, those
    from I neurons from it on."""
    cfg = small_config()
    task = make_task(cfg)
    net = task.make_trials(seeding.trial_seeds(3, 0, 0, 1)).nets[0]
    NE, N, S = cfg.task.n_exc, net.out_ptr.size - 1, net.syn_post.size
    plastic = np.asarray(task.plastic)

    def tables(w0):
        out_mid, in_mid = np.empty(N + 1, np.int64), np.empty(N + 1, np.int64)
        pidx, pl_type = np.empty(S, np.int32), np.empty(S, np.int8)
        in_cp = np.empty((net.in_syn.size, 2), np.int32)
        n_type, static_sum, w_const = np.empty(4), np.empty(4), np.empty(4)
        kern._prepare(NE, net.out_ptr, net.syn_post, net.syn_pre, net.syn_type, w0, net.in_ptr, net.in_syn,
                      plastic, out_mid, in_mid, pidx, pl_type, in_cp, n_type, static_sum, w_const)
        return w_const, in_mid, in_cp

    w_const, in_mid, in_cp = tables(net.w0)
    assert list(plastic) == [True, False, True, True]
    assert w_const[1] == 0.05 and np.isnan(w_const[[0, 2, 3]]).all()
    w0 = net.w0.copy()
    w0[np.flatnonzero(net.syn_type == 1)[-1]] = np.nextafter(0.05, 1.0)  # one synapse differs by one ulp
    assert np.isnan(tables(w0)[0]).all()
    for j in range(N):
        pre = in_cp[net.in_ptr[j]:net.in_ptr[j + 1], 1]
        m = in_mid[j] - net.in_ptr[j]
        assert (pre[:m] < NE).all() and (pre[m:] >= NE).all()
    assert (in_mid[:N] > net.in_ptr[:N]).any() and (in_mid[:N] < net.in_ptr[1:]).any()


def test_candidates_independent_of_block_split_and_threads(monkeypatch):
    """A candidate's result does not depend on which others share its block, on the split or on
    the block size."""
    task = make_task(small_config())
    trials = task.make_trials(seeding.trial_seeds(5, 0, 0, 2))
    rng = np.random.default_rng(0)
    V = task.rule_template.to_vector() + rng.normal(0, 0.05, (11, task.rule_template.n_params))
    full = task.simulate(V, trials)
    assert kern.block_size(trials.nets[0].out_ptr.size - 1) == kern.BLOCK
    part = task.simulate(V[[9, 3]], trials)
    np.testing.assert_array_equal(full.counts_e[[9, 3]], part.counts_e)
    np.testing.assert_array_equal(full.wstats[[9, 3]], part.wstats)
    for b in (1, 3):
        monkeypatch.setattr(kern, "block_size", lambda n, n_plastic=0, n_synapses=0, b=b: b)
        other = task.simulate(V, trials)
        for f in ("counts_e", "counts_i", "wmean", "wstats", "status", "steps"):
            np.testing.assert_array_equal(getattr(full, f), getattr(other, f), err_msg=f"{f} block {b}")
    monkeypatch.undo()
    assert kern.block_size(10_000, 320_000, 2_000_000) == 4  # SpikES size, I -> E plastic
    assert kern.block_size(1000, 200_000, 200_000) == 2  # 1000 neurons, all four types plastic
    assert kern.block_size(1000, 32_000, 200_000) == kern.BLOCK  # 1000 neurons, I -> E plastic
    assert kern.block_size(5120, 2_620_000, 2_620_000) == 1  # fSBI size, all four types plastic
    loss, status = task.evaluate(V[[3]], trials)
    np.testing.assert_array_equal(loss[0], task.evaluate(V, trials)[0][3])


def test_connectivity_statistics_and_conventions():
    """Per type, the synapse count is binomial(pairs, p) (within 5 sd), no self-connections, the
    pre -> post convention of TYPES holds, sources reach neurons with p_ext, source spikes have the
    trial's rate."""
    cfg = small_config(n_exc=200, n_inh=50, n_ext=400, train_s=1.0, score_s=1.0)
    task = make_task(cfg)
    trials = task.make_trials(seeding.trial_seeds(1, 0, 0, 1))
    net, c = trials.nets[0], cfg.task
    NE = c.n_exc
    size = {"e": NE, "i": c.n_inh}
    for ti, t in enumerate(kern.TYPES):
        sel = net.syn_type == ti
        pairs = size[t[0]] * (size[t[1]] - (t[0] == t[1]))
        p = c.connect_p()[t]
        assert abs(sel.sum() - p * pairs) < 5 * math.sqrt(pairs * p * (1 - p))
        assert np.all((net.syn_pre[sel] >= NE) == (t[0] == "i"))
        assert np.all((net.syn_post[sel] >= NE) == (t[1] == "i"))
    assert not np.any(net.syn_pre == net.syn_post)
    assert np.all(np.diff(net.syn_pre) >= 0)
    n_links = net.s_post.size
    assert abs(n_links - c.p_ext * c.n_ext * (NE + c.n_inh)) < 5 * math.sqrt(n_links)
    T = c.train_s + c.score_s
    assert abs(net.x_src.size - trials.ext_rate[0] * c.n_ext * T) < 5 * math.sqrt(net.x_src.size)
    # incoming plastic lists hold exactly the plastic synapses, each once
    plastic_ids = np.flatnonzero(np.isin(net.syn_type, [0, 2, 3]))
    np.testing.assert_array_equal(np.sort(net.in_syn), plastic_ids)


def test_same_seed_same_trials():
    task = make_task(small_config())
    a = task.make_trials(seeding.trial_seeds(2, 0, 0, 1)).nets[0]
    b = task.make_trials(seeding.trial_seeds(2, 0, 0, 1)).nets[0]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def poisson_trains(rng, n, rate, T, dt):
    n_steps = int(round(T / dt))
    counts = rng.poisson(rate * T, size=n)
    nn = np.repeat(np.arange(n), counts)
    t = rng.integers(0, n_steps, size=nn.size)
    return t, nn, n_steps


def test_metrics_of_independent_poisson_trains():
    """Independent Poisson trains: CV ~ 1, both Fano factors ~ 1, ISI law ~ exponential (small KL),
    no autocovariance, a flat population rate: every metric in fSBI's range except the weights'."""
    rng = np.random.default_rng(0)
    dt = 1e-4
    t, n, n_steps = poisson_trains(rng, 400, 10.0, 10.0, dt)
    m = ei_metrics.spike_metrics(t, n, 400, n_steps, dt)
    assert m["rate"] == pytest.approx(10.0, rel=0.02)
    assert m["cv_isi"] == pytest.approx(1.0, abs=0.05)
    assert m["spatial_Fano"] == pytest.approx(1.0, abs=0.1)
    assert m["temporal_Fano"] == pytest.approx(1.0, abs=0.1)
    assert m["kl_isi"] < 0.05
    assert m["auto_cov"] < 0.02
    assert m["std_rate_temporal"] == pytest.approx(math.sqrt(0.01 / 400), rel=0.1)
    m.update(rate_i=10.0, w_blow=0.0, w_creep=0.0)
    ok, bad = ei_metrics.plausible(m)
    assert ok, bad


def test_metrics_see_regular_and_synchronous_firing():
    """Regular trains: CV ~ 0 (implausible); all neurons firing at the same steps: the population
    rate's sd over 1 ms bins and its spectrum far above the asynchronous trains'; a drifting weight:
    w_creep."""
    dt = 1e-4
    n_steps = 100000
    n = np.repeat(np.arange(100), 100)
    offs = np.random.default_rng(1).integers(0, 1000, 100)
    t = (np.tile(np.arange(100) * 1000, 100) + np.repeat(offs, 100)) % n_steps  # 10 Hz, regular
    m = ei_metrics.spike_metrics(t, n, 100, n_steps, dt)
    assert m["cv_isi"] < 0.05
    assert not ei_metrics.plausible({**m, "rate_i": 10, "w_blow": 0, "w_creep": 0})[0]
    sync = np.tile(np.arange(100) * 1000, 100)  # every neuron at the same steps
    s = ei_metrics.spike_metrics(sync, n, 100, n_steps, dt)
    assert s["std_rate_temporal"] > 0.05 > m["std_rate_temporal"]
    assert s["fft"] > 10 * m["fft"]
    assert not ei_metrics.plausible({**s, "rate_i": 10, "w_blow": 0, "w_creep": 0})[0]
    w = ei_metrics.weight_metrics([1.0], [1.2], [0.0])
    assert w["w_creep"] == pytest.approx(2 * 0.2 / 2.2)


def test_vogels_rule_on_ie_holds_the_target_and_metrics_are_reported():
    """Vogels' rule on I -> E (the task's known rule; mean-field fixed point exactly 10 Hz) brings the
    E rate of the 1000-neuron network to within 25% of 10 Hz within 3 s from initial I -> E weights
    drawn in [0, 0.3], where the frozen rule misses by more. (It settles above the target, 10.8 and
    11.8 Hz on these trials: as in experiment 3, spike correlations shift Vogels' fixed point.)"""
    cfg = from_dict({"task": {"name": "ei_network", "train_s": 3.0, "score_s": 1.0, "n_ext": 5000,
                              "record_neurons": 200},
                     "rule": {"family": "pre_post_trace_types", "plastic": ["ie"],
                              "ie": {"eta": 0.01, "w_max": 3.0}}})
    task = make_task(cfg)
    trials = task.make_trials(seeding.trial_seeds(7, 2, 0, 2))
    rule = task.known_rule()
    assert rule.rule("ie").alpha == pytest.approx(-0.4) and rule.rule("ie").beta == 0.0
    m = task.metrics(rule.to_vector(), trials)
    assert m["n_ok"] == 2
    assert max(abs(r - 10.0) / 10.0 for r in m["rate_e_hz"]) < 0.25, m["rate_e_hz"]
    for per in m["per_trial"]:
        assert set(ei_metrics.RANGES) <= set(per)
    frozen = task.rule_template  # alpha = beta = 0: no rate terms
    assert task.metrics(frozen.to_vector(), trials)["max_relative_rate_error"] > 0.25


@pytest.mark.parametrize("change, message", [
    ({"task": {"p": {"ee": 1.5}}}, "task.p.ee must be a probability"),
    ({"task": {"p": {"xy": 0.1}}}, "unknown synapse type 'xy'"),
    ({"task": {"p_ext": -0.1}}, "task.p_ext must be a probability"),
    ({"task": {"n_exc": -5}}, "task.n_exc must be >= 1"),
    ({"task": {"n_inh": 0}}, "task.n_inh must be >= 1"),
    ({"task": {"target_rate_hz": 0.0}}, "task.target_rate_hz must be >= 0.01"),
    ({"task": {"rate_bounds": [20.0, 100.0]}}, "task.rate_bounds must be"),
    ({"task": {"w_max_range": {"ee": [2.0, 3.0]}}}, "'ee' is not a plastic type"),
    ({"rule": {"plastic": ["ie", "ie"]}}, "rule.plastic must be distinct"),
    ({"rule": {"plastic": ["ie", "ex"]}}, "rule.plastic must be distinct synapse types"),
    ({"rule": {"plastic": ["ee", "ei", "ie", "ii", "ee"]}}, "rule.plastic must be distinct"),
    ({"rule": {"ee": {"eta": 0.1}}}, "rule.ee is given but 'ee' is not in rule.plastic"),
    ({"rule": {"ie": {"search": ["alpha", "zeta"]}}}, "rule.ie.search must be distinct names"),
    ({"task": {"n_exc": 40000, "n_inh": 10000, "p": {"ee": 0.5, "ei": 0.5, "ie": 0.5, "ii": 0.5}}},
     "GiB"),
    ({"task": {"n_exc": 200000, "n_inh": 50000, "p": {"ee": 0.5, "ei": 0.5, "ie": 0.5, "ii": 0.5}}},
     "indices are 32-bit integers"),
    ({"task": {"score_s": 5.0, "score_window_s": 6.0}}, r"task.score_window_s must be in \[0, task.score_s"),
    ({"task": {"score_window_s": -1.0}}, "task.score_window_s must be in"),
    ({"task": {"score_s": 5.0, "score_window_s": 2.05}}, "task.score_window_s must be a multiple of"),
])
def test_bad_network_configs_are_refused_before_anything_runs(change, message):
    data = {"task": {"name": "ei_network"}, "rule": {"family": "pre_post_trace_types", "plastic": ["ie"]}}
    for section, values in change.items():
        data[section].update(values)
    with pytest.raises(ConfigError, match=message):
        from_dict(data)


def test_make_net_rejects_nothing_silently_for_empty_types():
    """p = 0 for a type gives no synapse of it (and the kernel runs)."""
    cfg = small_config(p={"ee": 0.0, "ei": 0.3, "ie": 0.5, "ii": 0.0})
    task = make_task(cfg)
    net = make_net(np.random.default_rng(0), cfg.task, ("ee", "ie", "ii"), {t: 1.0 for t in kern.TYPES},
                   {t: 0.1 for t in kern.TYPES}, 5.0)
    assert not np.isin(net.syn_type, [0, 3]).any()
    run = task.simulate(task.rule_template.to_vector(), task.make_trials(seeding.trial_seeds(0, 0, 0, 1)))
    assert run.status[0, 0] == kern.OK
    assert np.isnan(run.wstats[0, 0, 0, 0])  # no ee synapse: no mean


def test_plausibility_penalty_adds_the_range_violations():
    """With task.plausibility_weight w, each completed trial's loss grows by w x the summed range
    violations of its metrics, exactly; with w = 0 the loss is the rate loss alone."""
    base = make_task(small_config())
    pen = make_task(small_config(plausibility_weight=0.5))
    trials = base.make_trials(seeding.trial_seeds(4, 0, 0, 2))
    v = base.rule_template.to_vector()[None]
    l0, s0 = base.evaluate(v, trials)
    l1, s1 = pen.evaluate(v, trials)
    np.testing.assert_array_equal(s0, s1)
    per = pen.trial_metrics(pen.simulate(v, trials, record=True), trials)
    viol = np.array([ei_metrics.violation(m, pen.cfg.ranges()) for m in per])
    assert (viol > 0).any()
    np.testing.assert_allclose(l1[0], l0[0] + 0.5 * viol, rtol=1e-12)
    assert ei_metrics.violation({"rate": 60.0}, {"rate": (1.0, 50.0)}) == pytest.approx(10 / 49)
    assert ei_metrics.violation({"rate": float("nan")}, {"rate": (1.0, 50.0)}) == 1.0


def test_random_score_window_scores_its_bins_and_leaves_the_trials_alone():
    """task.score_window_s < score_s: each trial scores a window of that length at its own offset
    (a multiple of bin_s from the trial's seed, drawn after everything else, so networks, inputs
    and the window-less trials are unchanged); the loss is the relative squared E-rate error over
    exactly those bins. score_window_s = 0 or = score_s scores the whole phase."""
    whole = make_task(small_config(score_s=2.0))
    win = make_task(small_config(score_s=2.0, score_window_s=0.5))
    seeds = seeding.trial_seeds(6, 0, 0, 4)
    tw, tf = win.make_trials(seeds), whole.make_trials(seeds)
    for a, b in zip(tw.nets, tf.nets):
        for f in kern.Net._fields:
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert (tf.window0 == 0).all()
    nb, nw = 20, 5
    assert ((tw.window0 >= 0) & (tw.window0 <= nb - nw)).all() and len(set(tw.window0.tolist())) > 1
    np.testing.assert_array_equal(win.make_trials(seeds).window0, tw.window0)  # from the seeds
    v = win.rule_template.to_vector()[None]
    run = win.simulate(v, tw)
    b0 = 3  # train_s 0.3 / bin_s 0.1
    for d, w in enumerate(tw.window0):
        nu = run.counts_e[0, d, b0 + w:b0 + w + nw].sum() / (48 * 0.5)
        assert win._loss(run, tw)[0, d] == pytest.approx(((nu - 10.0) / 10.0) ** 2, rel=1e-12)
        assert nu != run.counts_e[0, d, b0:b0 + nb].sum() / (48 * 2.0)
    np.testing.assert_array_equal(win.evaluate(v, tw)[0], win._loss(run, tw))
    same = make_task(small_config(score_s=2.0, score_window_s=2.0))
    assert (same.make_trials(seeds).window0 == 0).all()
    np.testing.assert_array_equal(same.evaluate(v, tf)[0], whole.evaluate(v, tf)[0])


def test_checkpoint_hash_ignores_the_later_score_window_key_at_its_default(hash_without_key):
    """A run checkpointed before task.score_window_s existed resumes: its config hash (the resolved
    config without the key, as the earlier version wrote it) equals this version's at the default;
    a set window changes the hash."""
    from evoplast.search import config_hash

    cfg = small_config()
    now = config_hash(cfg)
    with_window = config_hash(small_config(score_window_s=0.5))
    assert hash_without_key(cfg, "task", "score_window_s") == now
    assert with_window != now


def test_logged_metrics_are_the_trial_metrics_and_reach_evaluations_csv(tmp_path):
    """``evaluate_logged`` returns the declared metrics, equal to :meth:`trial_metrics` on every
    trial (the same loss as ``evaluate``); a search writes their mean over trials per candidate to
    ``evaluations.csv`` as ``metric:<name>``; without the plausibility term only the cheap ones."""
    import pandas as pd

    from evoplast import run

    cfg = small_config(plausibility_weight=0.5, n_trials=2)
    task = make_task(cfg)
    assert task.logged_metrics[:5] == ("rate_e_hz", "rate_i_hz", "w_ee", "w_ie", "w_ii")
    assert {"cv_isi", "w_blow", "plausible"} <= set(task.logged_metrics)
    trials = task.make_trials(seeding.trial_seeds(4, 0, 0, 2))
    X = task.rule_template.to_vector()[None] * np.array([[1.0], [3.0]])
    loss, status, logged = task.evaluate_logged(X, trials)
    assert set(logged) == set(task.logged_metrics)
    np.testing.assert_array_equal(loss, task.evaluate(X, trials)[0])
    run_ = task.simulate(X, trials, record=True)
    for k in range(2):
        for d, m in enumerate(task.trial_metrics(run_, trials, k)):
            assert logged["plausible"][k, d] == float(m["plausible"])
            assert logged["rate_e_hz"][k, d] == m["rate_e_hz"] and logged["cv_isi"][k, d] == m["cv_isi"]
            assert logged["w_ie"][k, d] == m["final_mean_weight"]["ie"]
    assert make_task(small_config()).logged_metrics == ("rate_e_hz", "rate_i_hz", "w_ee", "w_ie", "w_ii")

    cfg = from_dict({**cfg.to_dict(), "cmaes": {"popsize": 4, "generations": 1, "sigma0": 0.3},
                     "run": {"seed": 3, "n_jobs": 1}})
    run(cfg, tmp_path / "r")
    ev = pd.read_csv(tmp_path / "r" / "evaluations.csv")
    cols = [f"metric:{n}" for n in task.logged_metrics]
    assert set(cols) <= set(ev.columns)
    X = ev[[c for c in ev.columns if c.startswith("c:")]].to_numpy()
    g0 = make_task(cfg).evaluate_logged(X, make_task(cfg).make_trials(
        seeding.trial_seeds(3, seeding.STREAM_TRAIN, 0, 2)))[2]
    for n in task.logged_metrics:
        np.testing.assert_allclose(ev[f"metric:{n}"], np.nanmean(g0[n], axis=1), rtol=1e-12)


def test_logged_metrics_come_back_from_the_cache_and_old_logs_keep_their_header(tmp_path):
    """The evaluation cache stores the logged metrics (a second evaluation simulates nothing and
    gives the same); a log begun without ``metric:*`` columns (an older evoplast) keeps its header
    when appended to, and any other change of columns is refused."""
    from evoplast import parallel
    from evoplast.errors import RunDirError
    from evoplast.storage import RunDir

    cfg = small_config(plausibility_weight=0.5)
    task = make_task(cfg)
    seeds = seeding.trial_seeds(5, 0, 0, 2)
    X = task.rule_template.to_vector()[None] * np.array([[1.0], [2.0]])
    ctx = parallel.EvalCache.context(cfg)
    cache = parallel.EvalCache(tmp_path / "cache.sqlite")
    with parallel.Evaluator(1, cache=cache) as ev:
        first = ev.evaluate(task, X, seeds=seeds, context=ctx)
        again = ev.evaluate(task, X[::-1], seeds=seeds, context=ctx)
    assert first.evaluated == 2 and again.evaluated == 0
    for n in task.logged_metrics:
        np.testing.assert_array_equal(again.metrics[n], first.metrics[n][::-1])

    rd = RunDir(tmp_path / "run")
    rd.path.mkdir()
    rd.append_rows("evaluations.csv", [{"generation": 0, "loss": 1.0}])
    rd.append_rows("evaluations.csv", [{"generation": 1, "loss": 2.0, "metric:rate_e_hz": 9.0}])
    assert (rd.path / "evaluations.csv").read_text().splitlines() == ["generation,loss", "0,1.0", "1,2.0"]
    with pytest.raises(RunDirError, match="resume with the version that began it"):
        rd.append_rows("evaluations.csv", [{"generation": 2, "task_loss": 2.0}])
