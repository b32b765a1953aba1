r"""The LIF task's neuron and inhibitory rule written in Brian2, for ``evoplast bench istdp``.

The same model as :mod:`evoplast.kernels.lif`, one copy (one candidate, one trial) per Brian2 run,
with the same input spike trains (so the two simulators' output rates can be compared):

.. math::

    \tau_m \frac{dV}{dt} = (V_{rest} - V) + g_E (E_E - V) + g_I (E_I - V)
    \quad\text{(unless refractory)}, \qquad
    \frac{dg_{E,I}}{dt} = -\frac{g_{E,I}}{\tau_{E,I}}, \qquad
    \frac{dx_{post}}{dt} = -\frac{x_{post}}{\tau_{post}}

Inhibitory afferents are a ``SpikeGeneratorGroup`` replaying the trial's inhibitory spikes; on a
presynaptic spike ``g_I += gbar_I w`` then ``w = clip(w + eta (alpha + kappa x_post), 0, w_max)``
and ``x_pre += 1`` (event-driven trace, time constant ``tau_pre``); on a postsynaptic spike
``w = clip(w + eta (beta + gamma x_pre), 0, w_max)`` on every synapse, then ``x_post += 1``
(Brian2 runs synaptic pathways before resets, as the compiled kernel orders them). The excitatory
drive is the trial's summed conductance jump per step (``gE_in``) added by a ``run_regularly``
operation: cheaper for Brian2 than 800 excitatory synapses, so the comparison flatters Brian2.
Forward Euler at the kernel's dt. Brian2 is an optional extra (``pip install "evoplast[brian2]"``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..tasks.istdp_inputs import Inputs
from .lif import NeuronParams, TraceParams

CELL_EQS = """
dv/dt = ((v_rest - v) + ge * (e_exc - v) + gi * (e_inh - v)) / tau_m : volt (unless refractory)
dge/dt = -ge / tau_e : 1
dgi/dt = -gi / tau_i : 1
dxpost/dt = -xpost / tau_post : 1
"""


def namespace(b2: Any, neuron: NeuronParams, rule: np.ndarray) -> dict:
    """Brian2 names of the neuron's and the rule's constants (``rule`` as ``PrePostTraceRule.params()``)."""
    r = TraceParams(*(float(v) for v in rule))
    p = neuron
    return {"tau_m": p.tau_m * b2.second, "v_rest": p.v_rest * b2.mV, "v_reset": p.v_reset * b2.mV,
            "v_th": p.v_th * b2.mV, "e_exc": p.e_exc * b2.mV, "e_inh": p.e_inh * b2.mV,
            "tau_e": p.tau_exc * b2.second, "tau_i": p.tau_inh * b2.second, "gbar_i": p.gbar_inh,
            "gbar_e": p.gbar_exc, "tau_pre": r.tau_pre * b2.second, "tau_post": r.tau_post * b2.second,
            "alpha": r.alpha, "beta": r.beta, "gamma": r.gamma, "kappa": r.kappa, "eta": r.eta,
            "w_max": r.w_max}


def build_cell(b2: Any, neuron: NeuronParams, ns: dict) -> Any:
    """The conductance-based LIF cell (one neuron, forward Euler, post trace reset on a spike)."""
    cell = b2.NeuronGroup(1, CELL_EQS, threshold="v >= v_th", reset="v = v_reset; xpost += 1",
                          refractory=neuron.t_ref * b2.second, method="euler", namespace=ns)
    cell.v = neuron.v_rest * b2.mV
    return cell


def plastic_inhibition(
    b2: Any, afferents: Any, cells: Any, ns: dict, w0: float, per_cell: bool = False
) -> Any:
    """All-to-all inhibitory synapses onto ``cells`` under the pre/post trace rule, weights starting
    at ``w0``; ``per_cell``: alpha and beta are the postsynaptic cell's (one candidate per cell)."""
    alpha, beta = ("alpha_post", "beta_post") if per_cell else ("alpha", "beta")
    syn = b2.Synapses(afferents, cells, "w : 1\ndxpre/dt = -xpre / tau_pre : 1 (event-driven)",
                      on_pre="gi_post += gbar_i * w\n"
                             f"w = clip(w + eta * ({alpha} + kappa * xpost_post), 0, w_max)\n"
                             "xpre += 1",
                      on_post=f"w = clip(w + eta * ({beta} + gamma * xpre), 0, w_max)",
                      namespace=ns)
    syn.connect()
    syn.w = w0
    return syn


