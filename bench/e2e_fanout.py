"""The fan-out benchmark with and without end-to-end encryption (issue 14), same run.

Each (N, scenario) row of each round runs on two new shares of the demo notebook, one encrypted
and one plain, each in a process of its own (bench/e2e_share.py; new rooms, so both start
empty), in alternating order; bench/e2e_fanout.mjs drives N real yjs + y-websocket@3 clients in
one Node process against the share's board room (the scenarios of bench/fanout.mjs: one writer
adding a 64-point pen shape 50 times a second, or everyone moving a cursor at 20 Hz). On the
encrypted share the clients speak the sealed protocol through the viewer's own WebSocket
wrapper, js/viewer/e2e/socket.ts, bundled for Node with the repo's esbuild into a temporary dir
at the start (never into the repo), with the share's key (seal.key_text) from its link.

`--probes K`: only K clients read what they receive and record delays; the others go deaf once
synced (bytes arrive, nothing is opened or decoded; crowd.mjs's listeners do the same). One Node
process plays all N browsers, so with every client decrypting (the default, as fanout.mjs) the
clients' own AES-GCM in JavaScript, N times what one browser does, is measured along with the
server; with few probes the server's part shows.

Per row: delivery delay p50/p95 (ms), the share's CPU (its process tree, the server's child
process included; cores over the measured window), the clients' process CPU. The table gives
medians over the rounds and the ratios e2e/plain of those medians (issue 14's goal: p95 <= 1.2).

Usage: python bench/e2e_fanout.py [--n "10 30 50"] [--seconds 5] [--rounds 3]
                                  [--scenarios "strokes cursors"] [--probes 0]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.crowd import cpu_seconds, node_work  # noqa: E402
from bench.e2e_share import DEMO, Share, load_line, share_process, wait_idle  # noqa: E402
from bench.isolated import isolate  # noqa: E402

SCENARIOS = {"strokes": 50, "cursors": 20}  # bench/fanout.mjs's scenarios and rates (per s)
ESBUILD = REPO / "node_modules" / ".bin" / "esbuild"
# Extra node flags for profiling the clients, e.g. E2E_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"
NODE_ARGS = os.environ.get("E2E_NODE_ARGS", "").split()
SOCKET_TS = REPO / "js" / "viewer" / "e2e" / "socket.ts"


def bundle_socket(into: Path) -> Path:
    """js/viewer/e2e/socket.ts (+ @noble/ciphers) as one ES module for Node, in `into` (it
    exports ClientFrames too: the clients time its `up` and `down`)."""
    target = into / "sealed-socket.mjs"
    subprocess.run(
        [
            str(ESBUILD),
            str(SOCKET_TS),
            "--bundle",
            "--platform=node",
            "--format=esm",
            f"--outfile={target}",
            "--log-level=warning",
        ],
        cwd=REPO,
        check=True,
    )
    return target


def run_clients(
    share: Share, scenario: str, n: int, seconds: float, socket_module: Path, probes: int
) -> dict:
    """bench/e2e_fanout.mjs against `share`; adds the share's and the clients' CPU (cores)."""
    work = node_work()
    shutil.copy(REPO / "bench" / "e2e_fanout.mjs", work)
    cfg = {
        "url": share.ws_url,
        "token": share.token,
        "scenario": scenario,
        "n": n,
        "seconds": seconds,
        "rate": SCENARIOS[scenario],
        "key": share.key,
        "room": share.room,
        "socketModule": str(socket_module),
        "probes": probes,
    }
    proc = subprocess.Popen(
        ["node", *NODE_ARGS, "e2e_fanout.mjs", json.dumps(cfg)],
        cwd=work,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    marks: dict[str, tuple[float, float, float]] = {}
    result: dict = {"error": "no result"}
    for line in proc.stdout:
        record = json.loads(line)
        phase = record.get("phase")
        if phase:
            marks[phase] = (time.monotonic(), cpu_seconds(share.pid), cpu_seconds(proc.pid))
        else:
            result = record
    proc.wait(60)
    if "start" in marks and "end" in marks:
        (t0, s0, c0), (t1, s1, c1) = marks["start"], marks["end"]
        result["serverCpu"] = round((s1 - s0) / (t1 - t0), 3)
        result["clientCpu"] = round((c1 - c0) / (t1 - t0), 3)
    return {"mode": share.label, **result}


def run_row(
    n: int, scenario: str, seconds: float, round_: int, socket_module: Path, probes: int
) -> list[dict]:
    """One row of one round: a new encrypted and a new plain share, measured one after the
    other (which goes first alternates with the round)."""
    with ExitStack() as stack:
        e2e = stack.enter_context(share_process(DEMO, True))
        plain = stack.enter_context(share_process(DEMO, False))
        wait_idle(e2e.pid)
        wait_idle(plain.pid)
        order = (e2e, plain) if round_ % 2 == 0 else (plain, e2e)
        lines = []
        for share in order:
            line = {
                "round": round_,
                **run_clients(share, scenario, n, seconds, socket_module, probes),
            }
            print(json.dumps(line), flush=True)
            lines.append(line)
        return lines


def med(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def cells(d: dict, keys: tuple[str, ...]) -> str:
    return " ".join(f"{'-' if d[k] is None else format(d[k], '.3g'):>9}" for k in keys)


def ratio(a: dict, b: dict, k: str) -> str:
    return f"{b[k] / a[k]:.2f}" if a[k] and b[k] else "-"


def table(lines: list[dict]) -> None:
    rows: dict[tuple[str, int], dict[str, list[dict]]] = {}
    for r in lines:
        rows.setdefault((r.get("scenario", "?"), r.get("N", 0)), {}).setdefault(r["mode"], [])
        rows[(r.get("scenario", "?"), r.get("N", 0))][r["mode"]].append(r)
    keys = ("p50", "p95", "serverCpu", "clientCpu", "received")
    print("\nmedians over the rounds: plain | e2e | ratio e2e/plain")
    head = " ".join(f"{k:>9}" for k in keys)
    print(f"{'scenario':8} {'N':>3} | {head} | {head} | {'p95':>5} {'srvCPU':>6} {'cliCPU':>6}")
    for (scenario, n), pair in sorted(rows.items()):
        a = {k: med(pair.get("plain", []), k) for k in keys}
        b = {k: med(pair.get("e2e", []), k) for k in keys}

        print(
            f"{scenario:8} {n:>3} | {cells(a, keys)} | {cells(b, keys)} | "
            f"{ratio(a, b, 'p95'):>5} {ratio(a, b, 'serverCpu'):>6} {ratio(a, b, 'clientCpu'):>6}"
        )
    for r in lines:
        if r.get("closes") or r.get("error") or (r.get("docAtSync") or 2) > 2:
            print(
                f"  note: {r.get('mode')} {r.get('scenario')} N={r.get('N')} round "
                f"{r.get('round')}: {r.get('closes') or ''} {r.get('error') or ''} "
                f"board at sync {r.get('docAtSync')} B"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", default="10 30 50")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scenarios", default="strokes cursors")
    parser.add_argument(
        "--probes", type=int, default=0, help="clients that decode and record (0: all N)"
    )
    args = parser.parse_args()
    isolate()  # temporary data and cache dirs, inherited by the share processes
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} start, {load_line()}", flush=True)
    lines: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="jupyterspot-e2e-bench-") as tmp:
        socket_module = bundle_socket(Path(tmp))
        for round_ in range(args.rounds):
            for n in map(int, args.n.split()):
                for scenario in args.scenarios.split():
                    lines += run_row(n, scenario, args.seconds, round_, socket_module, args.probes)
            print(f"# {time.strftime('%H:%M:%S')} round {round_} done, {load_line()}", flush=True)
    table(lines)


if __name__ == "__main__":
    main()
