"""Task registry: ``task.name`` -> task class.

A task subclasses :class:`evoplast.tasks.base.Task`, whose docstring lists the contract (what the
rest of evoplast may call) and the hooks with defaults; rule families subclass
:class:`evoplast.rules.base.Rule`. ``tests/test_contracts.py`` checks every registered task with
each of its families. Adding a task: one module here and one entry in ``TASKS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .ei_network import EiNetworkTask
from .istdp import IstdpTask
from .oja import OjaTask
from .pca_network import PCANetworkTask

if TYPE_CHECKING:
    from evoplast.config import Config
    from evoplast.tasks.base import Task

TASKS = {t.name: t for t in (OjaTask, PCANetworkTask, IstdpTask, EiNetworkTask)}


def make_task(config: Config) -> Task:
    """The task object for a resolved :class:`evoplast.config.Config`."""
    return TASKS[config.task.name](config)


__all__ = ["TASKS", "EiNetworkTask", "IstdpTask", "OjaTask", "PCANetworkTask", "make_task"]
