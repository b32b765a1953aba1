"""What the trials objects of all tasks share."""

from __future__ import annotations

import dataclasses

import numpy as np


def nbytes(obj) -> int:
    """Bytes held in numpy arrays by ``obj`` (dataclasses, lists and tuples are walked)."""
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if dataclasses.is_dataclass(obj):
        return sum(nbytes(getattr(obj, f.name)) for f in dataclasses.fields(obj))
    if isinstance(obj, (list, tuple)):
        return sum(nbytes(o) for o in obj)
    return 0


class TrialSet:
    """Mixin for a task's trials dataclass (which has ``W0``, one row per trial).

    ``len()`` is the number of trials; ``sys.getsizeof()`` counts the arrays, so Dask's joblib
    backend sees a generation's trials as large and scatters them to the workers once per
    generation instead of sending them with every task.
    """

    def __len__(self) -> int:
        return len(self.W0)

    def __sizeof__(self) -> int:
        return object.__sizeof__(self) + nbytes(self)
