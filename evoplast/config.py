"""Experiment configuration: TOML file -> validated, frozen :class:`Config`.

A config has four sections (see the README's config reference for every key and default):

* ``[task]``  -- ``name`` picks the task from :data:`evoplast.tasks.TASKS`; the other keys are that
  task's (e.g. ``n_inputs``, ``input_distribution``, ``n_trials``).
* ``[rule]``  -- ``family`` and the rule's settings (powers, term mask, ``eta``, ``coefficients``).
* ``[cmaes]`` -- ``popsize``, ``sigma0``, ``generations``, ``l1``, ``restarts``, tolerances.
* ``[run]``   -- ``seed``, ``n_jobs``, ``backend``.

Unknown keys, wrong types, impossible values and NaN are refused with a :class:`ConfigError` naming
the key. ``--set section.key=value`` overrides parse ``value`` as a TOML value (bare words are
strings).
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .rules.families import RULE_FAMILIES
from .schema import _check, build_section, is_interval
from .tasks import TASKS

SECTIONS = ("task", "rule", "cmaes", "run")
RENAMED_TASKS = {"inhibitory_target_rate": "istdp"}  # old name -> name


@dataclass(frozen=True)
class CMAESConfig:
    """Outer loop: pycma's CMA-ES on L(theta) = mean_d loss_d(theta) + l1 * ||theta||_1."""

    popsize: int = 0  # 0: pycma's default 4 + floor(3 ln n)
    sigma0: float = 0.5  # initial step size, in coefficient units
    generations: int = 200  # per restart
    l1: float = 0.01  # weight of the L1 penalty on the coefficients
    restarts: int = 0  # restarts after the first; each multiplies the population by restart_popsize_factor
    restart_popsize_factor: int = 2  # 2: IPOP (population doubles each restart); 1: same population
    tolfun: float = 1e-11  # pycma stopping tolerances
    tolx: float = 1e-11
    stall_generations: int = 0  # > 0: a restart whose best task loss is still above stall_loss
    stall_loss: float = 0.0  # after this many generations stops ("stalled") and the next begins
    restart_until_loss: float = 0.0  # > 0: no further restart once one ends with task loss below this
    calibrate_scale: bool = True  # tasks where only eta * theta matters: refit the found rule's overall
    # scale on validation trials and report that rule (the search's own mean stays in result.json)
    prune_tol: float = 0.05  # tasks with prune_terms (pca_network): after the search, drop the terms
    # whose joint removal raises the validation loss by at most this fraction (0: off); evoplast.selection
    prune_rescale: bool = False  # true (tasks whose scale is refit): each pruning prefix is scored at
    # its own overall scale (0.5x-2x), so terms that acted as part of the scale can go
    fine_scale: bool = False  # true (with calibrate_scale): after the grid refits, each factor (the
    # common one; for a rule pair each rule's) is refined on a 16-per-octave grid, in turn, until none moves
    renormalise: bool = False  # true (with calibrate_scale): after the pruning, each rule is divided by its
    # largest |coefficient| and its scale refit again from there (common grid, each rule's, fine): the
    # reported scale does not depend on where the search's was, so rules of one shape get one scale
    tabu_radius: float = 0.0  # > 0: a restart's candidates closer than this (in units of sigma0) to an
    tabu_penalty: float = 1.0  # earlier restart's final mean pay tabu_penalty * (1 - (d / radius)^2)
    converge_every: int = 0  # > 0: every this many generations the mean's objective on converge_trials
    converge_trials: int = 8  # fixed validation trials is recorded; a restart stops ("converged") when
    converge_window: int = 100  # the best of the last converge_window generations is not below
    converge_rtol: float = 0.01  # (1 - converge_rtol) x the best before them
    pretrain: tuple[str, ...] = ()  # --set overrides (task.*, rule.*, cmaes.*) of this config that make a
    # cheaper instance of the task (e.g. fewer inputs); its search runs first, with this run's seed, in
    # RUN_DIR/pretrain, and its chosen mean is this search's initial mean (every restart). A curriculum:
    # the rule's terms must be the same in both; the stages' costs add up (result.json "pretrain")
    bounds: dict[str, Any] = field(default_factory=dict)  # {term: [low, high]}: the search stays in
    # this box (pycma's BoundTransform: every candidate and the reported mean lie inside it); e.g. a
    # theory's regime of validity. Terms not named are unbounded; the start must lie inside
    pretrain_prune: float = 0.0  # terms of the pretrained mean below this fraction of its largest
    # |coefficient| are set to 0 and not searched at this size (small terms that did not matter on the
    # cheap instance make the larger one diverge, and CMA-ES cannot step in those directions at the
    # scale of the others); 0: every term carried over and searched

    def validate(self) -> None:
        _check(self.popsize == 0 or self.popsize >= 2, "cmaes.popsize", "must be 0 (default) or >= 2")
        _check(self.sigma0 > 0, "cmaes.sigma0", "must be > 0")
        _check(self.generations >= 1, "cmaes.generations", "must be >= 1")
        _check(self.l1 >= 0, "cmaes.l1", "must be >= 0")
        _check(self.restarts >= 0, "cmaes.restarts", "must be >= 0")
        _check(self.restart_popsize_factor >= 1, "cmaes.restart_popsize_factor",
               "must be an integer >= 1 (2: IPOP, 1: every restart with the first's population)")
        _check(self.tolfun >= 0 and self.tolx >= 0, "cmaes.tolfun/tolx", "must be >= 0")
        _check(self.stall_generations >= 0, "cmaes.stall_generations", "must be >= 0 (0: off)")
        _check(self.stall_generations == 0 or self.stall_loss > 0, "cmaes.stall_loss",
               "must be > 0 when cmaes.stall_generations is set")
        _check(self.prune_tol >= 0, "cmaes.prune_tol", "must be >= 0 (0: off)")
        _check(isinstance(self.prune_rescale, bool), "cmaes.prune_rescale", "must be true or false")
        _check(isinstance(self.fine_scale, bool), "cmaes.fine_scale", "must be true or false")
        _check(isinstance(self.renormalise, bool), "cmaes.renormalise", "must be true or false")
        _check(self.restart_until_loss >= 0, "cmaes.restart_until_loss", "must be >= 0 (0: off)")
        _check(self.tabu_radius >= 0, "cmaes.tabu_radius", "must be >= 0 (0: off)")
        _check(self.tabu_penalty > 0, "cmaes.tabu_penalty", "must be > 0")
        _check(self.converge_every >= 0, "cmaes.converge_every", "must be >= 0 (0: off)")
        _check(self.converge_trials >= 1, "cmaes.converge_trials", "must be >= 1")
        _check(self.converge_window >= 1, "cmaes.converge_window", "must be >= 1 (generations)")
        _check(0 <= self.converge_rtol < 1, "cmaes.converge_rtol", "must be in [0, 1)")
        _check(not self.converge_every or self.converge_every <= self.converge_window,
               "cmaes.converge_every", "must be <= cmaes.converge_window (records inside the window)")
        _check(0 <= self.pretrain_prune < 1, "cmaes.pretrain_prune", "must be in [0, 1)")
        for name, box in self.bounds.items():
            _check(is_interval(box), f"cmaes.bounds.{name}",
                   f"must be [low, high] with low < high, got {box!r}")
        for text in self.pretrain:
            _check(isinstance(text, str) and text.split(".", 1)[0] in ("task", "rule", "cmaes")
                   and not text.startswith("cmaes.pretrain"), "cmaes.pretrain",
                   f"must be a list of 'task.KEY=VALUE', 'rule.KEY=VALUE' or 'cmaes.KEY=VALUE' "
                   f"overrides (the run's seed and [run] are shared), got {text!r}")


