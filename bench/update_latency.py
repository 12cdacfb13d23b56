"""Live update latency after editing one cell of the 208-cell corpus notebook (issue 6).

A copy of `norvig__pytudes__ipynb_Euler-Opus.ipynb` is shared (tunnel none). Each round edits one
code cell (its source, or its output, alternately), saves the file like Jupyter (temporary file
renamed over it) and measures:

- server side: `LiveContent.update` (read + parse + render the changed cell + splice) and the push
  (the new page swapped in, `control.version` written), called directly;
- end to end: from the save to a real yjs/y-websocket client (Node) seeing the new
  `control.version` through the file watcher, then fetching the changed cells
  (`GET x/cells?since=…`) as a page does;
- a full nbconvert render of the same notebook (warm exporter, no cache) for comparison.

Usage: python bench/update_latency.py [ROUNDS]   (default 20)
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.isolated import isolate  # noqa: E402

isolate()  # before the package is imported: temporary data and cache dirs, whatever is set

from tests.conftest import NodePeer  # noqa: E402
from tests.conftest import save_notebook as save  # noqa: E402

NOTEBOOK = REPO.parent / "shared" / "notebooks" / "norvig__pytudes__ipynb_Euler-Opus.ipynb"


def ms(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    med = statistics.median(xs)
    return f"median {med * 1e3:6.1f} ms  p95 {p95 * 1e3:6.1f}  max {xs[-1] * 1e3:6.1f}"


def edit(nb: dict, code: list[dict], i: int) -> None:
    cell = code[(i * 7) % len(code)]
    if i % 2:
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": f"edit {i}\n"}]
    else:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        cell["source"] = f"# edit {i}\n{src}"


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    from jupyterspot_magic.content import render as R
    from jupyterspot_magic.session import registry as sharing

    work = Path(tempfile.mkdtemp()) / "Euler-Opus.ipynb"
    work.write_bytes(NOTEBOOK.read_bytes())
    nb = json.loads(work.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    s = sharing.share(work, tunnel="none", store=False)
    try:
        while s.updater.content.snapshot is None:
            time.sleep(0.01)
        size = len(s.rendered.html) / 1e6
        print(f"{NOTEBOOK.name}: {len(nb['cells'])} cells, page {size:.2f} MB")

        # Full render for comparison (exporter warm, caches bypassed).
        full = []
        for _ in range(3):
            R.clear_memory_cache()
            t = time.perf_counter()
            R.export_cells(R.prepare(R.read_source(work, title=s.rendered.title)))
            full.append(time.perf_counter() - t)

        # Server side, direct.
        watcher, s.updater.watcher = s.updater.watcher, None
        watcher.stop()
        render, push, total = [], [], []
        for i in range(rounds):
            edit(nb, code, i)
            save(work, nb)
            t = time.perf_counter()
            assert s.updater.update()
            total.append(time.perf_counter() - t)
            render.append(s.updater.content.last["total"])
            push.append(s.updater.content.last["push"])
            assert not s.updater.content.last["full"]

        # End to end through the watcher, seen by a real y-websocket client.
        from jupyterspot_magic.content.live import Watcher

        s.updater.watcher = Watcher(work, s.updater._on_file)
        peer = NodePeer(s.ws_url, "control", s.token)
        peer.wait(lambda e: e["event"] == "synced")
        base = s.url.split("?")[0]
        seen, fetched = [], []
        for i in range(rounds, rounds + max(5, rounds // 2)):
            before = s.rendered.content_hash
            edit(nb, code, i)
            n = len(peer.history)
            t = time.perf_counter()
            save(work, nb)
            event = peer.wait(
                lambda e, b=before, n=n: (
                    e["event"] == "doc"
                    and e["maps"]["control"].get("version") not in (None, b)
                    and any(e is h for h in peer.history[n:])
                ),
                timeout=10,
            )
            seen.append(time.perf_counter() - t)
            version = event["maps"]["control"]["version"]
            with urllib.request.urlopen(f"{base}x/cells?token={s.token}&since={before}") as r:
                reply = json.loads(r.read())
            fetched.append(time.perf_counter() - t)
            assert reply["version"] == version
            assert sum(c["html"] is not None for c in reply["cells"]) == 1
        peer.kill()

        print(f"full nbconvert render (for comparison): {ms(full)}")
        print(f"server side, one cell edited ({rounds} edits):")
        print(f"  re-render (read+parse+changed cell+splice) {ms(render)}")
        print(f"  push (page swapped, control.version)       {ms(push)}")
        print(f"  total                                      {ms(total)}")
        slowest = max(range(len(total)), key=total.__getitem__)
        print(f"  slowest: edit #{slowest + 1} ({total[slowest] * 1e3:.1f} ms)")
        print(f"end to end ({len(seen)} saves, file watcher debounce {STEP} ms):")
        print(f"  save -> client sees new version            {ms(seen)}")
        print(f"  save -> client has the changed cell        {ms(fetched)}")
    finally:
        s.stop()


STEP = 50

if __name__ == "__main__":
    main()
