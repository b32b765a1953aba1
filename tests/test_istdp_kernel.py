"""Experiment 3's simulator against analytic quantities, the numpy reference and the mean field."""

import numpy as np
import pytest

from evoplast import theory
from evoplast.kernels import lif
from evoplast.rules.pre_post_trace import PrePostTraceRule
from evoplast.tasks import istdp_inputs

P = lif.NeuronParams()
VOGELS = PrePostTraceRule(tau_pre=0.02, tau_post=0.02, alpha=-2 * 5.0 * 0.02, beta=0.0, gamma=1.0,
                          kappa=1.0, eta=1e-3)
FROZEN = PrePostTraceRule(alpha=0.0, beta=0.0, gamma=0.0, kappa=0.0)


def constant_conductance_inputs(g0, duration, n_inh=4):
    """One excitatory conductance jump g0 at t = 0 that never decays (tau_exc = 1e9 s)."""
    n = int(round(duration / P.dt))
    gE = np.zeros(n)
    gE[0] = g0
    z = np.zeros(n_inh)
    return istdp_inputs.Inputs(gE, np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int64), n_inh, 0.0,
                      z, z.astype(int), z.astype(int), z, z)


def test_membrane_time_constant_from_simulated_relaxation():
    """Under constant conductance g0, V relaxes exponentially with tau_m / (1 + g0)."""
    g0 = 0.15
    neuron = lif.NeuronParams(tau_exc=1e9)
    x = constant_conductance_inputs(g0, 0.2)
    *_, v = lif.simulate_numpy(x, neuron, FROZEN.params()[None], np.zeros(4), record_v=True)
    v_inf = (P.v_rest + g0 * P.e_exc) / (1 + g0)
    assert v_inf < P.v_th
    t = np.arange(1, v.shape[1] + 1) * P.dt
    sel = (t > 0.005) & (t < 0.05)
    slope = np.polyfit(t[sel], np.log(v_inf - v[0, sel]), 1)[0]
    tau_eff = -1.0 / slope
    assert tau_eff * (1 + g0) == pytest.approx(P.tau_m, rel=0.01)
    # subthreshold mean voltage under constant conductance: the analytic V_inf
    assert v[0, -500:].mean() == pytest.approx(v_inf, abs=0.01)


@pytest.mark.parametrize("g0", [0.5, 1.0, 3.0])
def test_firing_rate_under_constant_conductance_matches_analytic(g0):
    """Regular firing: period t_ref + tau ln((V_inf - V_reset) / (V_inf - V_th)), tau = tau_m/(1+g0)."""
    neuron = lif.NeuronParams(tau_exc=1e9)
    x = constant_conductance_inputs(g0, 4.0)
    counts, _, _, status, _ = lif.simulate([x], neuron, FROZEN.params()[None], np.zeros((1, 4)),
                                           bin_s=4.0, silent_s=100.0, runaway_hz=1e4)
    v_inf = (P.v_rest + g0 * P.e_exc) / (1 + g0)
    period = P.t_ref + P.tau_m / (1 + g0) * np.log((v_inf - P.v_reset) / (v_inf - P.v_th))
    assert status[0, 0] == lif.OK
    assert counts[0, 0, 0] / 4.0 == pytest.approx(1.0 / period, rel=0.02)