def simulate_brian2(inputs: Inputs, neuron: NeuronParams, rule: np.ndarray, w0: float,
                    target: str = "cython") -> dict:
    """One Brian2 run of a whole trial with one rule (``rule`` as ``PrePostTraceRule.params()``).

    Returns ``{"build_s", "run_s", "bio_s", "rate_hz", "mean_w_final", "spike_times_s"}``: wall
    seconds to build the network, wall seconds of ``Network.run`` (code generation and compilation
    included on the first call of a process; later calls reuse Brian2's cache), simulated seconds,
    mean output rate, mean final inhibitory weight, output spike times.
    """
    import brian2 as b2

    b2.prefs.codegen.target = target
    p = neuron
    t0 = time.perf_counter()
    b2.start_scope()
    dt = p.dt * b2.second
    b2.defaultclock.dt = dt
    n_steps = inputs.gE_in.shape[0]
    ns = {**namespace(b2, p, rule), "gE_in": b2.TimedArray(inputs.gE_in, dt=dt)}
    cell = build_cell(b2, p, ns)
    cell.run_regularly("ge += gE_in(t)", when="before_groups")
    counts = np.diff(inputs.i_ptr)
    times = np.repeat(np.arange(n_steps), counts) * p.dt
    afferents = b2.SpikeGeneratorGroup(inputs.n_inh, inputs.i_idx, times * b2.second)
    syn = plastic_inhibition(b2, afferents, cell, ns, w0)
    spikes = b2.SpikeMonitor(cell)
    net = b2.Network(cell, afferents, syn, spikes)
    b2.prefs.codegen.runtime.cython.multiprocess_safe = False
    build = time.perf_counter() - t0
    bio = n_steps * p.dt
    t0 = time.perf_counter()
    net.run(bio * b2.second, report=None, namespace={})
    run = time.perf_counter() - t0
    return {"build_s": build, "run_s": run, "bio_s": bio, "rate_hz": spikes.num_spikes / bio,
            "mean_w_final": float(np.mean(syn.w[:])),
            "spike_times_s": np.asarray(spikes.t / b2.second, dtype=float)}


# -- batched: how a Brian2 user scores K candidates at once ----------------------------------------
BATCHED_CELL_EQS = """
dv/dt = ((v_rest - v) + ge * (e_exc - v) + gi * (e_inh - v)) / tau_m : volt (unless refractory)
ge : 1 (linked)
dgi/dt = -gi / tau_i : 1
dxpost/dt = -xpost / tau_post : 1
alpha : 1 (constant)
beta : 1 (constant)
"""


def build_batched(
    b2: Any,
    neuron: NeuronParams,
    rules: np.ndarray,
    mode: str,
    w0: float = 0.1,
    seed: int = 0,
    n_path: int = 8,
    n_exc_per: int = 100,
    n_inh_per: int = 25,
) -> tuple:
    """The batched Brian2 model a user would write to score ``K = len(rules)`` candidates on one
    trial: K cells (one per candidate) in one ``NeuronGroup`` sharing the inputs, which Brian2
    generates itself.

    Inputs: ``mode = "pathways"``: per pathway an Ornstein-Uhlenbeck signal s (tau 50 ms, sd 1,
    Euler-Maruyama) and rate ``5 Hz + 150 Hz max(0, s)``; afferents fire with probability
    ``rate dt`` per step with 5 ms refractoriness; ``"poisson"``: 40 Hz, no refractoriness. The
    excitatory conductance is computed once, in a one-neuron hub with the 800 fixed tuned synapses,
    and linked into every cell (shared: the cheapest layout for Brian2); each cell has its own 200
    plastic inhibitory synapses and its candidate's alpha, beta (the other rule parameters are those
    of ``rules[0]``). Returns the ``Network`` and the cells' ``SpikeMonitor``.
    """
    from ..tasks.istdp_inputs import tuned_exc_weights

    b2.seed(seed)
    K = len(rules)
    p = neuron
    dt = p.dt * b2.second
    b2.defaultclock.dt = dt
    ns = namespace(b2, p, rules[0])
    ns.update({"tau_ou": 0.05 * b2.second, "bg": 5.0 * b2.Hz, "amp_ou": 150.0 * b2.Hz})
    n_exc, n_inh = n_path * n_exc_per, n_path * n_inh_per
    pathway = np.concatenate([np.repeat(np.arange(n_path), n_exc_per),
                              np.repeat(np.arange(n_path), n_inh_per)])
    if mode not in ("pathways", "poisson"):
        raise ValueError(f"unknown input mode {mode!r}")
    if mode == "pathways":  # (an unused group would break cpp_standalone's bookkeeping)
        paths = b2.NeuronGroup(n_path, "ds/dt = -s / tau_ou + sqrt(2 / tau_ou) * xi : 1\n"
                                       "rate = bg + amp_ou * clip(s, 0, inf) : Hz", method="euler",
                               namespace=ns)
        paths.s = "randn()"
    groups = []
    for n, idx in ((n_exc, pathway[:n_exc]), (n_inh, pathway[n_exc:])):
        if mode == "pathways":
            g = b2.NeuronGroup(n, "r : Hz (linked)", threshold="rand() < r * dt",
                               refractory=0.005 * b2.second, namespace=ns)
            g.r = b2.linked_var(paths, "rate", index=idx)
        else:
            g = b2.PoissonGroup(n, 40.0 * b2.Hz)
        groups.append(g)
    aff_e, aff_i = groups
    objects = ([paths] if mode == "pathways" else []) + groups
    hub = b2.NeuronGroup(1, "dge/dt = -ge / tau_e : 1", method="exact", namespace=ns)
    exc = b2.Synapses(aff_e, hub, "w : 1", on_pre="ge_post += gbar_e * w", namespace=ns)
    exc.connect()
    exc.w = tuned_exc_weights(np.random.default_rng(seed), pathway[:n_exc])
    cells = b2.NeuronGroup(K, BATCHED_CELL_EQS, threshold="v >= v_th",
                           reset="v = v_reset; xpost += 1", refractory=p.t_ref * b2.second,
                           method="euler", namespace=ns)
    cells.v = p.v_rest * b2.mV
    cells.ge = b2.linked_var(hub, "ge", index=np.zeros(K, dtype=int))
    cells.alpha = rules[:, 2]
    cells.beta = rules[:, 3]
    inh = plastic_inhibition(b2, aff_i, cells, ns, w0, per_cell=True)
    spikes = b2.SpikeMonitor(cells)
    return b2.Network(*objects, hub, exc, cells, inh, spikes), spikes


