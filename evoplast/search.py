r"""The CMA-ES driver: ask -> evaluate -> tell -> log -> checkpoint, generation by generation.

The search minimises the objective of :mod:`evoplast.objective`

.. math::  L(\theta) = \frac{1}{D} \sum_{d=1}^{D} l_d(\theta) + \lambda_{L1} \lVert\theta\rVert_1

with pycma's ask/tell interface (Hansen's CMA-ES; evoplast does not implement its own). The D
trials of a generation are shared by all candidates (common random numbers) and fresh each
generation. CMA-ES draws its Gaussian numbers from a :class:`numpy.random.Generator` seeded from
the run's seed (never from the global ``np.random``), and that generator lives inside the pickled
pycma object, so a resumed run continues the exact stream.

IPOP restarts (``cmaes.restarts``): when a restart stops (pycma's termination criteria,
``cmaes.generations`` generations, or -- with ``cmaes.stall_generations`` -- a best task loss still
above ``cmaes.stall_loss`` after that many generations: a search stuck in a known bad basin), a new
CMA-ES starts from the initial mean with ``cmaes.restart_popsize_factor`` times the population (2:
IPOP, twice; 1: the same population, for searches whose stalls are cheaper to escape by a fresh
start than by a larger population). With ``cmaes.restart_until_loss``,
no restart follows one whose last generation's best task loss is below that value. What is
reported after the last restart (which restart, refit, held-out score) is
:mod:`evoplast.selection`'s.

A generation in which every evaluation failed (status ``error`` or ``timeout`` for all candidates)
whose restart's initial mean fails too (a setting that breaks every simulation) stops the run with
the evaluation's message instead of searching on penalties; the checkpoint of the generation before
is kept.

The driver prints nothing itself: progress lines go to the ``progress`` callback (none: silent).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

with warnings.catch_warnings():  # pycma warns when matplotlib is absent; evoplast does not plot with it
    warnings.filterwarnings("ignore", message="Could not import matplotlib", category=UserWarning)
    import cma

from . import parallel, seeding, selection
from .config import Config, from_dict, pretrain_config, to_plain
from .errors import ConfigError, EvoplastError, RunDirError
from .kernels.status import ERROR
from .objective import objective
from .storage import CHECKPOINT, CONFIG, EVALUATIONS, HISTORY, RESULT, RunDir, write_json
from .tasks import make_task

#: 2: :class:`SearchState` (a dataclass); 1: the same fields in a dict (still resumed)
CHECKPOINT_FORMAT = 2


class GaussianSource:
    """Picklable stand-in for ``np.random.randn`` that draws from its own Generator."""

    def __init__(self, seed_sequence: np.random.SeedSequence):
        self.rng = np.random.default_rng(seed_sequence)

    def __call__(self, *shape: int) -> np.ndarray | float:
        return self.rng.standard_normal(shape if shape else None)


def search_bounds(config: Config, terms: tuple[str, ...] | list[str]) -> list[list[float | None]] | None:
    """``cmaes.bounds`` as pycma's ``[lower, upper]`` lists over ``terms`` (None: unbounded), or
    None when no term is bounded."""
    b = config.cmaes.bounds
    if not b:
        return None
    return [[float(b[t][0]) if t in b else None for t in terms],
            [float(b[t][1]) if t in b else None for t in terms]]


def check_start_in_bounds(x0: np.ndarray, config: Config, terms: tuple[str, ...] | list[str],
                          restart: int) -> None:
    """Refuse a restart's initial mean outside ``cmaes.bounds`` (pycma would move it silently)."""
    for t, v in zip(terms, x0):
        box = config.cmaes.bounds.get(t)
        if box is not None and not box[0] <= v <= box[1]:
            raise ConfigError(f"the initial mean of restart {restart} has {t} = {v:.6g}, outside "
                              f"cmaes.bounds.{t} = {list(box)}: set rule's start (or start_box) "
                              "inside the bounds")