def test_compiled_kernel_matches_numpy_reference():
    x = istdp_inputs.make_inputs(np.random.default_rng(3), 1.0, P, "pathways")
    rules = np.stack([VOGELS.params(), PrePostTraceRule(alpha=-0.5, beta=0.3, gamma=0.5, kappa=2.0,
                                                        tau_pre=0.01, tau_post=0.03, eta=5e-3).params()])
    counts, wmean, W, status, _ = lif.simulate([x], P, rules, np.full((1, x.n_inh), 0.2), bin_s=0.25)
    c2, wm2, W2 = lif.simulate_numpy(x, P, rules, np.full(x.n_inh, 0.2), bin_s=0.25)
    assert (status == lif.OK).all() and counts.sum() > 20
    np.testing.assert_array_equal(counts[:, 0], c2)
    np.testing.assert_allclose(W[:, 0], W2, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(wmean[:, 0], wm2, rtol=1e-9)


@pytest.mark.parametrize("rule", [
    PrePostTraceRule(alpha=-0.3, beta=0.2, gamma=1.0, kappa=0.5, tau_pre=0.02, tau_post=0.01, eta=1e-3),
    PrePostTraceRule(alpha=0.1, beta=-0.4, gamma=0.0, kappa=2.0, tau_pre=0.03, tau_post=0.05, eta=1e-3),
])
def test_mean_weight_drift_under_independent_poisson_matches_mean_field(rule):
    rng = np.random.default_rng(11)
    n_syn, duration, nu_pre, nu_post = 400, 50.0, 30.0, 12.0
    n = int(duration / P.dt)
    pre = rng.random((n, n_syn)) < nu_pre * P.dt
    steps, syn = np.nonzero(pre)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(steps, minlength=n), out=ptr[1:])
    post = rng.random(n) < nu_post * P.dt
    params = rule.params()
    params[-1] = 1e9  # w_max: no clipping
    w = np.full(n_syn, 100.0)
    lif.plasticity_only(ptr, syn.astype(np.int64), post, params, w, P.dt)
    drift = (w - 100.0) / duration  # per synapse, per second
    # the realised rates are what the formula should see
    realised_pre = pre.sum(axis=0) / duration
    realised_post = post.sum() / duration
    predicted = theory.istdp_mean_drift(rule.alpha, rule.beta, rule.gamma, rule.kappa, rule.tau_pre,
                                        rule.tau_post, realised_pre, realised_post, rule.eta)
    err = drift - predicted
    se = err.std(ddof=1) / np.sqrt(n_syn)
    assert abs(err.mean()) < 4 * se + 1e-12
    # and the drift is far from zero, so the comparison has power
    assert abs(predicted.mean()) > 20 * se


def test_rate_only_rule_settles_at_the_mean_field_fixed_point():
    """gamma = kappa = 0: the rate settles at nu* = -alpha nu_pre / beta (here 8 Hz)."""
    x = istdp_inputs.make_inputs(np.random.default_rng(5), 60.0, P, "poisson", rate_hz=40.0)
    target = 8.0
    rule = PrePostTraceRule(alpha=-0.2, beta=0.2 * x.inh_rate_hz / target, gamma=0.0, kappa=0.0,
                            eta=0.01)
    counts, *_ , status, _ = lif.simulate([x], P, rule.params()[None], np.full((1, x.n_inh), 0.1))
    assert status[0, 0] == lif.OK
    assert counts[0, 0, 30:].mean() == pytest.approx(target, rel=0.1)


@pytest.mark.parametrize("mode,low,high", [("pathways", 4.0, 4.4), ("poisson", 5.1, 5.5)])
def test_vogels_rule_reproduces_reference_figures(mode, low, high):
    """performance-notes.md: ~54 Hz in the first 10 s, 4.0-4.4 Hz (pathways) / 5.2-5.4 Hz (Poisson)
    over the last 50 s of 100 s, mean inhibitory weight ~0.9: the mean over 8 independent trials
    (one trial's late rate leaves the range in about a quarter of trials, see
    analysis/results/vogels_reference.csv; 8 trials' mean has a s.e. of ~0.06 Hz)."""
    xs = [istdp_inputs.make_inputs(np.random.default_rng([1, d]), 100.0, P, mode) for d in range(8)]
    counts, wmean, W, status, _ = lif.simulate(xs, P, VOGELS.params()[None], np.full((8, xs[0].n_inh), 0.1))
    rate = counts[0]  # (trials, bins)
    assert (status == lif.OK).all()
    assert 45 < rate[:, :10].mean() < 65
    assert low <= rate[:, 50:].mean() <= high
    assert 0.8 < W.mean() < 1.0


