r"""After the search: which restart, the rule's scale(s) and terms on validation trials, and the
reported :class:`Result` (the one home of ``result.json``'s schema).

**Restart** (:func:`choose_restart`): with IPOP restarts, the restart whose final mean has the
lowest objective (:mod:`evoplast.objective`) on validation trials (``STREAM_VALIDATION`` key 0).

CMA-ES's final mean ``theta`` is the discovery; two cheap choices are left that the search itself
makes badly, and both are made here by the mean task loss (no L1 term)

.. math::  L_V(\theta) = \frac{1}{|V|} \sum_{d \in V} l_d(\theta)

on the same :data:`CALIBRATION_TRIALS` validation trials ``V`` (``STREAM_VALIDATION``; never the
held-out ones, which score the result afterwards).

**Scale** (``cmaes.calibrate_scale``; tasks where only ``eta * theta``
matters). The L1 penalty, and rank-based selection on a generation's few trials (which mostly lack
the rare slow datasets), make the search settle on a slower rule than suits the task. The factor
``s`` on :data:`SCALE_GRID` (0.25x-8x) minimising ``L_V(s theta)`` multiplies the whole vector
(:func:`refit_scale`). For a rule pair (feed-forward and lateral rule, each with its own eta) each
rule's own factor is then refit in turn on :data:`RULE_GRID` (0.5x-2x), the other held fixed
(:func:`refit_rule_scales`, after the pruning).

**Terms** (:func:`prune_terms`, ``cmaes.prune_tol`` > 0; tasks with ``prune_terms``). The L1
penalty prunes a term only as fast as the task's loss gradient allows, and a term whose drift is
tiny (in N = 50 dimensions ``x_j w_ij^2`` is ~50x smaller than ``x_j y_i``) survives the search at
a sizeable coefficient while doing nothing. Backward elimination: each nonzero term's ablated loss
``L_V(theta with c_k = 0)`` ranks the terms; the longest prefix of that ranking whose joint removal
keeps ``L_V <= (1 + tol) L_V(theta)`` is removed (all prefixes are scored: the joint loss is not
monotone in the prefix length). With ``cmaes.prune_rescale`` (tasks whose scale is refit), each
prefix is scored at its own factor ``s_k`` on :data:`RULE_GRID`,
``min_s L_V(s theta_k)`` (``s_k`` chosen on the first :data:`RANKING_TRIALS`; kept only where it
scores below 1x on all of them, so no prefix scores worse than without the option):
removed terms that acted as part of the rule's scale (e.g. ``x^2 w`` beside ``y^2 w``) then no
longer make the smaller rule look worse than it is at its own scale. For a rule pair each rule's
own factor is chosen, in turn (feed-forward, then lateral): a lateral decay term ``y_i^2 L_ij``
acts as part of the lateral rule's speed, not of the feed-forward one's.

**Fine scale** (``cmaes.fine_scale``). The grids step 1.19x. :func:`refit_fine_scales` refines
each factor (the common one; for a rule pair each rule's) on :data:`FINE_GRID` (16 per octave, one
coarse step either side), in turn, kept only where it lowers ``L_V``, for up to
:data:`FINE_ROUNDS` rounds or until no factor moves. (Measured on finished runs: with N = 5, M = 3
it made one more of five seeds pass the strict Rubner-Tavan criterion; alone at N = 100, M = 8 it
made two of four fail -- there the starting point of the refit mattered: renormalise.)

**Renormalise** (``cmaes.renormalise``). Where ``L_V`` is flat in the scale, every refit ends near
where it starts, so two rules of one shape found at different scales are reported at different
ones (seen at N = 100, M = 8: a found rule of exactly Rubner-Tavan's three terms, refit from the
search's scale, ended faster than Rubner-Tavan refit from its own, and noisier). After
the pruning each rule is divided by its largest ``|c|`` and the common scale refit again from there;
each rule's own refit and the fine one follow: the reported scale no longer depends on the search's.

The sequence in :func:`refine`: common scale, prune, renormalise, each rule's scale, fine scales.
Everything tried is recorded for ``result.json`` (``scale_calibration``, ``pruning``). :func:`select`
runs it all and scores the reported rule and the search's own mean on the held-out trials.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import seeding
from .objective import objective
from .rules.base import Rule

if TYPE_CHECKING:
    from evoplast.config import Config
    from evoplast.parallel import Evaluator
    from evoplast.tasks.base import Task

SCALE_GRID = 2.0 ** np.linspace(-2, 3, 21)  # 0.25x .. 8x, includes 1
RULE_GRID = 2.0 ** np.linspace(-1, 1, 9)  # 0.5x .. 2x, includes 1 (each rule of a pair, after the common one)
FINE_GRID = 2.0 ** (np.array([-4, -3, -2, -1, 1, 2, 3, 4]) / 16)  # 0.84x .. 1.19x around the current factor
FINE_ROUNDS = 4  # passes over the factors at most
CALIBRATION_TRIALS = 256  # validation trials for the scale refit and the pruning
RANKING_TRIALS = 128  # the first this many of them rank the terms for pruning (the ranking need not be exact)

Loss = Callable[[np.ndarray, int], np.ndarray]  # (K, P) vectors, number of trials -> (K,) mean loss


def refit_scale(loss: Loss, vector: np.ndarray) -> dict:
    """The common factor on SCALE_GRID with the lowest validation loss. Returns it, the refit
    vector and the validation losses at 1x and at the factor."""
    v = np.asarray(vector, dtype=float)
    one = int(np.argmin(np.abs(SCALE_GRID - 1.0)))
    grid_loss = loss(SCALE_GRID[:, None] * v[None, :], CALIBRATION_TRIALS)
    best = int(np.argmin(grid_loss))
    return {"factor": float(SCALE_GRID[best]), "validation_loss_found": float(grid_loss[one]),
            "validation_loss_calibrated": float(grid_loss[best]), "vector": SCALE_GRID[best] * v}


def refit_rule_scales(loss: Loss, vector: np.ndarray, groups: dict[str, np.ndarray],
                      current: float | None = None) -> dict:
    """Each group's (rule's) own factor on RULE_GRID in turn, the others held; a factor is kept
    only if it lowers the validation loss (``current``: the vector's, if already known). Returns the
    factors, the vector and the final loss."""
    v = np.asarray(vector, dtype=float)
    if current is None:
        current = float(loss(v[None, :], CALIBRATION_TRIALS)[0])
    factors = {}
    for name, mask in groups.items():
        scales = np.where(mask[None, :], RULE_GRID[:, None], 1.0)
        group_loss = loss(scales * v[None, :], CALIBRATION_TRIALS)
        k = int(np.argmin(group_loss))
        factors[name] = 1.0
        if group_loss[k] < current:
            v, current, factors[name] = scales[k] * v, float(group_loss[k]), float(RULE_GRID[k])
    return {"rule_factors": factors, "validation_loss": current, "vector": v}


def refit_fine_scales(loss: Loss, vector: np.ndarray, groups: dict[str, np.ndarray],
                      current: float | None = None) -> dict:
    """Each group's factor refined on FINE_GRID (relative to its current value) in turn, a move kept
    only if it lowers the validation loss (``current``: the vector's, if known); rounds over the
    groups until none moves (at most FINE_ROUNDS). Returns each group's factor (the product of its
    moves), the number of rounds, the vector and the final loss."""
    v = np.asarray(vector, dtype=float)
    if current is None:
        current = float(loss(v[None, :], CALIBRATION_TRIALS)[0])
    factors = dict.fromkeys(groups, 1.0)
    rounds, moved = 0, True
    while moved and rounds < FINE_ROUNDS:
        rounds, moved = rounds + 1, False
        for name, mask in groups.items():
            scales = np.where(mask[None, :], FINE_GRID[:, None], 1.0)
            group_loss = loss(scales * v[None, :], CALIBRATION_TRIALS)
            k = int(np.argmin(group_loss))
            if group_loss[k] < current:
                v, current, moved = scales[k] * v, float(group_loss[k]), True
                factors[name] *= float(FINE_GRID[k])
    return {"fine_factors": factors, "rounds": rounds, "validation_loss": current, "vector": v}


def _rescale_prefixes(loss: Loss, prefixes: np.ndarray, prefix_loss: np.ndarray,
                      groups: dict[str, np.ndarray] | None) -> tuple[np.ndarray, list]:
    """Each prefix's own factor on RULE_GRID, chosen on RANKING_TRIALS: one common factor, or with
    two or more ``groups`` each group's in turn (the earlier groups' choices held); kept only where
    the prefix then scores below 1x on all CALIBRATION_TRIALS (``prefix_loss`` updated in place).
    Returns the rescaled prefixes and each prefix's factor (a number, or {group: factor})."""
    n_prefix, n = prefixes.shape
    named = dict(groups) if groups and len(groups) > 1 else {"": np.ones(n, dtype=bool)}
    mult = np.ones((n_prefix, n))
    chosen = np.ones((n_prefix, len(named)))
    for gi, mask in enumerate(named.values()):
        grid = np.where(mask[None, :], RULE_GRID[:, None], 1.0)  # (factor, term)
        scaled = (mult * prefixes)[:, None, :] * grid[None, :, :]  # (prefix, factor, term)
        coarse = loss(scaled.reshape(-1, n), RANKING_TRIALS).reshape(n_prefix, RULE_GRID.size)
        chosen[:, gi] = RULE_GRID[np.argmin(coarse, axis=1)]
        mult[:, mask] *= chosen[:, gi, None]
    moved = np.flatnonzero(np.any(chosen != 1.0, axis=1))
    if moved.size:
        moved_loss = loss(mult[moved] * prefixes[moved], CALIBRATION_TRIALS)
        better = moved_loss < prefix_loss[moved]
        mult[moved[~better]] = 1.0
        chosen[moved[~better]] = 1.0
        prefix_loss[moved[better]] = moved_loss[better]
    factors = ([float(c[0]) for c in chosen] if "" in named
               else [{g: float(c[i]) for i, g in enumerate(named)} for c in chosen])
    return mult * prefixes, factors


