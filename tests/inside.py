"""Reaching a share's rooms from a test (the share server runs in its own process).

A `Share` reaches its rooms only through `share.host.call(fn, share.room, ...)`, which runs
`fn(server, room, ...)` in the server's process (server/host.py); `fn` must be a module-level
function that process can import by name. The functions under "in the server's process" are
such functions (a child process imports this module: keep its imports light), so a test using
them runs in the default mode, the child process, like a user's share.

Tests that patch, time or crash the server's own objects (its loop, the store) cannot do that
across a process: they run the server in the test process (the `in_process_server` fixture in
tests/conftest.py, JUPYTERSPOT_SERVER=thread) and reach it with `inside(share)` and
`share.host.server`.
"""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Map

from jupyterspot_magic.server.host import InProcessHost
from jupyterspot_magic.server.thread import ServerThread
from jupyterspot_magic.session import hosted
from jupyterspot_magic.session.share import Share


def inside(share: Share) -> hosted.Hosted:
    """The share's rooms, lead and board keeper, when its server runs in this process."""
    if not isinstance(share.host, InProcessHost):
        raise AssertionError(
            "the share's server runs in another process: use the in_process_server fixture"
        )
    return hosted.get(share.room)


def board_shapes(share: Share) -> dict[str, Any]:
    """The board's shapes as the server holds them (the public `board_update`, any mode)."""
    doc = Doc()
    doc.apply_update(share.board_update())
    return doc.get("shapes", type=Map).to_py() or {}


# -- in the server's process: share.host.call(fn, share.room, ...) --


def add_shapes(server: ServerThread, room: str, shapes: dict[str, dict]) -> None:
    """The server writes these shapes (key -> fields) to the board, in one transaction."""
    doc = hosted.get(room).shared.board.doc

    def put() -> None:
        board = doc.get("shapes", type=Map)
        with doc.transaction():
            for key, fields in shapes.items():
                board[key] = Map(fields)

    server.call(put)


def generation(server: ServerThread, room: str) -> int:
    """Which board of this notebook the store holds (0 first, +1 per fresh share)."""
    keeper = hosted.get(room).keeper
    assert keeper is not None, "the share has no store"
    return keeper.generation


def awareness_field(server: ServerThread, room: str, client_id: int, field: str) -> list:
    """`field` of the awareness state the server holds for `client_id` ([] when absent)."""
    board = hosted.get(room).shared.board

    def read() -> list:
        return [state.get(field) for c, state, _ in board.states() if c == client_id]

    return server.call(read)
