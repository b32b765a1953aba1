"""A toy task written the way a user adds one: this module plus one registry line
(``TASKS[ToyTask.name] = ToyTask``; ``tests/test_toy_task.py`` does it with monkeypatch).

The "network" is the rule itself: trial d draws a target offset ``z_d ~ N(0, noise^2 I)`` and
scores a rule vector theta by

.. math::  l_d(\\theta) = \\lVert \\theta - \\theta^* - z_d \\rVert^2 ,

with theta* Oja's rule (x*y = 1, y**2*w = -1) in the polynomial family. Its minimum is theta*,
so a search should land near it; the held-out score is the distance to theta*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from evoplast.errors import ConfigError
from evoplast.kernels.status import OK, names
from evoplast.rules import OJA_TERMS, PolynomialRule
from evoplast.tasks.base import Task, TrialSet


@dataclass(frozen=True)
class ToyConfig:
    name: str = "toy_quadratic"
    n_trials: int = 4
    heldout_trials: int = 8
    noise: float = 0.05

    def validate(self) -> None:
        if self.n_trials < 1 or self.heldout_trials < 1:
            raise ConfigError("task.n_trials and task.heldout_trials must be >= 1")
        if not self.noise >= 0:
            raise ConfigError(f"task.noise must be >= 0, got {self.noise}")


@dataclass(frozen=True)
class ToyTrials(TrialSet):
    W0: np.ndarray  # (D, P) the per-trial offsets z_d (named W0: TrialSet counts its rows)


class ToyTask(Task):
    name = "toy_quadratic"
    Config = ToyConfig
    families = ("polynomial",)
    default_family = "polynomial"
    penalty = 1e3
    status_names = names(OK)
    headline_metric = "distance"

    def __init__(self, config) -> None:
        self.cfg = config.task
        self.rule_template: PolynomialRule = config.rule.rule()
        self.target = self.known_rule().to_vector()

    def make_trials(self, seeds) -> ToyTrials:
        P = self.rule_template.n_params
        return ToyTrials(np.array([self.cfg.noise * np.random.default_rng(s).standard_normal(P)
                                   for s in seeds]).reshape(len(seeds), P))

    def evaluate(self, vectors, trials: ToyTrials):
        V = np.atleast_2d(vectors)
        diff = V[:, None, :] - self.target[None, None, :] - trials.W0[None]
        loss = np.minimum((diff ** 2).sum(axis=2), self.penalty)
        return loss, np.full(loss.shape, OK, dtype=np.int16)

    def metrics(self, vector, trials: ToyTrials) -> dict[str, Any]:
        loss, status = self.evaluate(vector, trials)
        return {"n_trials": len(trials), "n_ok": int((status == OK).sum()), "loss": float(loss.mean()),
                "distance": float(np.linalg.norm(np.asarray(vector, float) - self.target))}

    def summary(self, rule, trials: ToyTrials) -> dict[str, Any]:
        return {**self.metrics(rule.to_vector(), trials), "theory": self.theory(rule)}

    def known_rule(self) -> PolynomialRule:
        t = self.rule_template
        return PolynomialRule.from_terms(OJA_TERMS, t.max_power, t.mask, t.eta)

    def theory(self, rule, trials=None) -> dict[str, Any]:
        d = float(np.linalg.norm(rule.to_vector() - self.target))
        return {"known_rule": "target", "distance": d, "is_target": d < 0.2}

    def plot(self, plt, rule, result: dict, config):
        fig, ax = plt.subplots(figsize=(5, 3))
        terms = self.rule_template.terms
        ax.bar(np.arange(len(terms)) - 0.2, rule.to_vector(), 0.4, label="found")
        ax.bar(np.arange(len(terms)) + 0.2, self.target, 0.4, label="target")
        ax.set_xticks(np.arange(len(terms)), terms, rotation=90)
        ax.legend()
        return fig
