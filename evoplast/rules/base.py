"""The contract every rule family fulfils (:class:`Rule`), written once.

A rule is a frozen dataclass with named parameters. The optimiser sees a flat vector
(``to_vector`` / ``from_vector``, where a family may search some parameters in log space); people
and ``result.json`` see named values in natural units (``as_dict`` / ``from_values``); the
symbolic view (``to_sympy``, ``latex``, ``formula``) comes from the same definition. Code outside
``evoplast/rules`` uses only these methods, never a family's name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


class Rule:
    """Base of the rule families. Subclasses implement the abstract views; the rest has defaults."""

    #: the family name of ``rule.family``
    family: str = ""
    #: what ``formula`` strings start with (the search's progress lines)
    formula_prefix: str = ""

    # -- the optimiser's view ----------------------------------------------------------------
    @property
    def terms(self) -> list[str]:
        """Names of the searched entries, in vector order."""
        raise NotImplementedError

    @property
    def n_params(self) -> int:
        return len(self.terms)

    def to_vector(self) -> np.ndarray:
        raise NotImplementedError

    def from_vector(self, vector: Sequence[float]) -> Rule:
        raise NotImplementedError

    def groups(self) -> dict[str, np.ndarray] | None:
        """The family's sub-rules as masks over the vector (each with its own learning rate and
        scale refit), or None for a single rule."""
        return None

    def l1_mask(self) -> np.ndarray:
        """Which vector entries the L1 penalty applies to (default: all)."""
        return np.ones(self.n_params)

    # -- the reported view -------------------------------------------------------------------
    def as_dict(self) -> dict[str, float]:
        """Named values in natural units (``result.json`` ``coefficients``)."""
        raise NotImplementedError

    def from_values(self, values: Mapping[str, float]) -> Rule:
        """The inverse of :meth:`as_dict`."""
        raise NotImplementedError

    def normalized(self) -> dict[str, float]:
        raise NotImplementedError

    # -- the symbolic view -------------------------------------------------------------------
    def to_sympy(self) -> Any:
        raise NotImplementedError

    def latex(self) -> str:
        raise NotImplementedError

    def formula(self, prune: float = 0.0, digits: int = 3) -> str:
        raise NotImplementedError

    def describe(self, result: Mapping[str, Any]) -> list[str]:
        """Lines of ``evoplast show`` for the found rule of ``result`` (its formula and learning
        rate(s)); the default prints ``formula_pruned`` and ``eta``."""
        return [f"  {result['formula_pruned']}   [eta = {result['eta']}]"]

    #: heading of the normalised-coefficient table of ``evoplast show``
    normalized_heading: str = "  normalised coefficients (|c| >= 0.01):"
