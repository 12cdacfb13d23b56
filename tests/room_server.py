"""A bare share server with one registered room, for tests that talk to the rooms directly."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from pycrdt import Map
from websockets.sync.client import ClientConnection

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


def register(srv: ServerThread, shared: SharedNotebook) -> None:
    srv.call(srv.registry.register, shared)


def base(srv: ServerThread, room: str = "room1") -> str:
    """The y-websocket base URL of a room: providers append /board or /control."""
    return f"ws://127.0.0.1:{srv.port}/ws/{room}"


def synced(make: Callable[..., Any], srv: ServerThread, doc: str, *tokens: str) -> list[Any]:
    """One Node peer (the node_peers fixture's `make`) per token on the room's "board" or
    "control" document, each past its first sync."""
    peers = [make(base(srv), doc, token) for token in tokens]
    for peer in peers:
        peer.wait(lambda e: e["event"] == "synced")
    return peers


def close_code(ws: ClientConnection, timeout: float = 10) -> int:
    """Read a raw websocket until the server closes it: the close code the server sent."""
    with pytest.raises(Exception) as closed:
        while True:
            ws.recv(timeout=timeout)
    assert getattr(closed.value, "rcvd", None) is not None, closed.value
    return closed.value.rcvd.code


def send_until_closed(ws: ClientConnection, frames: Iterable[bytes], timeout: float = 10) -> int:
    """Send frames until one fails (the server closed the socket) or none is left, then read
    until the close: the close code the server sent."""
    for frame in frames:
        try:
            ws.send(frame)
        except Exception:
            break
    return close_code(ws, timeout)


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
    board = srv.call(lambda: shared.board.doc.get("shapes", type=Map).to_py())
    return {key: unwrap(value) for key, value in board.items()}


def valid_shape(**fields: Any) -> Map:
    """A shape the board schema accepts (docs/protocol.md), fields overridable."""
    base = {"t": "rect", "cell": "a", "ci": 0, "x": 1.0, "y": 2.0, "w": 10.0, "h": 10.0}
    base |= {"c": "#e03131", "s": 4, "by": "Ana", "at": 1700000000000}
    return Map(base | fields)