def prune_terms(loss: Loss, vector: np.ndarray, terms: list[str], tol: float,
                base: float | None = None, rescale: bool = False,
                groups: dict[str, np.ndarray] | None = None) -> dict:
    """Remove the longest prefix of the ablation ranking (on RANKING_TRIALS) whose joint removal
    raises the validation loss (``base``: the vector's, if already known) by at most a factor
    ``1 + tol``; at least one term stays. ``rescale``: each prefix at its own factor on RULE_GRID
    (chosen on RANKING_TRIALS; with two or more ``groups``, each group's (rule's) own factor, in
    turn), the pruned vector at its prefix's factor(s) (:func:`_rescale_prefixes`). Returns the
    removed terms, the pruned vector, the validation loss of every prefix (and, with ``rescale``,
    its factor -- a number, or one per group: ``prefix_factor``, the chosen one as ``factor``) and
    before/after."""
    v = np.asarray(vector, dtype=float)
    if base is None:
        base = float(loss(v[None, :], CALIBRATION_TRIALS)[0])
    nonzero = np.flatnonzero(v != 0.0)
    out = {"tol": tol, "validation_loss_before": base, "removed": [], "ablation": {}}
    if nonzero.size <= 1:
        out.update(validation_loss_after=base, vector=v)
        return out
    ablated = np.repeat(v[None, :], nonzero.size + 1, axis=0)  # row 0: the full rule
    ablated[1 + np.arange(nonzero.size), nonzero] = 0.0
    ranking_loss = loss(ablated, RANKING_TRIALS)
    order = nonzero[np.argsort(ranking_loss[1:], kind="stable")]
    out["ablation"] = {"full": float(ranking_loss[0]),
                       **{terms[j]: float(x) for j, x in zip(nonzero, ranking_loss[1:])}}
    # every prefix at once: the joint loss is far from monotone in the prefix length (measured:
    # removing 17 terms +7%, 43 terms -2%), so no bisection
    prefixes = np.repeat(v[None, :], nonzero.size - 1, axis=0)
    for k in range(1, nonzero.size):
        prefixes[k - 1, order[:k]] = 0.0
    prefix_loss = loss(prefixes, CALIBRATION_TRIALS)
    if rescale:  # each prefix's factor chosen on the ranking trials, kept only if better on all
        prefixes, out["prefix_factor"] = _rescale_prefixes(loss, prefixes, prefix_loss, groups)
    within = np.flatnonzero(prefix_loss <= base * (1.0 + tol))
    n_removed = int(within[-1]) + 1 if within.size else 0
    pruned = prefixes[n_removed - 1].copy() if n_removed else v.copy()
    if rescale:
        one = 1.0 if isinstance(out["prefix_factor"][0], float) else dict.fromkeys(groups, 1.0)
        out["factor"] = out["prefix_factor"][n_removed - 1] if n_removed else one
    out.update(removed=[terms[j] for j in order[:n_removed]],
               validation_loss_after=float(prefix_loss[n_removed - 1]) if n_removed else base,
               prefix_loss=prefix_loss.tolist(), vector=pruned)
    return out


