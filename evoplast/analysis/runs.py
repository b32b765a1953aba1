"""Run directories -> tidy pandas tables. Reads only the files a run directory holds."""

from __future__ import annotations

import glob as globmod
import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd


def _flatten(prefix: str, obj, out: dict) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(obj, (list, tuple)):
        out[prefix] = json.dumps(obj)
    else:
        out[prefix] = obj


def _run_dirs(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    dirs: list[Path] = []
    for item in items:
        matches = sorted(globmod.glob(str(item))) or [str(item)]
        dirs.extend(Path(m) for m in matches if (Path(m) / "config.json").is_file())
    return dirs


def load_results(paths) -> pd.DataFrame:
    """One row per finished run: config fields (``task.n_inputs``, ``run.seed``, ...), then
    ``loss``, ``generations``, ``evaluations``, ``elapsed_s``, ``theory.*``, ``heldout.*`` and
    ``coef.<term>``. ``paths``: a directory, a glob (``"runs/out/oja-*"``) or a list of them.
    Unfinished runs (no ``result.json``) are left out."""
    rows = []
    for d in _run_dirs(paths):
        if not (d / "result.json").is_file():
            continue
        meta = json.loads((d / "config.json").read_text())
        result = json.loads((d / "result.json").read_text())
        row: dict = {"run_dir": str(d)}
        _flatten("", meta["config"], row)
        for key in ("loss", "objective", "generations", "evaluations", "elapsed_s", "formula_pruned"):
            row[key] = result.get(key)
        _flatten("theory", result.get("theory", {}), row)
        _flatten("heldout", result.get("heldout", {}), row)
        _flatten("heldout_calibrated", result.get("heldout_calibrated", {}), row)
        _flatten("scale_calibration", result.get("scale_calibration", {}), row)
        for term, value in result.get("coefficients", {}).items():
            row[f"coef.{term}"] = value
        rows.append(row)
    return pd.DataFrame(rows)
