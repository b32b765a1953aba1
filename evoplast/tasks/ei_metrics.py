r"""Plausibility metrics of an E-I network's scoring phase (fSBI's filters; ``network-notes.md``).

Inputs: the recorded E neurons' spikes (step index from the start of the scoring window, neuron),
the window's length, the I population's spike count, and the plastic types' weights. Definitions
(time bins as stated; neurons = the recorded E neurons):

* ``rate``: E spikes / (neurons x seconds); ``rate_i`` the same for the I population.
* ``cv_isi``: mean over neurons with more than 2 ISIs of sd / mean of their ISIs; ``std_cv`` the sd
  of those CVs.
* ``kl_isi``: KL divergence :math:`\sum_b p_b \log(p_b / q_b)` of the pooled ISI histogram (100 bins
  on [0, 1] s, normalised over the bins) from the exponential law at the E rate, restricted to the
  same bins and normalised.
* ``spatial_Fano``: per 100 ms bin, variance / mean of the neurons' counts, averaged over bins with
  spikes; ``temporal_Fano``: per neuron, variance / mean of its counts over 100 ms bins, averaged
  over neurons with spikes.
* ``auto_cov``: per neuron, the autocovariance of its 10 ms binned train divided by its variance, at
  the lags 10..500 ms (both signs alike), averaged over lags and neurons with spikes.
* ``fft``: amplitude spectrum of the population rate in 1 ms bins divided by its 0 Hz value (so
  it is scale free), averaged over the frequencies above 0 Hz: small for asynchronous activity,
  large when a few frequencies carry the rate (oscillations). *Convention of evoplast*: the notes
  name "area of the amplitude spectrum"; its normalisation in the lab's code is not known here.
* ``std_rate_temporal``: sd of the population rate over 1 ms bins in kHz (spikes per neuron per
  ms; ~0.0035 for 800 independent Poisson neurons at 10 Hz), so that fSBI's range 0-0.05 applies
  (*convention of evoplast*, as for ``fft``); ``std_rate_spatial``: sd of the neurons' rates (Hz).
* ``w_blow``: fraction of the plastic synapses at 0 or at w_max, averaged over plastic types;
  ``w_creep``: the largest over plastic types of ``|2 (w_end - w_start) / (w_end + w_start)|`` of
  the type's mean weight over the scoring window.
"""

from __future__ import annotations

import math

import numpy as np

#: fSBI's accepted ranges (``network-notes.md``)
RANGES = {
    "rate": (1.0, 50.0), "rate_i": (1.0, 50.0), "cv_isi": (0.7, 2.7), "kl_isi": (0.0, 0.5),
    "spatial_Fano": (0.5, 2.5), "temporal_Fano": (0.5, 2.5), "auto_cov": (0.0, 0.1), "fft": (0.0, 1.0),
    "std_rate_temporal": (0.0, 0.05), "std_rate_spatial": (0.0, 5.0), "std_cv": (0.0, 0.2),
    "w_blow": (0.0, 0.1), "w_creep": (0.0, 0.05),
}


