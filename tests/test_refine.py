"""Model selection after the search (evoplast.selection): scale refits and term pruning on
validation trials."""

import numpy as np
import pytest

from evoplast import selection


def test_refit_scale_picks_the_grid_minimum_and_reports_the_loss_at_1x():
    v = np.array([1.0, -0.5])
    calls = []

    def loss(V, n):
        calls.append(n)
        return (V[:, 0] - 2.0) ** 2 + (V[:, 1] + 1.0) ** 2  # minimum at 2x

    out = selection.refit_scale(loss, v)
    assert out["factor"] == 2.0 and np.allclose(out["vector"], 2.0 * v)
    assert out["validation_loss_found"] == pytest.approx(1.0 + 0.25)
    assert out["validation_loss_calibrated"] == pytest.approx(0.0)
    assert calls == [selection.CALIBRATION_TRIALS]


def test_refit_rule_scales_moves_each_group_towards_its_own_optimum_and_keeps_1x_on_ties():
    v = np.array([1.0, 1.0, 1.0])
    groups = {"ff": np.array([True, True, False]), "lat": np.array([False, False, True])}

    def loss(V, n):
        return (V[:, 0] - 1.5) ** 2 + (V[:, 1] - 1.5) ** 2 + 0.0 * V[:, 2]  # lat: flat

    out = selection.refit_rule_scales(loss, v, groups)
    assert out["rule_factors"] == {"ff": pytest.approx(2 ** 0.5), "lat": 1.0}
    assert np.allclose(out["vector"], [2 ** 0.5, 2 ** 0.5, 1.0])
    assert out["validation_loss"] == pytest.approx(2 * (1.5 - 2 ** 0.5) ** 2)


def _set_loss(table, core_loss=100.0):
    """Loss of a vector from the set of its zeroed terms: ``table[frozenset(zeroed)]`` (1.0 when
    absent); zeroing term 0 costs core_loss."""
    def loss(V, n):
        out = []
        for row in V:
            zeroed = frozenset(np.flatnonzero(row == 0.0).tolist())
            out.append(core_loss if 0 in zeroed else table.get(zeroed, 1.0))
        return np.array(out)
    return loss


def test_prune_takes_the_longest_prefix_within_tolerance_even_past_a_worse_one():
    # single ablations rank 1 < 2 < 3 < 0; removing {1, 2} costs +8% but {1, 2, 3} only +2%
    # (compensating terms): the longest prefix within +5% is taken -- bisection would stop at {1}
    table = {frozenset(): 1.0, frozenset({1}): 1.005, frozenset({2}): 1.01, frozenset({3}): 1.03,
             frozenset({1, 2}): 1.08, frozenset({1, 2, 3}): 1.02}
    terms = ["core", "a", "b", "c"]
    out = selection.prune_terms(_set_loss(table), np.array([1.0, 0.3, 0.2, 0.1]), terms, tol=0.05)
    assert out["removed"] == ["a", "b", "c"]
    assert np.array_equal(out["vector"], [1.0, 0.0, 0.0, 0.0])
    assert out["validation_loss_before"] == 1.0 and out["validation_loss_after"] == pytest.approx(1.02)
    assert out["prefix_loss"] == pytest.approx([1.005, 1.08, 1.02])
    assert out["ablation"]["full"] == 1.0 and out["ablation"]["core"] == 100.0


def test_prune_keeps_terms_whose_removal_costs_more_than_the_tolerance_and_at_least_one_term():
    table = {frozenset({1}): 1.2, frozenset({2}): 1.3, frozenset({1, 2}): 1.4}
    out = selection.prune_terms(_set_loss(table), np.array([1.0, 0.3, 0.2]), ["core", "a", "b"], tol=0.05)
    assert out["removed"] == [] and np.array_equal(out["vector"], [1.0, 0.3, 0.2])
    # a loss that ignores every term: all but one go, never the last
    out = selection.prune_terms(lambda V, n: np.ones(len(V)), np.array([1.0, 0.3, 0.2]), ["a", "b", "c"],
                                0.05)
    assert len(out["removed"]) == 2 and np.count_nonzero(out["vector"]) == 1