@dataclass(frozen=True)
class RunConfig:
    """Seeds, parallelism and fault handling. Results depend on ``seed`` only, never on
    ``n_jobs``/``backend``/``scheduler``."""

    seed: int = 0
    n_jobs: int = 1  # workers (loky processes, or Dask LocalCluster workers); -1: all cores
    backend: str = "loky"  # loky | threading | sequential | dask
    scheduler: str = ""  # Dask scheduler address (tcp://host:8786); empty: start a LocalCluster
    eval_timeout_s: float = 0.0  # wall-time limit per evaluation task (chunk); 0: none
    retries: int = 1  # an evaluation that raises (or whose worker dies) is retried this many times

    def validate(self) -> None:
        _check(self.seed >= 0, "run.seed", "must be >= 0")
        _check(self.n_jobs == -1 or self.n_jobs >= 1, "run.n_jobs", "must be >= 1 or -1 (all cores)")
        _check(self.backend in ("loky", "threading", "sequential", "dask"), "run.backend",
               "must be one of loky, threading, sequential, dask")
        _check(not self.scheduler or self.backend == "dask", "run.scheduler",
               "is only used with run.backend = 'dask'")
        scheme, sep, rest = self.scheduler.partition("://")
        _check(not self.scheduler or (sep and scheme in SCHEDULER_SCHEMES and rest), "run.scheduler",
               f"must be an address SCHEME://HOST:PORT with SCHEME in {', '.join(SCHEDULER_SCHEMES)} "
               f"(e.g. tcp://host:8786), got {self.scheduler!r}")
        _check(self.eval_timeout_s >= 0, "run.eval_timeout_s", "must be >= 0 (0: no limit)")
        _check(self.eval_timeout_s == 0 or self.backend == "dask"
               or (self.n_jobs != 1 and self.backend == "loky"), "run.eval_timeout_s",
               "needs worker processes: n_jobs >= 2 with loky, or backend dask")
        _check(self.retries >= 0, "run.retries", "must be >= 0")


