r"""Task ``ei_network``: a recurrent E-I spiking network keeps a target E rate (experiment 4).

``n_exc`` E and ``n_inh`` I conductance-based LIF neurons (:mod:`evoplast.kernels.ei_network`;
weights in units of the leak conductance) connected at random with probability ``p[type]`` per
ordered pair (no self-connections; types ``ee``, ``ei``, ``ie``, ``ii`` = pre then post population),
driven by ``n_ext`` Poisson sources (each neuron connects to each source with probability
``p_ext``, weight ``w_ext``). Per trial, from the trial's seed: fresh connectivity, the sources'
rate (uniform in ``ext_rate_range``), their spikes, each type's initial weight (uniform in
``w0[type]``, the same for all synapses of the type) and, for types in ``w_max_range``, the weight
bound (SpikES). Plastic types follow rule family ``pre_post_trace_types``.

Each trial runs ``train_s`` then ``score_s`` seconds. Loss per trial, with nu_E the E population
rate over the scored window (the whole scoring phase, or with ``score_window_s`` > 0 a window of
that length at a random offset within it, a multiple of ``bin_s`` drawn from the trial's seed, as
SpikES scores a random 5 s of 20 s):

.. math:: l = \left(\frac{\nu_E - \nu^*}{\nu^*}\right)^2

capped at ``cap = ((rate_hi - nu*) / nu*)^2``. The E rate low-pass filtered with ``tau_checker_s``
outside ``rate_bounds`` ends the trial (status ``silent`` / ``runaway``) with the finite penalty
``cap (2 - time run / duration)``, as in ``istdp``.

Held-out metrics add fSBI's plausibility metrics of the whole scoring phase
(:mod:`evoplast.tasks.ei_metrics`; ``rate`` and ``rate_i`` are those of the scored window); a rule
is ``plausible`` on a trial when all lie in range. With ``plausibility_weight`` w > 0 the search's
loss of a completed trial adds ``w * sum_m violation_m`` (each metric's distance outside its range
in units of the range's width, 1 for an undefined metric).

Mean field (:mod:`evoplast.theory`): for a plastic type with presynaptic rate nu_pre and
postsynaptic rate nu_post the drift vanishes on beta = -(nu_pre / nu_post) alpha - K nu_pre,
stable for beta + K nu_pre > 0; the rates are the ones the network settles at with the rule
(nu_post = nu* for types onto E).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import theory
from ..errors import ConfigError
from ..kernels import ei_network as kern
from ..kernels import lif
from . import ei_metrics
from .base import Task, TrialSet

if TYPE_CHECKING:
    from evoplast.config import Config
    from evoplast.rules.typed_trace import TypedTraceRule

TYPES = kern.TYPES
DEFAULT_P = {"ee": 0.2, "ei": 0.2, "ie": 0.2, "ii": 0.2}
DEFAULT_W0 = {"ee": (0.03, 0.03), "ei": (0.03, 0.03), "ie": (0.0, 0.3), "ii": (0.3, 0.3)}


@dataclass(frozen=True)
class EiNetworkConfig:
    """``[task]`` of ``ei_network`` (defaults: SpikES's in-degrees and weights at 1000 neurons)."""

    name: str = "ei_network"
    n_exc: int = 800
    n_inh: int = 200
    p: dict[str, float] = field(default_factory=dict)  # per type; missing types: DEFAULT_P
    w0: dict[str, tuple[float, float]] = field(default_factory=dict)  # per type; missing: DEFAULT_W0
    w_max_range: dict[str, tuple[float, float]] = field(default_factory=dict)  # plastic types only
    n_ext: int = 5000
    p_ext: float = 0.05
    w_ext: float = 0.1
    ext_rate_range: tuple[float, float] = (1.0, 5.0)
    train_s: float = 10.0
    score_s: float = 5.0
    score_window_s: float = 0.0  # > 0: score a random window of this length of the scoring phase
    target_rate_hz: float = 10.0
    rate_bounds: tuple[float, float] = (0.1, 100.0)
    tau_checker_s: float = 1.0
    bin_s: float = 0.1
    n_trials: int = 4
    heldout_trials: int = 8
    record_neurons: int = 400  # E neurons whose spikes the plausibility metrics use (at most n_exc)
    metric_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # overrides
    plausibility_weight: float = 0.0  # > 0: the loss adds this x the metrics' range violations
    theory_trials: int = 4
    neuron: dict[str, float] = field(default_factory=dict)  # overrides of NeuronParams
    nmda_ratio: float = 0.0  # > 0: excitatory spikes also drive an NMDA conductance (fSBI: 0.3)
    tau_nmda_s: float = 0.1

    def connect_p(self) -> dict[str, float]:
        return {**DEFAULT_P, **self.p}

    def w0_ranges(self) -> dict[str, tuple[float, float]]:
        return {**DEFAULT_W0, **self.w0}

    def ranges(self) -> dict[str, tuple[float, float]]:
        return {**ei_metrics.RANGES, **self.metric_ranges}

    def neuron_params(self) -> lif.NeuronParams:
        return lif.NeuronParams(**self.neuron)

    def n_recorded(self) -> int:
        """E neurons recorded for the plausibility metrics: the first ``record_neurons`` (all E
        neurons if there are fewer)."""
        return min(self.record_neurons, self.n_exc)

    def n_steps(self) -> int:
        return int(round((self.train_s + self.score_s) / self.neuron_params().dt))

    def validate(self) -> None:
        for key in ("n_exc", "n_inh"):
            if getattr(self, key) < 1:
                raise ConfigError(f"task.{key} must be >= 1, got {getattr(self, key)}")
        if self.n_ext < 0:
            raise ConfigError(f"task.n_ext must be >= 0, got {self.n_ext}")
        for table in ("p", "w0", "w_max_range"):
            bad = [t for t in getattr(self, table) if t not in TYPES]
            if bad:
                raise ConfigError(f"task.{table}: unknown synapse type {bad[0]!r} (types: "
                                  f"{', '.join(TYPES)}; pre then post population)")
        for t, p in self.connect_p().items():
            if not 0 <= p <= 1:
                raise ConfigError(f"task.p.{t} must be a probability in [0, 1], got {p}")
        if not 0 <= self.p_ext <= 1:
            raise ConfigError(f"task.p_ext must be a probability in [0, 1], got {self.p_ext}")
        for t, (lo, hi) in self.w0_ranges().items():
            if not 0 <= lo <= hi:
                raise ConfigError(f"task.w0.{t} must be [low, high] with 0 <= low <= high")
        for t, (lo, hi) in self.w_max_range.items():
            if not 0 < lo <= hi:
                raise ConfigError(f"task.w_max_range.{t} must be [low, high] with 0 < low <= high")
        lo, hi = self.ext_rate_range
        if not 0 <= lo <= hi:
            raise ConfigError("task.ext_rate_range must be [low, high] with 0 <= low <= high (Hz)")
        for key in ("w_ext", "score_s", "tau_checker_s", "bin_s"):
            if not getattr(self, key) > 0:
                raise ConfigError(f"task.{key} must be > 0, got {getattr(self, key)}")
        if not self.train_s >= 0:
            raise ConfigError(f"task.train_s must be >= 0, got {self.train_s}")
        if not self.target_rate_hz >= 0.01:
            raise ConfigError(f"task.target_rate_hz must be >= 0.01 Hz (a measurable rate), got "
                              f"{self.target_rate_hz}")
        lo, hi = self.rate_bounds
        if not 0 <= lo < self.target_rate_hz < hi:
            raise ConfigError(f"task.rate_bounds must be [low, high] with 0 <= low < target_rate_hz "
                              f"({self.target_rate_hz}) < high, got {list(self.rate_bounds)}")
        for key in ("n_trials", "heldout_trials", "theory_trials"):
            if getattr(self, key) < 1:
                raise ConfigError(f"task.{key} must be >= 1, got {getattr(self, key)}")
        if self.record_neurons < 0:
            raise ConfigError(f"task.record_neurons must be >= 0, got {self.record_neurons}")
        if not self.nmda_ratio >= 0 or not self.tau_nmda_s > 0:
            raise ConfigError(f"task.nmda_ratio must be >= 0 and task.tau_nmda_s > 0, got "
                              f"{self.nmda_ratio}, {self.tau_nmda_s}")
        if not self.plausibility_weight >= 0:
            raise ConfigError(f"task.plausibility_weight must be >= 0, got {self.plausibility_weight}")
        if self.plausibility_weight > 0 and self.record_neurons < 1:
            raise ConfigError("task.plausibility_weight > 0 needs task.record_neurons >= 1 (the metrics "
                              "come from recorded spikes)")
        bad = [k for k in self.metric_ranges if k not in ei_metrics.RANGES]
        if bad:
            raise ConfigError(f"task.metric_ranges: unknown metric {bad[0]!r} (known: "
                              f"{', '.join(ei_metrics.RANGES)})")
        lif.NeuronParams.from_overrides(self.neuron)
        if self.score_s < self.bin_s or self.score_s < 1.0:
            raise ConfigError(f"task.score_s must be >= 1 s and >= task.bin_s, got {self.score_s}")
        if not 0 <= self.score_window_s <= self.score_s:
            raise ConfigError(f"task.score_window_s must be in [0, task.score_s = {self.score_s}] "
                              f"(0: score the whole scoring phase), got {self.score_window_s}")
        if abs(self.score_window_s / self.bin_s - round(self.score_window_s / self.bin_s)) > 1e-9:
            raise ConfigError("task.score_window_s must be a multiple of task.bin_s")
        if abs(self.score_s / self.bin_s - round(self.score_s / self.bin_s)) > 1e-9 or \
                abs(self.train_s / self.bin_s - round(self.train_s / self.bin_s)) > 1e-9:
            raise ConfigError("task.train_s and task.score_s must be multiples of task.bin_s")
        if self.n_synapses() > 0.99 * 2**31 or self.n_ext >= 2**31:
            raise ConfigError(f"task: about {self.n_synapses():.3g} recurrent synapses and {self.n_ext} "
                              f"sources; the network's indices are 32-bit integers (at most 2**31 - 1)")

    def n_synapses(self, types: tuple[str, ...] = kern.TYPES) -> float:
        """Expected number of recurrent synapses (of ``types``)."""
        size = {"e": self.n_exc, "i": self.n_inh}
        return sum(p * size[t[0]] * (size[t[1]] - (t[0] == t[1])) for t, p in self.connect_p().items()
                   if t in types)


@dataclass(frozen=True)
class EiTrials(TrialSet):
    nets: list  # of kernels.ei_network.Net
    W0: list  # per trial, the initial weight of each type (4,)
    ext_rate: np.ndarray  # (D,) Hz
    window0: np.ndarray  # (D,) first scored bin, counted from the scoring phase's start


def _connect(rng: np.random.Generator, pre: range, post: range, p: float, no_self: bool):
    """(pre, post) index pairs, each ordered pair connected with probability p (row chunks)."""
    n_post = len(post)
    chunk = max(1, (1 << 22) // max(1, n_post))
    out_pre, out_post = [], []
    for a in range(0, len(pre), chunk):
        rows = min(chunk, len(pre) - a)
        mask = rng.random((rows, n_post)) < p
        if no_self:
            r = np.arange(rows)
            mask[r, a + r] = False
        i, j = np.nonzero(mask)
        out_pre.append(i + a + pre.start)
        out_post.append(j + post.start)
    return np.concatenate(out_pre), np.concatenate(out_post)


def make_net(rng: np.random.Generator, c: EiNetworkConfig, plastic: tuple[str, ...],
             w_max: dict[str, float], w0: dict[str, float], ext_rate: float) -> kern.Net:
    """One trial's network and input (everything random from ``rng``)."""
    NE, N = c.n_exc, c.n_exc + c.n_inh
    pops = {"e": range(0, NE), "i": range(NE, N)}
    pre, post, typ, wv = [], [], [], []
    for ti, t in enumerate(TYPES):
        i, j = _connect(rng, pops[t[0]], pops[t[1]], c.connect_p()[t], t[0] == t[1])
        pre.append(i)
        post.append(j)
        typ.append(np.full(i.size, ti, dtype=np.int8))
        wv.append(np.full(i.size, w0[t]))
    pre, post, typ, wv = (np.concatenate(a) for a in (pre, post, typ, wv))
    order = np.lexsort((post, pre))
    pre, post, typ, wv = pre[order], post[order], typ[order], wv[order]
    out_ptr = np.searchsorted(pre, np.arange(N + 1)).astype(np.int64)
    is_plastic = np.isin(typ, [TYPES.index(t) for t in plastic])
    ids = np.flatnonzero(is_plastic)
    ids = ids[np.argsort(post[ids], kind="stable")]
    in_ptr = np.searchsorted(post[ids], np.arange(N + 1)).astype(np.int64)
    n_steps = c.n_steps()
    dt = c.neuron_params().dt
    counts = rng.poisson(ext_rate * n_steps * dt, size=c.n_ext)
    src = np.repeat(np.arange(c.n_ext, dtype=np.int64), counts)
    step = rng.integers(0, n_steps, size=src.size)
    o = np.lexsort((src, step))
    src, step = src[o], step[o]
    x_ptr = np.searchsorted(step, np.arange(n_steps + 1)).astype(np.int64)
    s_src, s_post = _connect(rng, range(0, c.n_ext), range(0, N), c.p_ext, False)
    s_ptr = np.searchsorted(s_src, np.arange(c.n_ext + 1)).astype(np.int64)
    # neuron, synapse and source indices as int32: less memory to stream in the kernel's delivery
    # (the same numbers; validate() keeps every index below 2**31)
    i32 = np.int32
    return kern.Net(out_ptr, post.astype(i32), pre.astype(i32), typ, wv, in_ptr, ids.astype(i32), x_ptr,
                    src.astype(i32), s_ptr, s_post.astype(i32),
                    np.array([w_max[t] for t in TYPES], dtype=float))


class EiNetworkTask(Task):
    """Experiment 4. See the module docstring for the equations."""

    name = "ei_network"
    Config = EiNetworkConfig
    families = ("pre_post_trace_types",)
    default_family = "pre_post_trace_types"
    status_names = kern.STATUS_NAMES
    headline_metric = "max_relative_rate_error"

    def __init__(self, config: Config) -> None:
        self.cfg: EiNetworkConfig = config.task
        self.rule_template: TypedTraceRule = config.rule.rule()
        self.neuron = self.cfg.neuron_params()
        c = self.cfg
        self.cap = ((c.rate_bounds[1] - c.target_rate_hz) / c.target_rate_hz) ** 2
        self.penalty = 2.0 * self.cap
        self.seed = config.run.seed
        self.plastic = np.array([t in self.rule_template.types for t in TYPES])
        spikes = [n for n in c.ranges() if n not in ("rate", "rate_i")] + ["plausible"]
        self.logged_metrics = ("rate_e_hz", "rate_i_hz", *(f"w_{t}" for t in self.rule_template.types),
                               *(spikes if c.plausibility_weight > 0 else ()))

    # -- resources ------------------------------------------------------------------------------------
    @classmethod
    def estimate_bytes(cls, config: Config, popsize: int) -> int:
        """Largest trial set (synapses ~21 bytes each, external spikes and targets, and the kernel's
        per-trial tables: 5 bytes per synapse, 8 per plastic one, 16 per neuron) plus what the blocks
        that run at once hold (per thread: at most 8 candidates x 8 bytes per plastic synapse, neuron
        state)."""
        c = config.task
        T = c.train_s + c.score_s
        n_syn = c.n_synapses()
        n_plastic = c.n_synapses(tuple(config.rule.plastic))
        per_trial = (n_syn * 26 + n_plastic * 8 + c.n_ext * (c.n_exc + c.n_inh) * c.p_ext * 8
                     + c.n_ext * c.ext_rate_range[1] * T * 24 + c.n_steps() * 8 + (c.n_exc + c.n_inh) * 16)
        trials = max(c.n_trials, c.heldout_trials, c.theory_trials)
        threads = max(1, min(popsize // kern.BLOCK + 1, 64)) * c.n_trials
        block = n_plastic * kern.BLOCK * 8 + (c.n_exc + c.n_inh) * kern.BLOCK * 8 * 14
        return int(trials * per_trial + min(threads, 256) * block)

    @classmethod
    def estimate_steps(cls, config: Config, popsize: int) -> float:
        """Neuron and synapse updates of a generation (each neuron per step, each synapse per step)."""
        c = config.task
        return float(popsize) * c.n_trials * c.n_steps() * (c.n_exc + c.n_inh + c.n_synapses() * 0.01)

    @staticmethod
    def check_config(config: Config) -> None:
        plastic = config.rule.plastic
        bad = [t for t in config.task.w_max_range if t not in plastic]
        if bad:
            raise ConfigError(f"task.w_max_range.{bad[0]}: {bad[0]!r} is not a plastic type "
                              f"(rule.plastic = {list(plastic)})")

    # -- trials ---------------------------------------------------------------------------------------
    def make_trials(self, seeds: list[np.random.SeedSequence]) -> EiTrials:
        c = self.cfg
        nets, w0s, rates, window0 = [], [], [], []
        template = self.rule_template
        _, nb, nw = self._score_bins()
        for seed in seeds:
            rng = np.random.default_rng(seed)
            rate = float(rng.uniform(*c.ext_rate_range))
            w0 = {t: float(rng.uniform(*c.w0_ranges()[t])) for t in TYPES}
            w_max = {t: (float(rng.uniform(*c.w_max_range[t])) if t in c.w_max_range
                         else template.rule(t).w_max if t in template.types else math.inf)
                     for t in TYPES}
            nets.append(make_net(rng, c, template.types, w_max, w0, rate))
            w0s.append(np.array([w0[t] for t in TYPES]))
            rates.append(rate)
            # drawn last, and only for a window shorter than the phase: other trials unchanged
            window0.append(int(rng.integers(0, nb - nw + 1)) if nw < nb else 0)
        return EiTrials(nets, w0s, np.array(rates), np.array(window0, dtype=np.int64))

    def _rules(self, vectors) -> np.ndarray:
        return np.array([self.rule_template.from_vector(v).params() for v in np.atleast_2d(vectors)])

    def _score_bins(self) -> tuple[int, int, int]:
        """First bin of the scoring phase, its bins, the scored window's bins."""
        c = self.cfg
        nb = int(round(c.score_s / c.bin_s))
        nw = int(round(c.score_window_s / c.bin_s)) if c.score_window_s > 0 else nb
        return int(round(c.train_s / c.bin_s)), nb, nw

    def simulate(self, vectors: np.ndarray, trials: EiTrials, record: bool = False) -> kern.NetRun:
        c = self.cfg
        dt = self.neuron.dt
        rec_start = int(round(c.train_s / dt))
        n_rec = c.n_recorded() if record else 0
        cap = int(n_rec * c.rate_bounds[1] * c.score_s * 1.5) + 16 if record else 1
        return kern.simulate(trials.nets, c.n_exc, self.neuron.array(), self._rules(vectors),
                             self.plastic, c.w_ext, c.n_steps(), int(round(c.bin_s / dt)),
                             c.target_rate_hz, c.rate_bounds, c.tau_checker_s, rec_start, n_rec, cap,
                             (c.nmda_ratio, c.tau_nmda_s))

    def _rates(self, run: kern.NetRun, trials: EiTrials) -> tuple[np.ndarray, np.ndarray]:
        """E and I population rates over each trial's scored window, (K, D)."""
        b0, _, nw = self._score_bins()
        T = nw * self.cfg.bin_s
        nu_e = np.empty(run.status.shape)
        nu_i = np.empty(run.status.shape)
        for d, w in enumerate(trials.window0):
            nu_e[:, d] = run.counts_e[:, d, b0 + w:b0 + w + nw].sum(-1) / (self.cfg.n_exc * T)
            nu_i[:, d] = run.counts_i[:, d, b0 + w:b0 + w + nw].sum(-1) / (self.cfg.n_inh * T)
        return nu_e, nu_i

    def _loss(self, run: kern.NetRun, trials: EiTrials,
              rates: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        nu, _ = rates if rates is not None else self._rates(run, trials)
        target = self.cfg.target_rate_hz
        loss = np.minimum(((nu - target) / target) ** 2, self.cap)
        escaped = self.cap * (2.0 - run.steps / self.cfg.n_steps())
        return np.where(run.status == kern.OK, loss, escaped)

    def evaluate(self, vectors: np.ndarray, trials: EiTrials) -> tuple[np.ndarray, np.ndarray]:
        """Per-trial loss; with ``plausibility_weight`` w > 0 a completed trial adds
        ``w * sum_m violation_m`` over the plausibility metrics (:func:`ei_metrics.violation`)."""
        loss, status, _ = self.evaluate_logged(vectors, trials)
        return loss, status

    def evaluate_logged(self, vectors: np.ndarray, trials: EiTrials
                        ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """:meth:`evaluate` and, per trial, the scored window's E and I rates (``rate_e_hz``,
        ``rate_i_hz``), each plastic type's final mean weight (``w_<type>``) and, when the
        plausibility term is on (spikes are recorded then), every plausibility metric and
        ``plausible`` (1.0 / 0.0; a stopped trial is not plausible). NaN for a stopped trial."""
        weight = self.cfg.plausibility_weight
        run = self.simulate(vectors, trials, record=weight > 0)
        rates = self._rates(run, trials)
        loss = self._loss(run, trials, rates)
        ok = run.status == kern.OK
        out = {"rate_e_hz": np.where(ok, rates[0], np.nan), "rate_i_hz": np.where(ok, rates[1], np.nan)}
        for t in self.rule_template.types:
            out[f"w_{t}"] = np.where(ok, run.wstats[:, :, TYPES.index(t), 0], np.nan)
        if weight > 0:
            ranges = self.cfg.ranges()
            for name in self.logged_metrics[len(out):]:
                out[name] = np.full(loss.shape, np.nan)
            for k in range(loss.shape[0]):
                for d, m in enumerate(self.trial_metrics(run, trials, k, rates)):
                    out["plausible"][k, d] = float(m["plausible"])
                    if ok[k, d]:
                        loss[k, d] += weight * ei_metrics.violation(m, ranges)
                        for name in ranges:
                            if name in out:
                                out[name][k, d] = m.get(name, np.nan)
        return loss, run.status, out

    # -- held-out metrics ---------------------------------------------------------------------------
    def trial_metrics(self, run: kern.NetRun, trials: EiTrials, k: int = 0,
                      rates: tuple[np.ndarray, np.ndarray] | None = None) -> list[dict[str, Any]]:
        """Rates (scored window; ``rates``: :meth:`_rates` if already computed) and every
        plausibility metric (whole scoring phase) of candidate k on each trial (NaN metrics for a
        stopped trial, which is not plausible)."""
        c = self.cfg
        nu_e, nu_i = rates if rates is not None else self._rates(run, trials)
        b0, nb, _ = self._score_bins()
        ranges = c.ranges()
        plastic = [TYPES.index(t) for t in self.rule_template.types]
        n_steps = int(round(c.score_s / self.neuron.dt))
        out = []
        for d in range(run.status.shape[1]):
            m: dict[str, Any] = {"status": kern.STATUS_NAMES[int(run.status[k, d])],
                                 "rate_e_hz": float(nu_e[k, d]), "rate_i_hz": float(nu_i[k, d])}
            ok = run.status[k, d] == kern.OK
            if ok and c.n_recorded():
                n = int(run.rec_count[k, d])
                if n > run.rec_t.shape[2]:
                    raise RuntimeError("spike recording buffer overflowed (a bug: its size allows "
                                       "the runaway bound's rate)")
                sm = ei_metrics.spike_metrics(run.rec_t[k, d, :n], run.rec_n[k, d, :n],
                                              c.n_recorded(), n_steps, self.neuron.dt)
                sm["rate"], sm["rate_i"] = m["rate_e_hz"], m["rate_i_hz"]
                w, ws = run.wmean[k, d], run.wstats[k, d]
                at_bounds = ws[plastic, 1] + ws[plastic, 2]
                if b0 > 0:  # mean weights at the scoring window's start and end
                    sm.update(ei_metrics.weight_metrics(w[plastic, b0 - 1], w[plastic, b0 + nb - 1],
                                                        at_bounds))
                else:  # no bin ends before the window: no creep measured
                    sm.update(w_blow=float(np.mean(at_bounds)), w_creep=math.nan)
                m.update(sm)
            m["plausible"], m["implausible"] = ei_metrics.plausible(m if ok else {}, ranges)
            m["final_mean_weight"] = {t: float(run.wstats[k, d, i, 0]) for i, t in enumerate(TYPES)}
            out.append(m)
        return out

    def metrics(self, vector: np.ndarray, trials: EiTrials) -> dict[str, Any]:
        run = self.simulate(vector, trials, record=True)
        loss = self._loss(run, trials)
        per = self.trial_metrics(run, trials)
        ok = run.status[0] == kern.OK
        target = self.cfg.target_rate_hz
        nu = np.array([m["rate_e_hz"] for m in per])
        rel = np.abs(nu - target) / target
        within = ok & (rel <= 0.1)
        plaus = np.array([m["plausible"] for m in per])
        return {
            "n_trials": int(ok.size),
            "n_ok": int(ok.sum()),
            "loss": float(loss.mean()),
            "rate_e_hz": nu.tolist(),
            "rate_i_hz": [m["rate_i_hz"] for m in per],
            "max_relative_rate_error": float(np.where(ok, rel, np.inf).max()),
            "within_10_percent": int(within.sum()),
            "plausible": int(plaus.sum()),
            "plausible_and_within": int((plaus & within).sum()),
            "status": [m["status"] for m in per],
            "per_trial": per,
        }

    def summary(self, rule: TypedTraceRule, trials: EiTrials) -> dict[str, Any]:
        """``evoplast simulate``: the first trial's E and I rates and mean weights per type over
        time, and every trial's metrics (:meth:`metrics`)."""
        run = self.simulate(rule.to_vector(), trials, record=True)
        c = self.cfg
        per = self.trial_metrics(run, trials)
        return {
            "bin_s": c.bin_s,
            "rate_e_hz": (run.counts_e[0, 0] / (c.n_exc * c.bin_s)).tolist(),
            "rate_i_hz": (run.counts_i[0, 0] / (c.n_inh * c.bin_s)).tolist(),
            "mean_weight": {t: run.wmean[0, 0, i].tolist() for i, t in enumerate(TYPES)},
            "per_trial": per,
            "status_per_trial": [m["status"] for m in per],
            "plausible_trials": int(sum(m["plausible"] for m in per)),
            "theory": self.theory(rule, trials),
        }

    # -- theory ---------------------------------------------------------------------------------
    def known_rule(self) -> TypedTraceRule:
        """Vogels' rule on I -> E (alpha = -K nu*, beta = 0) where ``ie`` is plastic, the
        configured values elsewhere (no other type has a known rule for this task)."""
        t = self.rule_template
        rules = []
        for name, r in zip(t.types, t.rules):
            if name == "ie":
                K = theory.istdp_K(r.gamma, r.kappa, r.tau_pre, r.tau_post)
                r = r.__class__(**{**{f: getattr(r, f) for f in ("tau_pre", "tau_post", "gamma", "kappa",
                                                                 "eta", "w_max", "search")},
                                   "alpha": -K * self.cfg.target_rate_hz, "beta": 0.0})
            rules.append(r)
        return t.__class__(t.types, tuple(rules))

    def theory(self, rule: TypedTraceRule, trials: EiTrials | None = None) -> dict[str, Any]:
        """Per plastic type, the rule against the mean-field line at the rates the network settles
        at with this rule (scoring window, mean over completed trials of ``trials``, or of
        ``theory_trials`` trials of the theory stream): ``types[t]`` as in ``istdp``'s comparison;
        ``distance`` (headline) = the smallest over types, ``on_line_types`` those within 10%."""
        from ..seeding import STREAM_THEORY, trial_seeds

        if trials is None:
            trials = self.make_trials(trial_seeds(self.seed, STREAM_THEORY, 0, self.cfg.theory_trials))
        run = self.simulate(rule.to_vector(), trials)
        nu_e, nu_i = self._rates(run, trials)
        ok = run.status[0] == kern.OK
        out: dict[str, Any] = {"known_rule": "mean_field_line", "n_ok": int(ok.sum())}
        if not ok.any():
            return {**out, "distance": None, "stable": None, "types": {}, "on_line_types": []}
        rate = {"e": float(nu_e[0, ok].mean()), "i": float(nu_i[0, ok].mean())}
        per = {}
        for t, r in zip(rule.types, rule.rules):
            post = self.cfg.target_rate_hz if t[1] == "e" else rate["i"]
            if post <= 0:
                continue
            per[t] = theory.istdp_comparison(r.as_dict(), rate[t[0]], post)
        best = min(per, key=lambda t: per[t]["distance"]) if per else None
        return {**out, "rate_e_hz": rate["e"], "rate_i_hz": rate["i"], "types": per,
                "distance": per[best]["distance"] if best else None,
                "stable": per[best]["stable"] if best else None,
                "on_line_types": [t for t in per if per[t]["distance"] <= 0.1]}

    def plot(self, plt: Any, rule: TypedTraceRule, result: dict, config: Config) -> Any:
        """E and I population rates and the plastic types' mean weights vs time on a held-out
        trial; the target and the scoring window marked."""
        from .. import seeding

        s = self.summary(rule, self.make_trials(seeding.heldout_seeds(config, 1)))
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
        t = (np.arange(len(s["rate_e_hz"])) + 0.5) * s["bin_s"]
        a1.plot(t, s["rate_e_hz"], label="E rate")
        a1.plot(t, s["rate_i_hz"], label="I rate", alpha=0.7)
        a1.axhline(self.cfg.target_rate_hz, color="r", ls="--", label="target")
        a1.axvspan(self.cfg.train_s, self.cfg.train_s + self.cfg.score_s, color="0.9", label="scoring")
        a1.set_xlabel("time (s)")
        a1.set_ylabel("population rate (Hz)")
        a1.set_title("held-out trial")
        a1.legend(fontsize=7)
        for name in self.rule_template.types:
            a2.plot(t, s["mean_weight"][name], label=f"{name} (mean)")
        a2.set_xlabel("time (s)")
        a2.set_ylabel("weight (x g_L)")
        a2.set_title("plastic weights")
        a2.legend(fontsize=7)
        return fig

    def describe_head(self, result: dict) -> list[str]:
        th = result.get("theory", {})
        if not th.get("types"):
            return []
        return [f"  mean field, {t}: beta_line {v['beta_line']:.4g} (nu_pre {v['nu_pre_hz']:.3g} Hz, "
                f"nu_post {v['target_hz']:.3g} Hz), distance {v['distance']:.3g} of |alpha|, "
                f"{'stable' if v['stable'] else 'unstable'}" for t, v in th["types"].items()]

    def heldout_extra(self, held: dict, search: bool = False) -> str:
        return (f", E rate within 10% on {held['within_10_percent']}/{held['n_trials']}, plausible "
                f"{held['plausible']}, both {held['plausible_and_within']}")
