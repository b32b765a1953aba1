"""What the trials objects of all tasks share."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from evoplast.config import Config
    from evoplast.rules.base import Rule


def nbytes(obj: object) -> int:
    """Bytes held in numpy arrays by ``obj`` (dataclasses, lists and tuples are walked)."""
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if dataclasses.is_dataclass(obj):
        return sum(nbytes(getattr(obj, f.name)) for f in dataclasses.fields(obj))
    if isinstance(obj, (list, tuple)):
        return sum(nbytes(o) for o in obj)
    return 0


class TrialSet:
    """Mixin for a task's trials dataclass (which has ``W0``, one row per trial).

    ``len()`` is the number of trials; ``sys.getsizeof()`` counts the arrays, so Dask's joblib
    backend sees a generation's trials as large and scatters them to the workers once per
    generation instead of sending them with every task.
    """

    def __len__(self) -> int:
        return len(self.W0)

    def __sizeof__(self) -> int:
        return object.__sizeof__(self) + nbytes(self)


def num(value: float | None, fmt: str) -> str:
    """A number from result.json, where non-finite values are null."""
    return "n/a" if value is None else format(value, fmt)


class Task:
    """The contract every task fulfils, written once; tasks subclass it.

    Required (no default): ``name``, ``Config`` (the ``[task]`` section), ``families`` (rule
    families it supports), ``default_family``, ``penalty`` (finite loss of a failed trial),
    ``status_names`` (status code -> name), ``make_trials(seeds)``, ``evaluate(vectors, trials) ->
    (loss (K, D), status (K, D))``, ``metrics(vector, trials)`` (held-out score), ``summary(rule,
    trials)`` (``evoplast simulate``), ``known_rule()``, ``theory(rule, trials=None)``; its trials
    object derives from :class:`TrialSet`. Hooks with defaults, overridden where a task needs them:
    :attr:`calibrate_scale`, :attr:`prune_terms`, :attr:`headline_metric`,
    :meth:`evaluate_logged`, :meth:`check_config`,
    :meth:`estimate_bytes`, :meth:`check_search`, :meth:`analytic_manifold`,
    :meth:`plot`, :meth:`describe_head`, :meth:`describe`. Code outside ``evoplast/tasks`` calls
    only these, never a task's name.
    """

    name: str = ""
    families: tuple[str, ...] = ()
    default_family: str = ""
    #: only eta * theta matters: the found rule's overall scale is refit after the search
    calibrate_scale: bool = False
    #: the found rule's terms are pruned on validation trials (``cmaes.prune_tol``)
    prune_terms: bool = False
    #: the key of :meth:`metrics` that ``evoplast evaluate`` prints beside the loss (None: none)
    headline_metric: str | None = None
    #: the names of :meth:`evaluate_logged`'s per-trial metrics (fixed by the config)
    logged_metrics: tuple[str, ...] = ()

    # -- required: every task defines these ------------------------------------------------------
    def make_trials(self, seeds: list[np.random.SeedSequence]) -> TrialSet:
        """The trials of these seeds (one per seed; everything random drawn from its seed)."""
        raise NotImplementedError

    def evaluate(self, vectors: np.ndarray, trials: TrialSet) -> tuple[np.ndarray, np.ndarray]:
        """Per-trial task loss (K, D), finite, and status codes (K, D) of K rule vectors."""
        raise NotImplementedError

    def metrics(self, vector: np.ndarray, trials: TrialSet) -> dict:
        """Held-out score of one rule vector: at least ``n_trials``, ``n_ok`` and ``loss``."""
        raise NotImplementedError

    def summary(self, rule: Rule, trials: TrialSet) -> dict:
        """``evoplast simulate``'s summary of a rule on trials (JSON-able)."""
        raise NotImplementedError

    def known_rule(self) -> Rule:
        """The analytically known solution in this task's rule family (for comparisons)."""
        raise NotImplementedError

    def theory(self, rule: Rule, trials: TrialSet | None = None) -> dict:
        """The rule against the task's analytic prediction (``result.json`` ``theory``)."""
        raise NotImplementedError

    # -- hooks with defaults -----------------------------------------------------------------------
    def evaluate_logged(self, vectors: np.ndarray, trials: TrialSet
                        ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """:meth:`evaluate` plus the cheap per-trial metrics the evaluation produces anyway, as
        ``{name: (K, D) float array}`` (NaN where a trial has no value): the search logs their
        mean over trials per candidate in ``evaluations.csv`` (``metric:<name>``), and
        ``evoplast family`` filters on ``plausible`` (1.0 / 0.0 per trial) where a task gives it.
        The names are exactly :attr:`logged_metrics`. Default: none."""
        loss, status = self.evaluate(vectors, trials)
        return loss, status, {}

    @staticmethod
    def check_config(config: Config) -> None:
        """Checks across sections of a resolved config (``[task]`` with ``[rule]``; default none);
        raise :class:`evoplast.ConfigError`."""

    @classmethod
    def estimate_bytes(cls, config: Config, popsize: int) -> int:
        """Memory the task's largest trial set and one generation's simulation outputs need, for
        ``popsize`` candidates (default 0: small)."""
        return 0

    @classmethod
    def estimate_steps(cls, config: Config, popsize: int) -> float:
        """Simulation work of one generation of ``popsize`` candidates, in synapse-steps (each
        synapse's update at one time step; default 0: negligible). Configs beyond
        :data:`evoplast.config.MAX_STEPS` are refused before anything runs."""
        return 0.0

    def check_search(self) -> None:
        """Raise for settings that ``evoplast simulate`` accepts but a search must not use."""

    def analytic_manifold(self, x: str, y: str, xs: np.ndarray) -> dict | None:
        """The predicted zero-loss set over two searched parameters (x, y), as ``{"label", "x",
        "y", "stable", "slope"}`` (optionally ``"point"``: (x, y, label)), or None."""
        return None

    def plot(self, plt: Any, rule: Rule, result: dict, config: Config) -> Any:
        """The task's picture of a found rule (``evoplast report``): a matplotlib figure."""
        raise NotImplementedError(f"task {self.name!r} draws no figure")

    def describe_head(self, result: dict) -> list[str]:
        """``evoplast show`` lines right after the rule's formula (default none)."""
        return []

    def heldout_extra(self, held: dict, search: bool = False) -> str:
        """What follows the held-out loss in ``evoplast show`` (task-specific alignment figures)."""
        return ""

    def describe(self, result: dict) -> list[str]:
        """``evoplast show`` lines after the coefficient table: distance to the known rule, the
        held-out score, and the post-search refit and pruning."""
        lines = []
        theory, held = result.get("theory", {}), result.get("heldout", {})
        if theory:
            known = theory.get("known_rule", "known rule")
            lines.append(f"  distance to {known} (normalised): {num(theory['distance'], '.4f')}"
                         + (f"   is_{known}: {theory.get('is_' + known)}" if f"is_{known}" in theory
                            else ""))
        if held:
            lines.append(f"  held-out ({held['n_trials']} trials, {held['n_ok']} ok): loss "
                         f"{held['loss']:.4g}" + self.heldout_extra(held))
            lines += self.describe_heldout_theory(theory)
        cal, held_search = result.get("scale_calibration"), result.get("heldout_search")
        pruning = result.get("pruning")
        if held_search and (cal or pruning):
            if cal:
                rules = "".join(f", then {g} x{f:.3g}" for g, f in cal.get("rule_factors", {}).items()
                                if f != 1.0)
                if "renormalised" in cal:
                    rules += f", renormalised and refit x{cal['renormalised']['factor']:.3g}"
                fine = cal.get("fine_factor")
                if isinstance(fine, dict):
                    rules += ", fine " + ", ".join(f"{g} x{f:.3g}" for g, f in fine.items())
                elif fine is not None:
                    rules += f", fine x{fine:.3g}"
                lines.append(f"  overall scale refit on validation trials: {cal['factor']:.3g}x the "
                             "search's mean" + rules)
            if pruning:
                lines.append(f"  pruned on validation trials: {len(pruning['removed'])} terms removed "
                             f"(loss {pruning['validation_loss_before']:.4g} -> "
                             f"{pruning['validation_loss_after']:.4g}, tolerance "
                             f"+{100 * pruning['tol']:.3g}%)")
            lines.append(f"  the search's own mean scores held-out loss {held_search['loss']:.4g}"
                         + self.heldout_extra(held_search, search=True))
        return lines

    def describe_heldout_theory(self, theory: dict) -> list[str]:
        """Lines after the held-out score comparing it with the known rule's (default none)."""
        return []
