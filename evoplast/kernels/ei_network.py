r"""Recurrent E-I network of conductance-based LIF neurons with plastic synapse types (exp. 4).

Neurons 0..NE-1 are excitatory (E), NE..N-1 inhibitory (I); all share experiment 3's neuron
(:class:`evoplast.kernels.lif.NeuronParams`; the ``gbar`` fields are not used: weights are
conductance jumps in units of the leak conductance, as in Auryn). Per neuron n and candidate:

.. math::

    \tau_m \frac{dV_n}{dt} = (V_{rest} - V_n) + (g_{E,n} + g_{X,n})(E_E - V_n) + g_{I,n}(E_I - V_n),
    \qquad \frac{dg}{dt} = -\frac{g}{\tau_{syn}} + \sum_{\text{spikes}} w

with tau_exc for g_E and the external g_X, tau_inh for g_I. Spike at V >= V_th, reset, refractory.
Optional NMDA (``nmda`` = (r, tau_NMDA), r > 0): every excitatory spike also jumps an NMDA
conductance decaying with tau_NMDA, and g_E + g_X above becomes
(g_E + g_X) + r (g_E^NMDA + g_X^NMDA) (no magnesium block).

Synapse types ``TYPES = ("ee", "ei", "ie", "ii")``: the first letter is the presynaptic population,
the second the postsynaptic one ("ie" = I -> E). A plastic type follows the pre/post trace rule of
:mod:`evoplast.rules.pre_post_trace` with its own parameters: a presynaptic spike of i onto j
gives ``dw = eta (alpha + kappa x_post[j])``, a postsynaptic spike of j gives every plastic synapse
i -> j ``dw = eta (beta + gamma x_pre[i])``, ``w`` clipped to [0, w_max]. Traces are per neuron
and plastic type (jump 1, decay with the type's tau_pre, tau_post).

One step t (dt): shared external conductance decays, the step's source spikes arrive (fixed
weight ``w_ext``, the same for all candidates: common random numbers); per candidate g_E, g_I and
traces decay; the spikes of step t-1 are delivered in ascending neuron order (one-step synaptic
delay: conductance jump with the current weight, then the presynaptic branch, then the neuron's
presynaptic traces jump); V integrates (forward Euler); the neurons that spike apply the
postsynaptic branch to their incoming plastic synapses and their postsynaptic traces jump.

Early stop: the E population rate, low-pass filtered with ``tau_check`` (started at the target),
below ``rate_lo`` (status ``silent``) or above ``rate_hi`` (``runaway``), or NaN, ends a candidate's
trial; its weights are summarised at that step.

:func:`simulate` (compiled; up to B = 8 candidates of a trial in lock-step (:func:`block_size`),
parallel over candidate blocks x trials; each candidate's arithmetic is independent of the others
in its block, so results do not depend on how candidates are split) and
:func:`evoplast.kernels.ei_network_numpy.simulate` (plain numpy, one candidate at a time) compute
the same numbers in the same order.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from .lif import TraceParams, clipped
from .status import NAN, OK, RUNAWAY, SILENT, names

STATUS_NAMES = names(OK, SILENT, RUNAWAY, NAN)
TYPES = ("ee", "ei", "ie", "ii")
BLOCK = 8  # candidates in lock-step on one trial, at most
BLOCK_BYTES = 4 << 20  # a block's own working set is kept under this or under the shared data


def block_size(n_neurons: int, n_plastic: int = 0, n_synapses: int = 0) -> int:
    """Candidates per lock-step block: the largest of 8, 4, 2 whose own working set (about 64 bytes
    per neuron and 8 per plastic synapse, per candidate) fits in the larger of ``BLOCK_BYTES`` and
    the data the block's candidates share (12 bytes per static synapse: target and weight; 4 per
    plastic one: its target), else 1. Lock-step reads the input and each spike's synapse list once
    for a block's candidates; past the caches, the candidates' own weights evict each other.
    Measured on this machine (one thread, 8 candidates, ``analysis/ei_block_ab.py`` ->
    ``analysis/results/ei_block_ab.csv``). Results do not depend on it (tests)."""
    n_static = max(n_synapses - n_plastic, 0)
    budget = max(BLOCK_BYTES, 12 * n_static + 4 * n_plastic)
    per = n_neurons * 64 + n_plastic * 8
    for b in (BLOCK, 4, 2):
        if b * per <= budget:
            return b
    return 1


N_RULE = len(TraceParams._fields)  # 8 values per type and candidate


class Net(NamedTuple):
    """One trial's network and input (arrays; what the kernels read).

    ``out_ptr`` (N+1), ``syn_post``, ``syn_pre``, ``syn_type`` (int8 index into TYPES), ``w0``: the
    synapses, sorted by presynaptic neuron (CSR of outgoing synapses); ``in_ptr`` (N+1), ``in_syn``:
    each neuron's incoming *plastic* synapses (ids into the synapse arrays), in ascending id (so
    those from E neurons first);
    ``x_ptr`` (n_steps+1), ``x_src``: the external sources spiking at each step; ``s_ptr``
    (n_ext+1), ``s_post``: each source's target neurons; ``w_max`` (4,): each type's weight bound
    in this trial."""

    out_ptr: np.ndarray
    syn_post: np.ndarray
    syn_pre: np.ndarray
    syn_type: np.ndarray
    w0: np.ndarray
    in_ptr: np.ndarray
    in_syn: np.ndarray
    x_ptr: np.ndarray
    x_src: np.ndarray
    s_ptr: np.ndarray
    s_post: np.ndarray
    w_max: np.ndarray


class NetRun(NamedTuple):
    """What :func:`simulate` returns for K candidates on D trials."""

    counts_e: np.ndarray  # (K, D, n_bins) E spikes per bin (all E neurons)
    counts_i: np.ndarray  # (K, D, n_bins) I spikes per bin
    wmean: np.ndarray  # (K, D, 4, n_bins) mean weight of each type at each bin's end (NaN after a stop)
    wstats: np.ndarray  # (K, D, 4, 3) final mean weight, fraction at 0, fraction at w_max, per type
    status: np.ndarray  # (K, D)
    steps: np.ndarray  # (K, D)
    rec_t: np.ndarray  # (K, D, cap) recorded E spikes: step from the recording start
    rec_n: np.ndarray  # (K, D, cap) and neuron
    rec_count: np.ndarray  # (K, D) spikes recorded (cap + 1: the buffer overflowed)


@numba.njit(cache=True)
def _prepare(NE, out_ptr, syn_post, syn_pre, syn_type, w0, in_ptr, in_syn, plastic, out_mid, in_mid, pidx,
             pl_type, in_cp, n_type, static_sum, w_const):
    """One trial's tables, shared by its candidate blocks (filled in place; returns n_plastic):
    ``out_mid[i]`` the first outgoing synapse of i onto an I neuron; ``pidx[e]`` the column of
    synapse e among the plastic ones (-1: static); ``pl_type[c]`` the type of plastic column c;
    ``in_cp[q]`` (column, presynaptic neuron) of incoming plastic synapse q; ``in_mid[j]`` the first
    incoming plastic synapse of j from an I neuron; ``n_type[ty]`` the synapses of each type;
    ``static_sum[ty]`` a static type's weight sum in synapse order; ``w_const[ty]`` a static type's
    weight where all its synapses have the same one (bit for bit), else NaN."""
    N = out_ptr.shape[0] - 1
    for i in range(N):
        m = out_ptr[i]
        while m < out_ptr[i + 1] and syn_post[m] < NE:
            m += 1
        out_mid[i] = m
    n_pl = 0
    w_bits = w0.view(np.int64)
    first = np.full(4, -1, dtype=np.int64)  # each static type's first synapse
    for ty in range(4):
        n_type[ty] = 0.0
        static_sum[ty] = 0.0
        w_const[ty] = np.nan
    for e in range(syn_post.shape[0]):
        ty = syn_type[e]
        n_type[ty] += 1.0
        if plastic[ty]:
            pidx[e] = n_pl
            pl_type[n_pl] = ty
            n_pl += 1
        else:
            pidx[e] = -1
            static_sum[ty] += w0[e]
            if first[ty] < 0:
                first[ty] = e
                w_const[ty] = w0[e]
            elif w_bits[e] != w_bits[first[ty]]:
                w_const[ty] = np.nan  # weights differ: read them
    for q in range(in_syn.shape[0]):
        e = in_syn[q]
        in_cp[q, 0] = pidx[e]
        in_cp[q, 1] = syn_pre[e]
    for j in range(N):  # incoming synapses ascend by id, hence by presynaptic neuron: E ones first
        q = in_ptr[j]
        while q < in_ptr[j + 1] and in_cp[q, 1] < NE:
            q += 1
        in_mid[j] = q
    return n_pl


@numba.njit(cache=True)
def _run_block(NE, out_ptr, syn_post, w0, in_ptr, x_ptr, x_src, s_ptr, s_post, w_max, w_ext, neuron,
               rules, plastic, n_steps, bin_steps, target_hz, rate_lo, rate_hi, tau_check, rec_start,
               rec_n_neurons, counts_e, counts_i, wmean, wstats, status, steps, rec_t, rec_n, rec_count,
               nmda, out_mid, in_mid, pidx, pl_type, in_cp, syn_type, n_type, static_sum, w_const):
    """B = rules.shape[0] candidates (rules (B, 4, 8)) on one trial, in lock-step; see the module.
    The trial's tables (``out_mid`` .. ``w_const``) come from :func:`_prepare`.

    State is candidate-major ((B, N): one candidate's neurons contiguous, so the integration
    vectorises over neurons); static synapses add their type's ``w_const`` where it is defined, else
    read the trial's ``w0`` (shared by the block); plastic ones read their candidate's row of ``wp``
    (B, n_plastic); a stopped candidate is not simulated further. The spikes of a step are found by
    scanning ``fired`` 64 bytes at a time, until as many as the integration counted are found."""
    tau_m, v_rest, v_reset, v_th, t_ref, e_exc, e_inh, tau_e, tau_i, _ge, _gi, dt = neuron
    N = out_ptr.shape[0] - 1
    n_syn = syn_post.shape[0]
    n_pl = pl_type.shape[0]
    n_bins = counts_e.shape[1]
    cap = rec_t.shape[1]
    B = rules.shape[0]
    dec_e = np.exp(-dt / tau_e)
    dec_i = np.exp(-dt / tau_i)
    k_m = dt / tau_m
    ref_steps = float(round(t_ref / dt))
    k_check = dt / tau_check
    dpre = np.empty((4, B))
    dpost = np.empty((4, B))
    for ty in range(4):
        for k in range(B):
            dpre[ty, k] = np.exp(-dt / rules[k, ty, 0])
            dpost[ty, k] = np.exp(-dt / rules[k, ty, 1])
    alpha = np.ascontiguousarray(rules[:, :, 2].T)
    beta = np.ascontiguousarray(rules[:, :, 3].T)
    gamma = np.ascontiguousarray(rules[:, :, 4].T)
    kappa = np.ascontiguousarray(rules[:, :, 5].T)
    eta = np.ascontiguousarray(rules[:, :, 6].T)
    wp = np.empty((B, n_pl))
    for e in range(n_syn):
        if pidx[e] >= 0:
            for k in range(B):
                wp[k, pidx[e]] = w0[e]
    v = np.full((B, N), v_rest)
    ge = np.zeros((B, N))
    gi = np.zeros((B, N))
    ref = np.zeros((B, N))
    n_words = 8 * ((N + 63) // 64)
    fired = np.zeros(8 * n_words, dtype=np.bool_)  # padded to whole 64-byte groups (the padding stays 0)
    fired_words = fired.view(np.uint64)  # scanned 8 words at a time: spikes are rare in a step
    gx = np.zeros(N)
    nmda_ratio, tau_nmda = nmda[0], nmda[1]
    use_nmda = nmda_ratio > 0.0
    dec_n = np.exp(-dt / tau_nmda)
    gn = np.zeros((B, N if use_nmda else 1))  # NMDA conductance of recurrent E input
    gxn_all = np.zeros(N if use_nmda else 1)  # and of the sources (shared)
    xpre = np.zeros((4, B, N))
    xpost = np.zeros((4, B, N))
    spk = np.empty((B, N), dtype=np.int64)  # each candidate's spikes of the previous step
    n_spk = np.zeros(B, dtype=np.int64)
    max_in = 0
    for n in range(N):
        max_in = max(max_in, in_ptr[n + 1] - in_ptr[n])
    wbuf = np.empty(max_in)  # one neuron's incoming plastic weights (post branch)
    r_filt = np.full(B, target_hz)
    n_e = np.zeros(B)
    done = np.zeros(B, dtype=np.bool_)
    n_done = 0
    b = 0
    bin_left = bin_steps
    for t in range(n_steps):
        # -- external input (shared) ------------------------------------------------------------
        for n in range(N):
            gx[n] *= dec_e
        if use_nmda:
            for n in range(N):
                gxn_all[n] *= dec_n
        for q in range(x_ptr[t], x_ptr[t + 1]):
            s = x_src[q]
            for r in range(s_ptr[s], s_ptr[s + 1]):
                gx[s_post[r]] += w_ext
                if use_nmda:
                    gxn_all[s_post[r]] += w_ext
        for k in range(B):
            if done[k]:
                continue
            # -- trace decays (the conductances decayed at the end of the previous step) ------------
            for ty in range(4):
                if plastic[ty]:
                    a0, a1 = (0, NE) if ty < 2 else (NE, N)  # presynaptic population of the type
                    p0, p1 = (0, NE) if ty % 2 == 0 else (NE, N)  # postsynaptic population
                    d = dpre[ty, k]
                    xs = xpre[ty, k]
                    for n in range(a0, a1):
                        xs[n] *= d
                    d = dpost[ty, k]
                    xs = xpost[ty, k]
                    for n in range(p0, p1):
                        xs[n] *= d
            # -- delivery of the previous step's spikes --------------------------------------------
            for s in range(n_spk[k]):
                i = spk[k, s]
                inh = i >= NE
                nmda_e = use_nmda and not inh
                g = gi if inh else ge
                t0 = 2 if inh else 0
                # outgoing synapses are sorted by post: onto E (type t0) first, then onto I (t0 + 1)
                for ty, e0, e1 in ((t0, out_ptr[i], out_mid[i]), (t0 + 1, out_mid[i], out_ptr[i + 1])):
                    if plastic[ty]:
                        a, kp, et, wm = alpha[ty, k], kappa[ty, k], eta[ty, k], w_max[ty]
                        c0 = pidx[e0] - e0 if e1 > e0 else 0
                        gk, wk, xk = g[k], wp[k], xpost[ty, k]
                        for e in range(e0, e1):
                            j = syn_post[e]
                            w = wk[c0 + e]
                            gk[j] += w
                            if nmda_e:
                                gn[k, j] += w
                            wk[c0 + e] = clipped(w, et * (a + kp * xk[j]), wm)
                        xpre[ty, k, i] += 1.0
                    elif nmda_e:
                        for e in range(e0, e1):
                            g[k, syn_post[e]] += w0[e]
                            gn[k, syn_post[e]] += w0[e]
                    else:
                        gk = g[k]
                        wc = w_const[ty]
                        if wc == wc:  # the type's weights are all equal: no need to read them
                            for e in range(e0, e1):
                                gk[syn_post[e]] += wc
                        else:
                            for e in range(e0, e1):
                                gk[syn_post[e]] += w0[e]
            # -- integration (vectorised over neurons) -----------------------------------------------
            vv, gek, gik, rr = v[k], ge[k], gi[k], ref[k]
            nf = 0  # neurons that fire in this step
            if use_nmda:
                gnk = gn[k]
                for n in range(N):
                    vn = vv[n]
                    r = rr[n]
                    active = r <= 0.0
                    vk = vn + k_m * ((v_rest - vn) + ((gek[n] + gx[n]) + nmda_ratio * (gnk[n] + gxn_all[n]))
                                     * (e_exc - vn) + gik[n] * (e_inh - vn))
                    fire = (vk >= v_th) & active
                    vv[n] = v_reset if fire else (vk if active else vn)
                    rr[n] = ref_steps if fire else r - 1.0
                    fired[n] = fire
                    nf += fire
                    gek[n] *= dec_e
                    gik[n] *= dec_i
                    gnk[n] *= dec_n
            else:
                for n in range(N):
                    vn = vv[n]
                    r = rr[n]  # steps of refractoriness left (counts below 0 while active)
                    active = r <= 0.0
                    vk = vn + k_m * ((v_rest - vn) + (gek[n] + gx[n]) * (e_exc - vn)
                                     + gik[n] * (e_inh - vn))
                    fire = (vk >= v_th) & active
                    vv[n] = v_reset if fire else (vk if active else vn)
                    rr[n] = ref_steps if fire else r - 1.0
                    fired[n] = fire
                    nf += fire
                    gek[n] *= dec_e  # the decay of the next step
                    gik[n] *= dec_i
            # -- postsynaptic branch, counts, recording ------------------------------------------
            m = 0
            ne = 0.0
            for wg in range(0, n_words, 8):
                if m == nf:  # every spike of the step found
                    break
                group = fired_words[wg]
                for u in range(1, 8):
                    group |= fired_words[wg + u]
                if group == 0:  # no spike among these 64 neurons
                    continue
                for wd in range(wg, wg + 8):
                    if fired_words[wd] == 0:
                        continue
                    for j in range(8 * wd, min(8 * wd + 8, N)):
                        if not fired[j]:
                            continue
                        spk[k, m] = j
                        m += 1
                        t0 = 0 if j < NE else 1
                        q0, q1 = in_ptr[j], in_ptr[j + 1]
                        wk = wp[k]
                        for q in range(q0, q1):  # gather first (distinct columns): the loads overlap
                            wbuf[q - q0] = wk[in_cp[q, 0]]
                        # from E neurons first (type t0), then from I ones (t0 + 2)
                        for ty, qa, qb in ((t0, q0, in_mid[j]), (t0 + 2, in_mid[j], q1)):
                            if qb > qa:
                                et, be, ga, wm = eta[ty, k], beta[ty, k], gamma[ty, k], w_max[ty]
                                xs = xpre[ty, k]
                                for q in range(qa, qb):
                                    wk[in_cp[q, 0]] = clipped(wbuf[q - q0], et * (be + ga * xs[in_cp[q, 1]]),
                                                              wm)
                        for ty in range(t0, 4, 2):
                            if plastic[ty]:
                                xpost[ty, k, j] += 1.0
                        if j < NE:
                            ne += 1.0
                            if b < n_bins:
                                counts_e[k, b] += 1
                            if t >= rec_start and j < rec_n_neurons:
                                c = rec_count[k]
                                if c < cap:
                                    rec_t[k, c] = t - rec_start
                                    rec_n[k, c] = j
                                    rec_count[k] = c + 1
                                else:
                                    rec_count[k] = cap + 1
                        elif b < n_bins:
                            counts_i[k, b] += 1
            n_spk[k] = m
            n_e[k] = ne
        # -- bins -------------------------------------------------------------------------------
        bin_left -= 1
        if bin_left == 0:
            if b < n_bins:
                _weight_means(wp, pl_type, static_sum, plastic, n_type, done, wmean[:, :, b])
            b += 1
            bin_left = bin_steps
        # -- early stop ---------------------------------------------------------------------------
        for k in range(B):
            if done[k]:
                continue
            r_filt[k] += (n_e[k] / (NE * dt) - r_filt[k]) * k_check
            st = OK
            if not (r_filt[k] == r_filt[k]) or not (v[k, 0] == v[k, 0]):
                st = NAN
            elif r_filt[k] > rate_hi:
                st = RUNAWAY
            elif r_filt[k] < rate_lo:
                st = SILENT
            if st != OK:
                done[k] = True
                n_done += 1
                status[k] = st
                steps[k] = t + 1
                _weight_stats(w0, wp, pidx, k, syn_type, n_type, w_max, wstats[k])
        if n_done == B:
            return
    for k in range(B):
        if not done[k]:
            status[k] = OK
            steps[k] = n_steps
            _weight_stats(w0, wp, pidx, k, syn_type, n_type, w_max, wstats[k])


@numba.njit(cache=True)
def _weight_means(wp, pl_type, static_sum, plastic, n_type, done, out):
    """out[k, ty] = mean weight of type ty for candidate k (not for stopped candidates): a static
    type's constant sum, a plastic type's columns of ``wp`` summed in column order (= synapse
    order, as the numpy reference sums)."""
    B, n_pl = wp.shape
    acc = np.zeros(4)
    for k in range(B):
        if done[k]:
            continue
        for ty in range(4):
            acc[ty] = 0.0 if plastic[ty] else static_sum[ty]
        for c in range(n_pl):
            acc[pl_type[c]] += wp[k, c]
        for ty in range(4):
            out[k, ty] = acc[ty] / n_type[ty] if n_type[ty] > 0 else np.nan


@numba.njit(cache=True)
def _weight_stats(w0, wp, pidx, k, syn_type, n_type, w_max, out):
    """out[ty] = (mean weight, fraction at 0, fraction at w_max) of candidate k."""
    acc = np.zeros((4, 3))
    for e in range(w0.shape[0]):
        ty = syn_type[e]
        we = wp[k, pidx[e]] if pidx[e] >= 0 else w0[e]
        acc[ty, 0] += we
        acc[ty, 1] += we <= 0.0
        acc[ty, 2] += we >= w_max[ty]
    for ty in range(4):
        for c in range(3):
            out[ty, c] = acc[ty, c] / n_type[ty] if n_type[ty] > 0 else np.nan


@numba.njit(cache=True, parallel=True, nogil=True)
def _simulate(NE, off, out_ptr, syn_post, syn_pre, syn_type, w0, in_ptr, in_syn, x_ptr, x_src, s_ptr,
              s_post, w_max, w_ext, neuron, rules, plastic, n_steps, bin_steps, target_hz, rate_lo,
              rate_hi, tau_check, rec_start, rec_n_neurons, cap, nmda, blk):
    K, D = rules.shape[0], w_max.shape[0]
    n_bins = n_steps // bin_steps
    n_blk = (K + blk - 1) // blk
    counts_e = np.zeros((D, K, n_bins))
    counts_i = np.zeros((D, K, n_bins))
    wmean = np.full((D, K, 4, n_bins), np.nan)
    wstats = np.full((D, K, 4, 3), np.nan)
    status = np.zeros((D, K), dtype=np.int8)
    steps = np.zeros((D, K), dtype=np.int64)
    rec_t = np.zeros((D, K, cap), dtype=np.int32)
    rec_n = np.zeros((D, K, cap), dtype=np.int32)
    rec_count = np.zeros((D, K), dtype=np.int64)
    # the trials' tables, packed as the arrays they describe (pl_type: the first n_pl[d] of a slice)
    out_mid = np.empty(out_ptr.shape[0], dtype=np.int64)
    in_mid = np.empty(out_ptr.shape[0], dtype=np.int64)
    pidx = np.empty(syn_post.shape[0], dtype=np.int32)
    pl_type = np.empty(syn_post.shape[0], dtype=np.int8)
    in_cp = np.empty((in_syn.shape[0], 2), dtype=np.int32)
    n_type = np.empty((D, 4))
    static_sum = np.empty((D, 4))
    w_const = np.empty((D, 4))
    n_pl = np.empty(D, dtype=np.int64)
    for d in numba.prange(D):
        o = off[d]
        n_pl[d] = _prepare(NE, out_ptr[o[0]:o[0] + o[1]], syn_post[o[2]:o[2] + o[3]],
                           syn_pre[o[2]:o[2] + o[3]], syn_type[o[2]:o[2] + o[3]], w0[o[2]:o[2] + o[3]],
                           in_ptr[o[0]:o[0] + o[1]], in_syn[o[4]:o[4] + o[5]], plastic,
                           out_mid[o[0]:o[0] + o[1]], in_mid[o[0]:o[0] + o[1]], pidx[o[2]:o[2] + o[3]],
                           pl_type[o[2]:o[2] + o[3]], in_cp[o[4]:o[4] + o[5]], n_type[d], static_sum[d],
                           w_const[d])
    for p in numba.prange(n_blk * D):
        d = p // n_blk
        k0 = (p - d * n_blk) * blk
        k1 = min(K, k0 + blk)
        o = off[d]
        _run_block(NE, out_ptr[o[0]:o[0] + o[1]], syn_post[o[2]:o[2] + o[3]], w0[o[2]:o[2] + o[3]],
                   in_ptr[o[0]:o[0] + o[1]], x_ptr[o[6]:o[6] + o[7]], x_src[o[8]:o[8] + o[9]],
                   s_ptr[o[10]:o[10] + o[11]], s_post[o[12]:o[12] + o[13]], w_max[d], w_ext, neuron,
                   rules[k0:k1], plastic, n_steps, bin_steps, target_hz, rate_lo, rate_hi, tau_check,
                   rec_start, rec_n_neurons, counts_e[d, k0:k1], counts_i[d, k0:k1], wmean[d, k0:k1],
                   wstats[d, k0:k1], status[d, k0:k1], steps[d, k0:k1], rec_t[d, k0:k1], rec_n[d, k0:k1],
                   rec_count[d, k0:k1], nmda, out_mid[o[0]:o[0] + o[1]], in_mid[o[0]:o[0] + o[1]],
                   pidx[o[2]:o[2] + o[3]], pl_type[o[2]:o[2] + n_pl[d]], in_cp[o[4]:o[4] + o[5]],
                   syn_type[o[2]:o[2] + o[3]], n_type[d], static_sum[d], w_const[d])
    return (counts_e.transpose(1, 0, 2), counts_i.transpose(1, 0, 2), wmean.transpose(1, 0, 2, 3),
            wstats.transpose(1, 0, 2, 3), status.T, steps.T, rec_t.transpose(1, 0, 2),
            rec_n.transpose(1, 0, 2), rec_count.T)


_PACKED = (("out_ptr", "in_ptr"), ("syn_post", "syn_pre", "syn_type", "w0"), ("in_syn",), ("x_ptr",),
           ("x_src",), ("s_ptr",), ("s_post",))


def _pack(nets: list[Net]):
    """Concatenate the trials' arrays; off[d] = (start, length) pairs of each group of _PACKED."""
    off = np.zeros((len(nets), 2 * len(_PACKED)), dtype=np.int64)
    cat = {}
    for g, group in enumerate(_PACKED):
        sizes = np.array([getattr(x, group[0]).size for x in nets], dtype=np.int64)
        off[:, 2 * g] = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        off[:, 2 * g + 1] = sizes
        for name in group:
            cat[name] = np.concatenate([getattr(x, name) for x in nets])
    return off, cat