def test_prune_rescale_scores_each_prefix_at_its_own_scale():
    """A term that only adds to the rule's scale (loss depends on V0 + V1): removing it costs +25% at
    the common scale, so plain pruning keeps it; scored at its own factor (RULE_GRID, 2^0.5 nearest
    1.5) the one-term rule is within tolerance and is reported at that factor -- also through
    refine(), whose records carry the pruning's factor beside the common one."""
    def loss(V, n):
        return 1.0 + (V[:, 0] + V[:, 1] - 1.5) ** 2

    v = np.array([1.0, 0.5])
    plain = selection.prune_terms(loss, v, ["core", "scale"], tol=0.05)
    assert plain["removed"] == [] and np.array_equal(plain["vector"], v)
    assert plain["prefix_loss"] == pytest.approx([1.25]) and "prefix_factor" not in plain
    out = selection.prune_terms(loss, v, ["core", "scale"], tol=0.05, rescale=True)
    assert out["removed"] == ["scale"] and out["prefix_factor"] == pytest.approx([2 ** 0.5])
    assert out["factor"] == pytest.approx(2 ** 0.5)
    assert np.allclose(out["vector"], [2 ** 0.5, 0.0])
    assert out["validation_loss_after"] == pytest.approx(1.0 + (2 ** 0.5 - 1.5) ** 2)
    refined, rec = selection.refine(loss, v, ["core", "scale"], calibrate=True, prune_tol=0.05,
                                    prune_rescale=True)
    assert np.allclose(refined, [2 ** 0.5, 0.0]) and rec["scale_calibration"]["factor"] == 1.0
    assert rec["scale_calibration"]["pruning_factor"] == pytest.approx(2 ** 0.5)
    # no scale refit for the task (calibrate false): the rescaling is not applied either
    refined, rec = selection.refine(loss, v, ["core", "scale"], calibrate=False, prune_tol=0.05,
                                    prune_rescale=True)
    assert np.array_equal(refined, v) and "prefix_factor" not in rec["pruning"]


def test_prune_rescale_on_a_rule_pair_scores_each_prefix_at_each_rule_s_own_scale():
    """A lateral term that only adds to the lateral rule's speed (loss depends on V1 + V2): removed
    at one common factor it costs > 5% (the feed-forward rule, at its optimum, moves with it); at the
    lateral rule's own factor (2^0.5, nearest 1.5) < 1%. The pruned rule is reported at its rules'
    own factors, and refine() carries them into each rule's total factor."""
    def loss(V, n):
        return 1.0 + (V[:, 0] - 1.0) ** 2 + (V[:, 1] + V[:, 2] - 1.5) ** 2

    groups = {"ff": np.array([True, False, False]), "lat": np.array([False, True, True])}
    v, terms = np.array([1.0, 1.0, 0.5]), ["ff:core", "lat:core", "lat:decay"]
    common = selection.prune_terms(loss, v, terms, tol=0.05, rescale=True)
    assert common["removed"] == [] and common["prefix_factor"][0] == pytest.approx(2 ** 0.25)
    out = selection.prune_terms(loss, v, terms, tol=0.05, rescale=True, groups=groups)
    assert out["removed"] == ["lat:decay"]
    assert out["factor"] == {"ff": 1.0, "lat": pytest.approx(2 ** 0.5)}
    assert np.allclose(out["vector"], [1.0, 2 ** 0.5, 0.0])
    refined, rec = selection.refine(loss, v, terms, calibrate=True, prune_tol=0.05, groups=groups,
                                    prune_rescale=True)
    cal = rec["scale_calibration"]
    assert np.allclose(refined, [1.0, 2 ** 0.5, 0.0])
    assert cal["pruning_factor"]["lat"] == pytest.approx(2 ** 0.5)
    assert cal["total_factor"] == {"ff": pytest.approx(1.0), "lat": pytest.approx(2 ** 0.5)}


