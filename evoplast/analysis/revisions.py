"""A module of this package as it was at another git revision, loaded beside the current one, for
like-for-like A/B timings in one process (``analysis/inputs_ab.py``, ``analysis/pca_kernel_ab.py``).

The old file's relative imports are made absolute against the *current* package, so the two
revisions' other modules must be compatible (the old module imports today's helpers).
"""

from __future__ import annotations

import atexit
import importlib.util
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]  # the checkout (the folder holding evoplast/)


def absolute_imports(source: str, package: str) -> str:
    """``from .x import`` / ``from ..x import`` / ``from . import`` in a module of ``package``
    (e.g. ``evoplast.kernels``) rewritten as absolute imports."""
    parts = package.split(".")

    def repl(m: re.Match) -> str:
        base = parts[: len(parts) - (len(m.group(2)) - 1)]
        return f"{m.group(1)}from {'.'.join(base + ([m.group(3)] if m.group(3) else []))} "

    return re.sub(r"^(\s*)from (\.+)(\w[\w.]*)? ", repl, source, flags=re.MULTILINE)


def module_at(rev: str, path: str) -> ModuleType:
    """The module file ``path`` (e.g. ``evoplast/kernels/pca.py``) at git revision ``rev``, imported
    under the name ``<stem>_old`` (registered in ``sys.modules``) from a temporary folder removed when
    the process exits."""
    src = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    package = ".".join(Path(path).with_suffix("").parts[:-1])
    name = f"{Path(path).stem}_old"
    folder = tempfile.mkdtemp(prefix="evoplast-rev-")
    atexit.register(shutil.rmtree, folder, True)  # kept while the process runs: numba compiles from it
    file = Path(folder) / f"{name}.py"
    file.write_text(absolute_imports(src, package))
    spec = importlib.util.spec_from_file_location(name, file)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def first_difference(a: tuple, b: tuple) -> str | None:
    """The first field of two kernel outputs (NamedTuples of arrays) that is not equal element for
    element (NaN equal to NaN), or None when every field is."""
    import numpy as np

    for f in a._fields:
        if not np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True):
            return f
    return None


def interleaved_ab(old: Callable[[], object], new: Callable[[], object], repeats: int, scale: float,
                   unit: str) -> dict[str, float]:
    """Time ``old()`` and ``new()`` alternately, ``repeats`` times each; each time divided by
    ``scale`` (e.g. candidate-seconds simulated). Returns ``old_min_<unit>``, ``old_median_<unit>``,
    the same for ``new``, and ``ratio_of_minima`` / ``ratio_of_medians`` (old / new)."""
    t: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(repeats):
        for name, fn in (("old", old), ("new", new)):
            t0 = time.perf_counter()
            fn()
            t[name].append((time.perf_counter() - t0) / scale)
    row = {}
    for name in ("old", "new"):
        row[f"{name}_min_{unit}"] = min(t[name])
        row[f"{name}_median_{unit}"] = float(statistics.median(t[name]))
    row["ratio_of_minima"] = min(t["old"]) / min(t["new"])
    row["ratio_of_medians"] = statistics.median(t["old"]) / statistics.median(t["new"])
    return row
