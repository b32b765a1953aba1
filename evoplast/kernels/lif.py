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
spikes as CSR (``i_ptr[t]:i_ptr[t+1]`` index ``i_idx``, the afferents spiking at step t), drawn
by the task's input model (:mod:`evoplast.tasks.istdp_inputs`, an ``Inputs`` object per trial).

:func:`simulate` (compiled: 8 candidates of a trial in lock-step, parallel over candidate blocks x
trials) and :func:`simulate_numpy` (plain numpy, batched over copies; the reference for short
runs) have the same semantics.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, NamedTuple

import numba
import numpy as np
from numba.typed import List

from .status import NAN, OK, RUNAWAY, SILENT, names

if TYPE_CHECKING:  # the input model lives on the task side; the kernel only reads its arrays
    from ..tasks.istdp_inputs import Inputs

STATUS_NAMES = names(OK, SILENT, RUNAWAY, NAN)


class TraceParams(NamedTuple):
    """The layout of a row of ``rules`` (one candidate's pre/post trace rule, natural units): what
    :meth:`PrePostTraceRule.params` gives; the compiled kernel reads the row by position."""

    tau_pre: float | np.ndarray
    tau_post: float | np.ndarray
    alpha: float | np.ndarray
    beta: float | np.ndarray
    gamma: float | np.ndarray
    kappa: float | np.ndarray
    eta: float | np.ndarray
    w_max: float | np.ndarray


class LifRun(NamedTuple):
    """What :func:`simulate` returns, for K candidates on D trials."""

    counts: np.ndarray  # (K, D, n_bins) output spikes per bin
    wmean: np.ndarray  # (K, D, n_bins) mean inhibitory weight at each bin's end (NaN after a stop)
    W: np.ndarray  # (K, D, n_inh) final weights
    status: np.ndarray  # (K, D) kernels.status codes
    steps: np.ndarray  # (K, D) steps run


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

    @classmethod
    def from_overrides(cls, overrides: dict, key: str = "task.neuron") -> NeuronParams:
        """The defaults with ``overrides`` (a config's ``task.neuron`` table), checked: unknown
        names, non-positive time constants, negative refractoriness or conductance scales, a reset
        not below threshold and a dt coarser than a tenth of the time constants are refused."""
        from ..errors import ConfigError

        known = {f.name for f in fields(cls)}
        bad = sorted(set(overrides) - known)
        if bad:
            raise ConfigError(f"unknown {key} key {bad[0]!r} (known: {', '.join(sorted(known))})")
        p = cls(**overrides)
        for name in ("tau_m", "tau_exc", "tau_inh", "dt"):
            if not getattr(p, name) > 0:
                raise ConfigError(f"{key}.{name} must be > 0 (seconds), got {getattr(p, name)}")
        for name in ("t_ref", "gbar_exc", "gbar_inh"):
            if not getattr(p, name) >= 0:
                raise ConfigError(f"{key}.{name} must be >= 0, got {getattr(p, name)}")
        if not p.v_reset < p.v_th:
            raise ConfigError(f"{key}.v_reset ({p.v_reset}) must be below v_th ({p.v_th})")
        if not p.dt <= min(p.tau_m, p.tau_exc, p.tau_inh) / 10:
            raise ConfigError(f"{key}.dt = {p.dt} s is too coarse for the time constants "
                              "(at most a tenth of tau_m, tau_exc and tau_inh)")
        return p

    def array(self) -> np.ndarray:
        return np.array([self.tau_m, self.v_rest, self.v_reset, self.v_th, self.t_ref, self.e_exc,
                         self.e_inh, self.tau_exc, self.tau_inh, self.gbar_exc, self.gbar_inh, self.dt])


# -- the compiled kernel ------------------------------------------------------------------------
TABLE_BITS = 8  # decay over g steps = LO[g & 255] * HI[g >> 8] for g < 2^16, else exp()


