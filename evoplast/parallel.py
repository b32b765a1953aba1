"""Parallel evaluation of a generation through joblib, and the seeding of trials.

Every stochastic quantity of a run comes from ``SeedSequence(run.seed, spawn_key=(stream, ...))``:

* ``STREAM_TRAIN``: trials of generation g are ``(STREAM_TRAIN, g, d)``, d = 0..n_trials-1, shared by
  all candidates of that generation (common random numbers);
* ``STREAM_VALIDATION``: trials used to pick the best restart;
* ``STREAM_HELDOUT``: trials for the reported held-out score, never seen by the search;
* ``STREAM_CMAES``: the Gaussian numbers of CMA-ES itself (restart r: ``(STREAM_CMAES, r)``);
* ``STREAM_THEORY``: input draws that estimate quantities the theory needs (e.g. the mean
  presynaptic rate of the spiking task's input process).

Trials are generated once per generation in the driver and sent to the workers; candidates are
split into chunks whose size is a multiple of the kernel's block, and each candidate's arithmetic is
the same in every chunk, so results do not depend on ``n_jobs`` or the backend.
"""

from __future__ import annotations

import os

import numpy as np
from joblib import Parallel, delayed

from .kernels.rate import BLOCK

STREAM_TRAIN, STREAM_VALIDATION, STREAM_HELDOUT, STREAM_CMAES, STREAM_THEORY = 0, 1, 2, 3, 4


def trial_seeds(seed: int, stream: int, key: int, n: int) -> list[np.random.SeedSequence]:
    return [np.random.SeedSequence(seed, spawn_key=(stream, key, d)) for d in range(n)]


def effective_n_jobs(n_jobs: int) -> int:
    cores = os.cpu_count() or 1
    return cores if n_jobs == -1 else max(1, n_jobs)


def _evaluate_chunk(task, vectors, trials, n_threads):
    import numba

    numba.set_num_threads(max(1, min(n_threads, numba.config.NUMBA_NUM_THREADS)))
    return task.evaluate(vectors, trials)


class Evaluator:
    """Evaluates (K candidates x D trials) with joblib; keep one per run so workers are reused."""

    def __init__(self, n_jobs: int = 1, backend: str = "loky"):
        self.n_jobs = effective_n_jobs(n_jobs)
        self.backend = "sequential" if self.n_jobs == 1 else backend
        cores = os.cpu_count() or 1
        self.threads_per_job = max(1, cores // self.n_jobs) if self.backend != "sequential" else cores
        self._parallel = None

    def __enter__(self):
        if self.backend != "sequential":
            self._parallel = Parallel(n_jobs=self.n_jobs, backend=self.backend)
            self._parallel.__enter__()
        return self

    def __exit__(self, *exc):
        if self._parallel is not None:
            self._parallel.__exit__(*exc)
            self._parallel = None

    def __call__(self, task, vectors: np.ndarray, trials):
        vectors = np.atleast_2d(vectors)
        if self.backend == "sequential" or len(vectors) <= BLOCK:
            return _evaluate_chunk(task, vectors, trials, self.threads_per_job)
        n_blocks = -(-len(vectors) // BLOCK)
        per_chunk = -(-n_blocks // self.n_jobs) * BLOCK
        chunks = [vectors[i:i + per_chunk] for i in range(0, len(vectors), per_chunk)]
        parallel = self._parallel or Parallel(n_jobs=self.n_jobs, backend=self.backend)
        out = parallel(delayed(_evaluate_chunk)(task, c, trials, self.threads_per_job) for c in chunks)
        return np.concatenate([o[0] for o in out]), np.concatenate([o[1] for o in out])
