"""Experiment 2: the two-layer PCA network task, its kernel, baselines and rule pair."""

import json

import numpy as np
import pytest
import sympy

from evoplast import ConfigError, EvoplastError, load_config, make_task, seeding
from evoplast.cli import main
from evoplast.kernels import pca
from evoplast.rules import PolynomialRule
from evoplast.rules.pair import RulePair


@pytest.fixture(scope="module")
def task_trials():
    task = make_task(load_config("runs/pca.toml"))
    return task, task.make_trials(seeding.trial_seeds(0, seeding.STREAM_HELDOUT, 0, 12))


@pytest.mark.parametrize("topology", ["hierarchical", "symmetric"])
def test_kernel_matches_numpy_reference(topology):
    rng = np.random.default_rng(1)
    K, D, S, N, M = 5, 3, 20, 4, 3
    X = rng.standard_normal((D, S, N))
    W0 = 0.3 * rng.standard_normal((D, M, N))
    L0 = 0.1 * rng.standard_normal((D, M, M))
    oja = PolynomialRule.from_terms({"x*y": 1.0, "y**2*w": -1.0}).coefficient_tensor()
    anti = PolynomialRule.from_terms({"x*y": -1.0}).coefficient_tensor()
    A = 0.02 * oja + 0.005 * rng.standard_normal((K, 3, 3, 3))  # all 27 terms in play
    B = 0.02 * anti + 0.005 * rng.standard_normal((K, 3, 3, 3))
    A[-1] *= 100  # this candidate diverges
    W, L, st = pca.simulate(A, B, X, W0, L0, 4, topology, bound=1e3)
    Wr, Lr, str_ = pca.simulate_numpy(A, B, X, W0, L0, 4, topology, bound=1e3)
    assert np.array_equal(st, str_) and (st[-1] != 0).all() and (st[:2] == 0).all()
    ok = st == 0
    np.testing.assert_allclose(W[ok], Wr[ok], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(L[ok], Lr[ok], rtol=1e-10, atol=1e-12)
    if topology == "hierarchical":
        assert (np.triu(L[ok][0]) == 0).all()  # only the strict lower triangle is plastic
    assert (np.diagonal(L, axis1=2, axis2=3) == 0).all()


@pytest.mark.parametrize("topology", ["hierarchical", "symmetric"])
def test_kernel_matches_numpy_reference_at_vector_widths(topology):
    """N = 37 (vector loops with remainders), 3 passes of 11 samples: the fused update-and-dot of the
    compiled kernel (u for the next sample computed while the row is updated, also across passes)."""
    rng = np.random.default_rng(2)
    K, D, S, N, M = 3, 2, 11, 37, 4
    X = rng.standard_normal((D, S, N)) / np.sqrt(N)
    W0 = 0.3 * rng.standard_normal((D, M, N))
    L0 = 0.1 * rng.standard_normal((D, M, M))
    oja = PolynomialRule.from_terms({"x*y": 1.0, "y**2*w": -1.0}).coefficient_tensor()
    anti = PolynomialRule.from_terms({"x*y": -1.0}).coefficient_tensor()
    A = 0.05 * oja + 0.005 * rng.standard_normal((K, 3, 3, 3))
    B = 0.05 * anti + 0.005 * rng.standard_normal((K, 3, 3, 3))
    W, L, st = pca.simulate(A, B, X, W0, L0, 3, topology)
    Wr, Lr, str_ = pca.simulate_numpy(A, B, X, W0, L0, 3, topology)
    assert (st == 0).all() and (str_ == 0).all()
    assert np.abs(W - W0).max() > 0.05  # the weights did move
    np.testing.assert_allclose(W, Wr, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(L, Lr, rtol=1e-9, atol=1e-12)


def test_rubner_tavan_recovers_ordered_pcs_and_its_lateral_weights_decay(task_trials):
    task, trials = task_trials
    W, L, status = task.run_baseline("rubner_tavan", trials)
    m = task._metrics_from(W, L, status, trials)
    assert m["n_ok"] == 12 and m["min_cos"] >= 0.99, m["min_cos_per_output"]
    assert m["mean_lateral_norm"] < 0.15
    W1, L1, _ = task.run_baseline("rubner_tavan", trials)
    assert np.array_equal(W, W1)  # deterministic


def test_foldiak_recovers_the_subspace_but_not_the_ordered_pcs(task_trials):
    task, trials = task_trials
    W, L, status = task.run_baseline("foldiak", trials)
    m = task._metrics_from(W, L, status, trials)
    assert m["n_ok"] == 12 and m["max_subspace_sin"] < 0.15
    assert max(m["mean_cos_per_output"]) < 0.8  # individual outputs are mixtures of PCs
    assert m["mean_lateral_norm"] > 0.3  # symmetric lateral weights stay to decorrelate


def test_sanger_is_ordered_and_oja_subspace_is_not(task_trials):
    task, trials = task_trials
    ms = task._metrics_from(*task.run_baseline("sanger", trials), trials)
    mo = task._metrics_from(*task.run_baseline("oja_subspace", trials), trials)
    assert ms["min_cos"] >= 0.99 and mo["max_subspace_sin"] < 0.1 and max(mo["mean_cos_per_output"]) < 0.8


def test_loss_is_sign_invariant_and_subspace_loss_rotation_invariant(task_trials):
    task, trials = task_trials
    U = trials.U[None]  # a network that found the PCs exactly
    signs = np.array([1.0, -1.0, -1.0])[None, None, :, None]
    L = np.zeros((1,) + trials.L0.shape)
    st = np.zeros((1, len(trials)), dtype=np.int8)
    assert np.allclose(task._loss(U, L, st, trials), 0.0)
    assert np.allclose(task._loss(U * signs, L, st, trials), 0.0)
    theta = 0.7
    R = np.eye(3)
    R[:2, :2] = [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]
    rotated = np.einsum("ij,kdjn->kdin", R, U)  # another orthonormal basis of the same subspace
    assert (task._loss(rotated, L, st, trials) > 0.1).all()
    sub = make_task(load_config("runs/pca.toml", ["task.loss=subspace"]))
    assert np.allclose(sub._loss(rotated, L, st, trials), 0.0)
    assert (sub._loss(0.5 * U, L, st, trials) > 0.1).all()  # the norm is pinned too
    pen = make_task(load_config("runs/pca.toml", ["task.lateral_penalty=2.0"]))
    assert np.allclose(pen._loss(U, L + 0.1, st, trials), 2.0 * 0.01 * 9)
    bad = st.copy()
    bad[0, 0] = 1
    assert task._loss(U, L, bad, trials)[0, 0] == task.penalty == 30.0


def test_capped_ordered_loss_charges_a_wrong_output_no_more_than_an_empty_one(task_trials):
    """Every output at PC1 (Oja's rule without decorrelation): ordered 0 + 2 + 2 = 4, capped
    0 + 1 + 1 = 2; the zero network 3 under both; the PCs themselves 0 under both; near the optimum
    (every output's term below 1) both are equal."""
    task, trials = task_trials
    capped = make_task(load_config("runs/pca.toml", ["task.loss=ordered_capped"]))
    U = trials.U[None]
    L = np.zeros((1,) + trials.L0.shape)
    st = np.zeros((1, len(trials)), dtype=np.int8)
    all_pc1 = np.repeat(U[:, :, :1], 3, axis=2)
    assert np.allclose(task._loss(all_pc1, L, st, trials), 4.0)
    assert np.allclose(capped._loss(all_pc1, L, st, trials), 2.0)
    for t in (task, capped):
        assert np.allclose(t._loss(0.0 * U, L, st, trials), 3.0)
        assert np.allclose(t._loss(U, L, st, trials), 0.0)
    near = 0.9 * U + 0.05 * np.roll(U, 1, axis=2)
    assert np.allclose(capped._loss(near, L, st, trials), task._loss(near, L, st, trials))
    assert (task._loss(near, L, st, trials) > 0.0).all()


def test_rule_pair_names_vectors_and_sympy(task_trials):
    task, _ = task_trials
    pair = task.known_rule()
    assert pair.terms[:2] == ["ff:1", "ff:w"] and "lat:x*y" in pair.terms and pair.n_params == 54
    assert pair.from_vector(pair.to_vector()) == pair
    assert pair.as_dict()["ff:y**2*w"] == -1.0 and pair.as_dict()["lat:x*y"] == -1.0
    from evoplast.rules.polynomial import SYMBOLS

    x, y, w = SYMBOLS
    views = pair.to_sympy()
    assert sympy.simplify(views["ff"] - (x * y - y**2 * w)) == 0
    assert sympy.simplify(views["lat"] + x * y) == 0
    assert pair.formula() == "dW = -y**2*w + x*y ; dL = -x*y"
    back = RulePair(PolynomialRule.from_sympy(views["ff"], eta=pair.ff.eta),
                    PolynomialRule.from_sympy(views["lat"], eta=pair.lat.eta))
    assert back == pair
    assert task.theory(pair)["is_oja+anti_hebbian"]
    hebbian_lat = pair.from_vector(np.where(np.array(pair.terms) == "lat:x*y", 1.0, pair.to_vector()))
    assert not task.theory(hebbian_lat)["is_oja+anti_hebbian"]
    assert pair.normalized()["ff:x*y"] == 1.0 and pair.normalized()["lat:x*y"] == -1.0


def test_config_of_the_rule_pair_and_the_task():
    c = load_config("runs/pca.toml", ["rule.ff.eta=0.05", "rule.lat.mask=['x*y', 'y**2*w']",
                                      "rule.lat.coefficients={'x*y' = -0.5}"])
    pair = make_task(c).rule_template
    assert pair.ff.eta == 0.05 and pair.lat.terms == ["y**2*w", "x*y"] and pair.n_params == 29
    assert pair.as_dict()["lat:x*y"] == -0.5
    for bad, needle in (("rule.ff.etaa=1", "rule.ff.etaa"), ("rule.lat.eta=-1", "eta"),
                        ("task.n_outputs=5", "n_outputs"), ("task.topology=ring", "topology"),
                        ("task.loss=mse", "loss"), ("task.baseline=pca", "baseline"),
                        ("rule.family=polynomial", "does not support")):
        with pytest.raises(ConfigError, match=needle):
            load_config("runs/pca.toml", [bad])


def test_search_refuses_a_baseline_and_simulate_runs_it(tmp_path, capsys):
    from evoplast import run

    with pytest.raises(EvoplastError, match="baseline"):
        run(load_config("runs/pca.toml", ["task.baseline=sanger"]), tmp_path / "r")
    assert main(["simulate", "runs/pca.toml", "--set", "task.baseline=rubner_tavan", "--trials", "4",
                 "--out", str(tmp_path / "s")]) == 0
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["baseline"] == "rubner_tavan" and summary["min_cos"] >= 0.99
    assert len(summary["mean_cos_per_output"]) == 3 and summary["mean_lateral_norm"] < 0.15


@pytest.mark.parametrize("fine,renormalise", [(False, False), (True, False), (True, True)])
def test_tiny_search_writes_both_rules_and_show_prints_them(tmp_path, capsys, fine, renormalise):
    out = tmp_path / "r"
    args = ["--set", "task.n_trials=4", "--set", "task.n_passes=5", "--set", "task.heldout_trials=4",
            "--set", "cmaes.popsize=8", "--set", "cmaes.generations=3", "--quiet",
            "--set", f"cmaes.fine_scale={str(fine).lower()}",
            *(["--set", "cmaes.renormalise=true", "--set", "cmaes.prune_rescale=true"] * renormalise)]
    assert main(["run", "runs/pca.toml", "--out", str(out), *args]) == 0
    result = json.loads((out / "result.json").read_text())
    assert "ff:x*y" in result["coefficients"] and "lat:x*y" in result["coefficients"]
    assert set(result["eta"]) == {"ff", "lat"} and "is_oja+anti_hebbian" in result["theory"]
    capsys.readouterr()
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "feed-forward (pre x_j, post y_i, w = W_ij): dW = eta_A" in shown
    assert "lateral (pre y_j, post y_i, w = L_ij):" in shown and "|cos(w_i, PC_i)|" in shown
    # a common scale refit, pruning, then each rule's own factor: every reported coefficient is its
    # rule's total factor x the search's mean, or 0 for a pruned term
    cal, pruning = result["scale_calibration"], result["pruning"]
    assert set(cal["eta"]) == set(cal["total_factor"]) == {"ff", "lat"}
    for term, value in result["search_coefficients"].items():
        expected = 0.0 if term in pruning["removed"] else cal["total_factor"][term.split(":")[0]] * value
        assert result["coefficients"][term] == pytest.approx(expected, rel=1e-12, abs=0)
    assert "overall scale refit" in shown and "pruned on validation trials" in shown
    assert "the search's own mean scores held-out loss" in shown
    assert ("fine_factor" in cal) == fine and (", fine ff x" in shown) == fine
    assert ("renormalised" in cal) == renormalise and ("renormalised and refit" in shown) == renormalise
    if fine and not renormalise:  # the fine factors are part of each rule's total factor and learning rate
        common = cal["factor"] * cal.get("pruning_factor", 1.0)
        for g in ("ff", "lat"):
            total = common * cal["rule_factors"][g] * cal["fine_factor"][g]
            assert cal["total_factor"][g] == pytest.approx(total)
        assert cal["eta"]["ff"] == pytest.approx(0.01 * cal["total_factor"]["ff"])


def test_rule_b_is_judged_with_rule_a_s_limit_on_other_terms():
    """B anti-Hebbian: dominant negative x*y AND every other term <= 0.15 of it (as for A)."""
    from evoplast.theory import pca_comparison

    oja = {"ff:x*y": 1.0, "ff:y**2*w": -1.0}
    clean = pca_comparison({**oja, "lat:x*y": -1.0, "lat:w": 0.1})
    loose = pca_comparison({**oja, "lat:x*y": -1.0, "lat:w": 0.5})  # dominant x*y, but 0.5 of it
    assert clean["lat"]["is_anti_hebbian"] and clean["is_oja+anti_hebbian"]
    assert not loose["lat"]["is_anti_hebbian"] and not loose["is_oja+anti_hebbian"]
    assert loose["lat"]["max_other_over_xy"] == 0.5
