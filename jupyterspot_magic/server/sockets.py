"""The websocket session: from the handshake to a seat in a room, then frames until it ends.

Websockets reach here straight from the ASGI entry (server/app.py), not through Starlette's
middleware, so the room gets uvicorn's own `send` and with it the transport (DirectFrames).
A socket that may not join is closed with the documented code (contracts/close_codes.json) and
reset if it does not answer the close; a bad frame closes only its own connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from ..collab.close_codes import (
    CLOSE_BAD_FRAME,
    CLOSE_CODES,
    CLOSE_ENCRYPTED,
    CLOSE_INVALID_TOKEN,
    CLOSE_NOT_FOUND,
    CLOSE_REMOVED,
    CLOSE_ROOM_FULL,
    CLOSE_TRY_AGAIN,
    close_reason,
)
from ..collab.room import Connection, ProtocolError, Room
from ..collab.seal import ConnectionSeal, SealError, client_nonce_from
from .guard import ABORT_REFUSED_AFTER, abort_quietly
from .shared import Registry

log = logging.getLogger(__name__)

SOCKETS_PER_PID = 4  # one browser (its tabs and a reconnect racing its old socket), per room


def participant_key(raw: str | None) -> str | None:
    """The viewer's random per-browser key (what a kick bans); anything odd counts as none."""
    if raw and len(raw) <= 64 and raw.replace("-", "").replace("_", "").isalnum():
        return raw
    return None


async def serve_socket(registry: Registry, websocket: WebSocket, asgi_send: Any = None) -> None:
    """Authenticate, join the room, pump frames; a bad frame closes only this connection."""
    await websocket.accept()
    parts = websocket.scope["path"].split("/")  # "", "ws", room, name
    shared = registry.shares.get(parts[2]) if len(parts) == 4 and parts[1] == "ws" else None
    room = shared.room_named(parts[3]) if shared else None
    if shared is None and len(parts) == 4 and registry.starting(parts[2]):
        await refuse(websocket, asgi_send, CLOSE_TRY_AGAIN, "the share is starting again")
        return
    if shared is None or room is None:
        await refuse(websocket, asgi_send, CLOSE_NOT_FOUND, "no such room")
        return
    role = shared.role_for(websocket.query_params.get("token"))
    if role is None:
        await refuse(websocket, asgi_send, CLOSE_INVALID_TOKEN, "invalid token")
        return
    pid = participant_key(websocket.query_params.get("pid"))
    if pid is not None and pid in shared.banned:
        await refuse(websocket, asgi_send, CLOSE_REMOVED, "removed by the host")
        return
    full = seat_refusal(room, role, pid, shared.max_people)
    if full is not None:
        await refuse(websocket, asgi_send, CLOSE_ROOM_FULL, full)
        return
    seal = None
    if room.seal is not None:
        nonce = client_nonce_from(websocket.query_params.get("e2e"))
        if nonce is None:
            await refuse(websocket, asgi_send, CLOSE_ENCRYPTED, "end-to-end encrypted share")
            return
        seal = room.seal.connection(nonce)
    conn = Connection(
        websocket.send_bytes, websocket.close, role, pid, DirectFrames.attach(asgi_send), seal
    )
    if seal is not None:  # the first frame it gets: its half of the handshake
        conn.send_framed(seal.hello())
    if not room.join(conn):
        await conn.finish()  # room_full's close frame must go out before the socket is torn down
        return
    await pump(room, conn, websocket, role)


def seat_refusal(room: Room, role: str, pid: str | None, max_people: int) -> str | None:
    """Why this socket may not take a seat in the room, or None. No await: atomic with join."""
    if role == "host":
        return None  # HOST_SLOTS beyond the guests' cap (max_people); Room.join bounds those
    guests = same_browser = 0
    for conn in room.connections:
        if conn.role == "guest":
            guests += 1
        if pid is not None and conn.pid == pid:
            same_browser += 1
    if guests >= max_people:
        return "room full"
    if same_browser >= SOCKETS_PER_PID:
        return "too many connections from this browser"
    return None


async def refuse(websocket: WebSocket, asgi_send: Any, code: int, reason: str) -> None:
    """Close a socket that never joined; reset it if the peer does not answer the close."""
    with contextlib.suppress(Exception):
        await websocket.close(code, reason)
    protocol = getattr(asgi_send, "__self__", None)
    transport = getattr(protocol, "transport", None)
    if transport is not None:
        asyncio.get_running_loop().call_later(ABORT_REFUSED_AFTER, abort_quietly, transport)


async def pump(room: Room, conn: Connection, websocket: WebSocket, role: str) -> None:
    try:
        while not conn.closed:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("bytes")
            if data is None:
                conn.close(CLOSE_BAD_FRAME, "binary frames only")
                break
            room.receive(conn, data if conn.seal is None else opened(conn.seal, data))
    except ProtocolError as e:
        log.info("closing a %s connection: %s", role, e)
        conn.close(e.code, reason_for(conn, e))
    except WebSocketDisconnect:
        pass
    finally:
        room.leave(conn)
        await conn.finish()


def opened(seal: ConnectionSeal, frame: bytes) -> bytes:
    try:
        return seal.open(frame)
    except SealError as e:
        raise ProtocolError(str(e)) from None


def reason_for(conn: Connection, error: ProtocolError) -> str:
    """The close reason: a refusal may quote what a guest sent, which an encrypted share must
    not put on the wire in clear; its sockets get the code's fixed meaning instead."""
    if conn.seal is None:
        return close_reason(str(error))  # cut to what a close frame carries
    name = next(n for n, c in CLOSE_CODES.items() if int(c["code"]) == error.code)
    return close_reason(CLOSE_CODES[name]["meaning"])


class DirectFrames:
    """Writes ready-made websocket frames straight to uvicorn's transport.

    A message fanned out to N people is framed once and written N times, with no coroutine or
    task per recipient (the ASGI send path costs both, per message and per recipient). Only used
    when uvicorn's websockets-sansio protocol is what we expect and no extension is negotiated;
    otherwise the room falls back to ASGI sends. Set JUPYTERSPOT_DIRECT_FRAMES=0 to compare.
    """

    def __init__(self, protocol: Any) -> None:
        self._p = protocol

    @classmethod
    def attach(cls, asgi_send: Any) -> DirectFrames | None:
        if os.environ.get("JUPYTERSPOT_DIRECT_FRAMES", "1") == "0":
            return None
        protocol = getattr(asgi_send, "__self__", None)
        needed = ("transport", "conn", "close_sent", "disconnected", "handshake_complete")
        if protocol is None or not all(hasattr(protocol, a) for a in needed):
            return None
        if getattr(protocol.conn, "extensions", None):  # e.g. permessage-deflate: not raw
            return None
        return cls(protocol)

    def write(self, frame: bytes) -> bool:
        p = self._p
        if p.disconnected or p.close_sent or not p.handshake_complete:
            return False
        if p.transport.is_closing():
            return False
        p.transport.write(frame)
        return True

    def abort_if_stuck(self) -> None:
        """A close waits for the send buffer to drain; a peer that stopped reading would keep
        the socket (and a ghost participant) for minutes: reset it instead."""
        p = self._p
        if not p.disconnected:
            with contextlib.suppress(Exception):
                p.transport.abort()

    def buffered(self) -> int:
        return self._p.transport.get_write_buffer_size()
