"""One simulation of a task with the config's own rule, no search (``evoplast simulate``).

The trials are the first ``n`` of the run's held-out stream (those a search with this config would
be scored on); the summary is the task's :meth:`Task.summary` (its metrics and theory) with the rule
and the resolved config, written to ``OUT/summary.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import seeding
from ..config import Config, check_trials
from ..errors import EvoplastError
from ..storage import write_json
from ..tasks import make_task

SUMMARY = "summary.json"


def simulate(config: Config, out: str | Path, trials: int | None = None) -> tuple[dict[str, Any], Path]:
    """Simulate ``trials`` (default ``task.heldout_trials``) held-out trials with the config's rule;
    returns the summary and the path of the summary.json written (an existing one is refused)."""
    out = Path(out)
    path = out / SUMMARY
    if path.exists():
        raise EvoplastError(f"{path} exists; pass another --out")
    if trials is not None and trials < 1:
        raise EvoplastError(f"--trials must be >= 1, got {trials}")
    n = trials or config.task.heldout_trials
    check_trials(config, n)
    task = make_task(config)
    rule = task.rule_template
    summary = {"task": config.task.name, "rule": rule.as_dict(), "formula": rule.formula(),
               "config": config.to_dict(), "n_trials": n,
               **task.summary(rule, task.make_trials(seeding.heldout_seeds(config, n)))}
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EvoplastError(f"cannot create {out}: {exc}") from None
    write_json(path, summary)
    return summary, path
