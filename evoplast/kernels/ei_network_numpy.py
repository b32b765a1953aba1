"""Plain-numpy reference of :mod:`evoplast.kernels.ei_network` for small networks and short runs.

One candidate at a time, dense per-neuron state, the same step order and the same floating-point
operations in the same order as the compiled kernel (so ``tests/test_ei_network.py`` can ask for
equality, not closeness). No early stops: the filtered E rate is returned for comparison.
"""

from __future__ import annotations

import numpy as np

from .ei_network import Net


def simulate(net: Net, n_exc: int, neuron_array: np.ndarray, rule: np.ndarray, plastic: np.ndarray,
             w_ext: float, n_steps: int, bin_steps: int, target_hz: float,
             tau_check: float, nmda: tuple[float, float] = (0.0, 0.1)) -> dict[str, np.ndarray]:
    """One candidate (``rule`` (4, 8)) on one trial. Returns E and I counts per bin, mean weight per
    type at each bin's end, final weights, the filtered E rate per step and the spikes (step,
    neuron) in order."""
    tau_m, v_rest, v_reset, v_th, t_ref, e_exc, e_inh, tau_e, tau_i, _ge, _gi, dt = neuron_array
    N = net.out_ptr.size - 1
    NE = int(n_exc)
    types = net.syn_type.astype(np.int64)
    rule = np.asarray(rule, float)
    dec_e, dec_i = np.exp(-dt / tau_e), np.exp(-dt / tau_i)
    k_m = dt / tau_m
    ref_steps = int(round(t_ref / dt))
    dpre = np.exp(-dt / rule[:, 0])
    dpost = np.exp(-dt / rule[:, 1])
    alpha, beta, gamma, kappa, eta = (rule[:, c] for c in (2, 3, 4, 5, 6))
    n_bins = n_steps // bin_steps
    w = net.w0.astype(float).copy()
    v = np.full(N, v_rest)
    ge, gi, gx = np.zeros(N), np.zeros(N), np.zeros(N)
    ratio, dec_n = float(nmda[0]), np.exp(-dt / nmda[1])
    gn, gxn = np.zeros(N), np.zeros(N)
    ref = np.zeros(N, dtype=np.int64)
    xpre, xpost = np.zeros((4, N)), np.zeros((4, N))
    counts_e, counts_i = np.zeros(n_bins), np.zeros(n_bins)
    wmean = np.full((4, n_bins), np.nan)
    r_filt = np.empty(n_steps)
    r = float(target_hz)
    spikes: list[tuple[int, int]] = []
    prev = np.zeros(0, dtype=np.int64)
    for t in range(n_steps):
        gx *= dec_e
        for s in net.x_src[net.x_ptr[t]:net.x_ptr[t + 1]]:
            gx[net.s_post[net.s_ptr[s]:net.s_ptr[s + 1]]] += w_ext
        if ratio > 0:
            gxn *= dec_n
            for s in net.x_src[net.x_ptr[t]:net.x_ptr[t + 1]]:
                gxn[net.s_post[net.s_ptr[s]:net.s_ptr[s + 1]]] += w_ext
            gn *= dec_n
        ge *= dec_e
        gi *= dec_i
        for ty in range(4):
            if plastic[ty]:
                xpre[ty] *= dpre[ty]
                xpost[ty] *= dpost[ty]
        for i in prev:
            e = np.arange(net.out_ptr[i], net.out_ptr[i + 1])
            j, ty = net.syn_post[e], types[e]
            if i >= NE:
                gi[j] += w[e]
            else:
                ge[j] += w[e]
                if ratio > 0:
                    gn[j] += w[e]
            p = plastic[ty]
            e, j, ty = e[p], j[p], ty[p]
            w[e] = np.minimum(np.maximum(w[e] + eta[ty] * (alpha[ty] + kappa[ty] * xpost[ty, j]), 0.0),
                              net.w_max[ty])
            for tp in ((2, 3) if i >= NE else (0, 1)):
                if plastic[tp]:
                    xpre[tp, i] += 1.0
        active = ref == 0
        ref[~active] -= 1
        if ratio > 0:
            vk = v + k_m * ((v_rest - v) + ((ge + gx) + ratio * (gn + gxn)) * (e_exc - v) + gi * (e_inh - v))
        else:
            vk = v + k_m * ((v_rest - v) + (ge + gx) * (e_exc - v) + gi * (e_inh - v))
        fire = active & (vk >= v_th)
        v = np.where(active, np.where(fire, v_reset, vk), v)
        ref[fire] = ref_steps
        new = np.flatnonzero(fire)
        b = t // bin_steps
        for j in new:
            e = net.in_syn[net.in_ptr[j]:net.in_ptr[j + 1]]
            ty = types[e]
            w[e] = np.minimum(np.maximum(w[e] + eta[ty] * (beta[ty] + gamma[ty] * xpre[ty, net.syn_pre[e]]),
                                         0.0), net.w_max[ty])
            for tp in ((0, 2) if j < NE else (1, 3)):
                if plastic[tp]:
                    xpost[tp, j] += 1.0
            spikes.append((t, int(j)))
        n_e = int((new < NE).sum())
        if b < n_bins:
            counts_e[b] += n_e
            counts_i[b] += new.size - n_e
        if (t + 1) % bin_steps == 0 and b < n_bins:
            for ty in range(4):
                sel = types == ty
                wmean[ty, b] = np.cumsum(w[sel])[-1] / sel.sum() if sel.any() else np.nan  # sequential sum
        r += (n_e / (NE * dt) - r) * (dt / tau_check)
        r_filt[t] = r
        prev = new
    return {"counts_e": counts_e, "counts_i": counts_i, "wmean": wmean, "w": w, "r_filt": r_filt,
            "spikes": np.array(spikes, dtype=np.int64).reshape(-1, 2)}
