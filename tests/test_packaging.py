"""The package's metadata agrees with itself."""

import tomllib
from pathlib import Path

import evoplast


def test_pyproject_version_is_the_package_version():
    meta = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert meta["project"]["version"] == evoplast.__version__


def test_numba_cache_falls_back_to_a_temporary_directory_when_nothing_is_writable(monkeypatch):
    """A read-only install with no writable home must still import (numba's cache moves to a
    private temporary directory); a NUMBA_CACHE_DIR the user set is kept."""
    import os

    from evoplast import _numba_cache

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/nonexistent/cache")
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    _numba_cache.fallback()
    assert os.environ["NUMBA_CACHE_DIR"].endswith(f"evoplast-numba-{os.getuid()}")
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/mine")
    _numba_cache.fallback()
    assert os.environ["NUMBA_CACHE_DIR"] == "/mine"
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    monkeypatch.setattr(os, "access", lambda path, mode: True)  # writable install: numba's default
    _numba_cache.fallback()
    assert "NUMBA_CACHE_DIR" not in os.environ


def test_import_works_with_an_unwritable_home(tmp_path):
    """`import evoplast` in a fresh interpreter whose HOME does not exist."""
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(HOME=str(tmp_path / "no" / "home"), XDG_CACHE_HOME=str(tmp_path / "no" / "cache"))
    out = subprocess.run([sys.executable, "-c", "import evoplast; print(evoplast.__version__)"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == evoplast.__version__, out.stderr


def test_python_dash_m_evoplast_is_the_command():
    import subprocess
    import sys

    from evoplast import __version__

    out = subprocess.run([sys.executable, "-m", "evoplast", "--version"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == f"evoplast {__version__}"
