"""Rule families: the plasticity rules whose coefficients CMA-ES searches."""

from .polynomial import OJA_TERMS, PolynomialRule, term_name

__all__ = ["OJA_TERMS", "PolynomialRule", "term_name"]
