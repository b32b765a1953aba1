"""Random streams of a run: every random number evoplast draws comes from a seed made here.

Every stochastic quantity of a run comes from ``SeedSequence(run.seed, spawn_key=(stream, ...))``:

* ``STREAM_TRAIN``: trials of generation g are ``(STREAM_TRAIN, g, d)``, d = 0..n_trials-1, shared by
  all candidates of that generation (common random numbers);
* ``STREAM_VALIDATION``: trials used to pick the best restart;
* ``STREAM_HELDOUT``: trials for the reported held-out score, never seen by the search;
* ``STREAM_CMAES``: the Gaussian numbers of CMA-ES itself (restart r: ``(STREAM_CMAES, r)``);
* ``STREAM_THEORY``: input draws that estimate quantities the theory needs (e.g. the mean
  presynaptic rate of the spiking task's input process);
* ``STREAM_START``: random initial means (restart r: ``(STREAM_START, r)``; ``rule.start = "random"``);
* ``STREAM_FAMILY``: the trials on which ``evoplast family`` re-scores pooled rules
  (``SeedSequence(family seed, spawn_key=(STREAM_FAMILY, 0, d))``), never any run's.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from evoplast.config import Config

STREAM_TRAIN, STREAM_VALIDATION, STREAM_HELDOUT, STREAM_CMAES, STREAM_THEORY = 0, 1, 2, 3, 4
STREAM_START, STREAM_FAMILY = 5, 6


def trial_seeds(seed: int, stream: int, key: int, n: int) -> list[np.random.SeedSequence]:
    return [np.random.SeedSequence(seed, spawn_key=(stream, key, d)) for d in range(n)]


def heldout_seeds(config: Config, n: int | None = None) -> list[np.random.SeedSequence]:
    """The run's held-out trial seeds (``task.heldout_trials`` of them unless ``n``): the datasets of
    ``result.json``'s ``heldout`` score, for anything that must be compared on the same ones."""
    return trial_seeds(config.run.seed, STREAM_HELDOUT, 0, n or config.task.heldout_trials)


def seeds_key(seeds: list[np.random.SeedSequence]) -> str:
    """A string naming a list of trial seeds (for the evaluation cache)."""
    return json.dumps([[int(s.entropy), list(map(int, s.spawn_key))] for s in seeds])
