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


@pytest.fixture
def hash_without_key(monkeypatch):
    """``hash_without_key(config, section, key)``: the checkpoint hash of ``config`` as a version
    without ``[section] key`` computed it (the resolved config written without the key): a
    later-added key at its default must leave it equal."""
    from evoplast.config import Config
    from evoplast.search import config_hash

    to_dict = Config.to_dict

    def compute(config, section: str, key: str) -> str:
        def earlier(self):
            d = to_dict(self)
            del d[section][key]
            return d

        with monkeypatch.context() as m:
            m.setattr(Config, "to_dict", earlier)
            return config_hash(config)

    return compute
