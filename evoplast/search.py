r"""The CMA-ES driver: ask -> evaluate -> tell -> log -> checkpoint, generation by generation.

The search minimises

.. math::  L(\theta) = \frac{1}{D} \sum_{d=1}^{D} l_d(\theta) + \lambda_{L1} \lVert\theta\rVert_1

with pycma's ask/tell interface (Hansen's CMA-ES; evoplast does not implement its own). The D
trials of a generation are shared by all candidates (common random numbers) and fresh each
generation. CMA-ES draws its Gaussian numbers from a :class:`numpy.random.Generator` seeded from
the run's seed (never from the global ``np.random``), and that generator lives inside the pickled
pycma object, so a resumed run continues the exact stream.

IPOP restarts (``cmaes.restarts``): when a restart stops (pycma's termination criteria,
``cmaes.generations`` generations, or -- with ``cmaes.stall_generations`` -- a best task loss still
above ``cmaes.stall_loss`` after that many generations: a search stuck in a known bad basin), a new
CMA-ES starts from the initial mean with twice the population. With ``cmaes.restart_until_loss``,
no restart follows one whose last generation's best task loss is below that value. The found
rule is the final distribution mean (pycma's ``xfavorite``, preferred for noisy losses) of the
restart with the lowest loss on validation trials; it is then scored on held-out trials that the
search never saw.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from collections.abc import Callable

import numpy as np

with warnings.catch_warnings():  # pycma warns when matplotlib is absent; evoplast does not plot with it
    warnings.filterwarnings("ignore", message="Could not import matplotlib", category=UserWarning)
    import cma

from . import parallel, refine, seeding
from .config import Config
from .errors import RunDirError
from .storage import EVALUATIONS, HISTORY, RESULT, RunDir, write_json
from .tasks import make_task

CHECKPOINT_FORMAT = 1


class GaussianSource:
    """Picklable stand-in for ``np.random.randn`` that draws from its own Generator."""

    def __init__(self, seed_sequence: np.random.SeedSequence):
        self.rng = np.random.default_rng(seed_sequence)

    def __call__(self, *shape):
        return self.rng.standard_normal(shape if shape else None)


def make_es(x0: np.ndarray, config: Config, popsize: int, restart: int) -> cma.CMAEvolutionStrategy:
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
    return cma.CMAEvolutionStrategy(np.asarray(x0, float).tolist(), c.sigma0, opts)


#: run settings that do not change results (resume may override them)
EXECUTION_KEYS = ("n_jobs", "backend", "scheduler", "eval_timeout_s", "retries")


def config_hash(config: Config) -> str:
    """SHA-256 of the resolved config, less the execution settings of ``[run]``: what a checkpoint
    was made with, so that a hand-edited config.json is not resumed as if nothing changed."""
    d = config.to_dict()
    d["run"] = {k: v for k, v in d["run"].items() if k not in EXECUTION_KEYS}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()


def l1_penalty(X: np.ndarray, c, mask: np.ndarray | None = None) -> np.ndarray:
    """Sparsity penalty ``l1 * sum_i mask_i |theta_i|`` per row of X (mask: all ones by default;
    rule families with log-scaled time constants leave those out)."""
    a = np.abs(np.atleast_2d(X))
    return c.l1 * (a if mask is None else a * mask).sum(axis=1)


def _status_counts(status: np.ndarray, names: dict[int, str]) -> dict[str, int]:
    return {name: int((status == code).sum()) for code, name in names.items()}


class Search:
    """One run: a config, a run directory and an evaluator. ``run()`` goes to the end."""

    def __init__(self, config: Config, run_dir: RunDir, n_jobs: int | None = None,
                 progress: Callable[[str], None] | None = print, progress_interval: float = 0.0):
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
        self.progress_interval = progress_interval  # seconds between progress lines (0: every one)
        self._last_print = -np.inf

    # -- state --------------------------------------------------------------------------------------
    def _new_state(self) -> dict:
        es = make_es(self._start(0), self.config, self.config.cmaes.popsize, 0)
        return {"format": CHECKPOINT_FORMAT, "generation": 0, "evaluations": 0, "restart": 0,
                "gen_in_restart": 0, "popsize": es.popsize, "es": es, "restart_results": [],
                "done": False, "elapsed_s": 0.0, "config_sha256": config_hash(self.config)}

    def _start(self, restart: int) -> np.ndarray:
        """Initial mean of a restart (``rule.start``: the configured point, or drawn from the seed)."""
        return self.config.rule.start_vector(self.config.run.seed, restart)

    def _load_state(self) -> dict:
        state = self.run_dir.load_checkpoint()
        if state is None:  # nothing checkpointed (killed in the first generation): start over,
            state = self._new_state()  # dropping the rows that generation may have logged
        elif state.get("format") != CHECKPOINT_FORMAT:
            raise RunDirError(f"{self.run_dir.file('checkpoint.pkl')}: unsupported checkpoint format "
                              f"{state.get('format')!r}")
        elif state.get("config_sha256") != config_hash(self.config):
            raise RunDirError(f"{self.run_dir.file('config.json')} no longer matches the config the "
                              "checkpoint was made with (edited by hand?); restore it or start a new run")
        last = state["generation"] - 1
        self.run_dir.truncate_rows(HISTORY, last)
        self.run_dir.truncate_rows(EVALUATIONS, last)
        return state

    # -- main loop ----------------------------------------------------------------------------------
    def run(self) -> dict:
        self.run_dir.lock()
        try:
            state = self._load_state()
            if state["generation"]:
                self.progress(f"resuming {self.run_dir.path} after generation {state['generation']}")
            with self.make_evaluator() as evaluator:
                while not state["done"]:
                    self._step(state, evaluator)
                result = self._finish(state, evaluator)
        finally:
            self.run_dir.unlock()
        return result

    def make_evaluator(self) -> parallel.Evaluator:
        r = self.config.run
        return parallel.Evaluator(self.n_jobs, r.backend, scheduler=r.scheduler, timeout=r.eval_timeout_s,
                                  retries=r.retries, on_fault=lambda m: self.progress(f"fault: {m}"))

    def _step(self, state: dict, evaluator: parallel.Evaluator) -> None:
        cfg = self.config
        es: cma.CMAEvolutionStrategy = state["es"]
        c = cfg.cmaes
        stop = dict(es.stop())
        if state["gen_in_restart"] >= c.generations:
            stop.setdefault("generations", c.generations)
        best = state.get("restart_best_task_loss", np.inf)  # lowest in this restart so far
        if c.stall_generations and state["gen_in_restart"] == c.stall_generations and best > c.stall_loss:
            stop["stalled"] = f"best task loss {best:.4g} > {c.stall_loss:g}"
        if stop:
            last = state.get("last_best_task_loss", np.inf)
            state["restart_results"].append({
                "restart": state["restart"], "mean": np.array(es.result.xfavorite),
                "generations": state["gen_in_restart"], "popsize": state["popsize"],
                "stop": sorted(stop), "last_best_task_loss": last})
            good = c.restart_until_loss > 0 and last < c.restart_until_loss
            if good and state["restart"] < c.restarts:
                self.progress(f"no further restart: last best task loss {last:.4g} < "
                              f"{c.restart_until_loss:g} (cmaes.restart_until_loss)")
            if state["restart"] < c.restarts and not good:
                state["restart"] += 1
                state["popsize"] *= 2
                state["gen_in_restart"] = 0
                state["restart_best_task_loss"] = np.inf
                state["es"] = make_es(self._start(state["restart"]), cfg, state["popsize"],
                                      state["restart"])
                self.progress(f"restart {state['restart']}: popsize {state['popsize']} "
                              f"(previous stopped on {', '.join(sorted(stop))})")
            else:
                state["done"] = True
            self.run_dir.save_checkpoint(state)
            return

        t0 = time.perf_counter()
        g = state["generation"]
        X = np.array(es.ask())
        seeds = seeding.trial_seeds(cfg.run.seed, seeding.STREAM_TRAIN, g, cfg.task.n_trials)
        ev = evaluator.evaluate(self.task, X, seeds=seeds)
        loss, status = ev.loss, ev.status
        task_loss = loss.mean(axis=1)
        l1 = l1_penalty(X, cfg.cmaes, self.l1_mask)
        f = task_loss + l1
        es.tell(list(X), f.tolist())

        rows = []
        for k in range(len(X)):
            counts = _status_counts(status[k], self.status_names)
            worst = max(status[k]) if status[k].size else 0
            rows.append({"generation": g, "restart": state["restart"], "candidate": k,
                         **{f"c:{t}": repr(float(v)) for t, v in zip(self.terms, X[k])},
                         "loss": repr(float(f[k])), "task_loss": repr(float(task_loss[k])),
                         "l1": repr(float(l1[k])), "status": self.status_names[int(worst)],
                         **{f"n_{n}": c for n, c in counts.items()}, "message": ev.messages[k]})
        self.run_dir.append_rows(EVALUATIONS, rows)
        counts = _status_counts(status, self.status_names)
        mean_rule = self.template.from_vector(es.mean)
        formula = mean_rule.formula(prune=0.1, digits=3)
        state["elapsed_s"] += time.perf_counter() - t0
        self.run_dir.append_rows(HISTORY, [{
            "generation": g, "restart": state["restart"], "popsize": len(X),
            "evaluations": state["evaluations"] + len(X),
            "best_loss": float(f.min()), "median_loss": float(np.median(f)),
            "mean_loss": float(f.mean()), "best_task_loss": float(task_loss.min()),
            "sigma": float(es.sigma), **{f"n_{n}": c for n, c in counts.items()},
            "elapsed_s": round(state["elapsed_s"], 4),
            **{f"m:{t}": repr(float(v)) for t, v in zip(self.terms, es.mean)}, "formula": formula}])
        state["restart_best_task_loss"] = min(state.get("restart_best_task_loss", np.inf),
                                              float(task_loss.min()))
        state["last_best_task_loss"] = float(task_loss.min())
        state["generation"] = g + 1
        state["gen_in_restart"] += 1
        state["evaluations"] += len(X)
        self.run_dir.save_checkpoint(state)
        now = time.monotonic()
        last = state["gen_in_restart"] == cfg.cmaes.generations
        if now - self._last_print >= self.progress_interval or state["gen_in_restart"] == 1 or last:
            self._last_print = now
            bad = len(status.ravel()) - counts["ok"]
            self.progress(f"gen {g + 1:4d} | best {f.min():.4g} median {np.median(f):.4g} | "
                          f"sigma {es.sigma:.3g} | bad trials {bad:3d} | mean rule: {self._prefix}{formula}")

    # -- result -------------------------------------------------------------------------------------
    def _refine(self, vector: np.ndarray, evaluator: parallel.Evaluator) -> tuple[np.ndarray, dict]:
        """:func:`evoplast.refine.refine_for` with this run's settings (see there)."""
        return refine.refine_for(self.config, self.task, evaluator, vector)

    def _finish(self, state: dict, evaluator: parallel.Evaluator) -> dict:
        cfg = self.config
        results = state["restart_results"]
        chosen = results[0]
        if len(results) > 1:  # pick the restart whose mean scores best on validation trials
            seeds = seeding.trial_seeds(cfg.run.seed, seeding.STREAM_VALIDATION, 0, 4 * cfg.task.n_trials)
            means = np.array([r["mean"] for r in results])
            loss = evaluator.evaluate(self.task, means, seeds=seeds).loss
            score = loss.mean(axis=1) + l1_penalty(means, cfg.cmaes, self.l1_mask)
            for r, s in zip(results, score):
                r["validation_loss"] = float(s)
            chosen = results[int(np.argmin(score))]
        searched = self.template.from_vector(chosen["mean"])
        heldout_trials = self.task.make_trials(seeding.heldout_seeds(cfg))
        heldout_search = self.task.metrics(searched.to_vector(), heldout_trials)
        rule, heldout, extra = searched, heldout_search, {}
        vector, records = self._refine(searched.to_vector(), evaluator)
        if records:  # a refit and/or pruning ran
            rule = self.template.from_vector(vector)
            heldout = (heldout_search if np.array_equal(vector, searched.to_vector())
                       else self.task.metrics(vector, heldout_trials))
            extra = {**records, "heldout_search": heldout_search}
        result = {
            "task": cfg.task.name,
            "family": cfg.rule.family,
            "coefficients": rule.as_dict(),
            "search_coefficients": searched.as_dict(),
            "start": self.template.from_vector(self._start(chosen["restart"])).as_dict(),
            "normalized": rule.normalized(),
            "eta": rule.eta,
            "formula": rule.formula(prune=0.0, digits=6),
            "formula_pruned": rule.formula(prune=0.05, digits=3),
            "latex": rule.latex(),
            "loss": heldout["loss"],
            "objective": heldout["loss"] + float(l1_penalty(rule.to_vector(), cfg.cmaes, self.l1_mask)[0]),
            "heldout": heldout,
            **extra,
            "theory": self.task.theory(rule, heldout_trials),
            "generations": state["generation"],
            "evaluations": state["evaluations"],
            "seed": cfg.run.seed,
            "restarts": [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in r.items()}
                         for r in results],
            "chosen_restart": chosen["restart"],
            "elapsed_s": round(state["elapsed_s"], 3),
        }
        write_json(self.run_dir.file(RESULT), result)
        return result