def refine(loss: Loss, vector: np.ndarray, terms: list[str], calibrate: bool, prune_tol: float,
           groups: dict[str, np.ndarray] | None = None, prune_rescale: bool = False,
           fine_scale: bool = False, renormalise: bool = False) -> tuple[np.ndarray, dict]:
    """Common scale, prune (``prune_rescale``: each prefix at its own scale; only with
    ``calibrate``), with ``renormalise`` each rule divided by its largest |coefficient| and the
    common scale refit again from there, each rule's scale, fine scales (``fine_scale``; these only
    with ``calibrate``; each step only where enabled). Returns the final vector and the records for
    ``result.json`` (empty if no step ran): ``scale_calibration`` (common factor; the pruning's own
    factor as ``pruning_factor``; ``renormalised``: the divisor(s) and the new common factor; for
    two or more groups each group's factor and ``total_factor``; with ``fine_scale``
    ``fine_factor`` (one number, or one per group) and ``fine_rounds``, included in
    ``total_factor``) and ``pruning``."""
    v = np.asarray(vector, dtype=float)
    records: dict = {}
    current = None  # validation loss of v, once known
    if calibrate:
        first = refit_scale(loss, v)
        v, current = first.pop("vector"), first["validation_loss_calibrated"]
        records["scale_calibration"] = first
    if prune_tol > 0:
        pruned = prune_terms(loss, v, terms, prune_tol, base=current, rescale=calibrate and prune_rescale,
                             groups=groups)
        v, current = pruned.pop("vector"), pruned["validation_loss_after"]
        records["pruning"] = pruned
        if "factor" in pruned:
            records["scale_calibration"]["pruning_factor"] = pruned["factor"]
    several = bool(groups) and len(groups) > 1
    masks = groups if several else {"rule": np.ones(v.size, dtype=bool)}  # one rule: one factor
    if calibrate and renormalise:  # the reported scale no longer depends on where the search's was
        cal = records["scale_calibration"]
        divisor = {g: float(np.max(np.abs(v[m]), initial=0.0)) or 1.0 for g, m in masks.items()}
        per_term = np.ones(v.size)
        for g, m in masks.items():
            per_term[m] = divisor[g]
        again = refit_scale(loss, v / per_term)
        v, current = again.pop("vector"), again["validation_loss_calibrated"]
        cal.update(renormalised={"divisor": divisor if several else divisor["rule"],
                                 "factor": again["factor"]}, validation_loss_calibrated=current)
    if calibrate and several:
        second = refit_rule_scales(loss, v, groups, current=current)
        v = second.pop("vector")
        cal = records["scale_calibration"]
        cal.update(rule_factors=second["rule_factors"],
                   total_factor={g: _factor_before_rule_scales(cal, g) * f
                                 for g, f in second["rule_factors"].items()},
                   validation_loss_calibrated=second["validation_loss"])
        current = second["validation_loss"]
    if calibrate and fine_scale:
        cal = records["scale_calibration"]
        fine = refit_fine_scales(loss, v, masks, current=current)
        v = fine.pop("vector")
        cal.update(fine_factor=fine["fine_factors"] if several else fine["fine_factors"]["rule"],
                   fine_rounds=fine["rounds"], validation_loss_calibrated=fine["validation_loss"])
        if several:
            cal["total_factor"] = {g: f * fine["fine_factors"][g] for g, f in cal["total_factor"].items()}
    return v, records


