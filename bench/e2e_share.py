"""A real share in a Python process of its own, plain or end-to-end encrypted (issue 14), for
bench/e2e_pages.py and bench/e2e_fanout.py.

One process holds one share (session/registry.py keeps one per process), so the encrypted and
the plain share of the same run live side by side in two processes, each with its own server
child process, driven the way a user runs them:
`jupyterspot_magic.share(path, tunnel="none", e2e=..., store=False, display=False)`.
`cpu_seconds(share.pid)` (bench/crowd.py) counts the whole tree, the server's process included.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.crowd import end_share  # noqa: E402
from tests.processes import LineProcess  # noqa: E402

NOTEBOOKS = REPO.parent / "shared" / "notebooks"  # the shared corpus, used in place
EULER = NOTEBOOKS / "norvig__pytudes__ipynb_Euler-Opus.ipynb"  # 208 cells
BIG = NOTEBOOKS / "generated" / "gen_big_images.ipynb"  # 17.9 MB, 120 PNG figures
DEMO = REPO / "examples" / "demo.ipynb"

SHARE = r"""
import json, os, sys
import jupyterspot_magic as j
kw = json.loads(sys.argv[1])
s = j.share(kw.pop("path"), tunnel="none", store=False, display=False, **kw)
print(json.dumps({**s.info(), "pid": os.getpid()}), flush=True)
sys.stdin.read()  # until the driver closes our stdin
s.stop()
"""


@dataclass
class Share:
    """What the bench needs of a running share (Share.info() of session/share.py + its pid)."""

    e2e: bool
    url: str  # the guest link, with `#k=<key>` when encrypted
    ws_url: str  # the base URL y-websocket appends "/board" or "/control" to
    room: str
    token: str
    host_token: str
    key: str  # seal.key_text of the share key; "" when plain
    pid: int

    @property
    def label(self) -> str:
        return "e2e" if self.e2e else "plain"


@contextmanager
def share_process(path: Path, e2e: bool, **options: object) -> Iterator[Share]:
    """`share(path, e2e=e2e, ...)` in a process of its own until the block ends."""
    kw = {"path": str(path), "e2e": e2e, **options}
    proc = LineProcess([sys.executable, "-c", SHARE, json.dumps(kw)], stdin=True, stderr=True)
    try:
        try:
            info = json.loads(proc.lines.get(timeout=180))
        except queue.Empty:
            raise RuntimeError("the share did not start: " + "".join(proc.stderr)[-2000:]) from None
        if bool(info["key"]) != e2e:
            raise RuntimeError(f"asked e2e={e2e}, got a share with key={info['key']!r}")
        yield Share(
            e2e,
            info["url"],
            info["ws_url"],
            info["room"],
            info["token"],
            info["host_token"],
            info["key"],
            info["pid"],
        )
    finally:
        end_share(proc)


def wait_idle(pid: int, timeout: float = 60.0) -> None:
    """Wait (bounded) until a share's process tree uses under 2 % of a core over half a second:
    after share() returns it still finishes work in the background (the page's warm-up, the
    render cache's write), which must not count in whichever share is measured first."""
    from bench.crowd import cpu_seconds

    deadline = time.monotonic() + timeout
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(pid)
        if now - before < 0.01:
            return
        before = now


def load_line() -> str:
    """The machine's load (1, 5, 15 min averages), for the results' header."""
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
