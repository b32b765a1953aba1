"""Task registry: ``task.name`` -> task class.

A task class provides ``Config`` (the ``[task]`` section), ``families`` (supported rule families),
``make_trials(seeds)``, ``evaluate(vectors, trials) -> (loss (K, D), status (K, D))``,
``metrics(vector, trials)``, ``known_rule()``, ``theory(rule)`` and ``describe(rule)``.
"""

from .oja import OjaTask

TASKS = {OjaTask.name: OjaTask}


def make_task(config):
    """The task object for a resolved :class:`evoplast.config.Config`."""
    return TASKS[config.task.name](config)


__all__ = ["TASKS", "OjaTask", "make_task"]
