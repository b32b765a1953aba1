r"""Pre/post trace rules on several synapse types of an E-I network, searched jointly.

Types are named pre then post population: ``ee`` (E -> E), ``ei`` (E -> I), ``ie`` (I -> E),
``ii`` (I -> I). Each plastic type has its own :class:`~evoplast.rules.pre_post_trace.PrePostTraceRule`
(on a presynaptic spike :math:`\Delta w = \eta(\alpha + \kappa x_{post})`, on a postsynaptic spike
:math:`\Delta w = \eta(\beta + \gamma x_{pre})`, w in [0, w_max]), with its own fixed values and
searched subset. The searched vector is the plastic types' vectors in ``TYPES`` order; term names
carry the type: ``ie:alpha``. Types not listed in ``plastic`` keep their weights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import sympy

from ..errors import ConfigError
from ..schema import build_section
from .base import Rule
from .pre_post_trace import PARAMS, PrePostTraceConfig, PrePostTraceRule

TYPES = ("ee", "ei", "ie", "ii")
TYPE_WORDS = {"ee": "E -> E", "ei": "E -> I", "ie": "I -> E", "ii": "I -> I"}


@dataclass(frozen=True)
class TypedTraceRule(Rule):
    """Rules of the plastic types ``types`` (in ``TYPES`` order), one per type."""

    family = "pre_post_trace_types"
    formula_prefix = ""
    normalized_heading = "  searched/normalised parameters per type:"
    types: tuple[str, ...]
    rules: tuple[PrePostTraceRule, ...]

    def __post_init__(self):
        if len(self.types) != len(self.rules) or not self.types:
            raise ConfigError("a typed rule needs one rule per plastic type, and at least one type")

    def _sizes(self) -> list[int]:
        return [r.n_params for r in self.rules]

    @property
    def terms(self) -> list[str]:
        return [f"{t}:{n}" for t, r in zip(self.types, self.rules) for n in r.terms]

    @property
    def n_params(self) -> int:
        return sum(self._sizes())

    @property
    def eta(self) -> dict[str, float]:
        return {t: r.eta for t, r in zip(self.types, self.rules)}

    def rule(self, t: str) -> PrePostTraceRule:
        return self.rules[self.types.index(t)]

    def to_vector(self) -> np.ndarray:
        return np.concatenate([r.to_vector() for r in self.rules])

    def from_vector(self, vector: Sequence[float]) -> TypedTraceRule:
        v = np.asarray(vector, dtype=float)
        if v.shape != (self.n_params,):
            raise ConfigError(f"typed rule needs {self.n_params} values, got {v.size}")
        cut = np.cumsum([0, *self._sizes()])
        return TypedTraceRule(self.types, tuple(r.from_vector(v[a:b])
                                                for r, a, b in zip(self.rules, cut[:-1], cut[1:])))

    def l1_mask(self) -> np.ndarray:
        return np.concatenate([r.l1_mask() for r in self.rules])

    def params(self) -> np.ndarray:
        """The kernel's (4, 8) table: one :class:`~evoplast.kernels.lif.TraceParams` row per type of
        ``TYPES`` (static types: a placeholder row with eta 0 and positive time constants)."""
        out = np.zeros((len(TYPES), 8))
        out[:, :2] = 1.0
        for t, r in zip(self.types, self.rules):
            out[TYPES.index(t)] = r.params()
        return out

    def as_dict(self) -> dict[str, float]:
        return {f"{t}:{n}": v for t, r in zip(self.types, self.rules) for n, v in r.as_dict().items()}

    def from_values(self, values: Mapping[str, float]) -> TypedTraceRule:
        out = []
        for t, r in zip(self.types, self.rules):
            sub = {n: values[f"{t}:{n}"] for n in PARAMS if f"{t}:{n}" in values}
            out.append(r.from_values(sub))
        return TypedTraceRule(self.types, tuple(out))

    def normalized(self) -> dict[str, float]:
        return {f"{t}:{n}": v for t, r in zip(self.types, self.rules) for n, v in r.normalized().items()}

    def to_sympy(self) -> dict[str, dict[str, sympy.Expr]]:
        return {t: r.to_sympy() for t, r in zip(self.types, self.rules)}

    def formula(self, prune: float = 0.0, digits: int = 3) -> str:
        return " ; ".join(f"{t}: {r.formula(prune, digits)}" for t, r in zip(self.types, self.rules))

    def latex(self) -> str:
        return r",\quad ".join(rf"\text{{{t}}}\;" + r.latex() for t, r in zip(self.types, self.rules))

    def describe(self, result: Mapping[str, Any]) -> list[str]:
        eta = result["eta"]
        return [f"  {t} ({TYPE_WORDS[t]}): {f.split(': ', 1)[1]}   [eta = {eta[t]}]"
                for t, f in zip(self.types, result["formula_pruned"].split(" ; "))]


@dataclass(frozen=True)
class TypedTraceConfig:
    """``[rule]`` of the ``pre_post_trace_types`` family: ``plastic`` lists the plastic types;
    ``[rule.<type>]`` holds each plastic type's keys of the ``pre_post_trace`` family (``search``,
    ``eta``, ``w_max``, fixed values, ``start_box``, ``start_min_abs``); ``start`` (point |
    random) applies to all, each type drawing from its own stream."""

    family: str = "pre_post_trace_types"
    plastic: tuple[str, ...] = ("ie",)
    start: str = "point"
    ee: dict[str, Any] = field(default_factory=dict)
    ei: dict[str, Any] = field(default_factory=dict)
    ie: dict[str, Any] = field(default_factory=dict)
    ii: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        bad = [t for t in self.plastic if t not in TYPES]
        if bad or len(set(self.plastic)) != len(self.plastic) or not self.plastic:
            raise ConfigError(f"rule.plastic must be distinct synapse types from {list(TYPES)} (pre "
                              f"then post population: 'ie' is I -> E), at least one; got "
                              f"{list(self.plastic)}")
        for t in TYPES:
            if getattr(self, t) and t not in self.plastic:
                raise ConfigError(f"rule.{t} is given but {t!r} is not in rule.plastic "
                                  f"({list(self.plastic)}): static types have no rule")
        if self.start not in ("point", "random"):
            raise ConfigError(f"rule.start must be 'point' or 'random', got {self.start!r}")
        for t in self.plastic:
            self._sub(t).validate()

    def _sub(self, t: str) -> PrePostTraceConfig:
        table = getattr(self, t)
        for key in ("family", "start"):
            if key in table:
                raise ConfigError(f"rule.{t}.{key}: not a key of a type's rule (set rule.{key})")
        try:
            return build_section(PrePostTraceConfig, {**table, "start": self.start}, f"rule.{t}")
        except ConfigError as exc:
            text = str(exc)
            raise ConfigError(text if f"rule.{t}." in text
                              else text.replace("rule.", f"rule.{t}.", 1)) from None

    def _ordered(self) -> list[str]:
        return [t for t in TYPES if t in self.plastic]

    def rule(self) -> TypedTraceRule:
        subs = [self._sub(t) for t in self._ordered()]
        return TypedTraceRule(tuple(self._ordered()),
                              tuple(PrePostTraceRule(**{f.name: getattr(s, f.name)
                                                        for f in fields(PrePostTraceRule)})
                                    for s in subs))

    def start_vector(self, seed: int, restart: int) -> np.ndarray:
        """Each plastic type's initial mean (see :meth:`PrePostTraceConfig.start_vector`), type
        index i drawing from ``SeedSequence(seed, spawn_key=(STREAM_START, restart, i))``."""
        return np.concatenate([self._sub(t).start_vector(seed, restart, key=(TYPES.index(t),))
                               for t in self._ordered()])
