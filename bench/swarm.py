"""The command line of a swarm of yjs clients (a bench/*.mjs script) on a share's board."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def swarm_command(script: str, info: dict, *args: str) -> list[str]:
    """`node bench/SCRIPT WS_URL TOKEN ARGS...` against the share whose `info()` is `info`."""
    return ["node", str(REPO / "bench" / script), info["ws_url"], info["token"], *args]
