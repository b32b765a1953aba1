r"""The input model of the iSTDP experiment: afferent spike trains of one trial.

Per trial, ``n_path`` pathways of ``n_exc_per`` excitatory and ``n_inh_per`` inhibitory afferents
(Vogels et al. 2011). ``mode = "pathways"``: each pathway's rate is
``background + amplitude * max(0, s(t))`` with s an Ornstein-Uhlenbeck process (mean 0, sd 1, time
constant ``ou_tau``), held over blocks of ``block_s``; afferents are refractory for
``input_refractory``. ``mode = "poisson"``: every afferent independent Poisson at ``rate_hz``.

Spike trains (:func:`make_inputs`, :func:`afferent_spikes`): each pathway's rate is constant over
1-ms blocks; per afferent and step a non-refractory afferent fires with probability
:math:`1 - e^{-r\,dt}`, as the direct per-step Bernoulli formulation
(:func:`afferent_spikes_numpy`) has it. Drawn, in compiled code (:func:`_draw_spikes`), as one
superposed Poisson process of candidate events per pathway and type, in time order by time
rescaling (exponential gaps in the cumulative hazard), each event assigned to a uniformly drawn
afferent and kept unless that afferent is refractory: one random word per candidate event, no
sorting and no search. The inhibitory events, the rate runs and the OU rates pass through work
arrays kept per thread (:func:`_scratch`): only the outputs are fresh memory, since touching fresh
pages cost as much as the drawing itself on the machine the figures were measured on
(``analysis/results/inputs_ab_scratch.csv``).
The result is what the LIF kernel (:mod:`evoplast.kernels.lif`) reads: ``gE_in[t]`` (summed
excitatory conductance jumps of step t, fixed tuned weights) and the inhibitory spikes as CSR.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numba
import numpy as np

from ..kernels import rng
from ..kernels.lif import NeuronParams


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
def _ou_rates(normals, block_s, tau, background, amplitude, out):
    """Per pathway, an Ornstein-Uhlenbeck signal on the block grid, exact update
    s(t + h) = s a + sqrt(1 - a^2) xi (a = exp(-h / tau); mean 0, sd 1), held over each block;
    rate = background + amplitude * max(0, s), written to ``out`` (the shape of ``normals``; may be
    ``normals`` itself: each normal is read before its entry is written)."""
    n_path, n_blocks = normals.shape
    a = np.exp(-block_s / tau)
    b = np.sqrt(1.0 - a * a)
    for k in range(n_path):
        s = normals[k, 0]
        for m in range(n_blocks):
            xi = normals[k, m]
            out[k, m] = background + amplitude * max(0.0, s)
            s = s * a + b * xi
    return out


U40 = np.uint64(40)
U24 = np.uint64(24)


@numba.njit(cache=True, nogil=True)
def _rate_runs(rates_k, block_steps, n_steps, start, rate):
    """Runs of equal rate in one pathway's block rates, written to ``start`` (first step of each
    run, then ``n_steps``: run i covers steps ``start[i] .. start[i + 1] - 1``) and ``rate`` (each
    run's rate), both at least as long as the blocks (+1). Returns the number of runs n (``start[:n
    + 1]``, ``rate[:n]`` hold them)."""
    n_blocks = rates_k.shape[0]
    n = 0
    for m in range(n_blocks):
        if n == 0 or rates_k[m] != rate[n - 1]:
            start[n] = m * block_steps
            rate[n] = rates_k[m]
            n += 1
    start[n] = n_steps
    return n


@numba.njit(cache=True, nogil=True)
def _run_hazards(run_start, run_rate, n_part, dt, cum, inv):
    """The superposed process of ``n_part`` afferents over the runs of :func:`_rate_runs`
    (``run_rate`` the n runs' rates, ``run_start`` their n + 1 bounds): its hazard per step in run
    i is ``h_i = run_rate[i] n_part dt``; writes the cumulative hazard at each run's start, ``cum[0]
    = 0, cum[i + 1] = cum[i] + h_i (start[i + 1] - start[i])``, and ``inv[i] = 1 / h_i`` (0 where h_i
    = 0), in the order the walk of :func:`_pathway_spikes` uses."""
    cum[0] = 0.0
    for i in range(run_rate.shape[0]):
        h = run_rate[i] * n_part * dt
        inv[i] = 1.0 / h if h > 0 else 0.0
        cum[i + 1] = cum[i] + h * (run_start[i + 1] - run_start[i])


@numba.njit(cache=True, nogil=True)
def _pathway_spikes(run_start, run_cum, run_inv, n_part, ref_steps, jump, last, counts, gE,
                    ev_step, ev_aff, n_ev, state, zk, zw, zf):
    """One pathway's afferents of one type (``n_part`` of them, sharing a rate constant over each
    run of steps ``run_start[i] .. run_start[i + 1] - 1``; ``run_cum`` / ``run_inv`` the
    superposed process's cumulative hazard and inverse hazard per step, :func:`_run_hazards`): see
    :func:`_draw_spikes`. One random word per candidate event: its low 40 bits the exponential gap
    (:func:`evoplast.kernels.rng.exponential`), its top 24 bits the afferent (a bias below
    n_part / 2^24 ~ 1e-5 between afferents). Excitatory (``jump`` an array, len n_part): spikes
    add ``jump[a]`` to ``gE[step]``. Inhibitory (``jump`` None: a separate compiled version, no
    test in the loop): spikes are appended to ``ev_step`` / ``ev_aff`` from ``n_ev`` on. ``last`` /
    ``counts`` (len n_part): the afferents' last spike steps and spike counts; ``state``: the
    generator's, updated. Returns the new ``n_ev``, or -1 when ``ev_step`` is full."""
    n_runs = run_inv.shape[0]
    cap = ev_step.shape[0]
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    npart = np.uint64(n_part)  # (top 24 bits x n_part) >> 24 -> an afferent
    i = -1
    lo = 0  # first step of run i
    hi = 0  # one past its last step
    ih = 0.0  # 1 / (the superposed process's hazard per step in run i)
    c_lo = 0.0  # cumulative hazard at lo
    c_hi = 0.0  # ... at hi
    level = 0.0
    while True:
        e, r, s0, s1, s2, s3 = rng.exponential(s0, s1, s2, s3, zk, zw, zf)
        level += e
        while level > c_hi:  # on to the run where the level is reached
            i += 1
            if i == n_runs:
                state[0], state[1], state[2], state[3] = s0, s1, s2, s3
                return n_ev
            lo = run_start[i]
            hi = run_start[i + 1]
            ih = run_inv[i]
            c_lo = c_hi
            c_hi = run_cum[i + 1]
        t = min(lo + int((level - c_lo) * ih), hi - 1)
        a = ((r >> U40) * npart) >> U24  # unsigned: no negative-index handling
        fire = t - last[a] > ref_steps  # refractory or not: without a branch (often rejected)
        last[a] = t if fire else last[a]
        counts[a] += fire
        if jump is not None:  # resolved when compiled
            if ref_steps > 0:  # often rejected: "jump if fire else 0.0" compiles to a mispredicted branch
                gE[np.uint64(t)] += jump[a] * fire
            else:  # (nearly) always kept: the branch is predicted, and cheaper than the product
                gE[np.uint64(t)] += jump[a] if fire else 0.0
        else:
            if n_ev == cap:
                return -1
            ev_step[n_ev] = t
            ev_aff[n_ev] = a
            n_ev += fire


@numba.njit(cache=True, nogil=True)
def _draw_spikes(state, rates, dt, block_steps, n_steps, n_exc_per, n_inh_per, ref_steps, exc_jump,
                 gE, ev_step, ev_aff, aff_counts, work_i, work_f, zk, zw, zf):
    """Every afferent's spikes, from one superposed candidate process per pathway and type.

    Pathway k's rate r_k is constant over each block of ``block_steps`` steps. Its n excitatory
    (and, apart, its inhibitory) afferents' candidate events are one Poisson process of intensity n
    r_k(t), drawn in time order by time rescaling (:func:`_pathway_spikes`): exponential gaps (E ~
    Exp(1)) in the cumulative hazard ``C(t) = sum_{s < t} n r_s dt``, walked block by block, an
    event at level L falling in the first step t with C(t + 1) >= L; each event picks its afferent
    uniformly (the top 24 bits of the word that drew its gap). An afferent fires at an event unless
    it fired within the last ``ref_steps`` steps (or in the same step): per afferent and step the
    hazard ``1 - exp(-r dt)`` when not refractory, as the per-step Bernoulli formulation has it,
    with no sorting and no search. Excitatory spikes add their conductance jump (``exc_jump``, per
    excitatory afferent, pathway-major) to ``gE[step]``; inhibitory ones are written, pathway by
    pathway and in time order within a pathway, to ``ev_step`` / ``ev_aff`` (:func:`_csr` puts
    them in step order). ``aff_counts`` gets every afferent's spike count (excitatory first).
    ``work_i`` (int64) / ``work_f`` (float, 3 x as long): room for the runs of a pathway, at least
    the number of blocks + 1.
    Random numbers: the xoshiro256+ ``state`` (4 words, not modified) and ziggurat exponentials
    (:mod:`evoplast.kernels.rng`).
    Returns the number of inhibitory spikes, or -1 when ``ev_step`` is too small (nothing valid
    then: the caller draws again from the same state with more room).
    """
    n_path = rates.shape[0]
    n_exc = n_path * n_exc_per
    st = state.copy()
    last = np.full(n_exc + n_path * n_inh_per, -(ref_steps + 1), dtype=np.int64)
    n_ev = 0
    m = work_i.shape[0]
    start, rate, cum, inv = work_i, work_f[:m], work_f[m:2 * m], work_f[2 * m:3 * m]
    for k in range(n_path):
        n_runs = _rate_runs(rates[k], block_steps, n_steps, start, rate)
        run_start, run_rate = start[:n_runs + 1], rate[:n_runs]
        e0, e1 = k * n_exc_per, (k + 1) * n_exc_per
        if n_exc_per:
            _run_hazards(run_start, run_rate, n_exc_per, dt, cum, inv)
            _pathway_spikes(run_start, cum[:n_runs + 1], inv[:n_runs], n_exc_per, ref_steps, exc_jump[e0:e1],
                            last[e0:e1], aff_counts[e0:e1], gE, ev_step, ev_aff, 0, st, zk, zw, zf)
        i0, i1 = n_exc + k * n_inh_per, n_exc + (k + 1) * n_inh_per
        first = n_ev
        if n_inh_per:
            _run_hazards(run_start, run_rate, n_inh_per, dt, cum, inv)
            n_ev = _pathway_spikes(run_start, cum[:n_runs + 1], inv[:n_runs], n_inh_per, ref_steps, None,
                                   last[i0:i1], aff_counts[i0:i1], gE, ev_step, ev_aff, n_ev, st,
                                   zk, zw, zf)
        if n_ev < 0:
            return -1
        for q in range(first, n_ev):
            ev_aff[q] += k * n_inh_per
    return n_ev


@numba.njit(cache=True, nogil=True)
def _csr(ev_step, ev_aff, n_ev, n_steps):
    """The first ``n_ev`` events (step, afferent) in step order as CSR: ``i_ptr`` (n_steps + 1,),
    ``i_idx`` (n_ev,); a counting sort, stable (the events' order within a step, pathway-major, is
    kept): counts of step t at ``ptr[t + 2]``, prefix sums (``ptr[t + 1]`` = first slot of step t),
    placement advancing ``ptr[t + 1]`` to step t's end, i.e. step t + 1's start."""
    ptr = np.zeros(n_steps + 2, dtype=np.int64)
    i_idx = np.empty(n_ev, dtype=np.int64)
    for q in range(n_ev):
        ptr[ev_step[q] + 2] += 1
    for t in range(2, n_steps + 2):
        ptr[t] += ptr[t - 1]
    for q in range(n_ev):
        t = ev_step[q] + 1
        i_idx[ptr[t]] = ev_aff[q]
        ptr[t] += 1
    return ptr[:n_steps + 1], i_idx


_SCRATCH = threading.local()  # per thread: _draw_spikes's work arrays, reused across trials
SCRATCH_MAX_ENTRIES = 1 << 22  # larger work arrays (trials of many minutes) are not kept


def _scratch(name: str, size: int, dtype: type) -> np.ndarray:
    """A work array of at least ``size`` entries, kept per thread (``name``) and grown when needed:
    a trial's inhibitory events and rate runs pass through such arrays, and fresh ones every trial
    cost more in page faults than the drawing itself on some machines (analysis/results/inputs_ab*.csv).
    Arrays above ``SCRATCH_MAX_ENTRIES`` entries are made fresh and not kept (a thread keeps at most
    a few tens of MB)."""
    buf = getattr(_SCRATCH, name, None)
    if buf is None or buf.shape[0] < size:
        buf = np.empty(size, dtype=dtype)
        if size <= SCRATCH_MAX_ENTRIES:
            setattr(_SCRATCH, name, buf)
    return buf


def tuned_exc_weights(rng: np.random.Generator, pathway: np.ndarray) -> np.ndarray:
    """Fixed excitatory weights tuned to pathway 5: 0.3 + 1.1 / (1 + (k - 5)^4) + U(0, 0.1),
    k = pathway + 1 (one weight per afferent, ``pathway`` its 0-based pathway)."""
    k = pathway + 1
    return 0.3 + 1.1 / (1.0 + (k - 5.0) ** 4) + rng.uniform(0.0, 0.1, pathway.size)


def afferent_spikes(
    generator: np.random.Generator,
    rates: np.ndarray,
    dt: float,
    block_steps: int,
    n_steps: int,
    n_exc_per: int,
    n_inh_per: int,
    ref_steps: int,
    exc_jump: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Spikes of ``n_exc_per + n_inh_per`` afferents per pathway whose rate is ``rates[k, m]`` (Hz)
    over block m (``block_steps`` steps of ``dt``), refractory for ``ref_steps`` steps after a
    spike (:func:`_draw_spikes`, seeded by four words from ``generator``).
    Returns the summed excitatory conductance jumps per step (``exc_jump`` per excitatory
    afferent, pathway-major), the inhibitory spikes as CSR (``i_ptr`` (n_steps + 1,), ``i_idx``)
    and the spike count of every afferent (excitatory first, then inhibitory)."""
    n_path = rates.shape[0]
    rates = np.ascontiguousarray(rates, dtype=float)
    exc_jump = np.ascontiguousarray(exc_jump, dtype=float)
    state = rng.seed_state(generator)
    if n_steps >= 2**31:
        raise ValueError(f"{n_steps} steps: at most 2**31 - 1 steps per trial")
    # room for the expected number of inhibitory spikes (dead time ignored) and 6 s.d. more;
    # redrawn from the same state with twice the room if that is not enough
    expected = n_inh_per * block_steps * dt * float(rates.sum())
    cap = int(expected + 6 * np.sqrt(expected) + 64)
    while True:
        gE_in = np.zeros(n_steps)
        counts = np.zeros(n_path * (n_exc_per + n_inh_per), dtype=np.int64)
        ev = _scratch("events", 2 * cap, np.int32)
        half = ev.shape[0] // 2
        ev_step, ev_aff = ev[:half], ev[half:2 * half]
        m = rates.shape[1] + 1
        n_inh_ev = _draw_spikes(state, rates, dt, block_steps, n_steps, n_exc_per, n_inh_per,
                                ref_steps, exc_jump, gE_in, ev_step, ev_aff, counts,
                                _scratch("runs_i", m, np.int64)[:m], _scratch("runs_f", 3 * m, float)[:3 * m],
                                rng.ZIG_K, rng.ZIG_W, rng.ZIG_F)
        if n_inh_ev >= 0:
            i_ptr, i_idx = _csr(ev_step, ev_aff, n_inh_ev, n_steps)
            return gE_in, i_ptr, i_idx, counts
        cap = 2 * half


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
    Random numbers from ``rng``, in order: the weights, the OU normals, four words seeding the
    spike generator's own xoshiro256+ stream (:mod:`evoplast.kernels.rng`).
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
    if mode == "pathways":  # the rates live in a per-thread work array (no fresh pages per trial)
        rates = _scratch("rates", n_path * n_blocks, float)[:n_path * n_blocks].reshape(n_path, n_blocks)
        rng.standard_normal(out=rates)
        _ou_rates(rates, h, ou_tau, background_hz, amplitude_hz, rates)
        ref_steps = int(round(input_refractory / dt))
    elif mode == "poisson":  # one rate for the whole trial: one block (one run, as the blocks merge)
        rates = np.full((n_path, 1), float(rate_hz))
        block_steps = max(1, n_steps)
        ref_steps = 0
    else:
        raise ValueError(f"unknown input mode {mode!r}")
    gE_in, i_ptr, i_idx, counts = afferent_spikes(rng, rates, dt, block_steps, n_steps, n_exc_per,
                                                  n_inh_per, ref_steps, params.gbar_exc * exc_w)
    exc_counts = counts[:n_exc].astype(float)
    inh_counts = counts[n_exc:].astype(float)
    return Inputs(gE_in, i_ptr, i_idx, n_inh, float(inh_counts.mean() / duration), exc_w,
                  pathway_exc, pathway_inh, exc_counts / duration, inh_counts / duration)
