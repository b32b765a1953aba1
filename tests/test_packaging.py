"""The package's metadata agrees with itself."""

import tomllib
from pathlib import Path

import evoplast


def test_pyproject_version_is_the_package_version():
    meta = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert meta["project"]["version"] == evoplast.__version__
