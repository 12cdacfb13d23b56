"""A lecture on one share: a presenter, hundreds of listeners; ours vs the Node reference server.

Three parts (issue 19), each printed as JSON lines and a table:
  lecture  1 presenter (cursor at 20 Hz, a 64-point pen stroke every second drawn as the pen tool
           draws it) + LISTENERS idle listeners, ours and the Node y-websocket reference server
           in the same run, alternating (REPEAT times each): presenter -> listener delay of the
           cursor and of a stroke's add (p50/p95/p99), bytes received per listener per second,
           server CPU (core fraction of the server's process tree over the window), joins
           (5 extra clients join one after another during the window; connect -> every room
           synced).
  big      ours alone with BIG listeners, audience mode on (the issue's 600).
  storm    everyone moving at 10 Hz at N = STORM (the presenter too, no strokes): total bytes
           the server sent (= what all clients received) with audience mode on vs off; the
           delay column is any cursor's at 20 probe clients and the presenter.
Every client opens both rooms a page opens (board, control); 30 listeners spread over the crowd
(20 in the storm) and the presenter measure delays (see PROBES). Audience and max_people are passed
to `share()` when this build has them; otherwise the rows say so (bench/crowd.py SHARE).

Usage: python bench/lecture.py [--parts lecture,big,storm] [--listeners 300] [--big 600]
       [--storm 200] [--seconds 10] [--repeat 2]
Each window waits (at most 10 min) for the 1-minute load average to fall below MAX_LOAD (default
2) and prints it. Everything on loopback. On a 2-core machine the server under test and the one
Node process holding the clients share the two cores (the columns "server CPU" and "client CPU"
say how).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.crowd import (  # noqa: E402
    Crowd,
    Unsupported,
    fmt,
    node_server,
    our_share,
    ratio,
    wait_quiet,
)
from bench.isolated import isolate  # noqa: E402

JOINS = 5  # extra clients joining during each window
# Listeners that decode presence and record delays (spread over the crowd; all of them receive
# every byte). Measured at 300 listeners on the Node server: with all 300 decoding, the one
# client process itself added the delay (cursor p95 167 ms, its event loop lagging 169 ms p99;
# 65 % of the cursor updates seen); with 30, p95 10.5 ms, 95 % seen.
PROBES = 30


def lecture_row(server_cm, label: str, listeners: int, seconds: float, **crowd) -> dict:
    """One window: a crowd against a server; the result line with what to print."""
    wait_quiet(float(os.environ.get("MAX_LOAD", "2")))
    with server_cm as server:
        try:
            with Crowd(server, listeners=listeners, **crowd) as c:
                c.measure("warm", 2)
                r = c.measure(label, seconds, JOINS)
                r.update(server=server.name, ready=c.ready, notes=server.notes)
                return r
        except (RuntimeError, TimeoutError) as e:  # e.g. the crowd could not all join: say so
            return {
                "label": label,
                "server": server.name,
                "listeners": listeners,
                "error": str(e),
                "notes": server.notes,
            }


def ours(**options):
    return our_share(**options)


def part_lecture(args) -> list[dict]:
    rows = []
    crowd = {"presenterHz": 20, "strokeEveryMs": 1000, "probes": PROBES}
    for rep in range(args.repeat):
        order = ("node", "ours") if rep % 2 == 0 else ("ours", "node")
        for name in order:
            cm = node_server() if name == "node" else ours(max_people=args.listeners + 10)
            r = lecture_row(cm, "lecture", args.listeners, args.seconds, **crowd)
            r["run"] = rep + 1
            emit(r)
            rows.append(r)
    return rows


def part_big(args) -> list[dict]:
    crowd = {"presenterHz": 20, "strokeEveryMs": 1000, "probes": PROBES}
    try:
        r = lecture_row(
            ours(max_people=args.big + 10, audience="on"), "big", args.big, args.seconds, **crowd
        )
        r["audience"] = "on"
    except Unsupported as e:  # before audience mode: today's behaviour, said so
        r = lecture_row(ours(max_people=args.big + 10), "big", args.big, args.seconds, **crowd)
        r["audience"] = f"default ({e})"
    emit(r)
    return [r]


def part_storm(args) -> list[dict]:
    rows = []
    crowd = {"presenterHz": 10, "strokeEveryMs": 0, "moversHz": 10, "probes": 20}
    n = args.storm - 1  # listeners; with the presenter N people move
    for audience in ("off", "on"):
        try:
            r = lecture_row(
                ours(max_people=args.storm + 10, audience=audience),
                "storm",
                n,
                args.seconds,
                **crowd,
            )
            r["audience"] = audience
        except Unsupported as e:
            if audience == "on":
                print(f"# storm, audience on: skipped ({e})", flush=True)
                continue
            r = lecture_row(ours(max_people=args.storm + 10), "storm", n, args.seconds, **crowd)
            r["audience"] = f"default ({e})"
        emit(r)
        rows.append(r)
    return rows


def emit(r: dict) -> None:
    print(json.dumps(r), flush=True)


HEAD = (
    f"{'part':7} {'server':6} {'run':>3} {'N':>4} {'audience':9} | {'cursor p50':>10} {'p95':>6} "
    f"{'p99':>6} | {'stroke p50':>10} {'p95':>6} | {'B/listener/s':>12} {'server B/s':>11} | "
    f"{'srv CPU':>7} {'cli CPU':>7} | {'join p50':>8} {'p95':>6} | {'cli lag p99':>11}"
)


def line(r: dict) -> str:
    if "error" in r:
        return (
            f"{r['label']:7} {r['server']:6} {r.get('run', 1):>3} {r['listeners']:>4} {r['error']}"
        )
    b = r["bytes"]
    aud = str(r.get("audience", "-"))[:9]
    # the lecture's delay is the presenter's cursor at the listeners; the storm's, any cursor's
    cur = r["cursors"] if r["label"] == "storm" else r["presenter"]
    return (
        f"{r['label']:7} {r['server']:6} {r.get('run', 1):>3} {r['listeners']:>4} {aud:9} | "
        f"{fmt(cur['p50']):>10} {fmt(cur['p95']):>6} "
        f"{fmt(cur['p99']):>6} | {fmt(r['strokes']['p50']):>10} "
        f"{fmt(r['strokes']['p95']):>6} | {b['perListenerPerSec']:>12} {b['rxPerSec']:>11} | "
        f"{r['serverCpu']:>7.2f} {r['clientCpu']:>7.2f} | {fmt(r['joins']['p50']):>8} "
        f"{fmt(r['joins']['p95']):>6} | {r['clientLoopLagMs']['p99']:>11}"
    )


def summary(rows: list[dict]) -> None:
    print("\n" + HEAD)
    for r in rows:
        print(line(r))
    rows = [r for r in rows if "error" not in r]
    for r in rows:
        if r.get("closes") or r.get("notes") or r["ready"]["docAtSync"]["bytes"] > 2:
            print(
                f"  {r['label']} {r['server']}: closes {r.get('closes') or {}}; "
                f"notes {r.get('notes')}; board at start {r['ready']['docAtSync']}"
            )
    lec = [r for r in rows if r["label"] == "lecture"]
    for run in sorted({r.get("run") for r in lec}):
        pair = {r["server"]: r for r in lec if r.get("run") == run}
        if {"node", "ours"} <= pair.keys():
            o, n = pair["ours"], pair["node"]
            print(
                f"lecture run {run}: ours/Node cursor p95 "
                f"{ratio(o['presenter']['p95'], n['presenter']['p95'])}, stroke p95 "
                f"{ratio(o['strokes']['p95'], n['strokes']['p95'])}, bytes per listener "
                f"{ratio(o['bytes']['perListenerPerSec'], n['bytes']['perListenerPerSec'])}, "
                f"server CPU {ratio(o['serverCpu'], n['serverCpu'])}"
            )
    storm = {r["audience"]: r for r in rows if r["label"] == "storm"}
    if "on" in storm and "off" in storm:
        on, off = storm["on"]["bytes"]["rxPerSec"], storm["off"]["bytes"]["rxPerSec"]
        print(f"storm: bytes out audience on / off = {on}/{off} = {on / off:.2%} (goal <= 5 %)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="lecture,big,storm")
    ap.add_argument("--listeners", type=int, default=300)
    ap.add_argument("--big", type=int, default=600)
    ap.add_argument("--storm", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    isolate()  # our share's process inherits the temporary data and cache dirs
    parts = {"lecture": part_lecture, "big": part_big, "storm": part_storm}
    rows: list[dict] = []
    for name in args.parts.split(","):
        rows += parts[name](args)
    print(f"# load average at end {os.getloadavg()}", flush=True)
    summary(rows)


if __name__ == "__main__":
    main()
