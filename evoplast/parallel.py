"""Parallel evaluation of a generation (joblib: loky, threading, or Dask) and faults.

Trial seeds come from :mod:`evoplast.seeding`.

Work split. A generation's (candidates x trials) is cut into about ``n_jobs`` coarse tasks. The
search passes the trials' seeds, not the trials: tasks are split by trials first (each worker makes
its own trials from their seeds, once, and replays them for all its candidates), then by candidates
(slices that are multiples of the kernel's block) when there are fewer trials than workers. So
trial generation runs in parallel and nothing large crosses the network (on Dask, only seeds and
coefficients). Each (candidate, trial) result is independent of the split, so results do not depend
on ``n_jobs`` or the backend. Pre-made trials can be passed too (they are then sent whole; Dask's
joblib backend scatters an argument over 1 kB once per call, and trial objects report their array
bytes through ``__sizeof__`` for that). Worker threads are capped: each task sets numba's thread
count to ``cores // n_jobs`` (loky) or 1 (Dask: one task per worker thread).

Faults never stop a run. A task whose evaluation raises is retried once on its own, then its
candidates get status ``error`` (the exception's message is kept) and the task's finite penalty.
A worker that dies (killed, out of memory) fails the whole joblib call: every chunk is then rerun
on its own so the culprit is found, with the same retry rule. ``run.eval_timeout_s`` (> 0) limits
each chunk's wall time (joblib's per-task timeout, so it needs worker processes: ``n_jobs >= 2``
or Dask); a chunk over the limit gets status ``timeout`` and is not retried (loky kills and
replaces the stuck worker; Dask cannot interrupt a running task, the worker finishes it in the
background). Evaluations are deterministic, so a retried chunk gives what it would have given.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from joblib import Parallel, delayed

from .kernels import lif, rate
from .kernels.status import ERROR, TIMEOUT, names
from .seeding import seeds_key
from .storage import EvalCache

if TYPE_CHECKING:
    from evoplast.config import Config
    from evoplast.tasks.base import Task, TrialSet

# candidate slices sent to workers are multiples of every kernel's lock-step block, so a
# candidate's result never depends on how a generation is split
BLOCK = math.lcm(rate.BLOCK, lif.BLOCK)

CONNECT_TIMEOUT_S = 10  # seconds to reach a Dask scheduler
FAULT_NAMES = names(ERROR, TIMEOUT)  # statuses of the evaluation machinery, shared by all tasks
_TIMEOUTS = (TimeoutError, multiprocessing.TimeoutError)  # joblib raises the latter
BACKENDS = ("loky", "threading", "sequential", "dask")


def effective_n_jobs(n_jobs: int) -> int:
    cores = os.cpu_count() or 1
    return cores if n_jobs == -1 else max(1, n_jobs)


def _evaluate_chunk(task, vectors, trials, n_threads):
    """Runs in a worker: (loss, status, metrics, None), or (None, None, None, message) if the
    task raised (metrics: :meth:`Task.evaluate_logged`'s dict).
    ``trials`` may be a list of SeedSequence: the worker then makes those trials itself."""
    try:
        import numba

        numba.set_num_threads(max(1, min(n_threads, numba.config.NUMBA_NUM_THREADS)))
        if isinstance(trials, list):
            trials = task.make_trials(trials)
        return (*task.evaluate_logged(vectors, trials), None)
    except Exception as exc:  # reported as status 'error', never raised into the search
        interrupt = interrupt_in(exc)
        if interrupt is not None:  # Ctrl-C / SIGTERM inside a compiled kernel: the user's, not a fault
            raise interrupt from exc
        return None, None, None, f"{type(exc).__name__}: {exc}"[:500]


def interrupt_in(exc: BaseException | None) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt (or subclass: SIGTERM's) that an exception is or was caused by, else
    None: numba reports a signal that arrives during a compiled call as a SystemError with the
    interrupt as its cause/context."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


@dataclass
class Evaluation:
    """loss (K, D), status (K, D), message per candidate ('' unless a fault), evaluated: how many
    candidates were simulated (the others came from the cache), metrics: the task's cheap
    per-trial metrics (:meth:`Task.evaluate_logged`), ``{name: (K, D)}``, NaN where a trial has
    none (a fault, or a cache entry stored without them)."""

    loss: np.ndarray
    status: np.ndarray
    messages: list[str]
    evaluated: int
    metrics: dict[str, np.ndarray] = field(default_factory=dict)

    def metric_means(self) -> dict[str, np.ndarray]:
        """Each logged metric's mean over a candidate's trials that have it, (K,); NaN where none."""
        out = {}
        for name, v in self.metrics.items():
            n = np.isfinite(v).sum(axis=1)
            total = np.where(np.isfinite(v), v, 0.0).sum(axis=1)
            out[name] = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        return out

    @classmethod
    def concat(cls, parts: list[Evaluation]) -> Evaluation:
        """The evaluations of consecutive candidate slices (same trials) as one."""
        return cls(np.concatenate([p.loss for p in parts]), np.concatenate([p.status for p in parts]),
                   [m for p in parts for m in p.messages], sum(p.evaluated for p in parts),
                   {n: np.concatenate([p.metrics[n] for p in parts]) for n in parts[0].metrics})


def evaluate_cached(
    config: Config,
    task: Task,
    vectors: np.ndarray,
    seeds: list[np.random.SeedSequence],
    cache_path: str | Path | None = None,
    n_jobs: int = 1,
) -> Evaluation:
    """One evaluation outside a search (landscapes, ablations): an :class:`Evaluator` with the
    config's backend and, with ``cache_path``, an :class:`EvalCache` there."""
    cache = EvalCache(cache_path) if cache_path else None
    try:
        with Evaluator(n_jobs, config.run.backend if n_jobs > 1 else "loky", cache=cache) as ev:
            return ev.evaluate(task, vectors, seeds=seeds, context=EvalCache.context(config))
    finally:
        if cache is not None:
            cache.close()


class Evaluator:
    """Evaluates (K candidates x D trials); keep one per run so workers (and a Dask cluster) are reused.

    ``backend``: ``loky`` (default), ``threading``, ``sequential`` or ``dask``. For Dask,
    ``scheduler`` is the address of a running scheduler (``tcp://host:8786``); empty starts a
    ``LocalCluster`` of ``n_jobs`` single-threaded worker processes for the lifetime of the evaluator.
    """

    def __init__(
        self,
        n_jobs: int = 1,
        backend: str = "loky",
        scheduler: str = "",
        timeout: float = 0.0,
        retries: int = 1,
        cache: EvalCache | None = None,
        on_fault: Callable[[str], None] | None = None,
    ):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; one of {', '.join(BACKENDS)}")
        self.n_jobs = effective_n_jobs(n_jobs)
        self.backend = backend
        if backend != "dask" and self.n_jobs == 1:
            self.backend = "sequential"
        self.scheduler = scheduler
        self.timeout = timeout or None
        if self.timeout and self.backend in ("sequential", "threading"):
            from .errors import EvoplastError

            raise EvoplastError("run.eval_timeout_s needs worker processes: n_jobs >= 2 with loky, "
                                "or backend dask")
        self.retries = retries
        self.cache = cache
        self.on_fault = on_fault or (lambda message: None)
        cores = os.cpu_count() or 1
        self.threads_per_job = cores if self.backend == "sequential" else max(1, cores // self.n_jobs)
        self._parallel = None
        self._client = self._cluster = self._config = None

    def __enter__(self) -> Evaluator:
        if self.backend == "dask":
            self._start_dask()
        if self.backend != "sequential":
            # Dask: the backend comes from the parallel_config entered above (passing backend="dask"
            # to Parallel directly breaks joblib 1.6's Batch call)
            backend = None if self.backend == "dask" else self.backend
            self._parallel = Parallel(n_jobs=self.n_jobs, backend=backend, timeout=self.timeout)
            self._parallel.__enter__()
        return self

    def _start_dask(self):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            from .errors import EvoplastError

            raise EvoplastError("backend 'dask' needs dask.distributed: "
                                "pip install 'evoplast[dask]'") from None
        import joblib

        if self.scheduler:
            from .errors import EvoplastError

            try:
                self._client = Client(self.scheduler, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError, ValueError) as exc:
                raise EvoplastError(f"cannot reach the Dask scheduler {self.scheduler!r} within "
                                    f"{CONNECT_TIMEOUT_S} s ({type(exc).__name__}: {exc}); is it running? "
                                    "(resume with --scheduler ADDRESS, or --scheduler '' and "
                                    "--backend loky to run locally)") from None
            self.n_jobs = max(1, sum(self._client.nthreads().values()))
            self.threads_per_job = 1
        else:
            import dask

            # Dask's default MALLOC_TRIM_THRESHOLD_ for its workers is dropped: setting it turns off
            # glibc's adaptive mmap threshold, so every large temporary array (input generation)
            # is freshly mapped and page-faulted (25% slower trial generation, measured). The
            # workers' statistical profiler samples every thread each 10 ms: evoplast's tasks are
            # long numeric calls, so it is turned off. (Numba's thread count is set per task.)
            environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
                       if k != "MALLOC_TRIM_THRESHOLD_"}
            with dask.config.set({"distributed.worker.profile.enabled": False,
                                  "distributed.admin.system-monitor.gil.enabled": False,
                                  "distributed.nanny.pre-spawn-environ": environ}):
                saved = dict(os.environ)  # the nannies also set these in this process: restore
                try:
                    self._cluster = LocalCluster(n_workers=self.n_jobs, threads_per_worker=1,
                                                 processes=True, dashboard_address=None)
                finally:
                    for k in set(os.environ) - set(saved) - {"__DASK_PARENT_PID"}:
                        del os.environ[k]
                    os.environ.update({k: v for k, v in saved.items() if os.environ.get(k) != v})
            self._client = Client(self._cluster)
        self._config = joblib.parallel_config(backend="dask")
        self._config.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self._parallel is not None:
            self._parallel.__exit__(*exc)
            self._parallel = None
        if self._config is not None:
            self._config.__exit__(*exc)
            self._config = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    # -- evaluation ---------------------------------------------------------------------------------
    def evaluate(
        self,
        task: Task,
        vectors: np.ndarray,
        trials: TrialSet | None = None,
        seeds: list[np.random.SeedSequence] | None = None,
        context: str | None = None,
    ) -> Evaluation:
        """Loss and status of every candidate on every trial.

        Pass either ``trials`` (made in the driver and sent to the workers) or ``seeds`` (a list of
        SeedSequence: each worker makes the trials of its share, so trial generation runs in
        parallel and nothing large is sent). With a cache, ``seeds`` and ``context``
        (:meth:`EvalCache.context`), known candidates are read from the cache and only the others
        are simulated.
        """
        if (trials is None) == (seeds is None):
            raise ValueError("pass exactly one of trials, seeds")
        vectors = np.atleast_2d(np.asarray(vectors, dtype=float))
        K = len(vectors)
        D = len(seeds) if seeds is not None else len(trials)
        use_cache = self.cache is not None and seeds is not None and context is not None
        keys = [EvalCache.key(context, v, seeds_key(seeds)) for v in vectors] if use_cache else []
        hits = {}
        for k, key in enumerate(keys):
            got = self.cache.get(key)
            if got is not None:
                hits[k] = got
        todo = [k for k in range(K) if k not in hits]
        loss = np.empty((K, D))
        status = np.empty((K, D), dtype=np.int16)
        messages = [""] * K
        metrics = {name: np.full((K, D), np.nan) for name in task.logged_metrics}

        def put_metrics(rows, values: dict) -> None:
            for name, v in values.items():
                if name in metrics:  # a cache entry may hold metrics this config no longer logs
                    metrics[name][rows] = v

        if todo:
            l_new, s_new, m_new, x_new = self._evaluate_all(task, vectors[todo], trials, seeds)
            loss[todo], status[todo] = l_new, s_new
            put_metrics(todo, x_new)
            for k, m in zip(todo, m_new):
                messages[k] = m
            if use_cache:
                self.cache.put_many((keys[k], loss[k], status[k], {n: v[i] for n, v in x_new.items()})
                                    for i, k in enumerate(todo) if not messages[k])
        for k, (l, st, x) in hits.items():
            loss[k], status[k] = l, st
            put_metrics([k], {n: v[None] for n, v in x.items()})
        return Evaluation(loss, status, messages, len(todo), metrics)

    def _items(self, K: int, D: int, split_trials: bool):
        """Work items (candidate slice, trial slice): n_jobs coarse tasks. Candidate slices are
        multiples of the kernel's block; each (candidate, trial) result is independent of the split."""
        if self.backend == "sequential":
            return [(slice(0, K), slice(0, D))]
        g = min(D, self.n_jobs) if split_trials else 1
        c = max(1, -(-self.n_jobs // g))
        n_blocks = -(-K // BLOCK)
        per_c = -(-n_blocks // c) * BLOCK
        per_t = -(-D // g)
        return [(slice(i, min(i + per_c, K)), slice(j, min(j + per_t, D)))
                for i in range(0, K, per_c) for j in range(0, D, per_t)]

    def _run(self, task, payloads):
        """One joblib call over (vectors, trials or seeds) payloads (raises if a worker dies or a
        task times out)."""
        if self.backend == "sequential":
            return [_evaluate_chunk(task, v, t, self.threads_per_job) for v, t in payloads]
        return self._parallel(delayed(_evaluate_chunk)(task, v, t, self.threads_per_job)
                              for v, t in payloads)

    def _isolated(self, task, payload, attempts: int):
        """Run one payload on its own up to ``attempts`` times; :func:`_evaluate_chunk`'s result or
        (code, message)."""
        message = "no attempt"
        for _ in range(attempts):
            try:
                out = self._run(task, [payload])[0]
            except _TIMEOUTS:
                return TIMEOUT, f"evaluation took longer than run.eval_timeout_s = {self.timeout} s"
            except Exception as exc:  # worker died, cluster lost, ...
                message = f"{type(exc).__name__}: {exc}"[:500]
                continue
            if out[3] is None:
                return out
            message = out[3]
        return ERROR, message

    def _evaluate_all(self, task, vectors, trials, seeds):
        K = len(vectors)
        D = len(seeds) if seeds is not None else len(trials)
        items = self._items(K, D, split_trials=seeds is not None)
        payloads = [(vectors[ci], seeds[ti] if seeds is not None else trials) for ci, ti in items]
        try:
            outs = self._run(task, payloads)
            first_attempts = self.retries  # the joint call was each item's first attempt
        except Exception as exc:  # a worker died or a task timed out: find which item, one by one
            self.on_fault(f"{type(exc).__name__} in a parallel call; rerunning its {len(items)} "
                          "task(s) one at a time")
            outs = [None] * len(items)
            first_attempts = 1 + self.retries
        loss = np.empty((K, D))
        status = np.empty((K, D), dtype=np.int16)
        messages = [""] * K
        metrics = {name: np.full((K, D), np.nan) for name in task.logged_metrics}
        for (ci, ti), payload, out in zip(items, payloads, outs):
            if out is None or out[3] is not None:
                if out is not None:
                    self.on_fault(f"evaluation raised {out[3]}; retrying")
                out = self._isolated(task, payload, first_attempts if out is None else self.retries)
            if len(out) == 4:
                loss[ci, ti], status[ci, ti] = out[0], out[1]
                if set(out[2]) != set(metrics):
                    raise RuntimeError(f"task {task.name!r} returned metrics {sorted(out[2])}, "
                                       f"declared {sorted(metrics)} (a bug in the task)")
                for name, v in out[2].items():
                    metrics[name][ci, ti] = v
                continue
            code, message = out
            n = ci.stop - ci.start
            self.on_fault(f"{n} candidate(s) scored as '{FAULT_NAMES[code]}' on trials "
                          f"{ti.start}..{ti.stop - 1}: {message}")
            loss[ci, ti] = float(task.penalty)
            status[ci, ti] = code
            for k in range(ci.start, ci.stop):
                messages[k] = messages[k] or message
        return loss, status, messages, metrics


