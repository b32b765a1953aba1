"""Generalisation: a finished run's found rule re-scored on new held-out trials, optionally under
another task config (other N, input distribution, rates; ``evoplast evaluate``).

The trials are key ``1 + draw`` of the run's held-out stream (``STREAM_HELDOUT``): never seen by
the search, not even for the run's own held-out score (key 0). The rule is rebuilt from the
reported values (``result.json`` ``coefficients``, natural units) through the family's
``from_values``. One row per call is appended, under a lock, to the run's ``generalisation.csv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import seeding
from ..config import apply_overrides, check_trials, from_dict
from ..errors import ConfigError, EvoplastError
from ..storage import GENERALISATION, RESULT, RunDir
from ..tasks import make_task
from .runs import flatten


def rescore(run_dir: str | Path | RunDir, overrides: list[str], trials: int | None = None,
            draw: int = 0) -> tuple[dict[str, Any], dict[str, Any], Path]:
    """Score the run's found rule on ``trials`` (default ``task.heldout_trials``) fresh held-out
    trials of set ``draw`` under the run's config with ``overrides`` (``section.key=value``).
    Returns the table row, the task's metrics (with ``headline``: the task's headline metric
    name, or None) and the table's path."""
    run_dir = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    run_dir.require()
    if not run_dir.file(RESULT).exists():
        raise EvoplastError(f"{run_dir.path} has no result yet; 'evoplast resume {run_dir.path}' finishes it")
    if draw < 0:
        raise EvoplastError(f"--draw must be >= 0 (which fresh set of held-out trials), got {draw}")
    if trials is not None and trials < 1:
        raise EvoplastError(f"--trials must be >= 1, got {trials}")
    run_dir.read_table(GENERALISATION, ["overrides"])  # a table to append to, checked before simulating
    config = from_dict(apply_overrides(run_dir.meta()["config"], overrides))
    n = trials or config.task.heldout_trials
    check_trials(config, n)
    task = make_task(config)
    try:  # reported values (natural units), not the optimiser's vector (log time constants)
        vector = task.rule_template.from_values(run_dir.result()["coefficients"]).to_vector()
    except ConfigError as exc:
        raise EvoplastError(f"the overridden rule does not fit the run's result: {exc}") from None
    seeds = seeding.trial_seeds(config.run.seed, seeding.STREAM_HELDOUT, 1 + draw, n)
    metrics = task.metrics(vector, task.make_trials(seeds))
    row: dict[str, Any] = {"overrides": " ".join(overrides), "draw": draw}
    flatten("", metrics, row)
    path = run_dir.append_table(GENERALISATION, row)
    return row, {**metrics, "headline": task.headline_metric}, path
