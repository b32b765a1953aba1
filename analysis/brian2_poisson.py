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

    from evoplast.kernels import brian2_ref
    from evoplast.kernels.lif import NeuronParams
    from evoplast.rules.pre_post_trace import PrePostTraceRule
    from evoplast.tasks.istdp_inputs import tuned_exc_weights

    p = NeuronParams()
    vogels = PrePostTraceRule(alpha=-0.2, beta=0.0, gamma=1.0, kappa=1.0, eta=1e-3)
    b2.prefs.codegen.target = "cython"
    b2.start_scope()
    b2.seed(seed)
    b2.defaultclock.dt = p.dt * b2.second
    ns = brian2_ref.namespace(b2, p, vogels.params())
    cell = brian2_ref.build_cell(b2, p, ns)
    exc = b2.PoissonGroup(800, rate_hz * b2.Hz)
    inh = b2.PoissonGroup(200, rate_hz * b2.Hz)
    se = b2.Synapses(exc, cell, "wE : 1", on_pre="ge_post += gbar_e * wE", namespace=ns)
    se.connect(i=np.arange(800), j=0)
    se.wE = tuned_exc_weights(np.random.default_rng(seed), np.repeat(np.arange(8), 100))
    si = brian2_ref.plastic_inhibition(b2, inh, cell, ns, 0.1)
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
