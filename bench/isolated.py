"""Every benchmark runs on throwaway data: never the user's boards or render cache.

`isolate()` points JUPYTERSPOT_DATA_DIR (the board store, persist/keeper.py) and
JUPYTERSPOT_CACHE_DIR (the render cache, content/render.py) of this process, and so of every
kernel, share or CLI it starts afterwards, at new temporary directories that are removed at exit.
It overrides values already set: a benchmark that resumed a board stored by an earlier run (or by
the user) would measure a room that is not empty (issue 19).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

DATA_ENV = "JUPYTERSPOT_DATA_DIR"
CACHE_ENV = "JUPYTERSPOT_CACHE_DIR"


def isolate() -> dict[str, str]:
    """Fresh temporary data and cache dirs for this process and its children; returns them."""
    dirs = {
        DATA_ENV: tempfile.mkdtemp(prefix="jupyterspot-bench-data-"),
        CACHE_ENV: tempfile.mkdtemp(prefix="jupyterspot-bench-cache-"),
    }
    os.environ.update(dirs)
    for path in dirs.values():
        atexit.register(shutil.rmtree, path, True)
    return dirs
