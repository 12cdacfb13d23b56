"""The first share in a fresh kernel, with `%load_ext` in the same cell or in a cell before.

`%load_ext jupyterspot_magic` starts the share server's process in the background
(session/registry.py `prestart`); a one-cell notebook renders in ~10 ms, so its first share
waits for that process (a new interpreter importing the server stack) unless it was started
earlier. Each case in a fresh kernel (jupyter_client), the render cache warm (what is measured
is the server's start, not nbconvert), temporary data and cache dirs.

Usage: python bench/first_share.py [NOTEBOOK] [REPEAT]   (default: the 1-cell HelloWorld, 2)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.isolated import isolate  # noqa: E402
from tests.kernel import Kernel  # noqa: E402

NB = REPO.parent / "shared/notebooks/jupyter__nbconvert__tests_preprocessors_files_HelloWorld.ipynb"
WARM = "import time, json, jupyterspot_magic\nfrom jupyterspot_magic.content import render as R\n"
SHARE = (
    "t = time.perf_counter()\n"
    "s = jupyterspot_magic.share({nb!r}, tunnel='none', display=False)\n"
    "print(json.dumps(time.perf_counter() - t))"
)
LOAD = "get_ipython().run_line_magic('load_ext', 'jupyterspot_magic')\n"


def once(nb: str, same_cell: bool) -> float:
    kernel = Kernel(REPO)
    try:
        kernel.execute(WARM + f"R.render({nb!r}); R.clear_memory_cache()")
        if not same_cell:
            kernel.execute(LOAD)
            time.sleep(2)  # the person reads the next cell before running it
        return kernel.json((LOAD if same_cell else "") + SHARE.format(nb=nb))
    finally:
        kernel.shutdown()


def main() -> None:
    nb = sys.argv[1] if len(sys.argv) > 1 else str(NB)
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    isolate()  # the kernels inherit the temporary data and cache dirs
    for _ in range(repeat):
        for same_cell in (True, False):
            where = "same cell" if same_cell else "a cell before"
            seconds = once(nb, same_cell)
            print(f"%load_ext in {where:13}  share() -> link {seconds:.3f} s", flush=True)


if __name__ == "__main__":
    main()