def _binned(t: np.ndarray, n: np.ndarray, n_neurons: int, n_steps: int, steps_per_bin: int) -> np.ndarray:
    n_bins = max(1, n_steps // steps_per_bin)
    keep = t < n_bins * steps_per_bin
    out = np.zeros((n_neurons, n_bins))
    np.add.at(out, (n[keep], t[keep] // steps_per_bin), 1.0)
    return out


def spike_metrics(t: np.ndarray, n: np.ndarray, n_neurons: int, n_steps: int, dt: float) -> dict:
    """Metrics of spikes (``t`` step indices in [0, n_steps), ``n`` neuron indices < n_neurons)."""
    t = np.asarray(t, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    T = n_steps * dt
    out: dict[str, float] = {"rate": t.size / (n_neurons * T)}
    order = np.lexsort((t, n))
    ts, ns = t[order] * dt, n[order]
    same = ns[1:] == ns[:-1]
    isi = np.diff(ts)[same]
    owner = ns[1:][same]
    per = np.bincount(owner, minlength=n_neurons)
    s1 = np.bincount(owner, isi, minlength=n_neurons)
    s2 = np.bincount(owner, isi * isi, minlength=n_neurons)
    ok = per > 2
    if ok.any():
        mean = s1[ok] / per[ok]
        var = np.maximum(s2[ok] / per[ok] - mean**2, 0.0) * per[ok] / (per[ok] - 1)
        cv = np.sqrt(var) / mean
        out["cv_isi"], out["std_cv"] = float(cv.mean()), float(cv.std())
    else:
        out["cv_isi"] = out["std_cv"] = math.nan
    if isi.size and out["rate"] > 0:
        edges = np.linspace(0.0, 1.0, 101)
        p = np.histogram(isi, edges)[0].astype(float)
        lam = out["rate"]
        q = np.exp(-lam * edges[:-1]) - np.exp(-lam * edges[1:])
        if p.sum() > 0 and q.sum() > 0:
            p, q = p / p.sum(), q / q.sum()
            m = p > 0
            out["kl_isi"] = float(np.sum(p[m] * np.log(p[m] / np.maximum(q[m], 1e-300))))
        else:
            out["kl_isi"] = math.nan
    else:
        out["kl_isi"] = math.nan
    c100 = _binned(t, n, n_neurons, n_steps, max(1, int(round(0.1 / dt))))
    mu_b = c100.mean(axis=0)
    out["spatial_Fano"] = (float(np.mean(c100.var(axis=0)[mu_b > 0] / mu_b[mu_b > 0]))
                           if (mu_b > 0).any() else math.nan)
    mu_n = c100.mean(axis=1)
    out["temporal_Fano"] = (float(np.mean(c100.var(axis=1)[mu_n > 0] / mu_n[mu_n > 0]))
                            if (mu_n > 0).any() else math.nan)
    c10 = _binned(t, n, n_neurons, n_steps, max(1, int(round(0.01 / dt))))
    x = c10 - c10.mean(axis=1, keepdims=True)
    var = (x * x).mean(axis=1)
    live = var > 0
    max_lag = min(50, x.shape[1] - 1)
    if live.any() and max_lag >= 1:
        xs = x[live]
        ac = [np.mean((xs[:, :-lag] * xs[:, lag:]).mean(axis=1) / var[live]) for lag in range(1, max_lag + 1)]
        out["auto_cov"] = float(np.mean(np.abs(ac)))
    else:
        out["auto_cov"] = math.nan
    steps_ms = max(1, int(round(0.001 / dt)))
    n_ms = max(1, n_steps // steps_ms)
    pop = np.bincount(np.minimum(t // steps_ms, n_ms - 1), minlength=n_ms) / n_neurons  # per neuron per ms
    out["std_rate_temporal"] = float(pop.std())
    amp = np.abs(np.fft.rfft(pop))
    out["fft"] = float(amp[1:].mean() / amp[0]) if amp[0] > 0 and amp.size > 1 else math.nan
    out["std_rate_spatial"] = float((np.bincount(n, minlength=n_neurons) / T).std())
    return out


def weight_metrics(wmean_start: np.ndarray, wmean_end: np.ndarray, at_bounds: np.ndarray) -> dict:
    """``w_blow`` and ``w_creep`` from the plastic types' mean weights at the scoring window's start
    and end and their fractions of synapses at 0 or w_max (arrays over plastic types)."""
    s, e = np.asarray(wmean_start, float), np.asarray(wmean_end, float)
    denom = e + s
    creep = np.where(denom > 0, np.abs(2.0 * (e - s) / np.where(denom > 0, denom, 1.0)), 0.0)
    return {"w_blow": float(np.mean(at_bounds)), "w_creep": float(np.max(creep))}


def plausible(metrics: dict, ranges: dict | None = None) -> tuple[bool, list[str]]:
    """Whether every metric of ``ranges`` (default :data:`RANGES`) lies in its range (NaN fails),
    and the names of those that do not."""
    ranges = RANGES if ranges is None else ranges
    bad = [k for k, (lo, hi) in ranges.items()
           if not (k in metrics and metrics[k] is not None and lo <= metrics[k] <= hi)]
    return not bad, bad


def violation(metrics: dict, ranges: dict | None = None) -> float:
    """Sum over the metrics of ``ranges`` of the distance outside [lo, hi] in units of hi - lo (0
    inside; 1 for a missing or NaN metric): the graded penalty of ``task.plausibility_weight``."""
    ranges = RANGES if ranges is None else ranges
    total = 0.0
    for k, (lo, hi) in ranges.items():
        v = metrics.get(k)
        if v is None or not math.isfinite(v):
            total += 1.0
        else:
            total += max(lo - v, v - hi, 0.0) / max(hi - lo, 1e-12)
    return total
