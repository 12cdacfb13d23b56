"""Kernel memory added by a share, and document bytes per stroke.

A real kernel shares the demo notebook; RSS is read before the share, after it, and with 30
clients connected holding 2,000 100-point strokes (Float32 bytes, as the viewer stores them).

Usage: python bench/memory.py [CLIENTS] [STROKES] [POINTS]     (default 30 2000 100)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.isolated import isolate  # noqa: E402
from bench.swarm import swarm_command  # noqa: E402
from tests.kernel import Kernel  # noqa: E402


def main() -> None:
    clients, strokes, points = (sys.argv[1:] + ["30", "2000", "100"][len(sys.argv) - 1 :])[:3]
    isolate()  # the kernel inherits temporary data and cache dirs: its own empty board
    kernel = Kernel(REPO)
    try:
        kernel.execute("import json, gc, jupyterspot_magic as j, nbconvert, pycrdt, uvicorn")
        before = kernel.rss_mb()
        info = kernel.json(
            f"s = j.share({str(REPO / 'examples' / 'demo.ipynb')!r}, tunnel='none', "
            "display=False, fresh=True)\nprint(json.dumps(s.info()))"
        )
        time.sleep(1)
        shared = kernel.rss_mb()
        proc = subprocess.Popen(
            swarm_command("strokes.mjs", info, clients, strokes, points),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        ready = json.loads(proc.stdout.readline())
        if not ready.get("ready"):
            raise SystemExit(f"strokes.mjs did not finish: {ready}")
        time.sleep(2)
        loaded = kernel.rss_mb()
        doc_bytes = kernel.json("print(json.dumps(len(s.board_update())))")
        proc.stdin.close()
        proc.wait(30)
        print(
            f"kernel RSS: before share {before:.1f} MB, shared (idle) {shared:.1f} MB "
            f"(+{shared - before:.1f}), with {clients} clients and {strokes} strokes "
            f"{loaded:.1f} MB (+{loaded - before:.1f})"
        )
        print(
            f"board document: {doc_bytes / 1e6:.2f} MB server side, "
            f"{doc_bytes / int(strokes):.0f} bytes per {points}-point stroke "
            f"(client encoding {ready['bytes'] / int(strokes):.0f})"
        )
    finally:
        kernel.shutdown()


if __name__ == "__main__":
    main()
