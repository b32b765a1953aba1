"""Run directories -> tidy pandas tables. Reads only the files a run directory holds."""

from __future__ import annotations

import glob as globmod
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from ..storage import CONFIG, EVALUATIONS, HISTORY, RESULT


def flatten(prefix: str, obj: Any, out: dict) -> None:
    """Nested dicts -> ``out["a.b.c"]``; lists become JSON strings (one cell each)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(obj, (list, tuple)):
        out[prefix] = json.dumps(obj)
    else:
        out[prefix] = obj


def _run_dirs(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    dirs: list[Path] = []
    for item in items:
        matches = sorted(globmod.glob(str(item))) or [str(item)]
        dirs.extend(Path(m) for m in matches if (Path(m) / CONFIG).is_file())
    return dirs


def load_results(paths: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """One row per finished run: config fields (``task.n_inputs``, ``run.seed``, ...), then
    ``loss``, ``generations``, ``evaluations``, ``elapsed_s``, ``theory.*``, ``heldout.*``,
    ``heldout_search.*`` (the search's mean, before the scale refit), ``scale_calibration.*``,
    ``coef.<term>``, ``start.<term>`` (the search's initial mean), ``evoplast_version`` and
    ``git_revision``. ``paths``: a directory, a glob (``"runs/out/oja-*"``) or a list of them.
    Unfinished runs (no ``result.json``) are left out."""
    rows = []
    for d in _run_dirs(paths):
        if not (d / RESULT).is_file():
            continue
        result = json.loads((d / RESULT).read_text())
        row = _config_row(d)
        for key in ("loss", "objective", "generations", "evaluations", "elapsed_s", "formula_pruned"):
            row[key] = result.get(key)
        flatten("theory", result.get("theory", {}), row)
        flatten("heldout", result.get("heldout", {}), row)
        flatten("heldout_search", result.get("heldout_search", {}), row)
        flatten("scale_calibration", result.get("scale_calibration", {}), row)
        for term, value in result.get("coefficients", {}).items():
            row[f"coef.{term}"] = value
        for term, value in (result.get("start") or {}).items():
            row[f"start.{term}"] = value
        rows.append(row)
    return pd.DataFrame(rows)


def _config_row(d: Path) -> dict:
    meta = json.loads((d / CONFIG).read_text())
    row: dict = {"run_dir": str(d), "evoplast_version": meta.get("evoplast_version"),
                 "git_revision": meta.get("git_revision")}
    flatten("", meta["config"], row)
    return row


def load_runs(paths: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """One tidy row per (run, generation): the run's ``history.csv`` (best/median loss, sigma,
    status counts, ``m:<term>`` distribution mean) with the run's config fields as columns
    (``task.n_inputs``, ``run.seed``, ...) and, for finished runs, ``finished`` plus the result's
    ``theory.*`` and ``heldout.*`` fields repeated on every row, so that e.g.
    ``df[df.generation == df.groupby('run_dir').generation.transform('max')]`` is one row per run and
    ``groupby('task.n_inputs')`` answers "success vs N". Reads only run directory files."""
    frames = []
    for d in _run_dirs(paths):
        if not (d / HISTORY).is_file():
            continue
        h = pd.read_csv(d / HISTORY)
        row = _config_row(d)
        result_file = d / RESULT
        row["finished"] = result_file.is_file()
        if row["finished"]:
            result = json.loads(result_file.read_text())
            flatten("theory", result.get("theory", {}), row)
            flatten("heldout", result.get("heldout", {}), row)
        frames.append(h.assign(**row))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_evaluations(paths: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """The long table of every evaluation (``evaluations.csv``: generation, candidate,
    ``c:<term>`` coefficients, loss, status, message) of each run, with its config fields."""
    frames = []
    for d in _run_dirs(paths):
        if (d / EVALUATIONS).is_file():
            ev = pd.read_csv(d / EVALUATIONS, keep_default_na=False, na_values=[])
            frames.append(ev.assign(**_config_row(d)))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
