r"""Polynomial (Volterra / Taylor) rate plasticity rule.

Confavreux et al. (NeurIPS 2020) parameterise a local rate rule as a truncated Taylor expansion
in the presynaptic rate ``x``, the postsynaptic rate ``y`` and the weight ``w``:

.. math::

    \Delta w_j = \eta \sum_{a=0}^{P_x} \sum_{b=0}^{P_y} \sum_{c=0}^{P_w} A_{abc}\, x_j^a\, y^b\, w_j^c

With the default maximum power 2 per variable there are 27 coefficients. Oja's rule is
``A_110 = +1`` (term ``"x*y"``) and ``A_021 = -1`` (term ``"y**2*w"``).

One definition, two views: the exponent table :attr:`PolynomialRule.exponents` drives both the
numeric update (:meth:`PolynomialRule.update`, the compiled kernels via
:meth:`PolynomialRule.coefficient_tensor`) and the symbolic form (:meth:`PolynomialRule.to_sympy`).
Term names are built from the same table (``"1"``, ``"x"``, ``"x*y"``, ``"y**2*w"``, ...); they are
valid sympy expressions, so ``sympify(name)`` is the monomial.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from ..errors import ConfigError
from .base import Rule

VARIABLES = ("x", "y", "w")
SYMBOLS = sympy.symbols("x y w", real=True)


def term_name(exponents: Sequence[int], variables: Sequence[str] = VARIABLES) -> str:
    """Readable name of the monomial ``x**a * y**b * w**c`` (``"1"`` for the constant)."""
    parts = []
    for var, e in zip(variables, exponents):
        if e == 1:
            parts.append(var)
        elif e > 1:
            parts.append(f"{var}**{e}")
    return "*".join(parts) if parts else "1"


def all_exponents(max_power: Sequence[int]) -> list[tuple[int, int, int]]:
    """Every (a, b, c) with 0 <= a <= Px, 0 <= b <= Py, 0 <= c <= Pw, in a fixed order."""
    return list(itertools.product(*(range(p + 1) for p in max_power)))


@dataclass(frozen=True)
class PolynomialRule(Rule):
    """A polynomial rate rule: named terms, coefficients and a learning rate.

    Attributes
    ----------
    coefficients:
        One value per active term, in the order of :attr:`terms`.
    max_power:
        Maximum power of (x, y, w); default (2, 2, 2) gives 27 terms.
    mask:
        Names of the active terms, or ``None`` for all. Masked-out terms are exactly 0.
    eta:
        Learning rate multiplying the whole polynomial.
    """

    family = "polynomial"
    formula_prefix = "dw = "

    coefficients: tuple[float, ...]
    max_power: tuple[int, int, int] = (2, 2, 2)
    mask: tuple[str, ...] | None = None
    eta: float = 1.0
    exponents: tuple[tuple[int, int, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        mp = tuple(int(p) for p in self.max_power)
        if len(mp) != 3 or min(mp) < 0:
            raise ConfigError(f"max_power must be three non-negative integers, got {self.max_power!r}")
        object.__setattr__(self, "max_power", mp)
        exps = all_exponents(mp)
        if self.mask is not None:
            names = {term_name(e): e for e in exps}
            unknown = [m for m in self.mask if m not in names]
            if unknown:
                raise ConfigError(
                    f"unknown rule term(s) {unknown} for max_power {mp}; known: {sorted(names)}")
            keep = set(self.mask)
            exps = [e for e in exps if term_name(e) in keep]
            object.__setattr__(self, "mask", tuple(term_name(e) for e in exps))
        object.__setattr__(self, "exponents", tuple(exps))
        coeffs = tuple(float(c) for c in self.coefficients)
        if len(coeffs) != len(exps):
            raise ConfigError(f"rule needs {len(exps)} coefficients, got {len(coeffs)}")
        object.__setattr__(self, "coefficients", coeffs)

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def zeros(
        cls, max_power: tuple[int, int, int] = (2, 2, 2), mask: Sequence[str] | None = None, eta: float = 1.0
    ) -> PolynomialRule:
        n = len(cls.term_names(max_power, mask))
        return cls((0.0,) * n, tuple(max_power), None if mask is None else tuple(mask), eta)

    @classmethod
    def from_terms(
        cls,
        terms: Mapping[str, float],
        max_power: tuple[int, int, int] = (2, 2, 2),
        mask: Sequence[str] | None = None,
        eta: float = 1.0,
    ) -> PolynomialRule:
        """Build a rule from ``{"x*y": 1, "y**2*w": -1}``; unnamed terms are 0."""
        names = cls.term_names(max_power, mask)
        unknown = [t for t in terms if t not in names]
        if unknown:
            raise ConfigError(f"unknown rule term(s) {unknown}; known: {names}")
        return cls(tuple(float(terms.get(n, 0.0)) for n in names), tuple(max_power),
                   None if mask is None else tuple(mask), eta)

    @staticmethod
    def term_names(
        max_power: tuple[int, int, int] = (2, 2, 2), mask: Sequence[str] | None = None
    ) -> list[str]:
        names = [term_name(e) for e in all_exponents(max_power)]
        if mask is not None:
            keep = set(mask)
            names = [n for n in names if n in keep]
        return names

    @property
    def terms(self) -> list[str]:
        return [term_name(e) for e in self.exponents]

    @property
    def n_params(self) -> int:
        return len(self.exponents)

    def to_vector(self) -> np.ndarray:
        return np.array(self.coefficients, dtype=float)

    def l1_mask(self) -> np.ndarray:
        """Which vector entries the L1 penalty applies to: all coefficients."""
        return np.ones(self.n_params)

    def from_vector(self, vector: Sequence[float]) -> PolynomialRule:
        """Same family (powers, mask, eta), new coefficients."""
        return PolynomialRule(tuple(np.asarray(vector, dtype=float).tolist()), self.max_power,
                              self.mask, self.eta)

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.terms, self.coefficients))

    def describe(self, result: Mapping[str, Any]) -> list[str]:
        return [f"  dw = eta * ({result['formula_pruned']})   [eta = {result['eta']}]"]

    def from_values(self, values: Mapping[str, float]) -> PolynomialRule:
        """The rule whose reported values (``as_dict()``, e.g. ``result.json`` ``coefficients``) are
        ``values``: the inverse of :meth:`as_dict` (no log scaling involved). A nonzero value of a
        term this rule does not have is refused (it would be dropped silently)."""
        _check_known(values, self.terms)
        return self.from_vector([_value(values, t) for t in self.terms])

    # -- numeric view ---------------------------------------------------------------------------
    def coefficient_tensor(self, vectors: np.ndarray | None = None) -> np.ndarray:
        """Dense ``A[..., a, b, c]`` (masked terms 0), for one rule or a batch of vectors."""
        v = self.to_vector()[None] if vectors is None else np.atleast_2d(vectors)
        out = np.zeros((v.shape[0],) + tuple(p + 1 for p in self.max_power))
        for k, (a, b, c) in enumerate(self.exponents):
            out[:, a, b, c] = v[:, k]
        return out[0] if vectors is None else out

    def update(self, x: np.ndarray | float, y: np.ndarray | float, w: np.ndarray | float) -> np.ndarray:
        """Vectorised ``eta * sum_k A_k x^a y^b w^c`` (broadcasts over arrays)."""
        x, y, w = np.asarray(x, float), np.asarray(y, float), np.asarray(w, float)
        total = np.zeros(np.broadcast(x, y, w).shape)
        for coef, (a, b, c) in zip(self.coefficients, self.exponents):
            if coef != 0.0:
                total = total + coef * x**a * y**b * w**c
        return self.eta * total

    # -- symbolic view --------------------------------------------------------------------------
    def normalized(self) -> dict[str, float]:
        """Coefficients divided by the largest absolute value (the rule's shape; eta-free)."""
        from ..theory import normalize

        return normalize(self.as_dict())

    def to_sympy(self, prune: float = 0.0, normalize: bool = False, digits: int | None = None,
                 include_eta: bool = False) -> sympy.Expr:
        """Symbolic polynomial in x, y, w.

        ``prune``: drop terms with ``|c| <= prune * max|c|``. ``normalize``: divide by max|c|.
        ``digits``: round coefficients for display. ``include_eta``: multiply by eta.
        """
        x, y, w = SYMBOLS
        v = self.to_vector()
        scale = float(np.max(np.abs(v))) if v.size else 0.0
        expr = sympy.Integer(0)
        for coef, (a, b, c) in zip(v, self.exponents):
            if scale == 0.0 or abs(coef) <= prune * scale:
                continue
            value = coef / scale if normalize else coef
            if digits is not None:
                value = round(float(value), digits)
            expr += sympy.Float(value, 15) * x**a * y**b * w**c
        if include_eta:
            expr = sympy.Float(self.eta, 15) * expr
        return expr

    def formula(self, prune: float = 0.05, digits: int = 3) -> str:
        """Readable string of the rule without eta, in term order, terms with
        ``|c| <= prune * max|c|`` dropped (plain formatting: cheap enough for every generation).
        ``sympify(formula)`` equals ``to_sympy(prune, digits=digits)`` up to rounding."""
        v = self.to_vector()
        scale = float(np.max(np.abs(v))) if v.size else 0.0
        parts = []
        for name, coef in zip(self.terms, v):
            if scale == 0.0 or abs(coef) <= prune * scale:
                continue
            mag = f"{abs(coef):.{digits}g}"
            body = mag if name == "1" else (name if mag == "1" else f"{mag}*{name}")
            parts.append(("-" if coef < 0 else "+", body))
        if not parts:
            return "0"
        text = ("-" if parts[0][0] == "-" else "") + parts[0][1]
        return text + "".join(f" {sign} {body}" for sign, body in parts[1:])

    def latex(self, prune: float = 0.05, digits: int = 3) -> str:
        return r"\Delta w = \eta\left(" + sympy.latex(self.to_sympy(prune=prune, digits=digits)) + r"\right)"

    @classmethod
    def from_sympy(
        cls,
        expr: sympy.Expr,
        max_power: tuple[int, int, int] = (2, 2, 2),
        mask: Sequence[str] | None = None,
        eta: float = 1.0,
    ) -> PolynomialRule:
        """Inverse of :meth:`to_sympy`: read coefficients of a polynomial in x, y, w."""
        poly = sympy.Poly(sympy.sympify(expr, locals=dict(zip(VARIABLES, SYMBOLS))), *SYMBOLS)
        terms = {}
        for (a, b, c), coef in poly.terms():
            if a > max_power[0] or b > max_power[1] or c > max_power[2]:
                raise ConfigError(f"term x**{a}*y**{b}*w**{c} exceeds max_power {tuple(max_power)}")
            terms[term_name((a, b, c))] = float(coef)
        return cls.from_terms(terms, max_power, mask, eta)


OJA_TERMS = {"x*y": 1.0, "y**2*w": -1.0}


def _check_known(values: Mapping[str, float], terms: Sequence[str]) -> None:
    """Refuse reported values that name a nonzero term the rule lacks."""
    known = set(terms)
    extra = [t for t, v in values.items() if t not in known and v != 0.0]
    if extra:
        raise ConfigError(f"the values name term(s) this rule does not have: {', '.join(extra[:4])} "
                          f"(its terms: {', '.join(terms[:8])}{', ...' if len(terms) > 8 else ''})")


def _value(values: Mapping[str, float], term: str) -> float:
    if term not in values:
        raise ConfigError(f"reported values lack the term {term!r}")
    return float(values[term])
