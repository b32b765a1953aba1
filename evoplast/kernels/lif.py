r"""Conductance-based LIF neuron with plastic inhibitory synapses (Vogels et al. 2011, one cell).

Units: time in seconds, voltage in mV, conductances in units of the leak conductance g_L.

.. math::

    \tau_m \frac{dV}{dt} = (V_{rest} - V) + g_E (E_E - V) + g_I (E_I - V), \qquad
    \frac{dg_{E,I}}{dt} = -\frac{g_{E,I}}{\tau_{E,I}} + \sum_{\text{spikes}} \bar g_{E,I}\, w

Spike when V >= V_th, then V = V_reset for the refractory period. Forward Euler, dt = 0.1 ms.
Each step: conductances decay and receive the step's input spikes, the inhibitory synapses that
spike apply the rule's presynaptic branch, V integrates; an output spike applies the postsynaptic
branch to every inhibitory synapse (traces decayed lazily from their last update).

Inputs are shared by all candidates of a generation (common random numbers): per trial,
``gE_in[t]`` (summed excitatory conductance jumps of step t, fixed weights) and the inhibitory
spikes as CSR (``i_ptr[t]:i_ptr[t+1]`` index ``i_idx``, the afferents spiking at step t).
Input spike trains are drawn by time rescaling: an afferent of a pathway with integrated rate
Lambda(t) fires when Lambda has grown by an Exp(1) budget since the end of its refractory period.

:func:`simulate` (compiled, parallel over candidates x trials) and :func:`simulate_numpy` (plain
numpy, batched over copies; the reference for short runs) have the same semantics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

OK, SILENT, RUNAWAY, NAN = 0, 1, 2, 3
STATUS_NAMES = {OK: "ok", SILENT: "silent", RUNAWAY: "runaway", NAN: "nan"}


@dataclass(frozen=True)
class NeuronParams:
    """Vogels 2011 single-cell defaults (C = 200 pF, g_L = 10 nS)."""

    tau_m: float = 0.020
    v_rest: float = -60.0
    v_reset: float = -60.0
    v_th: float = -50.0
    t_ref: float = 0.005
    e_exc: float = 0.0
    e_inh: float = -80.0
    tau_exc: float = 0.005
    tau_inh: float = 0.010
    gbar_exc: float = 0.014  # x g_L (140 pS)
    gbar_inh: float = 0.035  # x g_L (350 pS)
    dt: float = 1e-4

    def array(self) -> np.ndarray:
        return np.array([self.tau_m, self.v_rest, self.v_reset, self.v_th, self.t_ref, self.e_exc,
                         self.e_inh, self.tau_exc, self.tau_inh, self.gbar_exc, self.gbar_inh, self.dt])


@dataclass(frozen=True)
class Inputs:
    """One trial's input: gE_in (T,), i_ptr (T+1,), i_idx (n_events,), mean rate per afferent."""

    gE_in: np.ndarray
    i_ptr: np.ndarray
    i_idx: np.ndarray
    n_inh: int
    inh_rate_hz: float  # measured mean rate of the inhibitory afferents
    exc_weights: np.ndarray
    pathway_exc: np.ndarray  # pathway index of each excitatory afferent
    pathway_inh: np.ndarray
    exc_rate_hz: np.ndarray  # measured rate of each excitatory afferent
    inh_rate_per_afferent: np.ndarray


# -- input generation --------------------------------------------------------------------------
@numba.njit(cache=True, nogil=True)
def _ou_rates(normals, dt, tau, background, amplitude):
    """Exact OU update s(t+dt) = s a + sqrt(1-a^2) xi (mean 0, sd 1); rate = bg + amp * max(0, s)."""
    n_path, n_steps = normals.shape
    a = np.exp(-dt / tau)
    b = np.sqrt(1.0 - a * a)
    rates = np.empty((n_path, n_steps))
    for k in range(n_path):
        s = normals[k, 0]
        for t in range(n_steps):
            rates[k, t] = background + amplitude * max(0.0, s)
            s = s * a + b * normals[k, t]
    return rates