def make_es(x0: np.ndarray, config: Config, popsize: int, restart: int,
            fixed: tuple[int, ...] = (), bounds: list | None = None) -> cma.CMAEvolutionStrategy:
    """pycma's CMA-ES for one restart, its Gaussian numbers from the run's CMA-ES stream;
    ``fixed``: coordinates held at their x0 value (pycma's ``fixed_variables``; not searched);
    ``bounds``: :func:`search_bounds` (pycma's ``BoundTransform``: ``ask`` returns candidates in
    the box and ``result.xfavorite`` is the mean mapped into it)."""
    c = config.cmaes
    opts = {
        "randn": GaussianSource(np.random.SeedSequence(config.run.seed,
                                                       spawn_key=(seeding.STREAM_CMAES, restart))),
        "seed": math.nan,  # pycma must not seed (or read) the global np.random
        "verbose": -9, "verb_disp": 0, "verb_log": 0, "verb_filenameprefix": "",
        "tolfun": c.tolfun, "tolx": c.tolx, "maxiter": c.generations,
        # penalty plateaus (e.g. every candidate silent) give flat fitness: widen, do not stop
        "tolflatfitness": c.generations,
    }
    if popsize:
        opts["popsize"] = popsize
    if fixed:
        opts["fixed_variables"] = {int(i): float(x0[i]) for i in fixed}
    if bounds is not None:
        opts["bounds"] = bounds
    with warnings.catch_warnings():  # pycma calls fixed_variables deprecated (as all its genotype-
        # phenotype transformations); it holds them exactly (tests/test_search.py checks every candidate)
        warnings.filterwarnings("ignore", message="genotype-phenotype transformations",
                                category=DeprecationWarning)
        return cma.CMAEvolutionStrategy(np.asarray(x0, float).tolist(), c.sigma0, opts)


#: run settings that do not change results (resume may override them)
EXECUTION_KEYS = ("n_jobs", "backend", "scheduler", "eval_timeout_s", "retries")
#: settings added after checkpoints were first written: hashed only when not at their defaults, so
#: that a checkpoint of an earlier version still matches its config
LATER_KEYS = {"cmaes": ("tabu_radius", "tabu_penalty", "converge_every", "converge_trials",
                        "converge_window", "converge_rtol", "restart_popsize_factor", "prune_rescale",
                        "pretrain", "pretrain_prune", "bounds", "fine_scale", "renormalise"),
              "task": ("score_window_s", "tail_level", "tail_power", "prune_terms", "rotation")}


def config_hash(config: Config) -> str:
    """SHA-256 of the resolved config, less the execution settings of ``[run]``: what a checkpoint
    was made with, so that a hand-edited config.json is not resumed as if nothing changed."""
    d = config.to_dict()
    d["run"] = {k: v for k, v in d["run"].items() if k not in EXECUTION_KEYS}
    for section, keys in LATER_KEYS.items():
        default = type(getattr(config, section))()  # the section's defaults (the task's own class)
        d[section] = {k: v for k, v in d[section].items()
                      if k not in keys or v != to_plain(getattr(default, k))}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class SearchState:
    """Everything a resumed search needs, checkpointed after every generation and restart."""

    es: cma.CMAEvolutionStrategy  # the current restart's CMA-ES (its random generator inside)
    popsize: int
    config_sha256: str
    generation: int = 0  # generations finished, over all restarts
    evaluations: int = 0
    restart: int = 0
    gen_in_restart: int = 0
    #: one record per finished restart: mean, generations, popsize, stop, last_best_task_loss
    restart_results: list[dict] = field(default_factory=list)
    restart_best_task_loss: float = math.inf  # lowest best task loss of this restart so far
    last_best_task_loss: float = math.inf  # best task loss of the last generation
    done: bool = False
    elapsed_s: float = 0.0
    format: int = CHECKPOINT_FORMAT
    #: this restart's [generation in restart, validation objective of the mean] (cmaes.converge_every)
    converge: list = field(default_factory=list)

    @classmethod
    def from_checkpoint(cls, data: object, path: object) -> SearchState:
        """A checkpoint's state: format 2 as is, format 1 (a dict of the same fields) converted."""
        if isinstance(data, cls) and data.format == CHECKPOINT_FORMAT:
            data.__dict__.setdefault("converge", [])  # written before the field existed
            return data
        if isinstance(data, dict) and data.get("format") == 1:
            names = {f.name for f in dataclasses.fields(cls)}
            return cls(**{**{k: v for k, v in data.items() if k in names}, "format": CHECKPOINT_FORMAT})
        fmt = data.get("format") if isinstance(data, dict) else getattr(data, "format", None)
        raise RunDirError(f"{path}: unsupported checkpoint format {fmt!r} (this evoplast reads 1 and "
                          f"{CHECKPOINT_FORMAT}); finish it with the evoplast that wrote it")


