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


def test_an_installed_copy_records_the_checkouts_revision_only_when_it_runs_the_same_sources(tmp_path):
    """``git_revision`` for an install outside git: the working directory's checkout revision when
    the installed ``evoplast/`` has the checkout's sources byte for byte; otherwise None and a
    warning (an older install run from a newer checkout must not claim the checkout's revision)."""
    import shutil
    import subprocess

    import pytest

    from evoplast.storage import git_revision

    repo = tmp_path / "checkout"
    (repo / "evoplast" / "kernels").mkdir(parents=True)
    (repo / "evoplast" / "__init__.py").write_text("x = 1\n")
    (repo / "evoplast" / "kernels" / "k.py").write_text("y = 2\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "c"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    same = tmp_path / "site" / "evoplast"
    shutil.copytree(repo / "evoplast", same)
    assert git_revision(same, repo) == head
    (same / "kernels" / "k.py").write_text("y = 3\n")  # the install is older than the checkout
    with pytest.warns(UserWarning, match="sources differ from the checkout"):
        assert git_revision(same, repo) is None
    (same / "kernels" / "k.py").write_text("y = 2\n")
    (repo / "evoplast" / "new.py").write_text("z = 0\n")  # the checkout has a module the install lacks
    assert git_revision(same, repo) is None
    assert git_revision(same, tmp_path) is None  # no checkout in the working directory: nothing to name
