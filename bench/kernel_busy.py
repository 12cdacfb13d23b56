"""The issue-19 headline: does the user's running cell slow the meeting down?

A real IPython kernel (jupyter_client) loads the extension and runs
`%jupyterspot share examples/demo.ipynb --tunnel none --store none`; then PEOPLE people move
their cursors at 10 Hz (one presenter holding the host link + PEOPLE - 1 guests, all opening both
rooms a page opens; bench/crowd.mjs), and we measure, in windows of SECONDS:
  idle  the kernel does nothing;
  busy  a cell runs a pure-Python loop (`while time.time() < t_end: pass`), sent without
        waiting for it (the window starts once the kernel reports it busy).
Per window: cursor delay (any client's cursor at 20 probe clients and at the presenter;
p50/p95/p99), joins (5 extra clients join one after another; connect -> both rooms synced),
CPU of the kernel's process tree (the share server included, wherever it runs in there) and of
the clients' Node process. Windows alternate idle, busy, REPEAT times; the summary is busy/idle.
When this build has audience mode, `--audience off` is passed: what is measured is the kernel's
effect on the same fan-out as before that mode existed.

Usage: python bench/kernel_busy.py [PEOPLE] [SECONDS] [REPEAT]     (defaults 100 10 2)
It first waits (at most 10 min) for the 1-minute load average to fall below MAX_LOAD (default 2)
and prints it, also at the end: on a shared 2-core machine other work takes the cores.
"""

from __future__ import annotations

import json
import os
import queue
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.crowd import DEMO, Crowd, Server, fmt, wait_quiet  # noqa: E402
from bench.isolated import isolate  # noqa: E402
from tests.kernel import Kernel, share_info  # noqa: E402

BUSY = "import time\nt_end = time.time() + {seconds}\nwhile time.time() < t_end:\n    pass\n"
HAS_AUDIENCE = (
    "import dataclasses, json\nfrom jupyterspot_magic.base import options\n"
    "print(json.dumps('audience' in {f.name for f in dataclasses.fields(options.ShareOptions)}))"
)
JOINS = 5


def wait_busy(kernel: Kernel, msg_id: str, timeout: float = 30) -> None:
    """Until the kernel says it started running `msg_id` (iopub status busy)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kernel.kc.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        kernel.iopub.append(msg)
        if (
            msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "busy"
            and msg["parent_header"].get("msg_id") == msg_id
        ):
            return
    raise TimeoutError("the kernel did not start the busy cell")


def share(kernel: Kernel) -> tuple[Server, str]:
    flags = "--tunnel none --store none"
    if kernel.json(HAS_AUDIENCE):
        flags += " --audience off"
    result = kernel.execute(f"%load_ext jupyterspot_magic\n%jupyterspot share {DEMO} {flags}")
    assert result["error"] is None, result["error"]
    info = share_info(kernel)
    pid = kernel.km.provisioner.process.pid
    return Server("ours", info["ws_url"], pid, info["token"], info["host_token"]), flags


def row(phase: str, run: int, r: dict) -> str:
    c, j = r["cursors"], r["joins"]
    return (
        f"{phase:5} {run:>3} | {c['n']:>7} {fmt(c['p50']):>6} {fmt(c['p95']):>7} "
        f"{fmt(c['p99']):>7} | {fmt(j['p50']):>8} {fmt(j['p95']):>7} {fmt(j['max']):>7} | "
        f"{r['serverCpu']:>10.2f} {r['clientCpu']:>7.2f} | {r['clientLoopLagMs']['p99']:>11}"
    )


def main() -> None:
    people = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    isolate()  # the kernel inherits the temporary data and cache dirs
    wait_quiet(float(os.environ.get("MAX_LOAD", "2")))  # before our own crowd adds to it
    kernel = Kernel(REPO)
    results: dict[str, list[dict]] = {"idle": [], "busy": []}
    try:
        server, flags = share(kernel)
        print(f"# %jupyterspot share {flags}; {people} people at 10 Hz", flush=True)
        crowd = {"listeners": people - 1, "presenterHz": 10, "strokeEveryMs": 0}
        with Crowd(server, moversHz=10, probes=20, **crowd) as c:
            print(json.dumps(c.ready), flush=True)
            c.measure("warm", 3)
            for run in range(1, repeat + 1):
                r = c.measure("idle", seconds, JOINS)
                print(json.dumps({"phase": "idle", "run": run, **r}), flush=True)
                results["idle"].append(r)
                msg_id = kernel.start(BUSY.format(seconds=seconds + 2))
                wait_busy(kernel, msg_id)
                r = c.measure("busy", seconds, JOINS)
                print(json.dumps({"phase": "busy", "run": run, **r}), flush=True)
                results["busy"].append(r)
                kernel.collect(msg_id, timeout=seconds + 60)
        print(f"# load average at end {os.getloadavg()}", flush=True)
        kernel.execute("%jupyterspot stop")
    finally:
        kernel.shutdown()
    summary(results)


def summary(results: dict[str, list[dict]]) -> None:
    print(
        f"\n{'phase':5} {'run':>3} | {'cursors':>7} {'p50':>6} {'p95':>7} {'p99':>7} | "
        f"{'join p50':>8} {'p95':>7} {'max':>7} | {'kernel CPU':>10} {'cli CPU':>7} | "
        f"{'cli lag p99':>11}"
    )
    for run in range(len(results["idle"])):
        for phase in ("idle", "busy"):
            if run < len(results[phase]):
                print(row(phase, run + 1, results[phase][run]))

    def med(phase: str, key: str, q: str) -> float:
        return statistics.median(r[key][q] or 0 for r in results[phase])

    p95 = {phase: med(phase, "cursors", "p95") for phase in results}
    joins = {phase: med(phase, "joins", "p50") for phase in results}
    print(
        f"cursor p95 (median of runs): idle {p95['idle']:.1f} ms, busy {p95['busy']:.1f} ms, "
        f"busy/idle {p95['busy'] / p95['idle']:.1f}x (goal <= 2x)"
    )
    print(
        f"join p50 (median of runs): idle {joins['idle']:.1f} ms, busy {joins['busy']:.1f} ms, "
        f"busy/idle {joins['busy'] / joins['idle']:.1f}x"
    )


if __name__ == "__main__":
    main()
