r"""Pair-based spike-timing rule with pre- and postsynaptic traces (inhibitory plasticity).

Traces (jump 1 per spike, exponential decay):

.. math::  \frac{dx_{pre}}{dt} = -\frac{x_{pre}}{\tau_{pre}} + \sum_k \delta(t - t^{pre}_k), \qquad
           \frac{dx_{post}}{dt} = -\frac{x_{post}}{\tau_{post}} + \sum_k \delta(t - t^{post}_k)

On a presynaptic spike :math:`\Delta w = \eta(\alpha + \kappa\, x_{post})`; on a postsynaptic spike
:math:`\Delta w = \eta(\beta + \gamma\, x_{pre})`; weights are clipped to ``[0, w_max]``.
Vogels et al. (2011) iSTDP is tau = 20 ms, gamma = kappa = 1, beta = 0, alpha = -2 rho0 tau.

Units: time constants in seconds, alpha and beta dimensionless, gamma and kappa per trace unit.
``search`` names the parameters CMA-ES varies; time constants are searched as ``log(tau / 1 s)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import sympy

from .. import seeding
from ..errors import ConfigError
from ..schema import is_interval
from .base import Rule

PARAMS = ("tau_pre", "tau_post", "alpha", "beta", "gamma", "kappa")
LOG_PARAMS = ("tau_pre", "tau_post")


@dataclass(frozen=True)
class PrePostTraceRule(Rule):
    """Defaults: Vogels' time constants and pair terms, but alpha = beta = 0 (no rate terms): not a
    solution of the target-rate task, so a config that names no start does not start at one."""

    family = "pre_post_trace"
    normalized_heading = "  searched/normalised parameters:"

    tau_pre: float = 0.02
    tau_post: float = 0.02
    alpha: float = 0.0
    beta: float = 0.0
    gamma: float = 1.0
    kappa: float = 1.0
    eta: float = 1e-3
    w_max: float = 10.0
    search: tuple[str, ...] = ("alpha", "beta")

    def __post_init__(self):
        bad = [s for s in self.search if s not in PARAMS]
        if bad or len(set(self.search)) != len(self.search) or not self.search:
            raise ConfigError(f"rule.search must be distinct names from {list(PARAMS)}, got "
                              f"{list(self.search)}")
        for name in LOG_PARAMS:
            if not getattr(self, name) > 0:
                raise ConfigError(f"rule.{name} must be > 0 (seconds), got {getattr(self, name)}")

    # -- the search boundary --------------------------------------------------------------------
    @property
    def terms(self) -> list[str]:
        return list(self.search)

    @property
    def n_params(self) -> int:
        return len(self.search)

    def to_vector(self) -> np.ndarray:
        return np.array([math.log(getattr(self, n)) if n in LOG_PARAMS else getattr(self, n)
                         for n in self.search])

    def from_vector(self, vector: Sequence[float]) -> PrePostTraceRule:
        values = {}
        for name, v in zip(self.search, np.asarray(vector, float)):
            values[name] = float(math.exp(v)) if name in LOG_PARAMS else float(v)
        return replace(self, **values)

    def l1_mask(self) -> np.ndarray:
        """Which vector entries the L1 penalty applies to (not the log time constants)."""
        return np.array([n not in LOG_PARAMS for n in self.search], dtype=float)

    def params(self) -> np.ndarray:
        """The kernels' row (:class:`evoplast.kernels.lif.TraceParams` order)."""
        from ..kernels.lif import TraceParams

        return np.array(TraceParams(self.tau_pre, self.tau_post, self.alpha, self.beta, self.gamma,
                                    self.kappa, self.eta, self.w_max))

    def as_dict(self) -> dict[str, float]:
        return {n: float(getattr(self, n)) for n in PARAMS}

    def from_values(self, values: Mapping[str, float]) -> PrePostTraceRule:
        """The rule whose reported values (``as_dict()``, natural units: seconds for the time
        constants) are ``values``: the searched parameters taken from it, the rest kept. Unlike
        :meth:`from_vector`, nothing is in log space."""
        missing = [n for n in self.search if n not in values]
        if missing:
            raise ConfigError(f"reported values lack the searched parameter(s) {missing}")
        return replace(self, **{n: float(values[n]) for n in self.search})

    def normalized(self) -> dict[str, float]:
        d = {n: getattr(self, n) for n in ("alpha", "beta", "gamma", "kappa")}
        scale = max(abs(v) for v in d.values())
        return {k: (v / scale if scale else 0.0) for k, v in d.items()}

    # -- symbolic view --------------------------------------------------------------------------
    def to_sympy(self) -> dict[str, sympy.Expr]:
        x_pre, x_post = sympy.symbols("x_pre x_post", real=True)
        f = lambda v: sympy.Float(v, 6)  # noqa: E731
        return {"on_pre": sympy.Float(self.eta, 6) * (f(self.alpha) + f(self.kappa) * x_post),
                "on_post": sympy.Float(self.eta, 6) * (f(self.beta) + f(self.gamma) * x_pre)}

    def formula(self, prune: float = 0.0, digits: int = 3) -> str:
        g = lambda v: f"{v:.{digits}g}"  # noqa: E731
        return (f"pre: dw = eta*({g(self.alpha)} + {g(self.kappa)}*x_post); "
                f"post: dw = eta*({g(self.beta)} + {g(self.gamma)}*x_pre); "
                f"tau_pre = {g(self.tau_pre * 1e3)} ms, tau_post = {g(self.tau_post * 1e3)} ms")

    def latex(self) -> str:
        e = self.to_sympy()
        return (r"\text{pre: }\Delta w = " + sympy.latex(e["on_pre"]) + r",\quad \text{post: }\Delta w = "
                + sympy.latex(e["on_post"]))


