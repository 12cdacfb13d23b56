"""Our room inside a real kernel vs the Node y-websocket reference server, same run.

Starts an IPython kernel (jupyter_client), shares the demo notebook there with `--tunnel none`,
and runs bench/fanout_run.sh against the share's board room beside the Node server it starts.
Prints the raw JSON lines and a table of ours/Node per row (p50, p95, received).

bench/fanout_run.sh + bench/fanout.mjs follow ../shared/bench/fanout (run.sh + fanout.mjs, same
Node reference server and client packages, same scenarios) with writes that are valid under our
board schema (issue 11): the shared harness writes a root map "strokes" of plain objects and an
awareness field "c", which our server now refuses (bad_frame). The same client code runs against
both servers. A row whose clients saw a websocket close shows it below the table.

Usage: python bench/fanout_kernel.py [N_LIST] [SECONDS]   (e.g. "10 30 50" 5)
Set BUSY=sleep or BUSY=loop to keep the kernel busy (time.sleep / a pure-Python loop) meanwhile,
and SWITCH=0.001 to try a shorter GIL switch interval in the kernel (sys.setswitchinterval).
NOCHECK=1 turns the board schema check off in the kernel (Validator.check accepts everything and
indexes nothing, awareness states are not checked): only to measure what the check costs here;
never like that in a real share (it patches the server's modules in the kernel, so it only works
while the share server runs in the kernel's process).

Every row runs on an empty board, like Node's new room (issue 19): the kernel gets temporary data
and cache dirs (bench/isolated.py), and each (N, scenario) row gets a share of its own with the
store off (`store=False`: the store is not what this measures), so no board from an earlier run,
an earlier row or the user's data dir is synced to the clients first. Each row's JSON line says
what the room held when its clients had synced ("docAtSync": encoded bytes, 2 = empty; roots).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.isolated import isolate  # noqa: E402
from tests.kernel import Kernel  # noqa: E402

RUN_SH = REPO / "bench" / "fanout_run.sh"  # schema-valid ../shared/bench/fanout/run.sh
SCENARIOS = ("strokes 50", "cursors 20")  # fanout_run.sh's: scenario name and rate (Hz)
BUSY_CODE = {
    "sleep": "import time; time.sleep(10**6)",
    "loop": "while True:\n    sum(i * i for i in range(10000))",
}


def table(lines: list[dict]) -> None:
    rows: dict[tuple, dict] = {}
    for r in lines:
        rows.setdefault((r.get("scenario") or "?", r.get("N") or 0), {})[r["server"]] = r
    print(
        f"\n{'scenario':8} {'N':>3} | {'node p50':>8} {'p95':>7} {'recv':>7} | "
        f"{'ours p50':>8} {'p95':>7} {'recv':>7} | {'p95 ratio':>9} {'recv ratio':>10}"
    )
    for (scenario, n), pair in sorted(rows.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or 0)):
        node, ours = pair.get("node", {}), pair.get("other", {})

        def cell(r, k):
            return f"{r[k]:>7}" if k in r else f"{'err':>7}"

        ratio = (
            f"{ours['p95'] / node['p95']:9.2f}"
            if ours.get("p95") and node.get("p95")
            else f"{'-':>9}"
        )
        recv = (
            f"{ours['received'] / node['received']:10.3f}"
            if ours.get("received") and node.get("received")
            else f"{'-':>10}"
        )
        print(
            f"{scenario:8} {n:>3} | {cell(node, 'p50'):>8} {cell(node, 'p95')} "
            f"{cell(node, 'received')} | {cell(ours, 'p50'):>8} {cell(ours, 'p95')} "
            f"{cell(ours, 'received')} | {ratio} {recv}"
        )
    for r in lines:
        held = r.get("docAtSync") or {}
        if held.get("bytes", 2) > 2:
            print(
                f"  {r.get('server')} {r.get('scenario')} N={r.get('N')}: the board was not "
                f"empty at the start ({held['bytes']} B, roots {held.get('roots')})"
            )
        if r.get("closes") or r.get("error"):
            print(
                f"  {r.get('server')} {r.get('scenario')} N={r.get('N')}: "
                f"closes {r.get('closes') or {}} {r.get('error') or ''}"
            )


# The room's apply without the check, the index and its state-vector comparison (collab/room.py
# Room._apply_remote as of issue 11); follows the server's internals, so it may need updating.
NOCHECK = """
from jupyterspot_magic.collab import room as _r
from jupyterspot_magic.collab import schema as _s
_s.Validator.check = lambda self, data, *a, **k: _s.Checked(_s.StructIndex(), 0, 0)
_s.check_awareness = lambda state: None
def _apply_unchecked(self, conn, update, checked):
    self._origin = (conn, update) if conn is not None else None
    self._checked = checked
    try:
        self.doc.apply_update(update)
    finally:
        self._origin = None
        self._checked = None
_r.Room._apply_remote = _apply_unchecked
"""
SHARE = (
    "import json, os, sys, jupyterspot_magic as j\n"
    "j.stop()\n"
    "sys.setswitchinterval(float(os.environ.get('SWITCH', sys.getswitchinterval())))\n"
    "s = j.share({path!r}, tunnel='none', display=False, store=False)\n"
    "print(json.dumps(s.info()))"
)


def run_row(kernel: Kernel, n: str, scenario: str, seconds: str) -> list[dict]:
    """One (N, scenario) row on both servers; ours on a share of its own (a new room, empty)."""
    info = kernel.json(SHARE.format(path=str(REPO / "examples" / "demo.ipynb")))
    busy = os.environ.get("BUSY")
    if busy:
        kernel.start(BUSY_CODE[busy])
    env = {
        **os.environ,
        "FANOUT_PARAMS": f"token={info['token']}",
        "FANOUT_ROOM": "board",
        "FANOUT_SCENARIOS": scenario,
    }
    out = subprocess.run(
        ["bash", str(RUN_SH), info["ws_url"], n, seconds],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if busy:
        kernel.km.interrupt_kernel()
        kernel.execute("pass")
    if out.returncode:
        print(out.stderr[-2000:], file=sys.stderr)
    return [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")]


def main() -> None:
    ns = sys.argv[1] if len(sys.argv) > 1 else "10 30 50"
    seconds = sys.argv[2] if len(sys.argv) > 2 else "5"
    isolate()  # the kernel inherits the temporary data and cache dirs
    if os.environ.get("NOCHECK") or os.environ.get("SWITCH"):
        # Both patch the kernel's own interpreter: they reach the share server only while it
        # runs there (server/host.py JUPYTERSPOT_SERVER=thread), never its child process.
        os.environ["JUPYTERSPOT_SERVER"] = "thread"
        print("# NOCHECK/SWITCH: the share server runs in the kernel's process for this run")
    kernel = Kernel(REPO)
    try:
        if os.environ.get("NOCHECK"):
            kernel.execute(NOCHECK)
        lines = []
        for n in ns.split():
            for scenario in SCENARIOS:
                for line in run_row(kernel, n, scenario, seconds):
                    print(json.dumps(line), flush=True)
                    lines.append(line)
        table(lines)
    finally:
        kernel.shutdown()


if __name__ == "__main__":
    main()
