"""Cost of presence colours (collab/colors.py) on the awareness path: `Room.receive` of one
cursor update (a ~200 B state, the viewer's shape) from one of 10 guests, on the server's event
loop. Steady state: the colour is the sender's slot (checked, not rewritten); and a state that
claims another colour (rewritten, its sender told). Run it on this tree and on the commit before
(python bench/awareness_colors.py [REPO]) to compare.

Usage: python bench/awareness_colors.py [REPO] [N]   (default: this repo, 20000 updates)
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
sys.path.insert(0, str(REPO))

from jupyterspot_magic.collab.room import (  # noqa: E402
    AwarenessEntry,
    Connection,
    Room,
    RoomLimits,
    encode_awareness,
)


async def _sent(_data: bytes) -> None:
    pass


async def _closed(_code: int, _reason: str) -> None:
    pass


def state(color: str, i: int) -> str:
    return json.dumps(
        {
            "user": {"name": "Guest 0042", "color": color, "role": "guest"},
            "cursor": {"cell": "cell-id=3f2a9c", "x": 100 + i % 300, "y": 40 + i % 50},
            "scroll": {"cell": "cell-id=3f2a9c", "offset": 12, "index": 3, "count": 13},
            "following": None,
        },
        separators=(",", ":"),
    )


async def run(claim_other: bool) -> list[float]:
    limits = RoomLimits(messages_per_second=1e9, message_burst=1e9)
    limits.presence_per_second = limits.presence_burst = 1e12
    room = Room("board", limits=limits)
    conns = [Connection(_sent, _closed, "guest", pid=f"p{i}") for i in range(10)]
    for c in conns:
        room.join(c)
    for i, c in enumerate(conns):  # everyone present, with the colour the server gives
        room.receive(c, encode_awareness([(i + 1, AwarenessEntry(1, state("#000000", 0)))]))
    await asyncio.sleep(0)
    mine = json.loads(room.awareness[1].state)["user"]["color"]
    color = "#000000" if claim_other else mine
    msgs = [encode_awareness([(1, AwarenessEntry(k + 10, state(color, k)))]) for k in range(N)]
    times = []
    for k, m in enumerate(msgs):
        t0 = time.perf_counter_ns()
        room.receive(conns[0], m)
        times.append((time.perf_counter_ns() - t0) / 1e3)
        if k % 64 == 0:
            await asyncio.sleep(0)  # let the coalesced flush and the writers run
    return times


def main() -> None:
    for claim in (False, True):
        t = asyncio.run(run(claim))
        what = "claims another colour" if claim else "its own colour      "
        print(
            f"{REPO.name}: {what}: median {statistics.median(t):.1f} us, "
            f"p90 {statistics.quantiles(t, n=10)[8]:.1f} us per awareness update (n={len(t)})"
        )


if __name__ == "__main__":
    main()
