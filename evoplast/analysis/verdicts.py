"""Success verdicts of the rate experiments, one definition each, shared by the seed tables
(``analysis/oja_success.py``, ``analysis/pca_seeds.py``) and the scaling table
(``analysis/scaling.py``).

* Oja (experiment 1), on the run's held-out datasets (never filtered): ``success`` = the shape
  criterion of the model notes (``theory.is_oja``: ``x*y`` = +1, ``y**2*w`` in [-1.15, -0.85],
  other terms <= 0.15 of ``x*y``) AND mean 1-|cos(w, PC1)| <= max(1.5 x Oja's own rule's on the
  same datasets with the same eta, 0.01); ``success_abs``: shape AND mean 1-|cos| < 0.01;
  ``success_search_mean``: the search's own mean (before the scale refit) against the same limit.
* PCA network (experiment 2): ``shape_ok`` = rule A Oja and rule B anti-Hebbian with the same
  limit on other terms (:func:`evoplast.theory.pca_comparison`); ``cos_ok`` = held-out mean
  |cos(w_i, PC_i)| >= 0.99 for every output; ``success`` = both. Against the known algorithm
  (:func:`pca_vs_rubner_tavan`, the scaling issue's criterion): every output >= 0.99 on every
  held-out dataset where Rubner-Tavan (after the same refit) reaches it; reported beside it, the
  count of datasets each reaches (``count_ok``: the rule's at least Rubner-Tavan's).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..theory import pca_comparison


def oja_verdicts(df: pd.DataFrame) -> pd.DataFrame:
    """Adds ``success``, ``success_abs`` and ``success_search_mean`` to a :func:`load_results`
    table of Oja runs (in place; returned)."""
    is_oja = df["theory.is_oja"].astype(bool)
    limit = (1.5 * df["theory.heldout_oja_mean_one_minus_cos"]).clip(lower=0.01)
    df["success"] = is_oja & (df["heldout.mean_one_minus_cos"] <= limit)
    df["success_abs"] = is_oja & (df["heldout.mean_one_minus_cos"] < 0.01)
    search = df.get("heldout_search.mean_one_minus_cos", df["heldout.mean_one_minus_cos"])
    df["success_search_mean"] = is_oja & (search.fillna(df["heldout.mean_one_minus_cos"]) <= limit)
    return df


def pca_verdict(result: dict[str, Any], search_mean: bool = False) -> dict[str, bool]:
    """``shape_ok``, ``cos_ok`` and ``success`` of a PCA-network ``result.json`` (with
    ``search_mean``: of the search's own mean, ``search_coefficients`` / ``heldout_search``)."""
    coef = result["search_coefficients"] if search_mean else result["coefficients"]
    held = result.get("heldout_search", result["heldout"]) if search_mean else result["heldout"]
    shape = bool(pca_comparison(coef)["is_oja+anti_hebbian"])
    cos = bool(min(held["mean_cos_per_output"]) >= 0.99)
    return {"shape_ok": shape, "cos_ok": cos, "success": shape and cos}


def refit_rubner_tavan(config: Any, task: Any) -> np.ndarray:
    """Rubner-Tavan (the task's known rules at the config's etas) after the validation refit a found
    rule gets (:func:`evoplast.selection.refine_for`, no pruning; one worker): the reference of
    :func:`pca_vs_rubner_tavan`."""
    from ..parallel import Evaluator
    from ..selection import refine_for

    with Evaluator(1) as ev:
        vector, _ = refine_for(config, task, ev, task.known_rule().to_vector(), prune=False)
    return vector


def datasets_reached(task: Any, vector: np.ndarray, trials: Any) -> np.ndarray:
    """Per dataset of ``trials``: does every output reach |cos(w_i, PC_i)| >= 0.99 (a stopped or
    undefined simulation does not)?"""
    W, _, status = task.simulate(vector, trials)
    cos = np.where((status[0] == 0)[:, None], task.alignment(W[0], trials.U), 0.0)
    return np.nan_to_num(cos, nan=0.0).min(axis=1) >= 0.99


def compare_reached(rule: np.ndarray, rt: np.ndarray) -> dict[str, Any]:
    """:func:`pca_vs_rubner_tavan`'s figures from the two :func:`datasets_reached` arrays."""
    return {"rt_reached": int(rt.sum()), "rule_where_rt_reached": int((rule & rt).sum()),
            "vs_rt_ok": bool((rule | ~rt).all()), "rule_reached": int(rule.sum()),
            "count_ok": bool(rule.sum() >= rt.sum())}


def pca_vs_rubner_tavan(task: Any, vector: np.ndarray, rt_vector: np.ndarray, trials: Any) -> dict[str, Any]:
    """Per held-out dataset, does every output reach |cos(w_i, PC_i)| >= 0.99, for a rule and for
    Rubner-Tavan (``rt_vector``: the known rules after the same validation refit,
    :func:`refit_rubner_tavan`)? ``vs_rt_ok``:
    the rule reaches it on every dataset where Rubner-Tavan does (the datasets neither reaches are
    left out: the known algorithm's own limit in the given number of updates). Beside it, not the
    scaling issue's criterion: ``rule_reached`` (datasets the rule reaches) and ``count_ok`` (the
    rule reaches at least as many datasets as Rubner-Tavan, whichever they are; two near-equal
    rules can each reach datasets the other misses, which ``vs_rt_ok`` counts against the rule)."""
    return compare_reached(datasets_reached(task, vector, trials), datasets_reached(task, rt_vector, trials))