@numba.njit(cache=True)
def _first_reaching(cum, start, target):
    """Smallest t >= start with cum[t + 1] >= target (len(cum) - 1 if none): galloping search,
    which stays near ``start`` (cache-friendly: spikes are a few hundred steps apart)."""
    n = cum.shape[0] - 1
    lo = start
    step = 64
    hi = start + step
    while hi < n and cum[hi + 1] < target:
        lo = hi + 1
        step *= 2
        hi = lo + step
    if hi > n:
        hi = n
    while lo < hi:  # first t in [lo, hi) with cum[t + 1] >= target, else hi
        mid = (lo + hi) // 2
        if cum[mid + 1] >= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


@numba.njit(cache=True, parallel=True, nogil=True)
def _all_spike_steps(cum, pathway, budgets, ref_steps):
    """Time rescaling for every afferent, in parallel: the afferent fires at the first step where
    its pathway's integrated rate has grown by the next Exp(1) budget since the end of its last
    refractory period. Returns the concatenated spike steps, counts, and whether budgets sufficed."""
    n_aff, n_budget = budgets.shape
    n_steps = cum.shape[1] - 1
    out2 = np.empty((n_aff, n_budget), dtype=np.int64)
    counts = np.zeros(n_aff, dtype=np.int64)
    ok = np.zeros(n_aff, dtype=np.bool_)
    for a in numba.prange(n_aff):
        c = cum[pathway[a]]
        start = 0
        n = 0
        for i in range(n_budget):
            if start >= n_steps:
                break
            t = _first_reaching(c, start, c[start] + budgets[a, i])
            if t >= n_steps:
                start = n_steps
                break
            out2[a, n] = t
            n += 1
            start = t + 1 + ref_steps
        counts[a] = n
        ok[a] = start >= n_steps
    total = 0
    for a in range(n_aff):
        total += counts[a]
    out = np.empty(total, dtype=np.int64)
    pos = 0
    for a in range(n_aff):
        out[pos:pos + counts[a]] = out2[a, :counts[a]]
        pos += counts[a]
    return out, counts, ok.all()


def tuned_exc_weights(rng: np.random.Generator, pathway: np.ndarray) -> np.ndarray:
    """Fixed excitatory weights tuned to pathway 5: 0.3 + 1.1 / (1 + (k - 5)^4) + U(0, 0.1),
    k = pathway + 1 (one weight per afferent, ``pathway`` its 0-based pathway)."""
    k = pathway + 1
    return 0.3 + 1.1 / (1.0 + (k - 5.0) ** 4) + rng.uniform(0.0, 0.1, pathway.size)


def make_inputs(rng: np.random.Generator, duration: float, params: NeuronParams, mode: str,
                rate_hz: float = 40.0, n_path: int = 8, n_exc_per: int = 100, n_inh_per: int = 25,
                input_refractory: float = 0.005, ou_tau: float = 0.05, background_hz: float = 5.0,
                amplitude_hz: float = 150.0) -> Inputs:
    """Draw one trial's input spikes.

    ``mode = "pathways"``: per pathway rate ``background + amplitude * max(0, s(t))`` with s an
    Ornstein-Uhlenbeck process (mean 0, sd 1, time constant ``ou_tau``), afferent refractoriness
    ``input_refractory``, tuned excitatory weights ``0.3 + 1.1 / (1 + (k - 5)^4) + U(0, 0.1)``.
    ``mode = "poisson"``: every afferent independent Poisson at ``rate_hz`` (no refractoriness),
    same tuned excitatory weights.
    """
    dt = params.dt
    n_steps = int(round(duration / dt))
    n_exc, n_inh = n_path * n_exc_per, n_path * n_inh_per
    pathway_exc = np.repeat(np.arange(n_path), n_exc_per)
    pathway_inh = np.repeat(np.arange(n_path), n_inh_per)
    exc_w = tuned_exc_weights(rng, pathway_exc)
    if mode == "pathways":
        rates = _ou_rates(rng.standard_normal((n_path, n_steps)), dt, ou_tau, background_hz,
                          amplitude_hz)
        ref_steps = int(round(input_refractory / dt))
    elif mode == "poisson":
        rates = np.full((n_path, n_steps), float(rate_hz))
        ref_steps = 0
    else:
        raise ValueError(f"unknown input mode {mode!r}")
    cum = np.zeros((n_path, n_steps + 1))
    np.cumsum(rates * dt, axis=1, out=cum[:, 1:])

    pathway = np.concatenate([pathway_exc, pathway_inh])
    total = cum[:, -1].max()
    n_budget = int(total + 10 * np.sqrt(total) + 20)
    while True:
        budgets = rng.exponential(1.0, (pathway.size, n_budget))
        steps, counts, done = _all_spike_steps(cum, pathway, budgets, ref_steps)
        if done:
            break
        n_budget *= 2  # budgets ran out before the end (practically never): draw more
    offsets = np.concatenate([[0], np.cumsum(counts)])
    exc_steps = steps[: offsets[n_exc]]
    exc_ids = np.repeat(np.arange(n_exc), counts[:n_exc])
    gE_in = np.bincount(exc_steps, weights=params.gbar_exc * exc_w[exc_ids], minlength=n_steps)
    inh_steps = steps[offsets[n_exc]:]
    inh_ids = np.repeat(np.arange(n_inh, dtype=np.int64), counts[n_exc:])
    order = np.argsort(inh_steps, kind="stable")
    i_idx = inh_ids[order]
    i_ptr = np.zeros(n_steps + 1, dtype=np.int64)
    np.cumsum(np.bincount(inh_steps, minlength=n_steps), out=i_ptr[1:])
    exc_counts = counts[:n_exc].astype(float)
    inh_counts = counts[n_exc:].astype(float)
    return Inputs(gE_in, i_ptr, i_idx, n_inh, float(inh_counts.mean() / duration), exc_w,
                  pathway_exc, pathway_inh, exc_counts / duration, inh_counts / duration)


