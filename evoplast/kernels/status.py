"""Status codes of a simulated (candidate, trial), one table for all kernels: a code means the
same thing wherever it appears (evaluations.csv, the evaluation cache, a task's loss).

====  ==========  ==========================================================================
code  name        meaning
====  ==========  ==========================================================================
0     ok          ran to the end
1     diverged    rate kernels: ``|y|`` or a weight exceeded the bound
2     nan         a rate or a membrane potential became NaN
3     silent      spiking kernels: no output spike for ``silent_s``
4     runaway     spiking kernels: output rate above ``runaway_hz``
100   error       the evaluation raised (after retries; :mod:`evoplast.parallel`)
101   timeout     the evaluation exceeded ``run.eval_timeout_s``
====  ==========  ==========================================================================
"""

from __future__ import annotations

OK, DIVERGED, NAN, SILENT, RUNAWAY = 0, 1, 2, 3, 4
ERROR, TIMEOUT = 100, 101
NAMES = {OK: "ok", DIVERGED: "diverged", NAN: "nan", SILENT: "silent", RUNAWAY: "runaway",
         ERROR: "error", TIMEOUT: "timeout"}


def names(*codes: int) -> dict[int, str]:
    """``{code: name}`` for the given codes (a kernel's or task's ``status_names``)."""
    return {c: NAMES[c] for c in codes}