def test_prune_rescale_never_scores_a_prefix_worse_than_plain_pruning():
    """The factor chosen on the ranking trials (here optimal at V0 + V1 = 1.5) is kept only if it
    also scores better on all calibration trials (optimal at 1.0 there): otherwise 1x stays."""
    def loss(V, n):
        target = 1.5 if n == selection.RANKING_TRIALS else 1.0
        return 1.0 + (V[:, 0] + V[:, 1] - target) ** 2

    v = np.array([1.0, 0.5])
    plain = selection.prune_terms(loss, v, ["core", "scale"], tol=0.05)
    out = selection.prune_terms(loss, v, ["core", "scale"], tol=0.05, rescale=True)
    assert out["prefix_factor"] == [1.0] and out["prefix_loss"] == pytest.approx(plain["prefix_loss"])
    assert out["removed"] == plain["removed"] == ["scale"] and np.array_equal(out["vector"], [1.0, 0.0])


def test_prune_rescale_is_a_boolean_post_search_setting():
    from evoplast import ConfigError, load_config
    from evoplast.search import config_hash

    on = load_config("runs/oja.toml", ["cmaes.prune_rescale=true"])
    assert on.cmaes.prune_rescale is True
    assert config_hash(load_config("runs/oja.toml")) == config_hash(
        load_config("runs/oja.toml", ["cmaes.prune_rescale=false"]))  # default: hashed as before
    with pytest.raises(ConfigError, match="prune_rescale"):
        load_config("runs/oja.toml", ["cmaes.prune_rescale=2"])


def test_refine_on_the_pca_task_removes_a_do_nothing_term_from_rubner_tavan(tmp_path):
    """Rubner-Tavan plus ff:x*w**2 (zero mean drift for zero-mean inputs: it only adds noise) --
    the pruning removes it and keeps Oja (A) + anti-Hebbian (B); the scale refit keeps the rule
    close to the known scale."""
    from evoplast import load_config, make_task, parallel

    config = load_config("runs/pca.toml", ["task.n_passes=100"])
    task = make_task(config)
    known = task.known_rule().as_dict()
    spurious = {**known, "ff:x*w**2": -0.4}
    vector = np.array([spurious[t] for t in task.rule_template.terms])
    with parallel.Evaluator(2) as evaluator:
        refined, out = selection.refine_for(config, task, evaluator, vector)
    assert "ff:x*w**2" in out["pruning"]["removed"]
    assert out["pruning"]["validation_loss_after"] <= 1.05 * out["pruning"]["validation_loss_before"]
    rule = task.rule_template.from_vector(refined)
    theory = task.theory(rule)
    assert theory["is_oja+anti_hebbian"]
    assert {"ff:x*y", "ff:y**2*w", "lat:x*y"} <= {t for t, c in rule.as_dict().items() if c != 0.0}