# -- the compiled kernel ------------------------------------------------------------------------
@numba.njit(cache=True, inline="always")
def on_pre(j, t, rule, w, x_pre, t_pre, x_post, t_post, dt):
    """Presynaptic spike of synapse j at step t: dw = eta (alpha + kappa x_post); x_pre += 1."""
    tau_pre, tau_post, alpha, beta, gamma, kappa, eta, w_max = rule
    xp = x_post * np.exp(-(t - t_post) * dt / tau_post)
    w[j] = min(max(w[j] + eta * (alpha + kappa * xp), 0.0), w_max)
    x_pre[j] = x_pre[j] * np.exp(-(t - t_pre[j]) * dt / tau_pre) + 1.0
    t_pre[j] = t


@numba.njit(cache=True, inline="always")
def on_post(t, rule, w, x_pre, t_pre, x_post, t_post, dt):
    """Postsynaptic spike at step t: dw = eta (beta + gamma x_pre) on every synapse.
    Returns the new x_post (decayed to t, plus 1)."""
    tau_pre, tau_post, alpha, beta, gamma, kappa, eta, w_max = rule
    for j in range(w.shape[0]):
        xq = x_pre[j] * np.exp(-(t - t_pre[j]) * dt / tau_pre)
        w[j] = min(max(w[j] + eta * (beta + gamma * xq), 0.0), w_max)
    return x_post * np.exp(-(t - t_post) * dt / tau_post) + 1.0


@numba.njit(cache=True)
def plasticity_only(pre_ptr, pre_idx, post_spike, rule, w, dt):
    """The rule alone, driven by given spike trains (no neuron): pre spikes as CSR per step,
    ``post_spike[t]`` True where the postsynaptic cell fires. Same update code as the neuron
    kernel. Updates w in place."""
    n_syn = w.shape[0]
    x_pre = np.zeros(n_syn)
    t_pre = np.zeros(n_syn, dtype=np.int64)
    x_post = 0.0
    t_post = 0
    for t in range(post_spike.shape[0]):
        for e in range(pre_ptr[t], pre_ptr[t + 1]):
            on_pre(pre_idx[e], t, rule, w, x_pre, t_pre, x_post, t_post, dt)
        if post_spike[t]:
            x_post = on_post(t, rule, w, x_pre, t_pre, x_post, t_post, dt)
            t_post = t