def _factor_before_rule_scales(cal: dict, group: str | None = None) -> float:
    """The factor from the search's mean to the vector before each rule's own refit: the common
    factor, the pruning's (one number, or one per rule), and with ``renormalised`` its new common
    factor over the rule's divisor (``group``: which rule; None for a single rule)."""
    pf = cal.get("pruning_factor", 1.0)
    return cal["factor"] * (pf[group] if isinstance(pf, dict) else pf) * _renormalised_factor(cal, group)


def _renormalised_factor(cal: dict, group: str | None = None) -> float:
    """``renormalised``'s new common factor over the rule's divisor (1.0 when it did not run)."""
    if "renormalised" not in cal:
        return 1.0
    d = cal["renormalised"]["divisor"]
    return cal["renormalised"]["factor"] / (d[group] if isinstance(d, dict) else d)


def validation_loss(config: Config, task: Task, evaluator: Evaluator) -> Loss:
    """``loss(vectors, n)``: mean task loss of each vector on the first n of the run's validation
    trials (``STREAM_VALIDATION`` key 1; all :data:`CALIBRATION_TRIALS` when ``n`` reaches it)."""
    seeds = seeding.trial_seeds(config.run.seed, seeding.STREAM_VALIDATION, 1,
                                 max(CALIBRATION_TRIALS, config.task.n_trials))

    def loss(vectors: np.ndarray, n: int) -> np.ndarray:
        use = seeds if n >= CALIBRATION_TRIALS else seeds[:n]
        return evaluator.evaluate(task, vectors, seeds=use).loss.mean(axis=1)
    return loss


