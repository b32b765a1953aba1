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
from dataclasses import dataclass, fields, replace

import numpy as np
import sympy

from ..errors import ConfigError

PARAMS = ("tau_pre", "tau_post", "alpha", "beta", "gamma", "kappa")
LOG_PARAMS = ("tau_pre", "tau_post")


@dataclass(frozen=True)
class PrePostTraceRule:
    tau_pre: float = 0.02
    tau_post: float = 0.02
    alpha: float = -0.2
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

    def from_vector(self, vector) -> PrePostTraceRule:
        values = {}
        for name, v in zip(self.search, np.asarray(vector, float)):
            values[name] = float(math.exp(v)) if name in LOG_PARAMS else float(v)
        return replace(self, **values)

    def l1_mask(self) -> np.ndarray:
        """Which vector entries the L1 penalty applies to (not the log time constants)."""
        return np.array([n not in LOG_PARAMS for n in self.search], dtype=float)

    def params(self) -> np.ndarray:
        """(tau_pre, tau_post, alpha, beta, gamma, kappa, eta, w_max) for the kernels."""
        return np.array([self.tau_pre, self.tau_post, self.alpha, self.beta, self.gamma, self.kappa,
                         self.eta, self.w_max])

    def as_dict(self) -> dict[str, float]:
        return {n: float(getattr(self, n)) for n in PARAMS}

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


@dataclass(frozen=True)
class PrePostTraceConfig(PrePostTraceRule):
    """``[rule]`` of the ``pre_post_trace`` family: the rule's fields (fixed values, and the start of
    the searched ones) plus ``family``."""

    family: str = "pre_post_trace"

    def validate(self) -> None:
        if not self.eta > 0:
            raise ConfigError(f"rule.eta must be > 0, got {self.eta}")
        if not self.w_max > 0:
            raise ConfigError(f"rule.w_max must be > 0, got {self.w_max}")

    def rule(self) -> PrePostTraceRule:
        return PrePostTraceRule(**{f.name: getattr(self, f.name) for f in fields(PrePostTraceRule)})