@numba.njit(cache=True)
def _run_one(gE_in, i_ptr, i_idx, neuron, rule, w, bin_steps, check_steps, runaway_hz, silent_steps,
             counts, wmean):
    """Simulate one copy; w (n_inh,) updated in place. Returns (status, steps simulated)."""
    tau_m, v_rest, v_reset, v_th, t_ref, e_exc, e_inh, tau_e, tau_i, gbar_e, gbar_i, dt = neuron
    n_steps = gE_in.shape[0]
    n_inh = w.shape[0]
    dec_e = np.exp(-dt / tau_e)
    dec_i = np.exp(-dt / tau_i)
    k_m = dt / tau_m
    ref_steps = int(round(t_ref / dt))
    x_pre = np.zeros(n_inh)
    t_pre = np.zeros(n_inh, dtype=np.int64)
    x_post = 0.0
    t_post = 0
    last_spike = 0
    v = v_rest
    g_e = 0.0
    g_i = 0.0
    ref = 0
    window = 0
    for t in range(n_steps):
        g_e = g_e * dec_e + gE_in[t]
        g_i = g_i * dec_i
        for e in range(i_ptr[t], i_ptr[t + 1]):
            j = i_idx[e]
            g_i += gbar_i * w[j]
            on_pre(j, t, rule, w, x_pre, t_pre, x_post, t_post, dt)
        if ref > 0:
            ref -= 1
        else:
            v += k_m * ((v_rest - v) + g_e * (e_exc - v) + g_i * (e_inh - v))
            if v >= v_th:
                v = v_reset
                ref = ref_steps
                x_post = on_post(t, rule, w, x_pre, t_pre, x_post, t_post, dt)
                t_post = t
                last_spike = t
                if t // bin_steps < counts.shape[0]:
                    counts[t // bin_steps] += 1
                window += 1
            elif not (v == v):
                return NAN, t + 1
        if (t + 1) % bin_steps == 0 and t // bin_steps < wmean.shape[0]:
            acc = 0.0
            for j in range(n_inh):
                acc += w[j]
            wmean[t // bin_steps] = acc / n_inh
        if (t + 1) % check_steps == 0:
            if window > runaway_hz * check_steps * dt:
                return RUNAWAY, t + 1
            window = 0
            if t + 1 - last_spike >= silent_steps:
                return SILENT, t + 1
    return OK, n_steps


@numba.njit(cache=True, parallel=True, nogil=True)
def _simulate(gE_all, i_ptr_all, i_idx_all, offsets_e, offsets_p, offsets_i, neuron, rules, W0,
              n_steps, bin_steps, check_steps, runaway_hz, silent_steps):
    K, D, n_inh = rules.shape[0], W0.shape[0], W0.shape[1]
    n_bins = n_steps // bin_steps
    counts = np.zeros((K, D, n_bins))
    wmean = np.full((K, D, n_bins), np.nan)
    W = np.empty((K, D, n_inh))
    status = np.zeros((K, D), dtype=np.int8)
    steps = np.zeros((K, D), dtype=np.int64)
    for p in numba.prange(K * D):
        k = p // D
        d = p - k * D
        w = W0[d].copy()
        gE_in = gE_all[offsets_e[d]:offsets_e[d] + n_steps]
        i_ptr = i_ptr_all[offsets_p[d]:offsets_p[d] + n_steps + 1]
        i_idx = i_idx_all[offsets_i[d]:offsets_i[d + 1]]
        st, ns = _run_one(gE_in, i_ptr, i_idx, neuron, rules[k], w, bin_steps, check_steps,
                          runaway_hz, silent_steps, counts[k, d], wmean[k, d])
        status[k, d] = st
        steps[k, d] = ns
        W[k, d] = w
    return counts, wmean, W, status, steps


def _pack(inputs: list[Inputs]):
    n_steps = inputs[0].gE_in.size
    gE = np.concatenate([x.gE_in for x in inputs])
    ptr = np.concatenate([x.i_ptr for x in inputs])
    idx = np.concatenate([x.i_idx for x in inputs]).astype(np.int64)
    off_e = np.arange(len(inputs), dtype=np.int64) * n_steps
    off_p = np.arange(len(inputs), dtype=np.int64) * (n_steps + 1)
    off_i = np.zeros(len(inputs) + 1, dtype=np.int64)
    np.cumsum([x.i_idx.size for x in inputs], out=off_i[1:])
    return gE, ptr, idx, off_e, off_p, off_i, n_steps


def simulate(inputs: list[Inputs], neuron: NeuronParams, rules: np.ndarray, W0: np.ndarray,
             bin_s: float = 1.0, check_s: float = 1.0, runaway_hz: float = 150.0,
             silent_s: float = 10.0):
    """Run K rules (rows of ``rules``: see :meth:`PrePostTraceRule.params`) on D trials.

    Returns counts (K, D, n_bins) of output spikes per bin, mean inhibitory weight at each bin's
    end (NaN after an early stop), final weights (K, D, n_inh), status (K, D), steps run (K, D).
    """
    gE, ptr, idx, off_e, off_p, off_i, n_steps = _pack(inputs)
    dt = neuron.dt
    bin_steps = max(1, int(round(bin_s / dt)))
    return _simulate(gE, ptr, idx, off_e, off_p, off_i, neuron.array(),
                     np.ascontiguousarray(rules, dtype=float), np.ascontiguousarray(W0, dtype=float),
                     n_steps, bin_steps, max(1, int(round(check_s / dt))), float(runaway_hz),
                     max(1, int(round(silent_s / dt))))


# -- the numpy reference ------------------------------------------------------------------------
def simulate_numpy(inputs: Inputs, neuron: NeuronParams, rules: np.ndarray, w0: np.ndarray,
                   bin_s: float = 1.0, record_v: bool = False):
    """Plain numpy, K copies in lock-step, one trial, dense per-step traces (no early stops).

    Returns counts (K, n_bins), mean weight per bin (K, n_bins), final weights (K, n_inh), and
    with ``record_v`` the membrane potential of every copy after each step (K, T).
    """
    p = neuron
    tau_pre, tau_post, alpha, beta, gamma, kappa, eta, w_max = np.asarray(rules, float).T
    K = len(tau_pre)
    n_steps = inputs.gE_in.size
    bin_steps = max(1, int(round(bin_s / p.dt)))
    n_bins = n_steps // bin_steps
    ref_steps = int(round(p.t_ref / p.dt))
    w = np.tile(np.asarray(w0, float), (K, 1))
    x_pre = np.zeros_like(w)
    x_post = np.zeros(K)
    v = np.full(K, p.v_rest)
    g_e = np.zeros(K)
    g_i = np.zeros(K)
    ref = np.zeros(K, dtype=int)
    counts = np.zeros((K, n_bins))
    wmean = np.full((K, n_bins), np.nan)
    v_trace = np.empty((K, n_steps)) if record_v else None
    dec_pre = np.exp(-p.dt / tau_pre)[:, None]
    dec_post = np.exp(-p.dt / tau_post)
    for t in range(n_steps):
        g_e = g_e * np.exp(-p.dt / p.tau_exc) + inputs.gE_in[t]
        g_i = g_i * np.exp(-p.dt / p.tau_inh)
        if t > 0:
            x_pre *= dec_pre
            x_post *= dec_post
        for j in inputs.i_idx[inputs.i_ptr[t]:inputs.i_ptr[t + 1]]:
            g_i = g_i + p.gbar_inh * w[:, j]
            w[:, j] = np.clip(w[:, j] + eta * (alpha + kappa * x_post), 0.0, w_max)
            x_pre[:, j] += 1.0
        active = ref == 0
        ref[~active] -= 1
        v = np.where(active, v + (p.dt / p.tau_m) * ((p.v_rest - v) + g_e * (p.e_exc - v)
                                                     + g_i * (p.e_inh - v)), v)
        spike = active & (v >= p.v_th)
        if spike.any():
            v[spike] = p.v_reset
            ref[spike] = ref_steps
            w[spike] = np.clip(w[spike] + eta[spike, None] * (beta[spike, None]
                                                              + gamma[spike, None] * x_pre[spike]),
                               0.0, w_max[spike, None])
            x_post[spike] += 1.0
            if t // bin_steps < n_bins:
                counts[spike, t // bin_steps] += 1
        if (t + 1) % bin_steps == 0 and t // bin_steps < n_bins:
            wmean[:, t // bin_steps] = w.mean(axis=1)
        if record_v:
            v_trace[:, t] = v
    if record_v:
        return counts, wmean, w, v_trace
    return counts, wmean, w
