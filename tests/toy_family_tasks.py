"""Two toy tasks over the ``pre_post_trace`` family's (alpha, beta) with known solution sets, for
``evoplast family`` and the tabu restarts (tests/test_family.py registers them with monkeypatch).

* ``toy_line``: trial d draws an offset ``z_d ~ N(0, noise^2)`` and scores a rule by its squared
  distance to the line ``beta = slope alpha + intercept + z_d``:
  ``l_d = (beta - slope alpha - intercept - z_d)^2 / (1 + slope^2)``. Every point of the line is a
  solution: a family of dimension 1 with a known slope. With ``plausible_alpha_max`` set, it logs
  ``plausible`` (1 where alpha <= that, else 0) and ``alpha`` per trial (:meth:`Task.evaluate_logged`).
* ``toy_wells``: three wells; ``l_d = min_i |theta - c_i|^2 + noise z_d^2`` with centres
  ``c = (-1, 1), (1, 1), (0, -1)``: three separated minima.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from evoplast.kernels.status import OK, names
from evoplast.rules.pre_post_trace import PrePostTraceRule
from evoplast.tasks.base import Task, TrialSet

CENTRES = np.array([[-1.0, 1.0], [1.0, 1.0], [0.0, -1.0]])


@dataclass(frozen=True)
class _ToyConfig:
    n_trials: int = 4
    heldout_trials: int = 8
    noise: float = 0.02

    def validate(self) -> None:
        pass


@dataclass(frozen=True)
class ToyLineConfig(_ToyConfig):
    name: str = "toy_line"
    slope: float = -2.0
    intercept: float = 0.5
    plausible_alpha_max: float | None = None


@dataclass(frozen=True)
class ToyWellsConfig(_ToyConfig):
    name: str = "toy_wells"
    n_trials: int = 2
    heldout_trials: int = 4
    noise: float = 0.01


@dataclass(frozen=True)
class ToyTrials(TrialSet):
    W0: np.ndarray  # (D,) per-trial offsets (named W0: TrialSet counts its rows)


class _ToyBase(Task):
    families = ("pre_post_trace",)
    default_family = "pre_post_trace"
    penalty = 1e3
    status_names = names(OK)
    headline_metric = "distance"

    def __init__(self, config) -> None:
        self.cfg = config.task
        self.rule_template: PrePostTraceRule = config.rule.rule()

    def make_trials(self, seeds) -> ToyTrials:
        return ToyTrials(np.array([np.random.default_rng(s).standard_normal() for s in seeds]))

    def _loss(self, V: np.ndarray, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def evaluate(self, vectors, trials: ToyTrials):
        V = np.atleast_2d(vectors)
        loss = np.minimum(self._loss(V, trials.W0), self.penalty)
        return loss, np.full(loss.shape, OK, dtype=np.int16)

    def metrics(self, vector, trials: ToyTrials) -> dict[str, Any]:
        loss, status = self.evaluate(vector, trials)
        return {"n_trials": len(trials), "n_ok": int((status == OK).sum()), "loss": float(loss.mean()),
                "distance": self.theory(self.rule_template.from_vector(vector))["distance"]}

    def summary(self, rule, trials: ToyTrials) -> dict[str, Any]:
        return {**self.metrics(rule.to_vector(), trials), "theory": self.theory(rule)}


class ToyLineTask(_ToyBase):
    name = "toy_line"
    Config = ToyLineConfig

    def __init__(self, config) -> None:
        super().__init__(config)
        if self.cfg.plausible_alpha_max is not None:
            self.logged_metrics = ("plausible", "alpha")

    def evaluate_logged(self, vectors, trials: ToyTrials):
        loss, status = self.evaluate(vectors, trials)
        if not self.logged_metrics:
            return loss, status, {}
        alpha = np.broadcast_to(np.atleast_2d(vectors)[:, :1], loss.shape)
        return loss, status, {"plausible": (alpha <= self.cfg.plausible_alpha_max).astype(float),
                              "alpha": alpha.copy()}

    def _loss(self, V, z):
        c = self.cfg
        r = V[:, 1:2] - c.slope * V[:, 0:1] - c.intercept - c.noise * z[None, :]
        return r ** 2 / (1 + c.slope ** 2)

    def known_rule(self) -> PrePostTraceRule:
        return self.rule_template.from_values({"alpha": 0.0, "beta": self.cfg.intercept})

    def theory(self, rule, trials=None) -> dict:
        c = self.cfg
        line = c.slope * rule.alpha + c.intercept
        return {"known_rule": "line", "beta_line": line,
                "distance": abs(rule.beta - line) / np.sqrt(1 + c.slope ** 2)}

    def analytic_manifold(self, x, y, xs):
        if (x, y) != ("alpha", "beta"):
            return None
        c = self.cfg
        return {"label": "beta = slope alpha + intercept", "x": xs, "y": c.slope * xs + c.intercept,
                "stable": np.ones(len(xs), bool), "slope": c.slope}


class ToyWellsTask(_ToyBase):
    name = "toy_wells"
    Config = ToyWellsConfig

    def _loss(self, V, z):
        d = ((V[:, None, :] - CENTRES[None]) ** 2).sum(axis=2).min(axis=1)
        return d[:, None] + self.cfg.noise * z[None, :] ** 2

    def known_rule(self) -> PrePostTraceRule:
        return self.rule_template.from_values({"alpha": -1.0, "beta": 1.0})

    def theory(self, rule, trials=None) -> dict:
        d = np.sqrt(((np.array([rule.alpha, rule.beta]) - CENTRES) ** 2).sum(axis=1))
        return {"known_rule": "wells", "distance": float(d.min()), "well": int(d.argmin())}
