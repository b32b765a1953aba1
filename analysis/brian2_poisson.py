"""Independent check of the Poisson reference figure: Vogels' rule in Brian2 with Brian2's own inputs.

    python analysis/brian2_poisson.py [--seeds 10] [--rate 40] [--duration 100]

Needs Brian2 (``pip install -e ".[brian2]"``). The neuron of :mod:`evoplast.kernels.lif`
(``NeuronParams`` defaults), 800 excitatory afferents with the tuned weights and 200 plastic
inhibitory ones, all independent ``PoissonGroup`` trains at ``--rate`` (nothing shared with
evoplast's input generator); Vogels' rule (tau 20 ms, alpha = -2 rho0 tau = -0.2, beta = 0,
gamma = kappa = 1, eta = 1e-3), initial inhibitory weights 0.1. Prints, per seed, the output rate in
the first 10 s and over the last half, the final mean inhibitory weight, then the late rate's mean
and s.e.m. -- to compare with ``evoplast simulate runs/istdp.toml --trials 100 --set
task.duration_s=100 --set task.w0_range=[0.1,0.1] --set rule.alpha=-0.2 --set task.inputs=poisson``
(``final_rate_hz_mean_ok_trials``) and the reference 5.2-5.4 Hz of performance-notes.md.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def one_seed(seed: int, rate_hz: float, duration: float) -> tuple[float, float, float]:
    import brian2 as b2

    from evoplast.kernels.lif import NeuronParams

    p = NeuronParams()
    tau, alpha, beta, gamma, kappa, eta, w_max = 0.02, -0.2, 0.0, 1.0, 1.0, 1e-3, 10.0
    b2.prefs.codegen.target = "cython"
    b2.start_scope()
    b2.seed(seed)
    rng = np.random.default_rng(seed)
    b2.defaultclock.dt = p.dt * b2.second
    ns = {"tau_m": p.tau_m * b2.second, "v_rest": p.v_rest * b2.mV, "v_reset": p.v_reset * b2.mV,
          "v_th": p.v_th * b2.mV, "e_exc": p.e_exc * b2.mV, "e_inh": p.e_inh * b2.mV,
          "tau_e": p.tau_exc * b2.second, "tau_i": p.tau_inh * b2.second, "gbar_i": p.gbar_inh,
          "gbar_e": p.gbar_exc, "tau_pre": tau * b2.second, "tau_post": tau * b2.second,
          "alpha": alpha, "beta": beta, "gamma": gamma, "kappa": kappa, "eta": eta, "w_max": w_max}
    eqs = """
    dv/dt = ((v_rest - v) + ge * (e_exc - v) + gi * (e_inh - v)) / tau_m : volt (unless refractory)
    dge/dt = -ge / tau_e : 1
    dgi/dt = -gi / tau_i : 1
    dxpost/dt = -xpost / tau_post : 1
    """
    cell = b2.NeuronGroup(1, eqs, threshold="v >= v_th", reset="v = v_reset; xpost += 1",
                          refractory=p.t_ref * b2.second, method="euler", namespace=ns)
    cell.v = p.v_rest * b2.mV
    exc = b2.PoissonGroup(800, rate_hz * b2.Hz)
    inh = b2.PoissonGroup(200, rate_hz * b2.Hz)
    se = b2.Synapses(exc, cell, "wE : 1", on_pre="ge_post += gbar_e * wE", namespace=ns)
    se.connect(i=np.arange(800), j=0)
    k = np.repeat(np.arange(8), 100) + 1
    se.wE = 0.3 + 1.1 / (1.0 + (k - 5.0) ** 4) + rng.uniform(0.0, 0.1, 800)
    si = b2.Synapses(inh, cell, "w : 1\ndxpre/dt = -xpre / tau_pre : 1 (event-driven)",
                     on_pre="gi_post += gbar_i * w\n"
                            "w = clip(w + eta * (alpha + kappa * xpost_post), 0, w_max)\nxpre += 1",
                     on_post="w = clip(w + eta * (beta + gamma * xpre), 0, w_max)", namespace=ns)
    si.connect(i=np.arange(200), j=0)
    si.w = 0.1
    spikes = b2.SpikeMonitor(cell)
    b2.Network(cell, exc, inh, se, si, spikes).run(duration * b2.second, namespace={})
    t = np.asarray(spikes.t / b2.second)
    return (float(np.sum(t < 10) / 10), float(np.sum(t >= duration / 2) / (duration / 2)),
            float(np.mean(si.w[:])))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--rate", type=float, default=40.0)
    ap.add_argument("--duration", type=float, default=100.0)
    args = ap.parse_args(argv)
    late = []
    for seed in range(args.seeds):
        first, last, w = one_seed(seed, args.rate, args.duration)
        late.append(last)
        print(f"seed {seed}: first 10 s {first:.2f} Hz, last half {last:.3f} Hz, mean w {w:.3f}", flush=True)
    late = np.array(late)
    sem = late.std(ddof=1) / np.sqrt(late.size) if late.size > 1 else float("nan")
    print(f"late rate over {late.size} seeds: mean {late.mean():.3f} Hz, s.e.m. {sem:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
