"""Task registry: ``task.name`` -> task class.

A task class provides ``Config`` (the ``[task]`` section), ``families`` (supported rule families),
``make_trials(seeds)``, ``evaluate(vectors, trials) -> (loss (K, D), status (K, D))``,
``metrics(vector, trials)``, ``summary(rule, trials)`` (``evoplast simulate``), ``known_rule()``,
``theory(rule, trials=None)``, ``penalty``, ``status_names`` and ``calibrate_scale``; optionally
``check_search()`` (raise for settings that only ``evoplast simulate`` accepts) and ``prune_terms``
(True: the found rule's terms are pruned on validation trials, ``cmaes.prune_tol``). Trials objects
derive from :class:`evoplast.tasks.base.TrialSet`.
"""

from .inhibitory import InhibitoryTask
from .oja import OjaTask
from .pca_network import PCANetworkTask

TASKS = {t.name: t for t in (OjaTask, PCANetworkTask, InhibitoryTask)}


def make_task(config):
    """The task object for a resolved :class:`evoplast.config.Config`."""
    return TASKS[config.task.name](config)


__all__ = ["TASKS", "InhibitoryTask", "OjaTask", "PCANetworkTask", "make_task"]