def refine_for(
    config: Config, task: Task, evaluator: Evaluator, vector: np.ndarray, prune: bool = True
) -> tuple[np.ndarray, dict]:
    """:func:`refine` with a run's settings: the scale refit where the task allows it and
    ``cmaes.calibrate_scale`` asks for it, the pruning where the task has it, ``cmaes.prune_tol``
    > 0 and ``prune``; one group per rule of a pair. Adds the refit learning rate(s) to
    ``scale_calibration`` as ``eta``. Also used to give a known rule (a baseline) the same refit."""
    template = task.rule_template
    terms = list(template.terms)
    calibrate = bool(task.calibrate_scale and config.cmaes.calibrate_scale)
    prune_tol = config.cmaes.prune_tol if prune and task.prune_terms else 0.0
    eta = template.eta  # a number, or {"ff": .., "lat": ..} for a rule pair
    groups = template.groups()
    vector, records = refine(validation_loss(config, task, evaluator), vector, terms, calibrate,
                             prune_tol, groups, prune_rescale=config.cmaes.prune_rescale,
                             fine_scale=config.cmaes.fine_scale, renormalise=config.cmaes.renormalise)
    cal = records.get("scale_calibration")
    if cal is not None:
        cal["eta"] = ({g: float(v * cal["total_factor"][g]) for g, v in eta.items()} if groups
                      else float(eta * cal["factor"] * cal.get("pruning_factor", 1.0)
                                 * _renormalised_factor(cal) * cal.get("fine_factor", 1.0)))
    return vector, records