@dataclass(frozen=True)
class Config:
    task: Any
    rule: Any
    cmaes: CMAESConfig = field(default_factory=CMAESConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict:
        return {name: to_plain(dataclasses.asdict(getattr(self, name))) for name in SECTIONS}

    def replace(self, **sections: Any) -> Config:
        return dataclasses.replace(self, **sections)


def to_plain(obj: Any) -> Any:
    """Dicts, lists and tuples (as lists) copied down to their leaves: what TOML/JSON hold."""
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj


SCHEDULER_SCHEMES = ("tcp", "tls", "ucx", "inproc", "ws", "wss")  # what dask.distributed connects to


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"task.n_inputs=7"`` -> (["task", "n_inputs"], 7). Values are TOML; bare words are strings."""
    if "=" not in text:
        raise ConfigError(f"--set needs KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    parts = key.strip().split(".")
    if len(parts) < 2 or parts[0] not in SECTIONS or not all(parts):
        raise ConfigError(f"--set key must be SECTION.KEY with SECTION in {SECTIONS}, got {key!r}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return parts, value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    data = {k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items()}
    for text in overrides or []:
        parts, value = parse_override(text)
        node = data.setdefault(parts[0], {})
        if not isinstance(node, dict):
            raise ConfigError(f"[{parts[0]}] must be a table (got {node!r}), so --set {text!r} cannot apply")
        for p in parts[1:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {text!r}: {p} is not a table")
        node[parts[-1]] = value
    return data


def read_toml(path: str | Path) -> dict:
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a directory, not a config file (e.g. {path / 'oja.toml'})")
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    if not text.strip():
        raise ConfigError(f"config file {path} is empty")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path} is not valid TOML: {exc}") from None


def from_dict(data: Mapping[str, Any]) -> Config:
    """Resolve a plain dict (parsed TOML, or a run's saved config) into a validated Config."""
    if not isinstance(data, Mapping):
        raise ConfigError("config must be a table")
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"unknown config section [{unknown[0]}] (known: {', '.join(SECTIONS)})")
    task_table = data.get("task", {})
    if not isinstance(task_table, Mapping):
        raise ConfigError("[task] must be a table")
    name = task_table.get("name")
    if name is None:
        raise ConfigError("task.name is missing (known tasks: " + ", ".join(sorted(TASKS)) + ")")
    if name in RENAMED_TASKS:
        raise ConfigError(f"task.name {name!r} is called {RENAMED_TASKS[name]!r} since evoplast 0.3.0: "
                          "edit the config (a run directory's config.json cannot be resumed by this "
                          "version; rerun it)")
    if name not in TASKS:
        raise ConfigError(f"unknown task.name {name!r} (known: {', '.join(sorted(TASKS))})")
    task_cls = TASKS[name]
    task = build_section(task_cls.Config, task_table, "task")
    rule_table = data.get("rule", {})
    if not isinstance(rule_table, Mapping):
        raise ConfigError("[rule] must be a table")
    family = rule_table.get("family", task_cls.default_family)
    if family not in RULE_FAMILIES:
        raise ConfigError(f"unknown rule.family {family!r} (known: {', '.join(sorted(RULE_FAMILIES))})")
    if family not in task_cls.families:
        raise ConfigError(f"task {name!r} does not support rule.family {family!r} "
                          f"(supported: {', '.join(task_cls.families)})")
    rule = build_section(RULE_FAMILIES[family].Config, {"family": family, **rule_table}, "rule")
    cmaes = build_section(CMAESConfig, data.get("cmaes", {}), "cmaes")
    run = build_section(RunConfig, data.get("run", {}), "run")
    config = Config(task=task, rule=rule, cmaes=cmaes, run=run)
    task_cls.check_config(config)
    check_resources(config, task_cls)
    if cmaes.bounds:
        terms = config.rule.rule().terms
        unknown = sorted(set(cmaes.bounds) - set(terms))
        if unknown:
            raise ConfigError(f"cmaes.bounds.{unknown[0]} is not a searched term (searched: "
                              f"{', '.join(terms)})")
    if cmaes.pretrain:
        pretrain_config(config)  # refuses overrides that do not make a valid config with the same terms
    return config


def pretrain_config(config: Config) -> Config | None:
    """The config of ``cmaes.pretrain``'s first stage: this config with those overrides applied
    (and no pretraining of its own); None when there is none. Its rule must have the same terms."""
    if not config.cmaes.pretrain:
        return None
    data = config.to_dict()
    data["cmaes"] = {**data["cmaes"], "pretrain": [], "pretrain_prune": 0.0}
    try:
        pre = from_dict(apply_overrides(data, list(config.cmaes.pretrain)))
    except ConfigError as exc:
        raise ConfigError(f"cmaes.pretrain: {exc}") from None
    if pre.rule.rule().terms != config.rule.rule().terms:
        raise ConfigError("cmaes.pretrain: the overrides change the rule's terms; the pretrained mean "
                          "must fit this search's rule (keep rule.max_power / rule.mask)")
    return pre


def memory_limit() -> int:
    """Bytes a run may plan to hold: half of this machine's physical memory."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 8 << 30


MAX_STEPS = 1e13  # synapse-steps per generation: days of computing on one machine


def _largest_popsize(config: Config) -> int:
    c = config.cmaes
    n = config.rule.rule().n_params
    return (c.popsize or 4 + int(3 * math.log(n))) * c.restart_popsize_factor ** min(c.restarts, 62)


def check_resources(config: Config, task_cls: type, popsize: int | None = None) -> None:
    """Refuse, before anything is written, a config that cannot fit or whose generation would not
    end: the task's estimate for the largest trial set it holds (:meth:`Task.estimate_bytes`) plus
    the largest population (``popsize``; default: popsize doubled per IPOP restart) x searched
    parameters, against half of this machine's memory; then the simulation work of a generation
    (:meth:`Task.estimate_steps`, synapse-steps) against :data:`MAX_STEPS`."""
    n = config.rule.rule().n_params
    popsize = popsize or _largest_popsize(config)
    need = task_cls.estimate_bytes(config, popsize) + popsize * (n + 4 * config.task.n_trials) * 8 * 8
    limit = memory_limit()
    if need > limit:
        raise ConfigError(f"this config needs about {need / 2**30:.3g} GiB (trials and a population of "
                          f"up to {popsize} candidates), more than half of this machine's memory "
                          f"({2 * limit / 2**30:.3g} GiB): reduce the problem size, popsize, restarts "
                          "or trials")
    steps = task_cls.estimate_steps(config, popsize)
    if steps > MAX_STEPS:
        raise ConfigError(f"one generation of this config is about {steps:.2g} simulation steps "
                          f"(synapse updates; population up to {popsize}), more than the limit "
                          f"{MAX_STEPS:.0e} (days of computing): reduce trials, passes, duration or "
                          "the population")


def check_trials(config: Config, n: int) -> None:
    """Refuse ``n`` trials of one rule (``simulate``/``evaluate --trials``) that cannot fit or end."""
    task = dataclasses.replace(config.task, n_trials=n, heldout_trials=n)
    check_resources(config.replace(task=task), TASKS[config.task.name], popsize=1)


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    return from_dict(apply_overrides(read_toml(path), overrides or []))
