r"""Task ``istdp``: a LIF neuron's inhibitory synapses learn a target rate (exp. 3).

One conductance-based LIF neuron (:mod:`evoplast.kernels.lif`, Vogels et al. 2011 parameters) gets
800 excitatory (fixed, tuned) and 200 inhibitory (plastic, rule ``pre_post_trace``) afferents in 8
pathways. Inputs: ``pathways`` (per-pathway OU-modulated rate, refractory afferents) or ``poisson``
(independent, constant ``input_rate_hz``). Each trial draws its inputs and one initial inhibitory
weight for all synapses, uniform in ``w0_range``; with ``vary_input_rate`` it also scales the input
rates by ``r / 40 Hz``, r uniform in ``input_rate_range``.

Loss per trial, over the last ``late_fraction`` of the trial:

.. math:: l = \left(\frac{\nu_{late} - \nu^*}{\nu^*}\right)^2

which for a completed trial is at most ``cap = ((runaway_hz - nu*) / nu*)^2`` (the loss at the
runaway rate; 841 with the defaults). A neuron silent for ``silent_s`` or firing above
``runaway_hz`` over a second ends the trial early with status ``silent`` / ``runaway`` and the
finite penalty ``cap * (2 - time run / duration)``, between ``cap`` and ``2 cap``: worse than any
completed trial, and graded so that CMA-ES prefers rules that escape later. (No plateau: a capped
loss made every rate above ~20 Hz score alike, and pycma stopped there on flat fitness history.)

Mean-field prediction (:mod:`evoplast.theory`): rules that hold the rate at nu* lie on
beta = -(nu_pre / nu*) alpha - K nu_pre, K = gamma tau_pre + kappa tau_post, stable for
beta + K nu_pre > 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import theory
from ..errors import ConfigError
from ..kernels import lif
from .base import Task, TrialSet
from .istdp_inputs import make_inputs

if TYPE_CHECKING:
    from evoplast.kernels.lif import LifRun
    from evoplast.rules.base import Rule
    from evoplast.rules.pre_post_trace import PrePostTraceRule

NOMINAL_RATE_HZ = 40.0


@dataclass(frozen=True)
class IstdpConfig:
    """``[task]`` of ``istdp``."""

    name: str = "istdp"
    inputs: str = "pathways"  # pathways | poisson
    input_rate_hz: float = 40.0  # poisson mode: rate of every afferent
    target_rate_hz: float = 5.0
    duration_s: float = 20.0  # per trial
    late_fraction: float = 0.5  # loss measured over this last part of the trial
    n_trials: int = 4
    heldout_trials: int = 8
    w0_range: tuple[float, float] = (0.05, 0.5)  # initial inhibitory weight per trial (uniform)
    vary_input_rate: bool = False
    input_rate_range: tuple[float, float] = (20.0, 60.0)  # Hz, when vary_input_rate
    bin_s: float = 1.0  # rate / weight recording bins
    runaway_hz: float = 150.0
    silent_s: float = 5.0
    neuron: dict[str, float] = field(default_factory=dict)  # overrides of NeuronParams fields
    theory_trials: int = 32  # input draws that estimate nu_pre for the theory

    def validate(self) -> None:
        if self.inputs not in ("pathways", "poisson"):
            raise ConfigError(f"task.inputs must be 'pathways' or 'poisson', got {self.inputs!r}")
        for key in ("input_rate_hz", "target_rate_hz", "duration_s", "bin_s", "runaway_hz",
                    "silent_s"):
            if not getattr(self, key) > 0:
                raise ConfigError(f"task.{key} must be > 0, got {getattr(self, key)}")
        if not 0 < self.late_fraction <= 1:
            raise ConfigError(f"task.late_fraction must be in (0, 1], got {self.late_fraction}")
        for key in ("n_trials", "heldout_trials", "theory_trials"):
            if getattr(self, key) < 1:
                raise ConfigError(f"task.{key} must be >= 1, got {getattr(self, key)}")
        lo, hi = self.w0_range
        if not 0 <= lo <= hi:
            raise ConfigError("task.w0_range must be [low, high] with 0 <= low <= high")
        lo, hi = self.input_rate_range
        if not 0 < lo <= hi:
            raise ConfigError("task.input_rate_range must be [low, high] with 0 < low <= high")
        if self.duration_s < self.bin_s:
            raise ConfigError("task.duration_s must be at least task.bin_s")
        p = lif.NeuronParams.from_overrides(self.neuron)
        if self.duration_s < p.dt:
            raise ConfigError("task.duration_s must be at least task.neuron.dt")
        if not self.runaway_hz > self.target_rate_hz:
            raise ConfigError(f"task.runaway_hz ({self.runaway_hz}) must be above task.target_rate_hz "
                              f"({self.target_rate_hz})")
        if self.target_rate_hz < 0.01:
            raise ConfigError(f"task.target_rate_hz must be >= 0.01 Hz (a measurable rate), got "
                              f"{self.target_rate_hz}")

    def neuron_params(self) -> lif.NeuronParams:
        return lif.NeuronParams(**self.neuron)


@dataclass(frozen=True)
class IstdpTrials(TrialSet):
    inputs: list  # of istdp_inputs.Inputs
    W0: np.ndarray  # (D, n_inh)
    rate_factor: np.ndarray  # (D,) input rate relative to nominal


class IstdpTask(Task):
    """Experiment 3. See the module docstring for the equations."""

    name = "istdp"
    Config = IstdpConfig
    families = ("pre_post_trace",)
    default_family = "pre_post_trace"
    status_names = lif.STATUS_NAMES
    calibrate_scale = False
    headline_metric = "max_relative_rate_error"

    def __init__(self, config: Config) -> None:
        self.cfg: IstdpConfig = config.task
        self.rule_template = config.rule.rule()
        self.neuron = self.cfg.neuron_params()
        c = self.cfg
        self.cap = ((c.runaway_hz - c.target_rate_hz) / c.target_rate_hz) ** 2
        self.penalty = 2.0 * self.cap
        self.seed = config.run.seed
        self._nu_pre: float | None = None

    @classmethod
    def estimate_bytes(cls, config: Config, popsize: int) -> int:
        """Input trains of the largest trial set (conductance and spike pointers per step, about
        40 spikes/s per afferent, 1000 afferents) and a generation's recordings and weights."""
        c = config.task
        dt = c.neuron_params().dt
        n_steps = c.duration_s / dt
        per_trial = n_steps * 16 + 1000 * 60 * c.duration_s * 8
        outputs = popsize * c.n_trials * (2 * c.duration_s / c.bin_s + 200) * 8
        return int(max(c.n_trials, c.heldout_trials, c.theory_trials) * per_trial + outputs)

    @classmethod
    def estimate_steps(cls, config: Config, popsize: int) -> float:
        """Synapse-steps, at most: candidates x trials x time steps x the 200 inhibitory synapses."""
        c = config.task
        return float(popsize) * c.n_trials * (c.duration_s / c.neuron_params().dt) * 200

    @staticmethod
    def check_config(config: Config) -> None:
        """No cross-section constraints beyond the sections' own."""

    def make_trials(self, seeds: list[np.random.SeedSequence]) -> IstdpTrials:
        c = self.cfg
        inputs, w0, factors = [], [], []
        for seed in seeds:
            rng = np.random.default_rng(seed)
            factor = (rng.uniform(*c.input_rate_range) / NOMINAL_RATE_HZ if c.vary_input_rate
                      else 1.0)
            if c.inputs == "poisson":
                x = make_inputs(rng, c.duration_s, self.neuron, "poisson",
                                    rate_hz=c.input_rate_hz * factor)
            else:
                x = make_inputs(rng, c.duration_s, self.neuron, "pathways",
                                    background_hz=5.0 * factor, amplitude_hz=150.0 * factor)
            inputs.append(x)
            w0.append(np.full(x.n_inh, rng.uniform(*c.w0_range)))
            factors.append(factor)
        return IstdpTrials(inputs, np.array(w0), np.array(factors))

    def _rules(self, vectors) -> np.ndarray:
        return np.array([self.rule_template.from_vector(v).params() for v in np.atleast_2d(vectors)])

    def simulate(self, vectors: np.ndarray, trials: IstdpTrials) -> LifRun:
        c = self.cfg
        return lif.simulate(trials.inputs, self.neuron, self._rules(vectors), trials.W0,
                            bin_s=c.bin_s, runaway_hz=c.runaway_hz, silent_s=c.silent_s)

    def _late_rate(self, counts: np.ndarray) -> np.ndarray:
        n_late = max(1, int(round(self.cfg.late_fraction * counts.shape[-1])))
        return counts[..., -n_late:].sum(axis=-1) / (n_late * self.cfg.bin_s)

    def evaluate(self, vectors: np.ndarray, trials: IstdpTrials) -> tuple[np.ndarray, np.ndarray]:
        run = self.simulate(vectors, trials)
        return self._loss(run.counts, run.status, run.steps, trials), run.status

    def _loss(self, counts, status, steps, trials: IstdpTrials) -> np.ndarray:
        nu = self._late_rate(counts)
        target = self.cfg.target_rate_hz
        cap = self.cap
        loss = np.minimum(((nu - target) / target) ** 2, cap)
        n_steps = trials.inputs[0].gE_in.size
        escaped = cap * (2.0 - steps / n_steps)
        return np.where(status == lif.OK, loss, escaped)

    def metrics(self, vector: np.ndarray, trials: IstdpTrials) -> dict[str, Any]:
        run = self.simulate(vector, trials)
        status = run.status
        loss = self._loss(run.counts, status, run.steps, trials)
        nu = self._late_rate(run.counts[0])
        ok = status[0] == lif.OK
        target = self.cfg.target_rate_hz
        rel_err = np.abs(nu - target) / target
        return {
            "n_trials": int(status.shape[1]),
            "n_ok": int(ok.sum()),
            "loss": float(loss.mean()),
            "late_rate_hz": nu.tolist(),
            "max_relative_rate_error": float(np.where(ok, rel_err, np.inf).max()),
            "within_10_percent": int((ok & (rel_err <= 0.1)).sum()),
            "status": [lif.STATUS_NAMES[int(s)] for s in status[0]],
        }

    def summary(self, rule: PrePostTraceRule, trials: IstdpTrials) -> dict[str, Any]:
        """``evoplast simulate`` output: the first trial's rate and weight over time and inputs
        (``rate_hz``, ``final_rate_hz``, ...), and every trial's late rate, early rate and final
        mean weight (``*_per_trial``) with the late rate's mean and standard error over trials."""
        run = self.simulate(rule.to_vector(), trials)
        counts, wmean, W, status = run.counts, run.wmean, run.W, run.status
        c = self.cfg
        rates = counts[0] / c.bin_s  # (D, n_bins)
        half = max(1, rates.shape[1] // 2)
        late = rates[:, -half:].mean(axis=1)
        early = rates[:, : max(1, int(round(10 / c.bin_s)))].mean(axis=1)
        ok = status[0] == lif.OK
        x = trials.inputs[0]
        n_path = int(x.pathway_inh.max()) + 1
        g = self.neuron

        def per_path(weights, pathway, rates, gbar, tau):
            return [float(gbar * tau * np.mean(weights[pathway == k] * rates[pathway == k]))
                    for k in range(n_path)]

        return {
            "status": lif.STATUS_NAMES[int(status[0, 0])],
            "bin_s": c.bin_s,
            "rate_hz": rates[0].tolist(),
            "final_rate_hz": float(late[0]),
            "first_10s_rate_hz": float(early[0]),
            "mean_inh_weight": wmean[0, 0].tolist(),
            "final_mean_inh_weight": float(W[0, 0].mean()),
            "status_per_trial": [lif.STATUS_NAMES[int(v)] for v in status[0]],
            "final_rate_hz_per_trial": late.tolist(),
            "first_10s_rate_hz_per_trial": early.tolist(),
            "final_mean_inh_weight_per_trial": W[0].mean(axis=1).tolist(),
            "final_rate_hz_mean_ok_trials": float(late[ok].mean()) if ok.any() else None,
            "final_rate_hz_sem_ok_trials": (float(late[ok].std(ddof=1) / np.sqrt(ok.sum()))
                                            if ok.sum() > 1 else None),
            "inh_afferent_rate_hz": x.inh_rate_hz,
            "exc_conductance_per_pathway": per_path(x.exc_weights, x.pathway_exc, x.exc_rate_hz,
                                                    g.gbar_exc, g.tau_exc),
            "inh_conductance_per_pathway_before": per_path(trials.W0[0], x.pathway_inh,
                                                           x.inh_rate_per_afferent, g.gbar_inh,
                                                           g.tau_inh),
            "inh_conductance_per_pathway_after": per_path(W[0, 0], x.pathway_inh,
                                                          x.inh_rate_per_afferent, g.gbar_inh,
                                                          g.tau_inh),
            "conductance_unit": "mean conductance per afferent, x g_L (gbar * w * rate * tau_syn)",
            "theory": self.theory(rule, trials),
        }

    # -- descriptions and pictures -------------------------------------------------------------------
    def analytic_manifold(self, x: str, y: str, xs: np.ndarray) -> dict | None:
        """The mean-field line over (alpha, beta), its stable half and, when the input rate varies,
        the Vogels ray (the one point of the line that holds nu* for every input rate)."""
        if (x, y) != ("alpha", "beta"):
            return None
        r = self.rule_template
        nu_pre, target = self.nu_pre(), self.cfg.target_rate_hz
        beta = theory.istdp_line_beta(xs, r.gamma, r.kappa, r.tau_pre, r.tau_post, nu_pre, target)
        K = theory.istdp_K(r.gamma, r.kappa, r.tau_pre, r.tau_post)
        out = {"label": f"mean field: beta = -(nu_pre/nu*) alpha - K nu_pre (nu_pre = {nu_pre:.2f} Hz)",
               "x": xs, "y": beta, "stable": beta + K * nu_pre > 0, "slope": -nu_pre / target}
        if self.cfg.vary_input_rate and K > 0:
            out["point"] = (-K * target, 0.0, "Vogels ray: beta = 0, alpha = -K nu* (input rate varies)")
        return out

    def plot(self, plt: Any, rule: Rule, result: dict, config: Config) -> Any:
        """Rate and mean inhibitory weight vs time on a held-out trial; E and I input per pathway
        before and after learning (co-tuning)."""
        from .. import seeding

        s = self.summary(rule, self.make_trials(seeding.heldout_seeds(config, 4)))
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
        t = (np.arange(len(s["rate_hz"])) + 0.5) * s["bin_s"]
        a1.plot(t, s["rate_hz"], label="output rate")
        a1.axhline(self.cfg.target_rate_hz, color="r", ls="--", label="target")
        a1.set_xlabel("time (s)")
        a1.set_ylabel("output rate (Hz)")
        b = a1.twinx()
        b.plot(t, s["mean_inh_weight"], color="C2", label="mean inhibitory weight")
        b.set_ylabel("mean inhibitory weight (unitless)")
        a1.set_title("rate and inhibitory weight vs time (held-out trial)")
        a1.legend(loc="upper right", fontsize=7)
        b.legend(loc="center right", fontsize=7)
        k = np.arange(1, len(s["exc_conductance_per_pathway"]) + 1)
        a2.plot(k, s["exc_conductance_per_pathway"], "k-o", label="excitatory")
        a2.plot(k, s["inh_conductance_per_pathway_before"], "b--s", label="inhibitory, before")
        a2.plot(k, s["inh_conductance_per_pathway_after"], "b-s", label="inhibitory, after")
        a2.set_xlabel("pathway")
        a2.set_ylabel("mean conductance per afferent (x g_L)")
        a2.set_title("E and I input per pathway (co-tuning)")
        a2.legend(fontsize=7)
        return fig

    def known_rule(self) -> PrePostTraceRule:
        t = self.rule_template
        return t.__class__(**{**{k: getattr(t, k) for k in ("tau_pre", "tau_post", "gamma", "kappa",
                                                             "eta", "w_max", "search")},
                              "beta": 0.0,
                              "alpha": -theory.istdp_K(t.gamma, t.kappa, t.tau_pre, t.tau_post)
                              * self.cfg.target_rate_hz})

    def nu_pre(self) -> float:
        """Mean rate of the inhibitory afferents of this task's input process (Hz): exact for
        constant Poisson input, else measured on ``theory_trials`` independent input draws (the
        line's slope is nu_pre / nu*, so a few held-out trials, each off by ~0.6 Hz, would
        misplace it by several percent)."""
        c = self.cfg
        if c.inputs == "poisson" and not c.vary_input_rate:
            return c.input_rate_hz
        if self._nu_pre is None:
            from ..seeding import STREAM_THEORY, trial_seeds

            trials = self.make_trials(trial_seeds(self.seed, STREAM_THEORY, 0, c.theory_trials))
            self._nu_pre = float(np.mean([x.inh_rate_hz for x in trials.inputs]))
        return self._nu_pre

    def theory(self, rule: PrePostTraceRule, trials: IstdpTrials | None = None) -> dict[str, Any]:
        return theory.istdp_comparison(rule.as_dict(), self.nu_pre(), self.cfg.target_rate_hz)
