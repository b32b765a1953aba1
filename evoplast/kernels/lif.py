r"""Conductance-based LIF neuron with plastic inhibitory synapses (Vogels et al. 2011, one cell).

Units: time in seconds, voltage in mV, conductances in units of the leak conductance g_L.

.. math::

    \tau_m \frac{dV}{dt} = (V_{rest} - V) + g_E (E_E - V) + g_I (E_I - V), \qquad
    \frac{dg_{E,I}}{dt} = -\frac{g_{E,I}}{\tau_{E,I}} + \sum_{\text{spikes}} \bar g_{E,I}\, w

Spike when V >= V_th, then V = V_reset for the refractory period. Forward Euler, dt = 0.1 ms.
Each step: conductances and the postsynaptic trace decay, the step's input spikes arrive, the
inhibitory synapses that spike apply the rule's presynaptic branch, V integrates; an output spike
applies the postsynaptic branch to every inhibitory synapse (presynaptic traces decayed lazily from
their last spike through decay tables).

Inputs are shared by all candidates of a generation (common random numbers): per trial,
``gE_in[t]`` (summed excitatory conductance jumps of step t, fixed weights) and the inhibitory
spikes as CSR (``i_ptr[t]:i_ptr[t+1]`` index ``i_idx``, the afferents spiking at step t).
Input spike trains (:func:`make_inputs`, :func:`afferent_spikes`) are drawn per 1-ms block in
which each pathway's rate is constant: all pathways' candidate events superposed, one random word
each for pathway, afferent and step, then in step order an event is a spike unless its afferent is
refractory -- per afferent and step the hazard 1 - exp(-r dt) of a non-refractory afferent, as
the direct per-step Bernoulli formulation (:func:`afferent_spikes_numpy`) has it.

:func:`simulate` (compiled: 8 candidates of a trial in lock-step, parallel over candidate blocks x
trials) and :func:`simulate_numpy` (plain numpy, batched over copies; the reference for short
runs) have the same semantics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from .status import NAN, OK, RUNAWAY, SILENT, names

STATUS_NAMES = names(OK, SILENT, RUNAWAY, NAN)


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
def _ou_rates(normals, block_s, tau, background, amplitude):
    """Per pathway, an Ornstein-Uhlenbeck signal on the block grid, exact update
    s(t + h) = s a + sqrt(1 - a^2) xi (a = exp(-h / tau); mean 0, sd 1), held over each block;
    rate = background + amplitude * max(0, s)."""
    n_path, n_blocks = normals.shape
    a = np.exp(-block_s / tau)
    b = np.sqrt(1.0 - a * a)
    rates = np.empty((n_path, n_blocks))
    for k in range(n_path):
        s = normals[k, 0]
        for m in range(n_blocks):
            rates[k, m] = background + amplitude * max(0.0, s)
            s = s * a + b * normals[k, m]
    return rates


@numba.njit(cache=True, nogil=True)
def _draw_spikes(words, n_events, rates, block_steps, n_steps, n_exc_per, n_inh_per, ref_steps,
                 exc_jump, gE, i_ptr, i_idx, aff_counts):
    """Every afferent's spikes, block by block, from 32-bit random words (one per event).

    Within a block of ``block_steps`` steps pathway k's rate r_k is constant and its
    n = n_exc_per + n_inh_per afferents share it. The block's candidate events (all pathways
    superposed: Poisson(n h sum_k r_k) in number, ``n_events[m]``, drawn by the caller) each take
    one word u: x = u sum_k r_k picks the pathway (cumulative rates), the remainder within it one
    of the n x block_steps (afferent, step) cells uniformly. In step order (a counting sort), an
    event is a spike unless its afferent spiked within the last ``ref_steps`` steps (at most one
    spike per step). Per afferent and step that is the hazard 1 - exp(-r dt) when not refractory,
    as per-afferent time rescaling gives. Excitatory spikes add their conductance jump to
    ``gE[step]``; inhibitory ones fill the CSR ``i_ptr`` (n_steps + 1,) / ``i_idx`` in step order.
    ``aff_counts`` gets every afferent's spike count (excitatory first). Returns the number of
    inhibitory spikes.
    """
    n_path, n_blocks = rates.shape
    n_grp = n_exc_per + n_inh_per
    n_aff = n_path * n_grp
    n_exc = n_path * n_exc_per
    jump = np.zeros(n_aff)  # per superposed index g = k n_grp + a
    is_inh = np.zeros(n_aff, dtype=np.bool_)
    ident = np.empty(n_aff, dtype=np.int64)  # index into aff_counts
    for k in range(n_path):
        for a in range(n_grp):
            g = k * n_grp + a
            if a < n_exc_per:
                jump[g] = exc_jump[k * n_exc_per + a]
                ident[g] = k * n_exc_per + a
            else:
                is_inh[g] = True
                ident[g] = n_exc + k * n_inh_per + (a - n_exc_per)
    last = np.full(n_aff, -(ref_steps + 1), dtype=np.int64)
    cum = np.empty(n_path)
    lo = np.empty(n_path)
    cells = np.empty(n_path)  # cells per unit of x in pathway k
    n_cells = n_grp * block_steps
    inv_bs = 1.0 / block_steps
    cap = 1024
    keys = np.empty(cap, dtype=np.int64)
    order = np.empty(cap, dtype=np.int64)
    per_step = np.empty(block_steps + 1, dtype=np.int64)
    pos = 0
    n_inh_ev = 0
    for m in range(n_blocks):
        t0 = m * block_steps
        total = 0.0
        for k in range(n_path):
            r = rates[k, m]
            lo[k] = total
            total += r
            cum[k] = total
            cells[k] = n_cells / r if r > 0 else 0.0
        n = n_events[m]
        if n > cap:
            cap = 2 * n
            keys = np.empty(cap, dtype=np.int64)
            order = np.empty(cap, dtype=np.int64)
        scale = total / 4294967296.0
        for i in range(n):  # decode: no loop-carried dependency
            x = words[pos + i] * scale
            k = 0
            for q in range(n_path - 1):
                k += x >= cum[q]
            c = min(int((x - lo[k]) * cells[k]), n_cells - 1)
            a = int((c + 0.5) * inv_bs)  # c // block_steps, without an integer division
            keys[i] = ((c - a * block_steps) << 32) | (k * n_grp + a)
        pos += n
        per_step[:] = 0  # counting sort by step (stable)
        for i in range(n):
            per_step[(keys[i] >> 32) + 1] += 1
        for o in range(block_steps):
            per_step[o + 1] += per_step[o]
        for i in range(n):
            o = keys[i] >> 32
            order[per_step[o]] = keys[i]
            per_step[o] += 1
        if t0 + block_steps > n_steps:  # the last block may reach past the trial
            n = per_step[n_steps - t0 - 1] if n_steps > t0 else 0
        for i in range(n):
            key = order[i]
            st = t0 + (key >> 32)
            g = key & 0xFFFFFFFF
            if st - last[g] > ref_steps:
                last[g] = st
                aff_counts[ident[g]] += 1
                if is_inh[g]:
                    i_ptr[st + 1] += 1
                    i_idx[n_inh_ev] = ident[g] - n_exc
                    n_inh_ev += 1
                else:
                    gE[st] += jump[g]
    for t in range(n_steps):
        i_ptr[t + 1] += i_ptr[t]
    return n_inh_ev


def tuned_exc_weights(rng: np.random.Generator, pathway: np.ndarray) -> np.ndarray:
    """Fixed excitatory weights tuned to pathway 5: 0.3 + 1.1 / (1 + (k - 5)^4) + U(0, 0.1),
    k = pathway + 1 (one weight per afferent, ``pathway`` its 0-based pathway)."""
    k = pathway + 1
    return 0.3 + 1.1 / (1.0 + (k - 5.0) ** 4) + rng.uniform(0.0, 0.1, pathway.size)


def afferent_spikes(rng: np.random.Generator, rates: np.ndarray, dt: float, block_steps: int,
                    n_steps: int, n_exc_per: int, n_inh_per: int, ref_steps: int,
                    exc_jump: np.ndarray):
    """Spikes of ``n_exc_per + n_inh_per`` afferents per pathway whose rate is ``rates[k, m]`` (Hz)
    over block m (``block_steps`` steps of ``dt``), refractory for ``ref_steps`` steps after a
    spike (:func:`_draw_spikes`; the number of candidate events per block is drawn here).
    Returns the summed excitatory conductance jumps per step (``exc_jump`` per excitatory
    afferent, pathway-major), the inhibitory spikes as CSR (``i_ptr`` (n_steps + 1,), ``i_idx``)
    and the spike count of every afferent (excitatory first, then inhibitory)."""
    n_path = rates.shape[0]
    n_events = rng.poisson((n_exc_per + n_inh_per) * block_steps * dt * rates.sum(axis=0))
    n_total = int(n_events.sum())
    words = rng.bit_generator.random_raw((n_total + 1) // 2).view(np.uint32)
    gE_in = np.zeros(n_steps)
    i_ptr = np.zeros(n_steps + 1, dtype=np.int64)
    i_idx = np.empty(n_total, dtype=np.int64)
    counts = np.zeros(n_path * (n_exc_per + n_inh_per), dtype=np.int64)
    n_inh_ev = _draw_spikes(words, n_events, np.ascontiguousarray(rates, dtype=float), block_steps,
                            n_steps, n_exc_per, n_inh_per, ref_steps,
                            np.ascontiguousarray(exc_jump, dtype=float), gE_in, i_ptr, i_idx, counts)
    return gE_in, i_ptr, i_idx[:n_inh_ev].copy(), counts


def afferent_spikes_numpy(rng: np.random.Generator, rates: np.ndarray, dt: float, block_steps: int,
                          n_steps: int, n_per: int, ref_steps: int) -> np.ndarray:
    """Reference for :func:`afferent_spikes`, written the direct way: every step, every afferent
    that is not refractory fires with probability ``1 - exp(-r dt)`` (one Bernoulli draw per
    afferent per step). Returns spikes (n_steps, n_path * n_per), pathway-major."""
    n_path = rates.shape[0]
    spikes = np.zeros((n_steps, n_path * n_per), dtype=bool)
    last = np.full(n_path * n_per, -(ref_steps + 1))
    for t in range(n_steps):
        p = np.repeat(1.0 - np.exp(-rates[:, t // block_steps] * dt), n_per)
        fire = (rng.random(n_path * n_per) < p) & (t - last > ref_steps)
        spikes[t] = fire
        last[fire] = t
    return spikes


def make_inputs(rng: np.random.Generator, duration: float, params: NeuronParams, mode: str,
                rate_hz: float = 40.0, n_path: int = 8, n_exc_per: int = 100, n_inh_per: int = 25,
                input_refractory: float = 0.005, ou_tau: float = 0.05, background_hz: float = 5.0,
                amplitude_hz: float = 150.0, block_s: float = 0.001) -> Inputs:
    """Draw one trial's input spikes (compiled: :func:`afferent_spikes`).

    ``mode = "pathways"``: per pathway rate ``background + amplitude * max(0, s(t))`` with s an
    Ornstein-Uhlenbeck process (mean 0, sd 1, time constant ``ou_tau``, exact update on a grid of
    ``block_s`` and held over each block), afferent refractoriness ``input_refractory``.
    ``mode = "poisson"``: every afferent independent Poisson at ``rate_hz`` (no refractoriness).
    Both: tuned excitatory weights ``0.3 + 1.1 / (1 + (k - 5)^4) + U(0, 0.1)``; per step an
    afferent that is not refractory fires with probability ``1 - exp(-rate dt)``.
    Random numbers from ``rng``, in order: the weights, the OU normals, the number of candidate
    events per block, one 32-bit word per event (from the bit generator's raw output).
    """
    dt = params.dt
    n_steps = int(round(duration / dt))
    n_exc, n_inh = n_path * n_exc_per, n_path * n_inh_per
    pathway_exc = np.repeat(np.arange(n_path), n_exc_per)
    pathway_inh = np.repeat(np.arange(n_path), n_inh_per)
    exc_w = tuned_exc_weights(rng, pathway_exc)
    block_steps = max(1, int(round(block_s / dt)))
    n_blocks = -(-n_steps // block_steps)
    h = block_steps * dt
    if mode == "pathways":
        rates = _ou_rates(rng.standard_normal((n_path, n_blocks)), h, ou_tau, background_hz,
                          amplitude_hz)
        ref_steps = int(round(input_refractory / dt))
    elif mode == "poisson":
        rates = np.full((n_path, n_blocks), float(rate_hz))
        ref_steps = 0
    else:
        raise ValueError(f"unknown input mode {mode!r}")
    gE_in, i_ptr, i_idx, counts = afferent_spikes(rng, rates, dt, block_steps, n_steps, n_exc_per,
                                                  n_inh_per, ref_steps, params.gbar_exc * exc_w)
    exc_counts = counts[:n_exc].astype(float)
    inh_counts = counts[n_exc:].astype(float)
    return Inputs(gE_in, i_ptr, i_idx, n_inh, float(inh_counts.mean() / duration), exc_w,
                  pathway_exc, pathway_inh, exc_counts / duration, inh_counts / duration)


# -- the compiled kernel ------------------------------------------------------------------------
TABLE_BITS = 8  # decay over g steps = LO[g & 255] * HI[g >> 8] for g < 2^16, else exp()


@numba.njit(cache=True)
def decay_tables(taus, dt):
    """``exp(-g dt / tau)`` for each tau of ``taus`` as two tables of shape (256, len(taus)):
    ``lo[g & 255, k] * hi[g >> 8, k]`` for g < 65536 steps (the lazily decayed presynaptic traces
    need it per event; a lookup costs less than exp)."""
    n = 1 << TABLE_BITS
    lo = np.empty((n, taus.shape[0]))
    hi = np.empty((n, taus.shape[0]))
    for k in range(taus.shape[0]):
        for i in range(n):
            lo[i, k] = np.exp(-i * dt / taus[k])
            hi[i, k] = np.exp(-(i << TABLE_BITS) * dt / taus[k])
    return lo, hi


@numba.njit(cache=True, inline="always")
def decay(lo, hi, k, gap, dt, tau):
    """exp(-gap dt / tau) for an integer gap >= 0 (column k of :func:`decay_tables`)."""
    if gap < (1 << (2 * TABLE_BITS)):
        return lo[gap & ((1 << TABLE_BITS) - 1), k] * hi[gap >> TABLE_BITS, k]
    return np.exp(-gap * dt / tau)


@numba.njit(cache=True, inline="always")
def clipped(w, dw, w_max):
    """The weight after a change, clipped to [0, w_max]."""
    return min(max(w + dw, 0.0), w_max)


@numba.njit(cache=True, inline="always")
def on_pre(j, t, rule, w, x_pre, t_pre, x_post, lo, hi, dt):
    """Presynaptic spike of synapse j at step t: dw = eta (alpha + kappa x_post); x_pre += 1
    (``x_post`` is current: it decays every step)."""
    tau_pre, tau_post, alpha, beta, gamma, kappa, eta, w_max = rule
    w[j] = clipped(w[j], eta * (alpha + kappa * x_post), w_max)
    x_pre[j] = x_pre[j] * decay(lo, hi, 0, t - t_pre[j], dt, tau_pre) + 1.0
    t_pre[j] = t


@numba.njit(cache=True, inline="always")
def on_post(t, rule, w, x_pre, t_pre, lo, hi, dt):
    """Postsynaptic spike at step t: dw = eta (beta + gamma x_pre) on every synapse (presynaptic
    traces decayed lazily from their last update)."""
    tau_pre, tau_post, alpha, beta, gamma, kappa, eta, w_max = rule
    for j in range(w.shape[0]):
        xq = x_pre[j] * decay(lo, hi, 0, t - t_pre[j], dt, tau_pre)
        w[j] = clipped(w[j], eta * (beta + gamma * xq), w_max)


@numba.njit(cache=True)
def plasticity_only(pre_ptr, pre_idx, post_spike, rule, w, dt):
    """The rule alone, driven by given spike trains (no neuron): pre spikes as CSR per step,
    ``post_spike[t]`` True where the postsynaptic cell fires. The same updates as the neuron
    kernel (which writes them out for 8 candidates in lock-step), one synapse set at a time, for
    the mean-field drift test. Updates w in place."""
    n_syn = w.shape[0]
    lo, hi = decay_tables(rule[:1].copy(), dt)
    dec_post = np.exp(-dt / rule[1])
    x_pre = np.zeros(n_syn)
    t_pre = np.zeros(n_syn, dtype=np.int64)
    x_post = 0.0
    for t in range(post_spike.shape[0]):
        x_post *= dec_post
        for e in range(pre_ptr[t], pre_ptr[t + 1]):
            on_pre(pre_idx[e], t, rule, w, x_pre, t_pre, x_post, lo, hi, dt)
        if post_spike[t]:
            on_post(t, rule, w, x_pre, t_pre, lo, hi, dt)
            x_post += 1.0


BLOCK = 8  # candidates simulated in lock-step on one trial (one AVX-512 vector of float64)


@numba.njit(cache=True)
def _run_block(gE_in, i_ptr, i_idx, neuron, rules, w0, bin_steps, check_steps, runaway_hz,
               silent_steps, counts, wmean, w_out, status, steps):
    """Simulate B = len(rules) candidates in lock-step on one trial.

    What depends only on the input is computed once per step for the block: the excitatory
    conductance and the last spike time of every inhibitory afferent; per candidate (inner loops of
    length B, contiguous, vectorised): inhibitory conductance, membrane, traces, weights (laid out
    synapse-major, ``w[j, k]``). The postsynaptic trace decays every step (one multiply), the
    presynaptic ones lazily through decay tables. A candidate that escapes (silent, runaway, NaN) is
    recorded at that step (status, steps run, weights) and no longer counted; the block stops when
    every candidate has. Bins and escape checks count down (no division per step).
    Fills counts (B, n_bins), wmean (B, n_bins), w_out (B, n_inh), status (B,), steps (B,).
    """
    tau_m, v_rest, v_reset, v_th, t_ref, e_exc, e_inh, tau_e, tau_i, gbar_e, gbar_i, dt = neuron
    n_steps = gE_in.shape[0]
    n_inh = w0.shape[0]
    n_bins = counts.shape[1]
    B = rules.shape[0]
    tau_pre = rules[:, 0].copy()
    alpha = rules[:, 2].copy()
    beta = rules[:, 3].copy()
    gamma = rules[:, 4].copy()
    kappa = rules[:, 5].copy()
    eta = rules[:, 6].copy()
    w_max = rules[:, 7].copy()
    dec_post = np.exp(-dt / rules[:, 1])
    lo, hi = decay_tables(tau_pre, dt)
    fac = np.empty(B)  # a spiking afferent's trace decay, per candidate
    dec_e = np.exp(-dt / tau_e)
    dec_i = np.exp(-dt / tau_i)
    k_m = dt / tau_m
    ref_steps = int(round(t_ref / dt))
    runaway_count = runaway_hz * check_steps * dt
    w = np.empty((n_inh, B))
    for j in range(n_inh):
        w[j, :] = w0[j]
    x_pre = np.zeros((n_inh, B))
    t_pre = np.zeros(n_inh, dtype=np.int64)
    x_post = np.zeros(B)
    v = np.full(B, v_rest)
    g_i = np.zeros(B)
    ref = np.zeros(B, dtype=np.int64)
    spiked = np.zeros(B, dtype=np.bool_)
    window = np.zeros(B, dtype=np.int64)
    last_spike = np.zeros(B, dtype=np.int64)
    done = np.zeros(B, dtype=np.bool_)
    n_done = 0
    g_e = 0.0
    b = 0
    bin_left = bin_steps
    check_left = check_steps
    for t in range(n_steps):
        g_e = g_e * dec_e + gE_in[t]
        for k in range(B):
            g_i[k] *= dec_i
            x_post[k] *= dec_post[k]
        for e in range(i_ptr[t], i_ptr[t + 1]):
            j = i_idx[e]
            gap = t - t_pre[j]
            t_pre[j] = t
            for k in range(B):
                fac[k] = decay(lo, hi, k, gap, dt, tau_pre[k])
            for k in range(B):
                wk = w[j, k]
                g_i[k] += gbar_i * wk
                w[j, k] = clipped(wk, eta[k] * (alpha[k] + kappa[k] * x_post[k]), w_max[k])
                x_pre[j, k] = x_pre[j, k] * fac[k] + 1.0
        n_spiked = 0
        for k in range(B):
            active = ref[k] == 0
            vk = v[k] + k_m * ((v_rest - v[k]) + g_e * (e_exc - v[k]) + g_i[k] * (e_inh - v[k]))
            fire = active and vk >= v_th
            v[k] = v_reset if fire else (vk if active else v[k])
            ref[k] = ref_steps if fire else (ref[k] if active else ref[k] - 1)
            spiked[k] = fire
            n_spiked += fire
        if n_spiked:
            for k in range(B):
                if spiked[k]:
                    for j in range(n_inh):
                        f = decay(lo, hi, k, t - t_pre[j], dt, tau_pre[k])
                        w[j, k] = clipped(w[j, k], eta[k] * (beta[k] + gamma[k] * x_pre[j, k] * f),
                                          w_max[k])
                    x_post[k] += 1.0
                    last_spike[k] = t
                    window[k] += 1
                    if b < n_bins and not done[k]:
                        counts[k, b] += 1
        bin_left -= 1
        if bin_left == 0:
            if b < n_bins:
                for k in range(B):
                    if not done[k]:
                        acc = 0.0
                        for j in range(n_inh):
                            acc += w[j, k]
                        wmean[k, b] = acc / n_inh
            b += 1
            bin_left = bin_steps
        check_left -= 1
        if check_left == 0:
            check_left = check_steps
            for k in range(B):
                if done[k]:
                    continue
                st = OK
                if not (v[k] == v[k]):
                    st = NAN
                elif window[k] > runaway_count:
                    st = RUNAWAY
                elif t + 1 - last_spike[k] >= silent_steps:
                    st = SILENT
                window[k] = 0
                if st != OK:
                    done[k] = True
                    n_done += 1
                    status[k] = st
                    steps[k] = t + 1
                    w_out[k] = w[:, k]
            if n_done == B:
                return
    for k in range(B):
        if not done[k]:
            status[k] = OK
            steps[k] = n_steps
            w_out[k] = w[:, k]


@numba.njit(cache=True, parallel=True, nogil=True)
def _simulate(gE_all, i_ptr_all, i_idx_all, offsets_e, offsets_p, offsets_i, neuron, rules, W0,
              n_steps, bin_steps, check_steps, runaway_hz, silent_steps):
    K, D, n_inh = rules.shape[0], W0.shape[0], W0.shape[1]
    n_bins = n_steps // bin_steps
    n_blk = (K + BLOCK - 1) // BLOCK
    counts = np.zeros((D, K, n_bins))
    wmean = np.full((D, K, n_bins), np.nan)
    W = np.empty((D, K, n_inh))
    status = np.zeros((D, K), dtype=np.int8)
    steps = np.zeros((D, K), dtype=np.int64)
    for p in numba.prange(n_blk * D):
        d = p // n_blk
        k0 = (p - d * n_blk) * BLOCK
        k1 = min(K, k0 + BLOCK)
        gE_in = gE_all[offsets_e[d]:offsets_e[d] + n_steps]
        i_ptr = i_ptr_all[offsets_p[d]:offsets_p[d] + n_steps + 1]
        i_idx = i_idx_all[offsets_i[d]:offsets_i[d + 1]]
        _run_block(gE_in, i_ptr, i_idx, neuron, rules[k0:k1], W0[d], bin_steps, check_steps,
                   runaway_hz, silent_steps, counts[d, k0:k1], wmean[d, k0:k1], W[d, k0:k1],
                   status[d, k0:k1], steps[d, k0:k1])
    return (counts.transpose(1, 0, 2), wmean.transpose(1, 0, 2), W.transpose(1, 0, 2),
            status.T, steps.T)


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