# -- the reported result ------------------------------------------------------------------------
@dataclass(frozen=True)
class Result:
    """What a finished search reports: the one home of ``result.json``'s schema (:meth:`to_json`).

    ``rule`` is the reported rule (after the refit and pruning of :func:`refine_for`),
    ``searched`` the search's own mean of the chosen restart, ``start`` that restart's initial
    mean; ``heldout`` / ``heldout_search`` their scores on the run's held-out trials;
    ``refinement`` the records of the refit/pruning (empty if none ran); ``theory`` the task's
    comparison of the reported rule with its analytic prediction.
    """

    task: str
    rule: Rule
    searched: Rule
    start: Rule
    objective: float
    heldout: dict
    heldout_search: dict
    refinement: dict
    theory: dict
    generations: int
    evaluations: int
    seed: int
    restarts: tuple[dict, ...]
    chosen_restart: int
    elapsed_s: float  # the search's wall time (generations; summed over sessions when resumed)
    finish_s: float = 0.0  # wall time of this selection: validation refit, pruning, held-out, theory
    pretrain: dict | None = None  # cmaes.pretrain: the first stage's record (its costs, held-out loss)

    def to_json(self) -> dict:
        """``result.json``: plain JSON types, keys in a fixed order."""
        rule = self.rule
        extra = {**self.refinement, "heldout_search": self.heldout_search} if self.refinement else {}
        return {
            "task": self.task,
            "family": rule.family,
            "coefficients": rule.as_dict(),
            "search_coefficients": self.searched.as_dict(),
            "start": self.start.as_dict(),
            "normalized": rule.normalized(),
            "eta": rule.eta,
            "formula": rule.formula(prune=0.0, digits=6),
            "formula_pruned": rule.formula(prune=0.05, digits=3),
            "latex": rule.latex(),
            "loss": self.heldout["loss"],
            "objective": self.objective,
            "heldout": self.heldout,
            **extra,
            "theory": self.theory,
            "generations": self.generations,
            "evaluations": self.evaluations,
            "seed": self.seed,
            "restarts": [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in r.items()}
                         for r in self.restarts],
            "chosen_restart": self.chosen_restart,
            "elapsed_s": round(self.elapsed_s, 3),
            "finish_s": round(self.finish_s, 3),
            **({"pretrain": self.pretrain,
                "total_s": round(self.elapsed_s + self.finish_s + self.pretrain["elapsed_s"]
                                 + self.pretrain["finish_s"], 3)} if self.pretrain else {}),
        }


def choose_restart(config: Any, task: Any, evaluator: Any, restarts: list[dict]) -> dict:
    """The restart whose final mean has the lowest objective on validation trials (``STREAM_VALIDATION``
    key 0, 4 x ``task.n_trials``); records each restart's ``validation_loss``. One restart: itself."""
    if len(restarts) == 1:
        return restarts[0]
    seeds = seeding.trial_seeds(config.run.seed, seeding.STREAM_VALIDATION, 0, 4 * config.task.n_trials)
    means = np.array([r["mean"] for r in restarts])
    mask = task.rule_template.l1_mask()
    score = objective(evaluator.evaluate(task, means, seeds=seeds).loss, means, config.cmaes.l1, mask)[0]
    for r, s in zip(restarts, score):
        r["validation_loss"] = float(s)
    return restarts[int(np.argmin(score))]


def select(config: Any, task: Any, evaluator: Any, restarts: list[dict],
           start: Callable[[int], np.ndarray], generations: int, evaluations: int,
           elapsed_s: float) -> Result:
    """After the last restart: choose the restart (:func:`choose_restart`), refit/prune its mean
    on validation trials (:func:`refine_for`), score both on the held-out trials, compare with
    theory. ``start(r)``: restart r's initial mean."""
    t0 = time.perf_counter()
    template = task.rule_template
    chosen = choose_restart(config, task, evaluator, restarts)
    searched = template.from_vector(chosen["mean"])
    heldout_trials = task.make_trials(seeding.heldout_seeds(config))
    heldout_search = task.metrics(searched.to_vector(), heldout_trials)
    rule, heldout = searched, heldout_search
    vector, records = refine_for(config, task, evaluator, searched.to_vector())
    if records:  # a refit and/or pruning ran
        rule = template.from_vector(vector)
        if not np.array_equal(vector, searched.to_vector()):
            heldout = task.metrics(vector, heldout_trials)
    value = objective(np.array([heldout["loss"]]), rule.to_vector(), config.cmaes.l1,
                      template.l1_mask())[0]
    return Result(task=config.task.name, rule=rule, searched=searched,
                  start=template.from_vector(start(chosen["restart"])), objective=float(value[0]),
                  heldout=heldout, heldout_search=heldout_search, refinement=records,
                  theory=task.theory(rule, heldout_trials), generations=generations,
                  evaluations=evaluations, seed=config.run.seed, restarts=tuple(restarts),
                  chosen_restart=chosen["restart"], elapsed_s=elapsed_s,
                  finish_s=time.perf_counter() - t0)