def _status_counts(status: np.ndarray, names: dict[int, str]) -> dict[str, int]:
    return {name: int((status == code).sum()) for code, name in names.items()}


class Search:
    """One run: a config, a run directory and an evaluator. ``run()`` goes to the end.

    ``progress``: called with one line per reported generation, restart, fault or resume
    (default: nothing is reported); ``progress_interval``: seconds between generation lines
    (0: every generation).
    """

    def __init__(self, config: Config, run_dir: RunDir, n_jobs: int | None = None,
                 progress: Callable[[str], None] | None = None, progress_interval: float = 0.0):
        self.config = config
        self.run_dir = run_dir
        self.task = make_task(config)
        self.task.check_search()  # settings a task accepts for simulate, not for a search
        self.template = self.task.rule_template
        self.terms = self.template.terms
        self.l1_mask = self.template.l1_mask()
        self.status_names = {**self.task.status_names, **parallel.FAULT_NAMES}
        self._prefix = self.template.formula_prefix
        self.n_jobs = config.run.n_jobs if n_jobs is None else n_jobs
        self.progress = progress or (lambda line: None)
        self.progress_interval = progress_interval
        self._last_print = -np.inf
        # cmaes.pretrain (set by _pretrain): the start of every restart, the first stage's record
        # for result.json, and the coordinates held at 0 (cmaes.pretrain_prune)
        self._pretrain_start: np.ndarray | None = None
        self._pretrain_record: dict | None = None
        self._fixed: tuple[int, ...] = ()

    # -- state --------------------------------------------------------------------------------------
    def _new_state(self) -> SearchState:
        es = self._make_es(0, self.config.cmaes.popsize)
        return SearchState(es=es, popsize=es.popsize, config_sha256=config_hash(self.config))

    def _make_es(self, restart: int, popsize: int) -> cma.CMAEvolutionStrategy:
        x0 = self._start(restart)
        check_start_in_bounds(x0, self.config, self.terms, restart)
        return make_es(x0, self.config, popsize, restart, self._fixed, search_bounds(self.config, self.terms))

    def _start(self, restart: int) -> np.ndarray:
        """Initial mean of a restart (``rule.start``: the configured point, or drawn from the seed;
        with ``cmaes.pretrain``: the first stage's chosen mean)."""
        if self._pretrain_start is not None:
            return self._pretrain_start
        return self.config.rule.start_vector(self.config.run.seed, restart)

    def _pretrain(self) -> None:
        """``cmaes.pretrain``: the first stage's search in RUN_DIR/pretrain (started, resumed, or its
        finished result read); sets this search's start (its chosen mean, with ``pretrain_prune``'s
        small terms at 0 and held there) and the record for result.json."""
        c = self.config.cmaes
        pre = pretrain_config(self.config)  # its rule's terms are this search's (checked there)
        sub = RunDir(self.run_dir.path / "pretrain")
        if sub.file(CONFIG).exists():
            if config_hash(from_dict(sub.meta()["config"])) != config_hash(pre):
                raise RunDirError(f"{sub.path} holds a run of another config than this run's "
                                  "cmaes.pretrain; move it away to pretrain again")
        else:
            sub.create(pre.to_dict(), source=f"cmaes.pretrain of {self.run_dir.path}")
        if sub.file(RESULT).exists():
            r = sub.result()
        else:
            self.progress(f"pretraining in {sub.path} ({', '.join(c.pretrain)})")
            r = Search(pre, sub, n_jobs=self.n_jobs, progress=lambda line: self.progress(
                f"pretrain: {line}"), progress_interval=self.progress_interval).run().to_json()
        mean = np.array(next(x["mean"] for x in r["restarts"] if x["restart"] == r["chosen_restart"]))
        small = np.abs(mean) < c.pretrain_prune * np.abs(mean).max()
        self._pretrain_start = np.where(small, 0.0, mean)
        self._fixed = tuple(int(i) for i in np.flatnonzero(small))
        self._pretrain_record = {
            "run_dir": "pretrain", "overrides": list(c.pretrain), "generations": r["generations"],
            "evaluations": r["evaluations"], "elapsed_s": r["elapsed_s"], "finish_s": r["finish_s"],
            "loss": r["loss"], "formula": r["formula_pruned"]}

    def _load_state(self) -> SearchState:
        data = self.run_dir.load_checkpoint()
        if data is None:  # nothing checkpointed (killed in the first generation): start over,
            state = self._new_state()  # dropping the rows that generation may have logged
        else:
            state = SearchState.from_checkpoint(data, self.run_dir.file(CHECKPOINT))
            if state.config_sha256 != config_hash(self.config):
                raise RunDirError(f"{self.run_dir.file(CONFIG)} no longer matches the config the "
                                  "checkpoint was made with (edited by hand?); restore it or start a "
                                  "new run")
        self.run_dir.truncate_logs((HISTORY, EVALUATIONS), state.generation - 1)
        return state

    # -- main loop ----------------------------------------------------------------------------------
    def run(self) -> selection.Result:
        """Search to the end (resuming from the checkpoint if there is one); writes result.json."""
        self.run_dir.lock()
        try:
            if self.config.cmaes.pretrain:
                self._pretrain()
            state = self._load_state()
            if state.generation:
                self.progress(f"resuming {self.run_dir.path} after generation {state.generation}")
            with self.make_evaluator() as evaluator:
                while not state.done:
                    if not self._stop_or_restart(state):
                        self._generation(state, evaluator)
                    self.run_dir.save_checkpoint(state)
                result = selection.select(self.config, self.task, evaluator, state.restart_results,
                                          self._start, state.generation, state.evaluations,
                                          state.elapsed_s)
                if self._pretrain_record is not None:
                    result = dataclasses.replace(result, pretrain=self._pretrain_record)
        finally:
            self.run_dir.unlock()
        write_json(self.run_dir.file(RESULT), result.to_json())
        return result

    def make_evaluator(self) -> parallel.Evaluator:
        r = self.config.run
        return parallel.Evaluator(self.n_jobs, r.backend, scheduler=r.scheduler, timeout=r.eval_timeout_s,
                                  retries=r.retries, on_fault=lambda m: self.progress(f"fault: {m}"))

    def _stop_or_restart(self, state: SearchState) -> bool:
        """The stop/restart policy: False to go on with this restart; else the restart is recorded
        and the next one begins (population x ``cmaes.restart_popsize_factor``), or the search is done."""
        c = self.config.cmaes
        es = state.es
        stop = dict(es.stop())
        if state.gen_in_restart >= c.generations:
            stop.setdefault("generations", c.generations)
        best = state.restart_best_task_loss
        if c.stall_generations and state.gen_in_restart == c.stall_generations and best > c.stall_loss:
            stop["stalled"] = f"best task loss {best:.4g} > {c.stall_loss:g}"
        converged = self._converged(state)
        if converged:
            stop["converged"] = converged
            self.progress(f"restart {state.restart} converged at generation {state.gen_in_restart}: "
                          f"{converged}")
        if not stop:
            return False
        last = state.last_best_task_loss
        state.restart_results.append({
            "restart": state.restart, "mean": np.array(es.result.xfavorite),
            "generations": state.gen_in_restart, "popsize": state.popsize,
            "stop": sorted(stop), "last_best_task_loss": last})
        good = c.restart_until_loss > 0 and last < c.restart_until_loss
        if good and state.restart < c.restarts:
            self.progress(f"no further restart: last best task loss {last:.4g} < "
                          f"{c.restart_until_loss:g} (cmaes.restart_until_loss)")
        if state.restart < c.restarts and not good:
            state.restart += 1
            state.popsize *= c.restart_popsize_factor
            state.gen_in_restart = 0
            state.converge = []
            state.restart_best_task_loss = math.inf
            state.es = self._make_es(state.restart, state.popsize)
            self.progress(f"restart {state.restart}: popsize {state.popsize} "
                          f"(previous stopped on {', '.join(sorted(stop))})")
        else:
            state.done = True
        return True

    def _generation(self, state: SearchState, evaluator: parallel.Evaluator) -> None:
        """ask -> evaluate on the generation's trials -> tell -> log."""
        cfg = self.config
        es = state.es
        t0 = time.perf_counter()
        g = state.generation
        X = np.array(es.ask())
        seeds = seeding.trial_seeds(cfg.run.seed, seeding.STREAM_TRAIN, g, cfg.task.n_trials)
        ev = evaluator.evaluate(self.task, X, seeds=seeds)
        if ev.status.size and (ev.status >= ERROR).all():
            self._stop_if_settings_fail(state, evaluator, seeds[:1], g)
        f, task_loss, l1 = objective(ev.loss, X, cfg.cmaes.l1, self.l1_mask)
        tabu = self._tabu(X, state)
        if tabu is not None:
            f = f + tabu
        es.tell(list(X), f.tolist())
        state.elapsed_s += time.perf_counter() - t0
        formula = self.template.from_vector(es.result.xfavorite).formula(prune=0.1, digits=3)
        self._log(state, X, ev, f, task_loss, l1, formula, tabu)
        state.restart_best_task_loss = min(state.restart_best_task_loss, float(task_loss.min()))
        state.last_best_task_loss = float(task_loss.min())
        state.generation = g + 1
        state.gen_in_restart += 1
        state.evaluations += len(X)
        c = cfg.cmaes
        if c.converge_every and state.gen_in_restart % c.converge_every == 0:
            seeds = seeding.trial_seeds(cfg.run.seed, seeding.STREAM_VALIDATION, 2, c.converge_trials)
            mean = np.array(es.result.xfavorite)[None]  # the full vector (also with fixed coordinates)
            v = evaluator.evaluate(self.task, mean, seeds=seeds)
            f_mean = objective(v.loss, mean, c.l1, self.l1_mask)[0][0]
            state.converge.append([state.gen_in_restart, float(f_mean)])
        now = time.monotonic()
        last = state.gen_in_restart == cfg.cmaes.generations
        if now - self._last_print >= self.progress_interval or state.gen_in_restart == 1 or last:
            self._last_print = now
            bad = ev.status.size - int((ev.status == 0).sum())
            self.progress(f"gen {g + 1:4d} | best {f.min():.4g} median {np.median(f):.4g} | "
                          f"sigma {es.sigma:.3g} | bad trials {bad:3d} | mean rule: {self._prefix}{formula}")

    def _stop_if_settings_fail(self, state: SearchState, evaluator: parallel.Evaluator,
                               seeds: list[np.random.SeedSequence], g: int) -> None:
        """Every evaluation of generation g failed: if the restart's initial mean fails too on
        one of its trials, the settings break every simulation -- stop with the evaluation's
        message rather than search on penalties; otherwise the failures depend on the candidates
        (they keep their penalty and the search goes on). The probe changes no state."""
        probe = evaluator.evaluate(self.task, self._start(state.restart)[None], seeds=seeds)
        if (probe.status >= ERROR).all():
            raise EvoplastError(f"every evaluation of generation {g + 1} failed, the initial rule's "
                                f"too ({self.status_names[int(probe.status.flat[0])]}): "
                                f"{probe.messages[0]}; the run stops (checkpoint after generation "
                                f"{g}); fix the cause, then 'evoplast resume {self.run_dir.path}'")

    def _converged(self, state: SearchState) -> str:
        """``cmaes.converge_every``: the reason this restart has converged, or "" -- the best
        validation objective of the mean (:data:`seeding.STREAM_VALIDATION` key 2, the same
        ``converge_trials`` trials every time) in the last ``converge_window`` generations is not
        below ``(1 - converge_rtol)`` times the best before them. Only the checkpointed records
        enter: same for any n_jobs, and after a resume."""
        c = self.config.cmaes
        if not c.converge_every or not state.converge:
            return ""
        cut = state.gen_in_restart - c.converge_window
        before = [v for g, v in state.converge if g <= cut]
        recent = [v for g, v in state.converge if g > cut]
        if not before or not recent or min(recent) < min(before) - c.converge_rtol * abs(min(before)):
            return ""
        return (f"validation objective of the mean {min(recent):.4g} in the last {c.converge_window} "
                f"generations, {min(before):.4g} before (rtol {c.converge_rtol:g})")

    def _tabu(self, X: np.ndarray, state: SearchState) -> np.ndarray | None:
        """``cmaes.tabu_radius`` > 0: the penalty of each candidate near the final means of the
        earlier restarts, ``tabu_penalty * sum_a max(0, 1 - (|x - a| / (radius sigma0))^2)``
        (None when off or in the first restart): later restarts look elsewhere, so one run yields
        several distinct solutions (``evoplast family`` pools them). A function of X and the
        checkpointed restart records only: same for any n_jobs, and after a resume."""
        c = self.config.cmaes
        if not c.tabu_radius or not state.restart_results:
            return None
        centres = np.array([r["mean"] for r in state.restart_results])
        d = np.linalg.norm(X[:, None, :] - centres[None], axis=2) / (c.tabu_radius * c.sigma0)
        return c.tabu_penalty * np.clip(1.0 - d ** 2, 0.0, None).sum(axis=1)

    def _log(self, state: SearchState, X: np.ndarray, ev: parallel.Evaluation, f: np.ndarray,
             task_loss: np.ndarray, l1: np.ndarray, formula: str, tabu: np.ndarray | None = None) -> None:
        """One evaluations.csv row per candidate (with a ``tabu`` column when the tabu penalty is
        on: ``loss`` includes it; ``metric:<name>``: the mean over the trials that have it of each
        of the task's logged metrics, :meth:`Task.evaluate_logged`) and one history.csv row for the
        generation."""
        g, status, es = state.generation, ev.status, state.es
        means = ev.metric_means()
        rows = []
        for k in range(len(X)):
            counts = _status_counts(status[k], self.status_names)
            worst = max(status[k]) if status[k].size else 0
            rows.append({"generation": g, "restart": state.restart, "candidate": k,
                         **{f"c:{t}": repr(float(v)) for t, v in zip(self.terms, X[k])},
                         "loss": repr(float(f[k])), "task_loss": repr(float(task_loss[k])),
                         "l1": repr(float(l1[k])),
                         **({"tabu": repr(float(0.0 if tabu is None else tabu[k]))}
                            if self.config.cmaes.tabu_radius else {}),
                         "status": self.status_names[int(worst)],
                         **{f"n_{n}": c for n, c in counts.items()},
                         **{f"metric:{n}": repr(float(m[k])) for n, m in means.items()},
                         "message": ev.messages[k]})
        self.run_dir.append_rows(EVALUATIONS, rows)
        counts = _status_counts(status, self.status_names)
        self.run_dir.append_rows(HISTORY, [{
            "generation": g, "restart": state.restart, "popsize": len(X),
            "evaluations": state.evaluations + len(X),
            "best_loss": float(f.min()), "median_loss": float(np.median(f)),
            "mean_loss": float(f.mean()), "best_task_loss": float(task_loss.min()),
            "sigma": float(es.sigma), **{f"n_{n}": c for n, c in counts.items()},
            "elapsed_s": round(state.elapsed_s, 4),
            **{f"m:{t}": repr(float(v)) for t, v in zip(self.terms, es.result.xfavorite)},
            "formula": formula}])