def test_oja_task_prunes_a_do_nothing_term_only_when_its_config_asks(tiny_config, tmp_path):
    """``task.prune_terms`` (oja): Oja's rule plus ``x*w**2`` (zero mean drift for zero-mean
    inputs, O(1/N): noise only) -- with the switch on, the validation pruning removes it and keeps
    Oja's two terms; off (the default), nothing is pruned. A search with it on records ``pruning``
    and reports the removed terms as 0 while ``search_coefficients`` keeps the search's mean; a
    config that is not a bool is refused."""
    from evoplast import ConfigError, load_config, make_task, parallel, run

    over = ["task.n_inputs=20", "task.spectrum=tail", "task.n_passes=20"]
    config = load_config("runs/oja.toml", [*over, "task.prune_terms=true"])
    task = make_task(config)
    values = {t: 0.0 for t in task.rule_template.terms}
    values.update({"x*y": 1.0, "y**2*w": -1.0, "x*w**2": 0.8})
    vector = task.rule_template.from_values(values).to_vector()
    with parallel.Evaluator(2) as evaluator:
        refined, out = selection.refine_for(config, task, evaluator, vector)
        off = selection.refine_for(load_config("runs/oja.toml", over), make_task(load_config(
            "runs/oja.toml", over)), evaluator, vector)[1]
    assert "x*w**2" in out["pruning"]["removed"]
    kept = {t for t, c in task.rule_template.from_vector(refined).as_dict().items() if c != 0.0}
    assert kept == {"x*y", "y**2*w"}
    assert "pruning" not in off and "scale_calibration" in off

    import dataclasses

    result = run(tiny_config.replace(task=dataclasses.replace(tiny_config.task, prune_terms=True)),
                 tmp_path / "r")
    removed = result["pruning"]["removed"]
    assert removed and all(result["coefficients"][t] == 0.0 for t in removed)
    assert any(result["search_coefficients"][t] != 0.0 for t in removed)
    with pytest.raises(ConfigError, match="prune_terms"):
        load_config("runs/oja.toml", ["task.prune_terms=1"])


def test_refit_fine_scales_reaches_a_continuous_optimum_between_grid_points():
    """Each rule's loss is minimal at its own factor between the coarse grid's points (1.3x and
    0.9x): the grid refits stop at the nearest point, the fine step within one fine step (2^(1/16))
    of each optimum, and never raises the loss."""
    v = np.array([1.0, 1.0, 1.0])
    groups = {"ff": np.array([True, True, False]), "lat": np.array([False, False, True])}

    def loss(V, n):
        return np.log(V[:, 0] / 1.3) ** 2 + np.log(V[:, 1] / 1.3) ** 2 + np.log(V[:, 2] / 0.9) ** 2

    coarse, rec = selection.refine(loss, v, ["a", "b", "c"], calibrate=True, prune_tol=0.0, groups=groups)
    fine, rec_fine = selection.refine(loss, v, ["a", "b", "c"], calibrate=True, prune_tol=0.0,
                                      groups=groups, fine_scale=True)
    assert "fine_factor" not in rec["scale_calibration"]
    step = 2 ** (1 / 16)
    assert np.all(np.abs(np.log(fine / [1.3, 1.3, 0.9])) <= np.log(step) / 2 + 1e-12)
    assert np.any(np.abs(np.log(coarse / [1.3, 1.3, 0.9])) > np.log(step))  # the grid alone is off
    cal = rec_fine["scale_calibration"]
    assert cal["validation_loss_calibrated"] < rec["scale_calibration"]["validation_loss_calibrated"]
    assert cal["total_factor"]["ff"] == pytest.approx(fine[0])
    assert cal["total_factor"]["lat"] == pytest.approx(fine[2])
    assert set(cal["fine_factor"]) == {"ff", "lat"} and 1 <= cal["fine_rounds"] <= selection.FINE_ROUNDS
    # one rule (no groups): one common fine factor
    single, rec1 = selection.refine(lambda V, n: np.log(V[:, 0] / 1.3) ** 2, np.array([1.0]), ["a"],
                                    calibrate=True, prune_tol=0.0, fine_scale=True)
    assert abs(np.log(single[0] / 1.3)) <= np.log(step) / 2 + 1e-12
    assert rec1["scale_calibration"]["factor"] * rec1["scale_calibration"]["fine_factor"] == pytest.approx(
        single[0])


