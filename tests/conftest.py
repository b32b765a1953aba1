import pytest

from evoplast import load_config

TINY = [
    "task.n_inputs=3", "task.n_trials=4", "task.n_samples=30", "task.n_passes=3",
    "task.heldout_trials=4", "cmaes.popsize=8", "cmaes.generations=6",
]


@pytest.fixture
def tiny_config():
    """A few-second Oja search (not a rediscovery: only the machinery is under test)."""
    return load_config("runs/oja.toml", TINY)
