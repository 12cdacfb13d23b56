"""A bare share server with one registered room, for tests that talk to the rooms directly."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pycrdt import Map

from jupyterspot_magic.content.render import CONFIG_PLACEHOLDER, RenderedNotebook
from jupyterspot_magic.server.shared import SharedNotebook
from jupyterspot_magic.server.thread import ServerThread

PAGE = (
    "<html><body><main id='jupyterspot-root'><div id='cell-id=a'></div></main>"
    f"{CONFIG_PLACEHOLDER}</body></html>"
)


def new_shared(room: str = "room1") -> SharedNotebook:
    rendered = RenderedNotebook(
        html=PAGE, content_hash="h", cell_ids=["a"], title="t", warnings=[], seconds=0, cached=False
    )
    return SharedNotebook(
        room=room, token="guest-token", host_token="host-token", rendered=rendered
    )


def on_server(srv: ServerThread, fn: Callable[[], Any]) -> Any:
    """Run fn on the server thread (where rooms live) and return its result."""

    async def run():
        return fn()

    return srv.call(run)


def register(srv: ServerThread, shared: SharedNotebook) -> None:
    on_server(srv, lambda: srv.registry.shares.__setitem__(shared.room, shared))


def base(srv: ServerThread, room: str = "room1") -> str:
    """The y-websocket base URL of a room: providers append /board or /control."""
    return f"ws://127.0.0.1:{srv.port}/ws/{room}"


def unwrap(value: Any) -> Any:
    """tests/js/peer.mjs stores `set` values as text shapes (the board only holds shapes)."""
    if isinstance(value, dict) and value.get("by") == "peer.mjs":
        return json.loads(value["text"])
    if isinstance(value, dict):  # bytes as peer.mjs shows them
        binary = (bytes, bytearray)
        return {k: {"bytes": len(v)} if isinstance(v, binary) else v for k, v in value.items()}
    return value


def shapes(shared: SharedNotebook, srv: ServerThread) -> dict:
    """The server's board, with peer.mjs's test shapes shown as the values they carry."""
    board = on_server(srv, lambda: shared.board.doc.get("shapes", type=Map).to_py())
    return {key: unwrap(value) for key, value in board.items()}


def valid_shape(**fields: Any) -> Map:
    """A shape the board schema accepts (docs/protocol.md), fields overridable."""
    base = {"t": "rect", "cell": "a", "ci": 0, "x": 1.0, "y": 2.0, "w": 10.0, "h": 10.0}
    base |= {"c": "#e03131", "s": 4, "by": "Ana", "at": 1700000000000}
    return Map(base | fields)
