"""Kernel memory before a share, during it and after its stop; and what the huge-notebook note
costs.

Part 1. For a 1 MB notebook (fresh random PNGs), the corpus' 17.9 MB gen_big_images.ipynb and
a 55 MB notebook (fresh random PNGs), each in a fresh real kernel (jupyter_client) with an
empty render cache: RSS "before" (after `%load_ext jupyterspot_magic` and one share of
examples/demo.ipynb started and stopped, then gc.collect() and malloc_trim(0) in every mode:
the imports, nbconvert's exporter and templates that a first share pays once per process),
"during" (the share up, its cells learnt), "after" (`s.stop()`, the Share still held, as
`s = share(...)` holds it). Side by side:
  release   this code: stop lets go of the share's page, cells, live notebook and render
            memory cache, then collects and trims the heap (session/footprint.py)
  drop-only the same without `footprint.give_back()` (no gc.collect, no malloc_trim)
  without   the code before it: `Share._release` does nothing, and no size note
Medians of RUNS runs (runs interleave the modes). "stop s": how long `stop()` took; "serve s":
share() after the render (the note waits for the server's page: release vs without).

Part 2 (the note's cost on the kernel's thread): the 55 MB notebook's page weighed three ways,
in this process: the server's numbers (this code: the kernel only waits; part 1's serve
column), cutting the images out and gzipping the rest here, and gzipping the whole page here.

Usage: python bench/memory_stop.py [RUNS]     (default 3)
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.isolated import isolate  # noqa: E402
from tests.kernel import Kernel  # noqa: E402
from tests.live_helpers import query  # noqa: E402
from tests.test_huge_notebook import write_huge_notebook  # noqa: E402

BIG_IMAGES = REPO.parent / "shared" / "notebooks" / "generated" / "gen_big_images.ipynb"
MODES = {
    "release": "",
    "drop-only": (
        "from jupyterspot_magic.session import footprint; footprint.give_back = lambda: None"
    ),
    "without": (
        "from jupyterspot_magic.session import footprint, share as S\n"
        "S.Share._release = lambda self: None; footprint.HUGE_BYTES = 10**15"
    ),
}
SHARE = """
import json, time, jupyterspot_magic as j
s = j.share({path!r}, tunnel="none", display=False, fresh=True)
t = time.perf_counter()
while s.updater.content.snapshot is None and time.perf_counter() - t < 300:
    time.sleep(0.05)  # the cells learnt in the background: the share fully up
print(json.dumps({{"serve": s.timings["serve"], "notes": s.notes}}))
"""
STOP = """
import json, time
t = time.perf_counter(); s.stop(); print(json.dumps(time.perf_counter() - t))
"""


def last_json(out: str):
    return json.loads(out.strip().splitlines()[-1])


def one_run(notebook: Path, mode: str) -> dict:
    """A fresh kernel: before, during, after for one notebook in one mode."""
    folder = Path(tempfile.mkdtemp(prefix="memory-stop-"))
    small = folder / "small.ipynb"
    shutil.copy(REPO / "examples" / "demo.ipynb", small)
    kernel = Kernel(folder, env={"JUPYTERSPOT_CACHE_DIR": str(folder / "cache")})  # cold
    try:
        query(kernel, "%load_ext jupyterspot_magic")
        if MODES[mode]:
            query(kernel, MODES[mode])
        query(kernel, SHARE.format(path=str(small)), timeout=120)
        # the same baseline in every mode: trimmed as this code's stop trims it
        query(
            kernel,
            "s.stop(); del s; import gc, ctypes; gc.collect(); ctypes.CDLL(None).malloc_trim(0)",
        )
        before = kernel.rss_mb()
        shared = last_json(query(kernel, SHARE.format(path=str(notebook)), timeout=600))
        during = kernel.rss_mb()
        stop = last_json(query(kernel, STOP, timeout=120))
        after = kernel.rss_mb()
    finally:
        kernel.shutdown()
        shutil.rmtree(folder, ignore_errors=True)
    noted = [n for n in shared["notes"] if n.startswith("large notebook:")]
    return {
        "before": before,
        "during": during,
        "after": after,
        "stop": stop,
        "serve": shared["serve"],
        "note": noted[0] if noted else "",
    }


def part1(notebooks: dict[str, Path], runs: int) -> None:
    print("Part 1: kernel RSS (MB), medians of", runs, "runs")
    header = f"{'notebook':<26}{'mode':<11}{'before':>8}{'during':>8}{'after':>8}"
    print(header + f"{'after-before':>14}{'after/before':>14}{'stop s':>8}{'serve s':>9}")
    for name, path in notebooks.items():
        results: dict[str, list[dict]] = {mode: [] for mode in MODES}
        for _ in range(runs):
            for mode in MODES:
                results[mode].append(one_run(path, mode))
        for mode, rows in results.items():
            med = {k: statistics.median(r[k] for r in rows) for k in rows[0] if k != "note"}
            print(
                f"{name:<26}{mode:<11}{med['before']:>8.1f}{med['during']:>8.1f}"
                f"{med['after']:>8.1f}{med['after'] - med['before']:>+14.1f}"
                f"{med['after'] / med['before']:>14.3f}{med['stop']:>8.2f}{med['serve']:>9.2f}"
            )
        note = next((r["note"] for r in results["release"] if r["note"]), "")
        print(f"{'':<26}note: {note or '(none)'}")


def part2(path: Path) -> None:
    from jupyterspot_magic.content.images import extract
    from jupyterspot_magic.content.render import render
    from jupyterspot_magic.server.pages import IMAGE_PREFIX, gzip_level

    page = render(path).html
    print(f"\nPart 2: weighing the {len(page) / 1e6:.1f} MB page on the kernel's thread (s)")
    t0 = time.perf_counter()
    cut, images = extract(page, IMAGE_PREFIX)
    t1 = time.perf_counter()
    body = cut.encode()
    packed = zlib.compress(body, gzip_level(body))
    t2 = time.perf_counter()
    whole = page.encode()
    zlib.compress(whole, gzip_level(whole))
    t3 = time.perf_counter()
    zlib.compress(whole, 6)
    t4 = time.perf_counter()
    print(f"  cut the images out here            {t1 - t0:6.2f}")
    print(f"  + gzip the rest here               {t2 - t1:6.2f}  ({len(packed) / 1e6:.2f} MB)")
    print(f"  gzip the whole page here, level {gzip_level(whole)}  {t3 - t2:6.2f}")
    print(f"  gzip the whole page here, level 6  {t4 - t3:6.2f}")
    print(f"  ({len(images)} images, {sum(len(i.data) for i in images.values()) / 1e6:.1f} MB)")
    print("  this code: 0 here; the kernel waits for the server's page (part 1, serve s)")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    isolate()
    work = Path(tempfile.mkdtemp(prefix="memory-stop-nb-"))
    notebooks = {"1 MB (random PNGs)": work / "one.ipynb"}
    write_huge_notebook(notebooks["1 MB (random PNGs)"], 1)
    notebooks["17.9 MB gen_big_images"] = work / "gen_big_images.ipynb"
    shutil.copy(BIG_IMAGES, notebooks["17.9 MB gen_big_images"])
    notebooks["55 MB (random PNGs)"] = work / "huge.ipynb"
    write_huge_notebook(notebooks["55 MB (random PNGs)"], 55)
    try:
        part1(notebooks, runs)
        part2(notebooks["55 MB (random PNGs)"])
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