@numba.njit(cache=True)
def decay_tables(taus: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
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
def decay(lo: np.ndarray, hi: np.ndarray, k: int, gap: int, dt: float, tau: float) -> float:
    """exp(-gap dt / tau) for an integer gap >= 0 (column k of :func:`decay_tables`)."""
    if gap < (1 << (2 * TABLE_BITS)):
        return lo[gap & ((1 << TABLE_BITS) - 1), k] * hi[gap >> TABLE_BITS, k]
    return np.exp(-gap * dt / tau)


@numba.njit(cache=True, inline="always")
def clipped(w: float, dw: float, w_max: float) -> float:
    """The weight after a change, clipped to [0, w_max]."""
    return min(max(w + dw, 0.0), w_max)


@numba.njit(cache=True, inline="always")
def on_pre(
    j: int,
    t: int,
    rule: np.ndarray,
    w: np.ndarray,
    x_pre: np.ndarray,
    t_pre: np.ndarray,
    x_post: float,
    lo: np.ndarray,
    hi: np.ndarray,
    dt: float,
) -> None:
    """Presynaptic spike of synapse j at step t: dw = eta (alpha + kappa x_post); x_pre += 1
    (``x_post`` is current: it decays every step)."""
    tau_pre, tau_post, alpha, beta, gamma, kappa, eta, w_max = rule
    w[j] = clipped(w[j], eta * (alpha + kappa * x_post), w_max)
    x_pre[j] = x_pre[j] * decay(lo, hi, 0, t - t_pre[j], dt, tau_pre) + 1.0
    t_pre[j] = t


@numba.njit(cache=True, inline="always")
def on_post(
    t: int,
    rule: np.ndarray,
    w: np.ndarray,
    x_pre: np.ndarray,
    t_pre: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    dt: float,
) -> None:
    """Postsynaptic spike at step t: dw = eta (beta + gamma x_pre) on every synapse (presynaptic
    traces decayed lazily from their last update)."""
    tau_pre, tau_post, alpha, beta, gamma, kappa, eta, w_max = rule
    for j in range(w.shape[0]):
        xq = x_pre[j] * decay(lo, hi, 0, t - t_pre[j], dt, tau_pre)
        w[j] = clipped(w[j], eta * (beta + gamma * xq), w_max)


@numba.njit(cache=True)
def plasticity_only(
    pre_ptr: np.ndarray,
    pre_idx: np.ndarray,
    post_spike: np.ndarray,
    rule: np.ndarray,
    w: np.ndarray,
    dt: float,
) -> np.ndarray:
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
def _simulate(gE_list, i_ptr_list, i_idx_list, neuron, rules, W0, n_steps, bin_steps, check_steps,
              runaway_hz, silent_steps):
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
        _run_block(gE_list[d], i_ptr_list[d], i_idx_list[d], neuron, rules[k0:k1], W0[d], bin_steps,
                   check_steps, runaway_hz, silent_steps, counts[d, k0:k1], wmean[d, k0:k1], W[d, k0:k1],
                   status[d, k0:k1], steps[d, k0:k1])
    return (counts.transpose(1, 0, 2), wmean.transpose(1, 0, 2), W.transpose(1, 0, 2),
            status.T, steps.T)


def _pack(inputs: list[Inputs]):
    """The trials' arrays as three typed lists (no copy: each trial's own arrays), and n_steps."""
    n_steps = inputs[0].gE_in.size
    if any(x.gE_in.size != n_steps for x in inputs):
        raise ValueError("every trial of one simulate() call must have the same number of steps")
    gE, ptr, idx = List(), List(), List()
    for x in inputs:
        gE.append(np.ascontiguousarray(x.gE_in, dtype=np.float64))
        ptr.append(np.ascontiguousarray(x.i_ptr, dtype=np.int64))
        idx.append(np.ascontiguousarray(x.i_idx, dtype=np.int64))
    return gE, ptr, idx, n_steps


def simulate(
    inputs: list[Inputs],
    neuron: NeuronParams,
    rules: np.ndarray,
    W0: np.ndarray,
    bin_s: float = 1.0,
    check_s: float = 1.0,
    runaway_hz: float = 150.0,
    silent_s: float = 10.0,
) -> LifRun:
    """Run K rules (rows of ``rules``: see :meth:`PrePostTraceRule.params`) on D trials.

    Returns a :class:`LifRun`: counts (K, D, n_bins) of output spikes per bin, mean inhibitory
    weight at each bin's end (NaN after an early stop), final weights (K, D, n_inh), status (K, D),
    steps run (K, D).
    """
    gE, ptr, idx, n_steps = _pack(inputs)
    dt = neuron.dt
    bin_steps = max(1, int(round(bin_s / dt)))
    return LifRun(*_simulate(gE, ptr, idx, neuron.array(),
                             np.ascontiguousarray(rules, dtype=float), np.ascontiguousarray(W0, dtype=float),
                             n_steps, bin_steps, max(1, int(round(check_s / dt))), float(runaway_hz),
                             max(1, int(round(silent_s / dt)))))


# -- the numpy reference ------------------------------------------------------------------------
def simulate_numpy(
    inputs: Inputs,
    neuron: NeuronParams,
    rules: np.ndarray,
    w0: np.ndarray,
    bin_s: float = 1.0,
    record_v: bool = False,
) -> tuple[np.ndarray, ...]:
    """Plain numpy, K copies in lock-step, one trial, dense per-step traces (no early stops).

    Returns counts (K, n_bins), mean weight per bin (K, n_bins), final weights (K, n_inh), and
    with ``record_v`` the membrane potential of every copy after each step (K, T).
    """
    p = neuron
    r = TraceParams(*np.asarray(rules, float).T)
    alpha, beta, gamma, kappa, eta, w_max = r.alpha, r.beta, r.gamma, r.kappa, r.eta, r.w_max
    K = len(r.tau_pre)
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
    dec_pre = np.exp(-p.dt / r.tau_pre)[:, None]
    dec_post = np.exp(-p.dt / r.tau_post)
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
