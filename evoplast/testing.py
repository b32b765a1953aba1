"""Fault injection for tests of the evaluation machinery (importable by loky and Dask workers).

``FaultyTask(task, mode, ...)`` behaves like ``task`` except that a chunk of candidates containing
a *triggering* candidate (coefficient ``index`` above ``threshold``) fails:

* ``raise``: the evaluation raises ``RuntimeError("injected fault")``;
* ``hang``: it sleeps ``hang_s`` seconds first (for timeouts);
* ``kill``: the worker process kills itself with SIGKILL;
* ``interrupt``: a user's Ctrl-C arriving inside a compiled kernel, as numba reports it (a
  ``SystemError`` whose cause is the ``KeyboardInterrupt``).

With ``once_dir`` set, only the first triggering evaluation fails (a marker file created with
``O_EXCL`` in that directory records it, across processes), so a retry succeeds.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from evoplast.tasks.base import Task, TrialSet


class FaultyTask:
    def __init__(
        self,
        task: Task,
        mode: str,
        index: int = 0,
        threshold: float = float("-inf"),
        once_dir: str | None = None,
        hang_s: float = 60.0,
    ):
        if mode not in ("raise", "hang", "kill", "interrupt"):
            raise ValueError(f"unknown fault mode {mode!r}")
        self.task, self.mode, self.index, self.threshold = task, mode, index, threshold
        self.once_dir, self.hang_s = once_dir, hang_s

    def __getattr__(self, name):  # everything else is the wrapped task's
        if name == "task":
            raise AttributeError(name)
        return getattr(self.task, name)

    def _triggered(self, vectors) -> bool:
        if not (vectors[:, self.index] > self.threshold).any():
            return False
        if self.once_dir is None:
            return True
        try:
            fd = os.open(Path(self.once_dir) / "fault-fired", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        os.close(fd)
        return True

    def _fault(self, vectors: np.ndarray) -> None:
        if self._triggered(vectors):
            if self.mode == "raise":
                raise RuntimeError("injected fault")
            if self.mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.mode == "interrupt":
                try:
                    raise KeyboardInterrupt
                except KeyboardInterrupt as exc:
                    raise SystemError("<built-in function> returned a result with an exception set") from exc
            time.sleep(self.hang_s)

    def evaluate(self, vectors: np.ndarray, trials: TrialSet) -> tuple[np.ndarray, np.ndarray]:
        self._fault(vectors)
        return self.task.evaluate(vectors, trials)

    def evaluate_logged(self, vectors: np.ndarray, trials: TrialSet
                        ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        self._fault(vectors)
        return self.task.evaluate_logged(vectors, trials)