#: default box of ``start = "random"``: rate and pair terms uniform, time constants log-uniform (s)
START_BOX = {"alpha": (-1.0, 1.0), "beta": (-1.0, 1.0), "gamma": (-1.0, 1.0), "kappa": (-1.0, 1.0),
             "tau_pre": (0.005, 0.1), "tau_post": (0.005, 0.1)}


@dataclass(frozen=True)
class PrePostTraceConfig(PrePostTraceRule):
    """``[rule]`` of the ``pre_post_trace`` family: the rule's fields (fixed values, and the start of
    the searched ones with ``start = "point"``) plus ``family`` and the start of the search.

    ``start = "random"``: each restart r of the search starts at a point drawn from
    ``SeedSequence(run.seed, spawn_key=(5, r))``: every searched parameter uniform in
    ``start_box[name]`` (defaults :data:`START_BOX`; time constants log-uniform), redrawn until
    ``|value| >= start_min_abs[name]`` for the parameters named there (a box with a hole, e.g. one
    that excludes the Vogels ray beta = 0)."""

    family: str = "pre_post_trace"
    start: str = "point"  # point | random
    start_box: dict[str, Any] = field(default_factory=dict)
    start_min_abs: dict[str, float] = field(default_factory=dict)

    def validate(self) -> None:
        if not self.eta > 0:
            raise ConfigError(f"rule.eta must be > 0, got {self.eta}")
        if not self.w_max > 0:
            raise ConfigError(f"rule.w_max must be > 0, got {self.w_max}")
        if self.start not in ("point", "random"):
            raise ConfigError(f"rule.start must be 'point' or 'random', got {self.start!r}")
        for table in ("start_box", "start_min_abs"):
            bad = [n for n in getattr(self, table) if n not in self.search]
            if bad:
                raise ConfigError(f"rule.{table}: {bad[0]!r} is not a searched parameter "
                                  f"(rule.search = {list(self.search)})")
        for name, box in self.start_box.items():
            if not is_interval(box) or (name in LOG_PARAMS and box[0] <= 0):
                raise ConfigError(f"rule.start_box.{name} must be [low, high] with low < high"
                                  f"{' and low > 0 (seconds)' if name in LOG_PARAMS else ''}, got {box!r}")
        for name, m in self.start_min_abs.items():
            lo, hi = self._box(name)
            if not (isinstance(m, int | float) and 0 <= m < max(abs(lo), abs(hi))) or name in LOG_PARAMS:
                raise ConfigError(f"rule.start_min_abs.{name} must be >= 0 and leave part of the box "
                                  f"[{lo}, {hi}] (not for time constants), got {m!r}")

    def _box(self, name: str) -> tuple[float, float]:
        return tuple(float(v) for v in self.start_box.get(name, START_BOX[name]))

    def start_vector(self, seed: int, restart: int, key: tuple[int, ...] = ()) -> np.ndarray:
        """The search's initial mean for restart ``restart`` (the optimiser's vector: log time
        constants): the configured values, or a random point of the start box (see the class).
        ``key`` extends the stream's spawn key (one rule among several: its index)."""
        rule = self.rule()
        if self.start == "point":
            return rule.to_vector()
        rng = np.random.default_rng(np.random.SeedSequence(
            seed, spawn_key=(seeding.STREAM_START, restart, *key)))
        values = {}
        for name in self.search:
            lo, hi = self._box(name)
            while True:
                v = (math.exp(rng.uniform(math.log(lo), math.log(hi))) if name in LOG_PARAMS
                     else float(rng.uniform(lo, hi)))
                if abs(v) >= self.start_min_abs.get(name, 0.0):
                    break
            values[name] = v
        return replace(rule, **values).to_vector()

    def rule(self) -> PrePostTraceRule:
        return PrePostTraceRule(**{f.name: getattr(self, f.name) for f in fields(PrePostTraceRule)})
