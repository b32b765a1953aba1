"""evoplast: meta-learn synaptic plasticity rules with CMA-ES (Confavreux et al., NeurIPS 2020).

Public API::

    from evoplast import load_config, run, PolynomialRule
    config = load_config("runs/oja.toml", ["task.n_inputs=7"])
    result = run(config, "runs/out/my-run")        # dict, also written to result.json
"""

from __future__ import annotations

# 0.8.0: cmaes.bounds; runs/istdp_rate_only.toml searches inside the mean field's regime;
# 0.7.0: cmaes.pretrain (a curriculum stage); 0.6.0: PCA kernel (same weights to 1e-9, other bits);
# 0.4.0: istdp input spikes from a new generator (same model, other draws); evoplast family;
# 0.3.0: task istdp (was inhibitory_target_rate), one status table, checkpoint format 2
__version__ = "0.8.0"

from collections.abc import Callable, Iterable
from pathlib import Path

from . import _numba_cache  # noqa: F401  (first: sets numba's cache directory if needed)
from .config import Config, load_config
from .errors import ConfigError, EvoplastError, RunDirError
from .rules import OJA_TERMS, PolynomialRule
from .tasks import TASKS, make_task


def run(
    config: Config, out: str | Path, n_jobs: int | None = None, progress: Callable[[str], None] | None = None
) -> dict:
    """Run a search for ``config`` into the new run directory ``out``; returns the result dict."""
    from .search import Search
    from .storage import RunDir

    run_dir = RunDir(out)
    run_dir.create(config.to_dict())
    return Search(config, run_dir, n_jobs=n_jobs, progress=progress).run().to_json()


def ensure_run(
    config_path: str | Path, overrides: Iterable[str], out: str | Path, threads: int | None = None
) -> str:
    """The run of ``load_config(config_path, overrides)`` in ``out``, for seed sweeps: a finished run
    there is reused, an unfinished one resumed, else a new one started (no progress lines).
    ``threads``: numba threads for this process (1 when sweeps run one process per core)."""
    from pathlib import Path

    from . import storage
    from .search import Search
    from .storage import RunDir

    if threads:
        import numba

        numba.set_num_threads(threads)
    run_dir = RunDir(out)
    config = load_config(config_path, list(overrides))
    if run_dir.exists():
        _same_run_or_refuse(run_dir, config)
    if not (Path(out) / storage.RESULT).exists():
        if not run_dir.exists():
            run_dir.create(config.to_dict(), source=str(config_path))
        Search(config, run_dir, progress=None).run()
    return str(run_dir.path)


def _same_run_or_refuse(run_dir, config) -> None:
    """A run directory is reused only for the same resolved config under the same evoplast
    version: anything else would mix results of different settings or code in one table."""
    import json

    from .storage import RunDirError

    meta = run_dir.meta()
    if meta.get("evoplast_version") != __version__:
        raise RunDirError(f"{run_dir.path} was run with evoplast {meta.get('evoplast_version')}, this "
                          f"is {__version__}: move it away (or delete it) to rerun")
    from .config import from_dict

    old, new = meta["config"], json.loads(json.dumps(config.to_dict()))
    try:  # keys added by a later version resolve to their defaults: the same run if they match
        old = json.loads(json.dumps(from_dict(old).to_dict()))
    except Exception:  # noqa: BLE001 -- an old config this version cannot read differs anyway
        pass
    if old != new:
        keys = sorted(f"{s}.{k}" for s in set(old) | set(new)
                      for k in set(old.get(s, {})) | set(new.get(s, {}))
                      if old.get(s, {}).get(k) != new.get(s, {}).get(k))
        raise RunDirError(f"{run_dir.path} holds a run of another config (differs in "
                          f"{', '.join(keys[:5])}): move it away or pick another directory")


def resume(out: str | Path, n_jobs: int | None = None, progress: Callable[[str], None] | None = None) -> dict:
    """Continue the run in ``out`` from its checkpoint (or finish it again if it is done)."""
    from .config import from_dict
    from .search import Search
    from .storage import RunDir

    run_dir = RunDir(out)
    run_dir.require()
    return Search(from_dict(run_dir.meta()["config"]), run_dir, n_jobs=n_jobs,
                  progress=progress).run().to_json()


__all__ = [
    "OJA_TERMS",
    "TASKS",
    "Config",
    "ConfigError",
    "EvoplastError",
    "PolynomialRule",
    "RunDirError",
    "__version__",
    "ensure_run",
    "load_config",
    "make_task",
    "resume",
    "run",
]
