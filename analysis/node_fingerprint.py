"""Fingerprint of what a run computes on this machine and software stack: hashes of a config's
first training trials, of the task loss of fixed candidates on them, and of a short CMA-ES path.
Machines that print the same line give the same run for the same seed; run it on every node type of
a cluster (with the environment the workers get) before mixing them in one run.

    python analysis/node_fingerprint.py [--config runs/oja.toml] [--trials 8]

Measured on one host by switching OpenBLAS's kernels (``OPENBLAS_CORETYPE=Sandybridge`` or
``Prescott`` instead of the detected ``Haswell``): all three hashes change, so the trials (their
random rotations and products) and CMA-ES's linear algebra depend on the BLAS kernels a CPU gets;
numba's target (``NUMBA_CPU_NAME=generic``) and numpy's AVX2 dispatch (``NPY_DISABLE_CPU_FEATURES``)
did not change them. With ``runs/ei_ie.toml`` only the CMA-ES hash changed (its trials use no BLAS):
the driver's path, not the workers' simulations. Setting one ``OPENBLAS_CORETYPE`` for every
process of a run (before numpy is imported) pins the kernels, where every node supports them.
"""

from __future__ import annotations

import argparse
import hashlib
import os

import numpy as np


def digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def fingerprint(config_path: str, n_trials: int) -> dict:
    import cma

    from evoplast import load_config, make_task, seeding

    task = make_task(load_config(config_path))
    trials = task.make_trials(seeding.trial_seeds(0, seeding.STREAM_TRAIN, 0, n_trials))
    fields = trials._asdict().values() if hasattr(trials, "_asdict") else vars(trials).values()
    arrays = [a for a in fields if isinstance(a, np.ndarray)]
    n = task.rule_template.n_params
    V = np.random.default_rng(1).normal(0.0, 0.3, (16, n))
    loss, _ = task.evaluate(V, trials)
    es = cma.CMAEvolutionStrategy(np.zeros(n), 0.3, {"seed": 1, "popsize": 16, "verbose": -9})
    weights = np.arange(1, n + 1)
    for _ in range(30):
        X = es.ask()
        es.tell(X, [float(np.sum(np.asarray(x) ** 2 * weights)) for x in X])
    return {"config": config_path, "trials": digest(*arrays), "loss": digest(loss),
            "cmaes": digest(np.asarray(es.mean)),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="runs/oja.toml")
    ap.add_argument("--trials", type=int, default=8)
    args = ap.parse_args(argv)
    if args.trials < 1:
        raise SystemExit("--trials must be >= 1")
    f = fingerprint(args.config, args.trials)
    print(" ".join(f"{k}={v}" for k, v in f.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
