r"""The input model of the iSTDP experiment: afferent spike trains of one trial.

Per trial, ``n_path`` pathways of ``n_exc_per`` excitatory and ``n_inh_per`` inhibitory afferents
(Vogels et al. 2011). ``mode = "pathways"``: each pathway's rate is
``background + amplitude * max(0, s(t))`` with s an Ornstein-Uhlenbeck process (mean 0, sd 1, time
constant ``ou_tau``), held over blocks of ``block_s``; afferents are refractory for
``input_refractory``. ``mode = "poisson"``: every afferent independent Poisson at ``rate_hz``.

Spike trains (:func:`make_inputs`, :func:`afferent_spikes`) are drawn per 1-ms block in which each
pathway's rate is constant: all pathways' candidate events superposed, one random word each for
pathway, afferent and step, then in step order an event is a spike unless its afferent is
refractory -- per afferent and step the hazard :math:`1 - e^{-r\,dt}` of a non-refractory
afferent, as the direct per-step Bernoulli formulation (:func:`afferent_spikes_numpy`) has it.
The result is what the LIF kernel (:mod:`evoplast.kernels.lif`) reads: ``gE_in[t]`` (summed
excitatory conductance jumps of step t, fixed tuned weights) and the inhibitory spikes as CSR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

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


def afferent_spikes(
    rng: np.random.Generator,
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
