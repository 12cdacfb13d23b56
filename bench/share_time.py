"""Time from `share()` to a working link, beside plain nbconvert in the same kernel.

Runs in a real IPython kernel (jupyter_client). For each notebook: nbconvert alone (lab
template, exporter already warm), then our share cold (empty render cache), re-shared after
`stop` (memory cache), after a simulated kernel restart (disk cache only), and re-shared
unchanged while live. "link" is the time `share()` takes to return a live link; "page" is the
time until the page's first byte answers at that link.

Usage: python bench/share_time.py [NOTEBOOK ...]   (default: three corpus notebooks)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.kernel import Kernel  # noqa: E402

CORPUS = REPO.parent / "shared" / "notebooks"
DEFAULT = [
    CORPUS / "jupyter__nbconvert__tests_preprocessors_files_HelloWorld.ipynb",
    CORPUS / "norvig__pytudes__ipynb_Euler-Opus.ipynb",
    CORPUS / "generated" / "gen_big_images.ipynb",
]

SETUP = """
import json, os, time, urllib.request, nbformat
from nbconvert import HTMLExporter
import jupyterspot_magic
from jupyterspot_magic.content import render as R
plain = HTMLExporter(template_name="lab")
plain.from_notebook_node(nbformat.read(%r, as_version=4))  # warm both exporters
R.render(%r)

def first_byte(url):
    t = time.perf_counter()
    with urllib.request.urlopen(url) as r:
        r.read(1)
    return time.perf_counter() - t

def timed_share(path):
    t = time.perf_counter()
    s = jupyterspot_magic.share(path, tunnel="none", display=False)
    link = time.perf_counter() - t
    return s, link, first_byte(s.url)
"""

MEASURE = """
path = %r
t = time.perf_counter(); plain.from_notebook_node(nbformat.read(path, as_version=4))
nbconvert = time.perf_counter() - t
R.clear_memory_cache()
s, cold, cold_page = timed_share(path)
jupyterspot_magic.stop()
s, mem, mem_page = timed_share(path)
jupyterspot_magic.stop(); R.clear_memory_cache()   # what a kernel restart leaves: the disk cache
s, disk, disk_page = timed_share(path)
s, again, again_page = timed_share(path)          # unchanged re-share while live
jupyterspot_magic.stop()
print(json.dumps(dict(nbconvert=nbconvert, cold=cold, cold_page=cold_page, mem=mem,
      disk=disk, again=again, again_page=again_page, cells=len(s.rendered.cell_ids),
      mb=os.path.getsize(path) / 1e6)))
"""


def main() -> None:
    notebooks = [Path(p) for p in sys.argv[1:]] or DEFAULT
    with tempfile.TemporaryDirectory() as cache:
        kernel = Kernel(REPO, env={"JUPYTERSPOT_CACHE_DIR": cache, "JUPYTERSPOT_DATA_DIR": cache})
        try:
            kernel.json(SETUP % (str(DEFAULT[0]), str(DEFAULT[0])) + "\nprint(1)")
            print(
                f"{'notebook':34} {'MB':>5} {'cells':>5} {'nbconvert':>9} {'cold':>6} "
                f"{'ratio':>5} {'page':>6} {'mem':>6} {'disk':>6} {'re-share':>8}"
            )
            for nb in notebooks:
                r = kernel.json(MEASURE % str(nb), timeout=600)
                print(
                    f"{nb.name[:34]:34} {r['mb']:5.1f} {r['cells']:5d} {r['nbconvert']:9.3f} "
                    f"{r['cold']:6.3f} {r['cold'] / r['nbconvert']:5.2f} {r['cold_page']:6.3f} "
                    f"{r['mem']:6.3f} {r['disk']:6.3f} {r['again']:8.3f}"
                )
        finally:
            kernel.shutdown()


if __name__ == "__main__":
    main()