def test_refit_fine_scales_keeps_the_vector_when_no_move_helps():
    calls = []

    def loss(V, n):
        calls.append(len(V))
        return np.log(V[:, 0]) ** 2  # minimum at 1x exactly

    out = selection.refit_fine_scales(loss, np.array([1.0, 2.0]), {"rule": np.array([True, True])})
    assert out["fine_factors"] == {"rule": 1.0} and out["rounds"] == 1
    assert np.array_equal(out["vector"], [1.0, 2.0]) and out["validation_loss"] == 0.0
    assert calls == [1, selection.FINE_GRID.size]


def test_fine_scale_is_a_boolean_post_search_setting():
    from evoplast import ConfigError, load_config
    from evoplast.search import config_hash

    assert load_config("runs/oja.toml", ["cmaes.fine_scale=true"]).cmaes.fine_scale is True
    assert config_hash(load_config("runs/oja.toml")) == config_hash(
        load_config("runs/oja.toml", ["cmaes.fine_scale=false"]))  # default: hashed as before
    with pytest.raises(ConfigError, match="fine_scale"):
        load_config("runs/oja.toml", ["cmaes.fine_scale=1"])


def test_renormalise_gives_rules_of_one_shape_one_scale():
    """Two vectors of one shape at different scales (the search's scale is arbitrary): the grid
    refits leave them a grid step apart where the loss is flat between, with ``renormalise`` both
    are refit from the normalised rule and end identical; the total factors and the recorded
    divisors say how each got there."""
    def loss(V, n):  # flat within [0.9, 1.3] per rule, rising outside
        a, b = V[:, 0], V[:, 2]
        flat = lambda x: np.maximum(0.0, np.abs(np.log(x / 1.08)) - 0.18) ** 2  # noqa: E731
        return 1.0 + flat(a) + flat(-b) + 0.0 * V[:, 1]

    groups = {"ff": np.array([True, True, False]), "lat": np.array([False, False, True])}
    terms = ["ff:x*y", "ff:y**2*w", "lat:x*y"]
    one, two = np.array([1.0, -1.0, -1.0]), np.array([0.37, -0.37, -0.61])
    plain = [selection.refine(loss, x, terms, calibrate=True, prune_tol=0.0, groups=groups)[0]
             for x in (one, two)]
    assert not np.allclose(plain[0], plain[1])
    out = [selection.refine(loss, x, terms, calibrate=True, prune_tol=0.0, groups=groups, renormalise=True)
           for x in (one, two)]
    assert np.array_equal(out[0][0], out[1][0])
    for x, (v, rec) in zip((one, two), out):
        cal = rec["scale_calibration"]
        f = cal["factor"]  # the divisors: each rule's largest |coefficient| after the first refit
        assert cal["renormalised"]["divisor"] == {"ff": pytest.approx(f * abs(x[0])),
                                                  "lat": pytest.approx(f * abs(x[2]))}
        assert v[0] == pytest.approx(cal["total_factor"]["ff"] * x[0])
        assert v[2] == pytest.approx(cal["total_factor"]["lat"] * x[2])
    # one rule: one divisor, and the eta record of refine_for's single-rule formula
    v, rec = selection.refine(lambda V, n: loss(np.c_[V, -V[:, :1]], n), np.array([0.37, -0.37]),
                              terms[:2], calibrate=True, prune_tol=0.0, renormalise=True)
    cal = rec["scale_calibration"]
    assert cal["renormalised"]["divisor"] == pytest.approx(cal["factor"] * 0.37)
    assert v[0] == pytest.approx(selection._factor_before_rule_scales(rec["scale_calibration"]) * 0.37)


def test_renormalise_is_a_boolean_post_search_setting():
    from evoplast import ConfigError, load_config
    from evoplast.search import config_hash

    assert load_config("runs/oja.toml", ["cmaes.renormalise=true"]).cmaes.renormalise is True
    assert config_hash(load_config("runs/oja.toml")) == config_hash(
        load_config("runs/oja.toml", ["cmaes.renormalise=false"]))
    with pytest.raises(ConfigError, match="renormalise"):
        load_config("runs/oja.toml", ["cmaes.renormalise=yes"])
