r"""The search's objective, in one place: the mean task loss plus the L1 penalty,

.. math::  L(\theta) = \frac{1}{D} \sum_{d=1}^{D} l_d(\theta) + \lambda_{L1} \sum_i m_i \lvert\theta_i\rvert

with ``lambda_L1 = cmaes.l1`` and the family's mask ``m`` (:meth:`Rule.l1_mask`: families with
log-scaled time constants leave those out). CMA-ES ranks candidates by it, the restart choice
compares restarts by it on validation trials, ``result.json`` reports it on held-out trials and
``evoplast landscape`` maps it.
"""

from __future__ import annotations

import numpy as np


def l1_penalty(X: np.ndarray, l1: float, mask: np.ndarray | None = None) -> np.ndarray:
    """``l1 * sum_i mask_i |theta_i|`` per row of X (mask: all ones by default)."""
    a = np.abs(np.atleast_2d(X))
    return l1 * (a if mask is None else a * mask).sum(axis=1)


def objective(loss: np.ndarray, X: np.ndarray, l1: float, mask: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(objective, task loss, L1 term)`` per row of X, from ``loss`` (K, D) per trial (or the
    mean task loss (K,) when already averaged)."""
    loss = np.asarray(loss, dtype=float)
    task_loss = loss.mean(axis=1) if loss.ndim == 2 else loss
    pen = l1_penalty(X, l1, mask)
    return task_loss + pen, task_loss, pen
