"""Soak: 30 clients drawing and moving for 10 minutes against a share in a real kernel.

Reports: whether every client ends with the same document, the kernel's RSS after warm-up and at
the end (growth %), how many ERROR records the share server logged, and any websocket close the
clients saw (the server closes a sender of anything outside the board schema with bad_frame; the
clients write real shapes and viewer-like awareness, see bench/board_writes.mjs). Too long for
CI.

Usage: python bench/soak.py [CLIENTS] [SECONDS] [KEEP]     (default 30 600 0)
KEEP > 0: each client erases its strokes older than its last KEEP, so the document reaches a
steady state and RSS growth measures leaks rather than more drawing. STORE=none runs the share
without the board store (to tell the store's memory from the room's).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.isolated import isolate  # noqa: E402
from bench.swarm import swarm_command  # noqa: E402
from tests.kernel import Kernel  # noqa: E402

SETUP = """
import json, logging, os, jupyterspot_magic as j
class _Count(logging.Handler):
    errors = 0
    def emit(self, record):
        _Count.errors += record.levelno >= logging.ERROR
for name in ("jupyterspot_magic", "uvicorn", "uvicorn.error", "asyncio"):
    logging.getLogger(name).addHandler(_Count())
s = j.share(%r, tunnel="none", display=False, store=os.environ.get("STORE") or None, fresh=True)
print(json.dumps(s.info()))
"""


def main() -> None:
    clients = sys.argv[1] if len(sys.argv) > 1 else "30"
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 600
    keep = sys.argv[3] if len(sys.argv) > 3 else "0"
    isolate()  # the kernel inherits temporary data and cache dirs: its own empty board
    kernel = Kernel(REPO)
    try:
        info = kernel.json(SETUP % str(REPO / "examples" / "demo.ipynb"))
        samples: list[tuple[float, float]] = []
        done = threading.Event()

        def sample() -> None:
            t0 = time.monotonic()
            while not done.wait(5):
                samples.append((time.monotonic() - t0, kernel.rss_mb()))

        threading.Thread(target=sample, daemon=True).start()
        out = subprocess.run(
            swarm_command("soak.mjs", info, clients, str(seconds), keep),
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            cwd=REPO,
        )
        done.set()
        if out.returncode or not out.stdout.strip():
            print(out.stderr[-3000:], file=sys.stderr)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        errors = kernel.json("print(json.dumps(_Count.errors))")
        warm = [rss for t, rss in samples if t >= min(60, seconds / 5)]
        start, end = warm[0], warm[-1]
        print(f"clients {result['clients']}, strokes {result['strokes']}, seconds {seconds}")
        print(
            f"documents identical on every client: {result['distinct'] == 1} ({result['digest']})"
        )
        print(
            f"kernel RSS after warm-up {start:.1f} MB, at end {end:.1f} MB, "
            f"growth {100 * (end - start) / start:+.1f}%, peak {max(warm):.1f} MB"
        )
        doc_mb = kernel.json("print(json.dumps(len(s.board_update()) / 1e6))")
        print(f"board document at end: {doc_mb:.2f} MB (keep={keep})")
        print(f"server ERROR log records: {errors}")
        # a close other than the clients' own at the end is a finding (bad_frame: schema refused)
        print(f"websocket closes seen by the clients: {result.get('closes') or 'none'}")
        per_minute = [f"{rss:.0f}" for t, rss in samples if int(t) % 60 < 5]
        print(f"RSS each minute (MB): {' '.join(per_minute)}")
    finally:
        kernel.shutdown()


if __name__ == "__main__":
    main()
