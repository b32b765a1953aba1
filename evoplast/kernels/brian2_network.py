r"""The E-I network of :mod:`evoplast.kernels.ei_network` written in Brian2 (test and bench reference).

The same connectivity, source spikes, initial weights and rule as a trial's
:class:`~evoplast.kernels.ei_network.Net`, one candidate:

.. math::

    \tau_m \frac{dV}{dt} = (V_{rest} - V) + g_E (E_E - V) + g_I (E_I - V)
    \quad\text{(unless refractory)}, \qquad \frac{dg_{E,I}}{dt} = -\frac{g_{E,I}}{\tau_{E,I}}

One ``Synapses`` object per type (``ee``, ``ei`` onto g_E; ``ie``, ``ii`` onto g_I), built from the
trial's (pre, post) pairs; plastic types carry the pre/post trace rule (event-driven traces,
``on_pre``: conductance jump, then ``w = clip(w + eta (alpha + kappa x_post), 0, w_max)``, then
``x_pre += 1``; ``on_post``: ``w = clip(w + eta (beta + gamma x_pre), 0, w_max)``, then
``x_post += 1``). Sources: ``SpikeGeneratorGroup`` objects replaying the trial's source spikes
onto g_E with weight ``w_ext`` (a second one for the rare second spike of a source in one step).
Forward Euler at the kernel's dt.

Known differences from the compiled kernel (hence a tolerance, not equality): Brian2's Euler step
decays conductances by (1 - dt/tau) where the kernel uses exp(-dt/tau); Brian2 delivers a spike in
the step it is emitted (its effect on V from the next step on, as in the kernel) and jumps the
presynaptic trace then, the kernel one step later, at delivery.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from .ei_network import TYPES, Net
from .lif import TraceParams

EQS = """
dv/dt = ((v_rest - v) + ge * (e_exc - v) + gi * (e_inh - v)) / tau_m : volt (unless refractory)
dge/dt = -ge / tau_e : 1
dgi/dt = -gi / tau_i : 1
"""


def build(b2: Any, net: Net, n_exc: int, neuron_array: np.ndarray, rule: np.ndarray,
          plastic: np.ndarray, w_ext: float, n_steps: int) -> tuple[Any, Any, dict]:
    """The Brian2 objects of one trial and candidate: ``(Network, SpikeMonitor, {type: Synapses})``
    (the caller picks the device or code-generation target first)."""
    tau_m, v_rest, v_reset, v_th, t_ref, e_exc, e_inh, tau_e, tau_i, _ge, _gi, dt = neuron_array
    b2.defaultclock.dt = dt * b2.second
    N = net.out_ptr.size - 1
    ns = {"tau_m": tau_m * b2.second, "v_rest": v_rest * b2.mV, "v_reset": v_reset * b2.mV,
          "v_th": v_th * b2.mV, "e_exc": e_exc * b2.mV, "e_inh": e_inh * b2.mV,
          "tau_e": tau_e * b2.second, "tau_i": tau_i * b2.second, "w_ext": w_ext}
    cells = b2.NeuronGroup(N, EQS, threshold="v >= v_th", reset="v = v_reset",
                           refractory=t_ref * b2.second, method="euler", namespace=ns)
    cells.v = v_rest * b2.mV
    n_src = int(net.s_ptr.size - 1)
    step = np.repeat(np.arange(n_steps), np.diff(net.x_ptr))
    key = step * n_src + net.x_src  # a source may spike twice in a step (Poisson counts): Brian2's
    order = np.argsort(key, kind="stable")  # generator may not, so the k-th spike of a (source,
    first = np.r_[True, key[order][1:] != key[order][:-1]]  # step) pair goes to generator layer k
    run_id = np.cumsum(first) - 1
    rank = np.empty(key.size, dtype=np.int64)
    rank[order] = np.arange(key.size) - np.flatnonzero(first)[run_id]
    s_src = np.repeat(np.arange(n_src), np.diff(net.s_ptr))
    objects = [cells]
    for layer in range(int(rank.max()) + 1 if rank.size else 0):
        sel = rank == layer
        src = b2.SpikeGeneratorGroup(n_src, net.x_src[sel], step[sel] * dt * b2.second)
        ext = b2.Synapses(src, cells, on_pre="ge_post += w_ext", namespace=ns)
        ext.connect(i=s_src, j=net.s_post)
        objects += [src, ext]
    syns = {}
    for ti, t in enumerate(TYPES):
        sel = net.syn_type == ti
        if not sel.any():
            continue
        g = "ge" if t[0] == "e" else "gi"
        if plastic[ti]:
            r = TraceParams(*(float(v) for v in rule[ti]))
            tns = {**ns, "tau_pre": r.tau_pre * b2.second, "tau_post": r.tau_post * b2.second,
                   "alpha": r.alpha, "beta": r.beta, "gamma": r.gamma, "kappa": r.kappa, "eta": r.eta,
                   "w_max": float(net.w_max[ti])}
            syn = b2.Synapses(cells, cells, "w : 1\ndxpre/dt = -xpre / tau_pre : 1 (event-driven)\n"
                              "dxpost/dt = -xpost / tau_post : 1 (event-driven)",
                              on_pre=f"{g}_post += w\nw = clip(w + eta * (alpha + kappa * xpost), 0, w_max)\n"
                                     "xpre += 1",
                              on_post="w = clip(w + eta * (beta + gamma * xpre), 0, w_max)\nxpost += 1",
                              namespace=tns)
        else:
            syn = b2.Synapses(cells, cells, "w : 1", on_pre=f"{g}_post += w", namespace=ns)
        syn.connect(i=net.syn_pre[sel], j=net.syn_post[sel])
        syn.w = net.w0[sel]
        syns[t] = syn
        objects.append(syn)
    spikes = b2.SpikeMonitor(cells)
    return b2.Network(*objects, spikes), spikes, syns


def simulate_brian2(net: Net, n_exc: int, neuron_array: np.ndarray, rule: np.ndarray,
                    plastic: np.ndarray, w_ext: float, n_steps: int, target: str = "cython") -> dict:
    """One Brian2 run of one trial with one candidate (``rule`` (4, 8) as
    :meth:`TypedTraceRule.params`). Returns wall seconds to build and run, simulated seconds, E and
    I rates over the whole run, the mean final weight per type and the E spikes per 100 ms bin."""
    import brian2 as b2

    b2.prefs.codegen.target = target
    b2.prefs.codegen.runtime.cython.multiprocess_safe = False
    t0 = time.perf_counter()
    b2.start_scope()
    network, spikes, syns = build(b2, net, n_exc, neuron_array, rule, plastic, w_ext, n_steps)
    build_s = time.perf_counter() - t0
    dt = float(neuron_array[-1])
    T = n_steps * dt
    N = net.out_ptr.size - 1
    t0 = time.perf_counter()
    network.run(T * b2.second, report=None, namespace={})
    run = time.perf_counter() - t0
    i = np.asarray(spikes.i[:])
    t = np.asarray(spikes.t / b2.second)
    e = i < n_exc
    n_bins = int(round(T / 0.1))
    return {"build_s": build_s, "run_s": run, "bio_s": T,
            "rate_e_hz": float(e.sum() / (n_exc * T)), "rate_i_hz": float((~e).sum() / ((N - n_exc) * T)),
            "mean_w_final": {t: float(np.mean(s.w[:])) for t, s in syns.items()},
            "counts_e": np.histogram(t[e], n_bins, (0.0, T))[0]}


def serve(sets: list[str], duration: float, target: str, rounds: int,
          config_path: str = "runs/ei_ie.toml", directory: str | None = None, stdin: Any = None,
          stdout: Any = None) -> None:
    """Time the network of ``load_config(config_path, sets)`` (trial 0 of the training stream,
    Vogels' rule on I -> E) in Brian2 on one thread, the network already built, when asked, so that a
    caller can interleave these runs with its own (``evoplast bench network``). Call in a fresh
    process. Line protocol (JSON, one object per line on ``stdout``):

    - build, then one untimed run of ``duration`` (cython, numpy: code generation and compilation;
      cpp_standalone: the binary's build and first run), then ``{"ready": true, "build_s": ...}``;
    - for each line ``run`` on ``stdin`` (at most ``rounds``): one more run of ``duration``, then
      ``{"run_s": wall s, "internal_s": ...}`` -- cython and numpy: a further ``Network.run``, which
      continues the simulation (the source spikes cover ``rounds + 1`` runs); cpp_standalone: the
      compiled binary run again (its process start, reading the network from disk and writing the
      results included in ``run_s``; ``internal_s`` is the run time the binary itself records, None
      for the other targets);
    - at the end of ``stdin``: ``{"bench": "network_brian2", ...}`` with the E rate over the
      monitored time, the runs and Brian2's version.

    cpp_standalone builds in ``directory`` (the caller removes it: a killed process cannot), else in
    a temporary directory removed at the end."""
    import sys
    import tempfile
    from contextlib import nullcontext

    import brian2 as b2

    from .. import seeding
    from ..bench_network import timing_config
    from ..tasks import make_task

    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout

    def say(obj: dict) -> None:
        stdout.write(json.dumps(obj) + "\n")
        stdout.flush()

    standalone = target == "cpp_standalone"
    # cython, numpy: source spikes for every run of the continued simulation
    config = timing_config(config_path, sets, duration if standalone else (rounds + 1) * duration)
    task = make_task(config)
    net = task.make_trials(seeding.trial_seeds(0, seeding.STREAM_TRAIN, 0, 1)).nets[0]
    n_exc = config.task.n_exc
    args = (net, n_exc, task.neuron.array(), task.known_rule().params(), task.plastic, config.task.w_ext,
            config.task.n_steps())
    place = nullcontext(directory) if directory is not None else tempfile.TemporaryDirectory(
        prefix="evoplast-brian2-net-")  # a temporary one is removed at the end
    with place as directory:
        t0 = time.perf_counter()
        if standalone:
            b2.set_device("cpp_standalone", build_on_run=False, directory=directory)
            b2.prefs.devices.cpp_standalone.openmp_threads = 0
            network, spikes, _ = build(b2, *args)
            network.run(duration * b2.second, report=None, namespace={})
            b2.device.build(directory=directory, compile=True, run=True)
        else:
            b2.prefs.codegen.target = target
            b2.prefs.codegen.runtime.cython.multiprocess_safe = False
            network, spikes, _ = build(b2, *args)
            network.run(duration * b2.second, report=None, namespace={})
        say({"ready": True, "build_s": time.perf_counter() - t0})
        runs = 0
        for line in stdin:
            if line.strip() != "run":
                break
            if runs == rounds:
                raise ValueError(f"asked for more than the {rounds} runs the source spikes cover")
            t0 = time.perf_counter()
            if standalone:
                b2.device.run(directory=directory, with_output=False)
            else:
                network.run(duration * b2.second, report=None, namespace={})
            run_s = time.perf_counter() - t0
            runs += 1
            say({"run_s": run_s, "internal_s": float(b2.device._last_run_time) if standalone else None})
        monitored = duration if standalone else (runs + 1) * duration
        n_e = int((np.asarray(spikes.i[:]) < n_exc).sum())  # read before a temporary directory goes
    say({"bench": "network_brian2", "target": target, "neurons": int(net.out_ptr.size - 1),
         "synapses": int(net.syn_post.size), "simulated_s": duration, "runs": runs,
         "rate_e_hz": n_e / (n_exc * monitored), "threads": 1, "brian2_version": b2.__version__})


if __name__ == "__main__":  # python -m evoplast.kernels.brian2_network SETS S TARGET ROUNDS [CONFIG [DIR]]
    import sys

    serve(json.loads(sys.argv[1]), float(sys.argv[2]), sys.argv[3], int(sys.argv[4]), *sys.argv[5:7])
