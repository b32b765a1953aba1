"""Where numba caches compiled kernels when the defaults are not writable (imported first)."""

from __future__ import annotations


def fallback() -> None:
    """numba keeps compiled kernels beside the source (``__pycache__``) or in the user's cache
    (``$XDG_CACHE_HOME`` or ``~/.cache``); where neither is writable (a read-only install and no
    writable home), ``import evoplast`` would fail. Then a private directory under the system's
    temporary directory is used (``NUMBA_CACHE_DIR``; a value already set is kept)."""
    import os
    import tempfile

    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    user_cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for place in (os.path.join(os.path.dirname(__file__), "kernels"), user_cache):
        while place and not os.path.exists(place):  # the first existing directory on the way
            parent = os.path.dirname(place)
            place = "" if parent == place else parent
        if place and os.access(place, os.W_OK):
            return
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(tempfile.gettempdir(), f"evoplast-numba-{os.getuid()}")


fallback()  # on import, before any kernel module imports numba