def simulate(
    nets: list[Net],
    n_exc: int,
    neuron_array: np.ndarray,
    rules: np.ndarray,
    plastic: np.ndarray,
    w_ext: float,
    n_steps: int,
    bin_steps: int,
    target_hz: float,
    rate_bounds: tuple[float, float],
    tau_check: float,
    rec_start: int = 0,
    rec_neurons: int = 0,
    rec_cap: int = 0,
    nmda: tuple[float, float] = (0.0, 0.1),
    block: int | None = None,
) -> NetRun:
    """K candidates (``rules`` (K, 4, 8): per type a :class:`~evoplast.kernels.lif.TraceParams`
    row; rows of static types are read but unused) on the D trials ``nets``. ``plastic`` (4,) bool
    marks the plastic types. Spikes of E neurons ``< rec_neurons`` from step ``rec_start`` on are
    recorded (at most ``rec_cap`` per candidate and trial). ``nmda`` = (ratio r, tau_nmda): with
    r > 0, excitatory spikes (recurrent and external) also jump an NMDA conductance decaying with
    tau_nmda, and the excitatory conductance is g_AMPA + r g_NMDA (no magnesium block). ``block``:
    candidates per lock-step block (default :func:`block_size`; the results do not depend on it)."""
    off, c = _pack(nets)
    w_max = np.array([x.w_max for x in nets], dtype=float)
    rules = np.ascontiguousarray(rules, dtype=float)
    if rules.ndim != 3 or rules.shape[1:] != (4, N_RULE):
        raise ValueError(f"rules must have shape (K, 4, {N_RULE}), got {rules.shape}")
    out = _simulate(int(n_exc), off, c["out_ptr"], c["syn_post"], c["syn_pre"], c["syn_type"], c["w0"],
                    c["in_ptr"], c["in_syn"], c["x_ptr"], c["x_src"], c["s_ptr"], c["s_post"], w_max,
                    float(w_ext), neuron_array, rules, np.asarray(plastic, dtype=np.bool_),
                    int(n_steps), int(bin_steps), float(target_hz), float(rate_bounds[0]),
                    float(rate_bounds[1]), float(tau_check), int(rec_start), int(rec_neurons),
                    max(1, int(rec_cap)), np.array(nmda, dtype=float),
                    int(block or block_size(nets[0].out_ptr.size - 1,
                                            int(np.count_nonzero(np.asarray(plastic)[nets[0].syn_type])),
                                            nets[0].syn_type.size)))
    return NetRun(*out)
