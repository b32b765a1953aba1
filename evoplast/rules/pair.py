r"""Two polynomial rules searched jointly: feed-forward (``ff``) and lateral (``lat``).

The network task of experiment 2 (:mod:`evoplast.tasks.pca_network`) has two plastic pathways:
rule A on feed-forward weights (pre ``x`` = input x_j, post ``y`` = output y_i, ``w`` = W_ij) and
rule B on lateral weights (pre ``x`` = output y_j, post ``y`` = output y_i, ``w`` = L_ij). Each is a
:class:`~evoplast.rules.polynomial.PolynomialRule` (own powers, mask and eta); the searched vector
is A's coefficients followed by B's, and term names carry the rule: ``ff:x*y``, ``lat:x*y``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from .base import Rule
from .polynomial import PolynomialRule

if TYPE_CHECKING:
    import sympy

PREFIXES = ("ff", "lat")


@dataclass(frozen=True)
class RulePair(Rule):
    family = "polynomial_pair"
    ff: PolynomialRule
    lat: PolynomialRule

    @property
    def rules(self) -> tuple[PolynomialRule, PolynomialRule]:
        return self.ff, self.lat

    @property
    def terms(self) -> list[str]:
        return [f"{p}:{t}" for p, r in zip(PREFIXES, self.rules) for t in r.terms]

    @property
    def n_params(self) -> int:
        return self.ff.n_params + self.lat.n_params

    @property
    def eta(self) -> dict[str, float]:
        return {"ff": self.ff.eta, "lat": self.lat.eta}

    def to_vector(self) -> np.ndarray:
        return np.concatenate([self.ff.to_vector(), self.lat.to_vector()])

    def l1_mask(self) -> np.ndarray:
        return np.ones(self.n_params)

    def from_vector(self, vector: Sequence[float]) -> RulePair:
        v = np.asarray(vector, dtype=float)
        if v.shape != (self.n_params,):
            raise ConfigError(f"rule pair needs {self.n_params} coefficients, got {v.size}")
        n = self.ff.n_params
        return RulePair(self.ff.from_vector(v[:n]), self.lat.from_vector(v[n:]))

    @classmethod
    def from_terms(
        cls,
        ff: Mapping[str, float],
        lat: Mapping[str, float],
        eta_ff: float = 1.0,
        eta_lat: float = 1.0,
        max_power: tuple[int, int, int] = (2, 2, 2),
    ) -> RulePair:
        return cls(PolynomialRule.from_terms(ff, max_power, eta=eta_ff),
                   PolynomialRule.from_terms(lat, max_power, eta=eta_lat))

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.terms, self.to_vector().tolist()))

    def groups(self) -> dict[str, np.ndarray]:
        """``ff`` and ``lat``: which vector entries belong to each rule."""
        n = self.ff.n_params
        return {"ff": np.arange(self.n_params) < n, "lat": np.arange(self.n_params) >= n}

    def describe(self, result: Mapping[str, Any]) -> list[str]:
        ff, lat = result["formula_pruned"].split(" ; ")
        return [f"  feed-forward (pre x_j, post y_i, w = W_ij): {ff.replace('dW = ', 'dW = eta_A * (')})"
                f"   [eta_A = {result['eta']['ff']}]",
                f"  lateral (pre y_j, post y_i, w = L_ij):      {lat.replace('dL = ', 'dL = eta_B * (')})"
                f"   [eta_B = {result['eta']['lat']}]"]

    def from_values(self, values: Mapping[str, float]) -> RulePair:
        """The rule whose reported values (``as_dict()``, e.g. ``result.json`` ``coefficients``) are
        ``values``: the inverse of :meth:`as_dict` (no log scaling involved)."""
        from .polynomial import _check_known, _value

        _check_known(values, self.terms)
        return self.from_vector([_value(values, t) for t in self.terms])

    def split(self, coefficients: Mapping[str, float]) -> dict[str, dict[str, float]]:
        """``{"ff:x*y": 1, "lat:x*y": -1}`` -> ``{"ff": {"x*y": 1}, "lat": {"x*y": -1}}``."""
        out: dict[str, dict[str, float]] = {p: {} for p in PREFIXES}
        for name, value in coefficients.items():
            prefix, _, term = name.partition(":")
            out[prefix][term] = value
        return out

    def normalized(self) -> dict[str, float]:
        """Each rule divided by its own largest absolute coefficient (their scales are independent)."""
        return {f"{p}:{t}": v for p, r in zip(PREFIXES, self.rules) for t, v in r.normalized().items()}

    def to_sympy(
        self, prune: float = 0.0, normalize: bool = False, digits: int | None = None
    ) -> dict[str, sympy.Expr]:
        """``{"ff": expr in x, y, w, "lat": expr in x, y, w}`` (see the module docstring for what
        x, y, w stand for in each)."""
        return {p: r.to_sympy(prune=prune, normalize=normalize, digits=digits)
                for p, r in zip(PREFIXES, self.rules)}

    def formula(self, prune: float = 0.05, digits: int = 3) -> str:
        return (f"dW = {self.ff.formula(prune, digits)} ; "
                f"dL = {self.lat.formula(prune, digits)}")

    def latex(self, prune: float = 0.05, digits: int = 3) -> str:
        import sympy

        ff, lat = (sympy.latex(r.to_sympy(prune=prune, digits=digits)) for r in self.rules)
        return (r"\Delta W_{ij} = \eta_A\left(" + ff + r"\right)\big|_{x=x_j,\,y=y_i,\,w=W_{ij}},\quad "
                r"\Delta L_{ij} = \eta_B\left(" + lat + r"\right)\big|_{x=y_j,\,y=y_i,\,w=L_{ij}}")