def _trains(i_ptr, i_idx, n_aff):
    steps = np.repeat(np.arange(i_ptr.size - 1), np.diff(i_ptr))
    return [steps[i_idx == a] for a in range(n_aff)]


@pytest.mark.parametrize("ref_steps", [0, 50])
def test_input_spikes_match_the_per_step_bernoulli_formulation(ref_steps):
    """The compiled generator (block-wise superposed events, one random word each) and the direct
    formulation (a Bernoulli draw per afferent per step, dead time after a spike) give the same
    process: same rate per pathway, no interval within the dead time, same interval statistics."""
    rng = np.random.default_rng(7)
    n_path, n_per, block, n_steps = 4, 50, 10, 30000
    rates = np.abs(rng.normal(60.0, 60.0, (n_path, n_steps // block)))  # Hz, held per block
    _, ptr, idx, counts = istdp_inputs.afferent_spikes(np.random.default_rng(8), rates, P.dt, block, n_steps,
                                              0, n_per, ref_steps, np.zeros(0))
    ref = istdp_inputs.afferent_spikes_numpy(np.random.default_rng(9), rates, P.dt, block, n_steps, n_per,
                                    ref_steps)
    assert ptr[-1] == idx.size == counts.sum()
    np.testing.assert_array_equal(np.bincount(idx, minlength=n_path * n_per), counts)
    new_trains = _trains(ptr, idx, n_path * n_per)
    ref_trains = [np.flatnonzero(ref[:, a]) for a in range(n_path * n_per)]
    for trains in (new_trains, ref_trains):
        isi = np.concatenate([np.diff(t) for t in trains])
        assert isi.min() > ref_steps
    per_path_new = counts.reshape(n_path, n_per)
    per_path_ref = ref.sum(axis=0).reshape(n_path, n_per)
    for k in range(n_path):  # afferent counts are independent: compare means within 4 s.e.
        a, b = per_path_new[k], per_path_ref[k]
        se = np.sqrt(a.var(ddof=1) / n_per + b.var(ddof=1) / n_per)
        assert abs(a.mean() - b.mean()) < 4 * se
        assert a.mean() > 100  # enough spikes for the comparison to have power
    isi_new = np.concatenate([np.diff(t) for t in new_trains])
    isi_ref = np.concatenate([np.diff(t) for t in ref_trains])
    assert isi_new.mean() == pytest.approx(isi_ref.mean(), rel=0.03)
    assert isi_new.std() / isi_new.mean() == pytest.approx(isi_ref.std() / isi_ref.mean(), rel=0.05)


def test_poisson_input_rate_is_the_per_step_hazard():
    """Constant rate r, no refractoriness: each afferent fires in a step with probability
    1 - exp(-r dt), so the mean rate is (1 - exp(-r dt)) / dt (39.92 Hz at 40 Hz)."""
    x = istdp_inputs.make_inputs(np.random.default_rng(2), 20.0, P, "poisson", rate_hz=40.0)
    rates = np.concatenate([x.exc_rate_hz, x.inh_rate_per_afferent])
    expected = (1 - np.exp(-40.0 * P.dt)) / P.dt
    se = rates.std(ddof=1) / np.sqrt(rates.size)
    assert abs(rates.mean() - expected) < 4 * se
    # the excitatory drive is the tuned weights' jumps at the excitatory spikes
    assert x.gE_in.sum() == pytest.approx(P.gbar_exc * np.sum(x.exc_weights * x.exc_rate_hz * 20.0))


def test_inputs_are_reproducible_from_the_seed():
    a = istdp_inputs.make_inputs(np.random.default_rng(4), 2.0, P, "pathways")
    b = istdp_inputs.make_inputs(np.random.default_rng(4), 2.0, P, "pathways")
    np.testing.assert_array_equal(a.gE_in, b.gE_in)
    np.testing.assert_array_equal(a.i_idx, b.i_idx)
    np.testing.assert_array_equal(a.i_ptr, b.i_ptr)


@pytest.mark.parametrize("mode, digest, n_inh", [("pathways", "805e2d8eafb16e5b", 37235),
                                                  ("poisson", "13d6456c7acad99f", 39824)])
def test_input_spike_trains_are_pinned_to_the_bit(mode, digest, n_inh):
    """The spike trains of one seed, digested: a speed change to the generator must draw the same
    spikes (these digests are those of 0.4.0's generator as first released, before the branchless
    dead-time test); a deliberate change of the stream updates them and the version."""
    import hashlib

    x = istdp_inputs.make_inputs(np.random.default_rng(2026), 5.0, lif.NeuronParams(), mode)
    h = hashlib.sha256()
    for a in (x.gE_in, x.i_ptr, x.i_idx):
        h.update(np.ascontiguousarray(a).tobytes())
    assert (h.hexdigest()[:16], x.i_idx.size) == (digest, n_inh)


def test_a_full_spike_buffer_is_drawn_again_from_the_same_state():
    """_draw_spikes reports an event buffer too small for the inhibitory spikes (-1) instead of
    growing it in the loop; the wrapper then draws again from the same seed state, so the result
    is the one a large enough buffer gives, and a thread's buffers, reused across trials, carry
    nothing from one trial to the next."""
    from evoplast.kernels import rng as krng

    rates = np.full((2, 100), 80.0)
    n_steps, jump = 1000, np.full(20, 0.01)
    state = krng.seed_state(np.random.default_rng(6))
    args = (rates, P.dt, 10, n_steps, 10, 10, 0, jump)
    tables = (krng.ZIG_K, krng.ZIG_W, krng.ZIG_F)

    def draw(cap):
        gE, counts = np.zeros(n_steps), np.zeros(40, dtype=np.int64)
        ev_step, ev_aff = np.empty(cap, dtype=np.int32), np.empty(cap, dtype=np.int32)
        work_i, work_f = np.empty(rates.shape[1] + 1, dtype=np.int64), np.empty(3 * (rates.shape[1] + 1))
        n = istdp_inputs._draw_spikes(state.copy(), *args, gE, ev_step, ev_aff, counts, work_i, work_f,
                                      *tables)
        if n < 0:
            return n, None, None, None, None
        ptr, idx = istdp_inputs._csr(ev_step, ev_aff, n, n_steps)
        return n, gE, ptr, idx, counts

    assert draw(5)[0] == -1
    n, gE, ptr, idx, counts = draw(10_000)
    assert n == idx.size == ptr[-1] > 5
    istdp_inputs._SCRATCH.events = np.full(6, -1, dtype=np.int32)  # room for 3 events
    ref = istdp_inputs.afferent_spikes(np.random.default_rng(6), *args)  # grows the buffer
    assert istdp_inputs._SCRATCH.events.size >= 2 * n
    again = istdp_inputs.afferent_spikes(np.random.default_rng(6), *args)  # reuses them
    for a, b, c in zip((gE, ptr, idx, counts), ref, again):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    kept = istdp_inputs._SCRATCH.events
    big = istdp_inputs._scratch("events", istdp_inputs.SCRATCH_MAX_ENTRIES + 1, np.int32)
    assert big.size > kept.size and istdp_inputs._SCRATCH.events is kept  # too large to keep


def test_inputs_drawn_in_threads_equal_the_sequential_ones():
    """The generator's work arrays are per thread: trials drawn concurrently in two threads (as
    the threading backend does) equal the same trials drawn one after another."""
    from concurrent.futures import ThreadPoolExecutor

    def draw(seed):
        return istdp_inputs.make_inputs(np.random.default_rng(seed), 3.0 + seed % 2, P, "pathways")

    seq = [draw(s) for s in range(6)]
    with ThreadPoolExecutor(2) as pool:
        par = list(pool.map(draw, range(6)))
    for a, b in zip(seq, par):
        for f in ("gE_in", "i_ptr", "i_idx", "exc_rate_hz", "inh_rate_per_afferent"):
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
