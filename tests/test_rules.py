import numpy as np
import pytest
import sympy

from evoplast import ConfigError, PolynomialRule
from evoplast.rules.polynomial import SYMBOLS


def random_rule(seed=0, **kw):
    rng = np.random.default_rng(seed)
    n = len(PolynomialRule.term_names(kw.get("max_power", (2, 2, 2)), kw.get("mask")))
    return PolynomialRule(tuple(rng.standard_normal(n)), **kw)


def test_default_family_has_27_named_terms():
    names = PolynomialRule.term_names()
    assert len(names) == 27 and len(set(names)) == 27
    for expected in ("1", "x", "x*y", "y**2*w", "x**2*y**2*w**2"):
        assert expected in names


def test_term_names_are_their_own_sympy_monomials():
    x, y, w = SYMBOLS
    rule = PolynomialRule.zeros()
    for name, (a, b, c) in zip(rule.terms, rule.exponents):
        assert sympy.sympify(name, locals={"x": x, "y": y, "w": w}) == x**a * y**b * w**c


def test_sympy_form_agrees_with_simulated_update_at_random_points():
    rule = random_rule(1, eta=0.3)
    f = sympy.lambdify(SYMBOLS, rule.to_sympy(include_eta=True), "numpy")
    rng = np.random.default_rng(2)
    x, y, w = rng.uniform(-2, 2, (3, 200))
    np.testing.assert_allclose(rule.update(x, y, w), f(x, y, w), rtol=1e-12, atol=1e-12)


def test_sympy_round_trip_restores_coefficients():
    rule = random_rule(3)
    back = PolynomialRule.from_sympy(rule.to_sympy())
    np.testing.assert_allclose(back.to_vector(), rule.to_vector(), rtol=1e-13)


def test_vector_round_trip_keeps_family():
    rule = random_rule(4, mask=("x*y", "y**2*w", "w"), eta=0.1)
    v = rule.to_vector() * 2
    again = rule.from_vector(v)
    assert again.mask == rule.mask and again.eta == 0.1
    np.testing.assert_array_equal(again.to_vector(), v)


def test_mask_zeroes_other_terms_in_tensor():
    rule = PolynomialRule.from_terms({"x*y": 1.0, "y**2*w": -1.0}, mask=("x*y", "y**2*w"))
    A = rule.coefficient_tensor()
    assert A.shape == (3, 3, 3)
    assert A[1, 1, 0] == 1.0 and A[0, 2, 1] == -1.0 and np.count_nonzero(A) == 2


def test_pruning_drops_small_terms_and_normalize_scales():
    rule = PolynomialRule.from_terms({"x*y": 2.0, "y**2*w": -2.0, "x": 0.01})
    x, y, w = SYMBOLS
    assert sympy.expand(rule.to_sympy(prune=0.05, normalize=True) - (x * y - y**2 * w)) == 0
    assert rule.normalized()["y**2*w"] == -1.0
    assert rule.formula() == "-2*y**2*w + 2*x*y"
    assert "x" not in rule.formula().replace("x*y", "")


def test_latex_view_mentions_terms():
    tex = PolynomialRule.from_terms({"x*y": 1.0, "y**2*w": -1.0}).latex()
    assert r"\Delta w" in tex and "y^{2}" in tex


def test_other_powers_and_errors():
    assert len(PolynomialRule.term_names((1, 1, 1))) == 8
    assert len(PolynomialRule.term_names((3, 2, 1))) == 24
    with pytest.raises(ConfigError):
        PolynomialRule.from_terms({"x**3": 1.0})
    with pytest.raises(ConfigError):
        PolynomialRule((1.0, 2.0))
    with pytest.raises(ConfigError):
        PolynomialRule.zeros(mask=("x*y", "nonsense"))
