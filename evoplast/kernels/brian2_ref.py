r"""The LIF task's neuron and inhibitory rule written in Brian2, for ``evoplast bench spiking``.

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

import numpy as np

from .lif import Inputs, NeuronParams

CELL_EQS = """
dv/dt = ((v_rest - v) + ge * (e_exc - v) + gi * (e_inh - v)) / tau_m : volt (unless refractory)
dge/dt = -ge / tau_e : 1
dgi/dt = -gi / tau_i : 1
dxpost/dt = -xpost / tau_post : 1
"""


def namespace(b2, neuron: NeuronParams, rule: np.ndarray) -> dict:
    """Brian2 names of the neuron's and the rule's constants (``rule`` as ``PrePostTraceRule.params()``)."""
    tau_pre, tau_post, alpha, beta, gamma, kappa, eta, w_max = (float(v) for v in rule)
    p = neuron
    return {"tau_m": p.tau_m * b2.second, "v_rest": p.v_rest * b2.mV, "v_reset": p.v_reset * b2.mV,
            "v_th": p.v_th * b2.mV, "e_exc": p.e_exc * b2.mV, "e_inh": p.e_inh * b2.mV,
            "tau_e": p.tau_exc * b2.second, "tau_i": p.tau_inh * b2.second, "gbar_i": p.gbar_inh,
            "gbar_e": p.gbar_exc, "tau_pre": tau_pre * b2.second, "tau_post": tau_post * b2.second,
            "alpha": alpha, "beta": beta, "gamma": gamma, "kappa": kappa, "eta": eta, "w_max": w_max}


def build_cell(b2, neuron: NeuronParams, ns: dict):
    """The conductance-based LIF cell (one neuron, forward Euler, post trace reset on a spike)."""
    cell = b2.NeuronGroup(1, CELL_EQS, threshold="v >= v_th", reset="v = v_reset; xpost += 1",
                          refractory=neuron.t_ref * b2.second, method="euler", namespace=ns)
    cell.v = neuron.v_rest * b2.mV
    return cell


def plastic_inhibition(b2, afferents, cell, ns: dict, w0: float):
    """All-to-one inhibitory synapses under the pre/post trace rule, weights starting at ``w0``."""
    syn = b2.Synapses(afferents, cell, "w : 1\ndxpre/dt = -xpre / tau_pre : 1 (event-driven)",
                      on_pre="gi_post += gbar_i * w\n"
                             "w = clip(w + eta * (alpha + kappa * xpost_post), 0, w_max)\n"
                             "xpre += 1",
                      on_post="w = clip(w + eta * (beta + gamma * xpre), 0, w_max)",
                      namespace=ns)
    syn.connect(i=np.arange(len(afferents)), j=0)
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