def time_batched(K: int, duration: float, mode: str = "pathways", target: str = "cython",
                 seed: int = 0) -> dict:
    """Wall seconds of the batched model (:func:`build_batched`, Vogels' rule with K slightly
    different alphas) on one thread: ``build_s`` (objects, code generation, compilation and a first
    run), ``run_s`` (a second run of the built network: ``Network.run`` again for the cython
    target, the compiled binary run again for cpp_standalone), per candidate per simulated second
    in ``s_per_bio_s_per_candidate``. Call in a fresh process (the device is global to Brian2)."""
    import tempfile

    import brian2 as b2

    from ..rules.pre_post_trace import PrePostTraceRule

    rule = PrePostTraceRule(alpha=-0.2, beta=0.0, gamma=1.0, kappa=1.0, eta=1e-3).params()
    rules = np.repeat(rule[None], K, axis=0)
    rules[:, 2] *= np.linspace(0.8, 1.2, K)
    with tempfile.TemporaryDirectory(prefix="evoplast-brian2-") as directory:  # removed after
        t0 = time.perf_counter()
        if target == "cpp_standalone":
            b2.set_device("cpp_standalone", build_on_run=False, directory=directory)
            b2.prefs.devices.cpp_standalone.openmp_threads = 0
            net, spikes = build_batched(b2, NeuronParams(), rules, mode, seed=seed)
            net.run(duration * b2.second, report=None)
            b2.device.build(directory=directory, compile=True, run=True)
            build = time.perf_counter() - t0
            t0 = time.perf_counter()
            b2.device.run(directory=directory, with_output=False)
            run = time.perf_counter() - t0
        else:
            b2.prefs.codegen.target = target
            net, spikes = build_batched(b2, NeuronParams(), rules, mode, seed=seed)
            net.run(duration * b2.second, report=None)
            build = time.perf_counter() - t0
            t0 = time.perf_counter()
            net.run(duration * b2.second, report=None)
            run = time.perf_counter() - t0
        monitored = duration if target == "cpp_standalone" else 2 * duration  # cython: both runs
        n_spikes = int(spikes.num_spikes)  # read (cpp_standalone: from the directory) before it goes
    return {"target": target, "candidates": K, "mode": mode, "bio_s": duration, "build_s": build,
            "run_s": run, "s_per_bio_s_per_candidate": run / (K * duration),
            "rate_hz": float(n_spikes / (K * monitored)), "threads": 1,
            "brian2_version": b2.__version__}


if __name__ == "__main__":  # python -m evoplast.kernels.brian2_ref K DURATION MODE TARGET
    import json
    import sys

    k, dur, mode_, target_ = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
    print(json.dumps(time_batched(k, dur, mode_, target_)))
