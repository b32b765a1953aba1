"""Registry of rule families: ``rule.family`` name -> family class (with its ``Config``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..schema import build_section
from .pair import RulePair
from .polynomial import PolynomialRule
from .pre_post_trace import PrePostTraceConfig
from .typed_trace import TypedTraceConfig


@dataclass(frozen=True)
class PolynomialRuleConfig:
    """``[rule]`` of the polynomial rate family.

    ``coefficients`` (term name -> value) is the search's starting mean and the rule that
    ``evoplast simulate`` runs; terms not named are 0. ``mask`` lists the searched terms (empty: all).
    """

    family: str = "polynomial"
    max_power: tuple[int, int, int] = (2, 2, 2)
    mask: tuple[str, ...] = ()
    eta: float = 0.02
    coefficients: dict[str, float] = field(default_factory=dict)

    def validate(self) -> None:
        if min(self.max_power) < 0 or max(self.max_power) > 4:
            raise ConfigError(f"rule.max_power must be integers in 0..4, got {list(self.max_power)}")
        if not self.eta > 0:
            raise ConfigError(f"rule.eta must be > 0, got {self.eta}")
        self.rule()  # checks mask and coefficient names

    def rule(self) -> PolynomialRule:
        mask = self.mask or None
        if mask is not None and len(set(mask)) != len(mask):
            raise ConfigError("rule.mask names a term twice")
        names = PolynomialRule.term_names(self.max_power, None)
        bad = [m for m in (mask or ()) if m not in names]
        if bad:
            raise ConfigError(f"rule.mask: unknown term {bad[0]!r} (known: {', '.join(names)})")
        active = PolynomialRule.term_names(self.max_power, mask)
        bad = [t for t in self.coefficients if t not in active]
        if bad:
            raise ConfigError(f"rule.coefficients: unknown or masked-out term {bad[0]!r} "
                              f"(active: {', '.join(active)})")
        return PolynomialRule.from_terms(self.coefficients, self.max_power, mask, self.eta)

    def start_vector(self, seed: int, restart: int) -> np.ndarray:
        """The search's initial mean: ``coefficients`` (the same for every restart)."""
        return self.rule().to_vector()


@dataclass(frozen=True)
class PolynomialPairConfig:
    """``[rule]`` of the two-rule family of the PCA network: ``[rule.ff]`` (feed-forward rule A)
    and ``[rule.lat]`` (lateral rule B), each with the keys of the polynomial family
    (``max_power``, ``mask``, ``eta``, ``coefficients``)."""

    family: str = "polynomial_pair"
    ff: dict[str, Any] = field(default_factory=lambda: {"eta": 0.01})
    lat: dict[str, Any] = field(default_factory=lambda: {"eta": 0.02})

    def _sub(self, name: str) -> PolynomialRuleConfig:
        table = getattr(self, name)
        if "family" in table:
            raise ConfigError(f"rule.{name}.family: not a key of a sub-rule")
        return build_section(PolynomialRuleConfig, table, f"rule.{name}")

    def validate(self) -> None:
        for name in ("ff", "lat"):
            try:
                self._sub(name).validate()
            except ConfigError as exc:  # the sub-rule's keys are rule.ff.* / rule.lat.*
                text = str(exc)
                raise ConfigError(text if f"rule.{name}." in text
                                  else text.replace("rule.", f"rule.{name}.", 1)) from None

    def rule(self) -> RulePair:
        return RulePair(self._sub("ff").rule(), self._sub("lat").rule())

    def start_vector(self, seed: int, restart: int) -> np.ndarray:
        """The search's initial mean: both rules' ``coefficients`` (the same for every restart)."""
        return self.rule().to_vector()


class PolynomialFamily:
    name = "polynomial"
    Config = PolynomialRuleConfig


class PolynomialPairFamily:
    name = "polynomial_pair"
    Config = PolynomialPairConfig


class PrePostTraceFamily:
    name = "pre_post_trace"
    Config = PrePostTraceConfig


class TypedTraceFamily:
    name = "pre_post_trace_types"
    Config = TypedTraceConfig


RULE_FAMILIES = {f.name: f for f in (PolynomialFamily, PolynomialPairFamily, PrePostTraceFamily,
                                     TypedTraceFamily)}
