"""The share's web server: one port for the page, the viewer bundle and the Yjs rooms.

It runs uvicorn in a daemon thread with its own asyncio loop, never on the kernel's loop (a cell
blocking the kernel would freeze every participant: measured 4.9 s stall during time.sleep(5)).
The kernel thread talks to it only through `ServerThread.call`, which posts work onto that loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gzip
import hashlib
import hmac
import html
import importlib.util
import inspect
import ipaddress
import logging
import os
import resource
import socket
import threading
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import h11
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket, WebSocketDisconnect
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import PayloadTooBig
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import State

from ..base.page_config import config_block, page_config
from ..base.paths import STATIC_DIR
from ..base.text import redact
from ..collab.close_codes import (
    CLOSE_BAD_FRAME,
    CLOSE_INVALID_TOKEN,
    CLOSE_NOT_FOUND,
    CLOSE_REMOVED,
    CLOSE_ROOM_FULL,
    CLOSE_TOO_LARGE,
    CLOSE_TOO_SLOW,
    CLOSE_TRY_AGAIN,
)
from ..collab.room import Connection, ProtocolError, Room, RoomLimits
from ..content.render import CONFIG_PLACEHOLDER, RenderedNotebook

log = logging.getLogger(__name__)

STATIC_FILES = {
    "viewer.js": "text/javascript",
    "viewer.css": "text/css",
    "mathjax.js": "text/javascript",
}
# A peer that vanished without closing is dropped after interval + timeout (~20 s). Not shorter:
# a ping waits behind whatever is queued (a big board's sync over a slow link takes seconds).
# Closed tabs and pagehide are seen at once; this is only for silent network loss.
PING_INTERVAL = 5.0
PING_TIMEOUT = 15.0
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",
}

# --- network limits (issue 11 rows 4, 5, 9; numbers and reasons in docs/security.md) ---------
# Seats: guests share GUEST_SLOTS per room; the host has HOST_SLOTS of its own on top, so a room
# filled by guests (or by someone holding the guest link) never locks the presenter out.
GUEST_SLOTS = 100
HOST_SLOTS = 16
SOCKETS_PER_PID = 4  # one browser (its tabs and a reconnect racing its old socket), per room
CONTROL_MAX_MESSAGE = 64 * 1024
# HTTP: a request head (headers) must arrive within HEADER_TIMEOUT of the connection or of its
# first byte; idle keep-alive connections close after uvicorn's timeout_keep_alive (5 s).
HEADER_TIMEOUT = 5.0
MAX_HEAD_BYTES = 16 * 1024  # h11's own default, stated: what a slow head can hold
WAITING_CAP = 256  # connections without a request in progress; the oldest is dropped past it
WAITING_PER_ADDRESS = 32  # the same, per peer address that is not loopback (see ConnectionGuard)
FDS_RESERVED = 256  # the kernel's own files, zmq sockets, the user's code
# A socket refused before joining a room (4401/4404/4403/4409) gets its close frame, then is
# reset if it has not completed the close handshake within this time: it cannot hold an fd.
ABORT_REFUSED_AFTER = 1.0
# Unfinished websocket messages: each socket may hold PARTIAL_FREE bytes of one for free; beyond
# that it draws from one pool shared by every socket, and a message still unfinished after
# PARTIAL_TIMEOUT closes its socket. Worst case held: cap * PARTIAL_FREE + PARTIAL_POOL.
PARTIAL_FREE = 64 * 1024
PARTIAL_POOL = 64 * 1024 * 1024
PARTIAL_TIMEOUT = 30.0  # s: 4 MiB over a 1 Mbit/s link takes ~34 s of which the pool holds ~30


class ServeError(Exception):
    """The server could not start (port in use, bad host): one line for the user."""


class ServerTimeout(ServeError, TimeoutError):
    """ServerThread.call got no answer in time (a TimeoutError too, as before)."""


# --- what one share publishes --------------------------------------------------------------


@dataclass
class SharedNotebook:
    """One share's page and rooms, registered on the server under its room id."""

    room: str
    token: str
    host_token: str
    rendered: RenderedNotebook
    board: Room = field(init=False)
    control: Room = field(init=False)
    _pages: dict[tuple[str, bool], bytes] = field(default_factory=dict, init=False)
    _gzipping: dict[str, asyncio.Future] = field(default_factory=dict, init=False)
    _warming: asyncio.Task | None = field(default=None, init=False)
    banned: set[str] = field(default_factory=set, init=False)
    # Extra token-checked routes /s/{room}/{name} (issue 6: "cells", "export"): name ->
    # async (role, query params) -> Response. Set by the kernel side, called on this thread.
    extras: dict[str, Callable[[str, Any], Coroutine[Any, Any, Response]]] = field(
        default_factory=dict, init=False
    )

    def __post_init__(self) -> None:
        self.board = Room("board")
        # Room.join's own cap is the last resort; serve_socket enforces the guest cap first.
        seats = GUEST_SLOTS + HOST_SLOTS
        self.board = Room("board", limits=RoomLimits(max_connections=seats))
        self.control = Room(
            "control",
            writers=frozenset({"host"}),
            limits=RoomLimits(max_message=CONTROL_MAX_MESSAGE, max_connections=seats),
        )

    def role_for(self, token: str | None) -> str | None:
        if not token:
            return None
        if hmac.compare_digest(token.encode(), self.host_token.encode()):
            return "host"
        if hmac.compare_digest(token.encode(), self.token.encode()):
            return "guest"
        return None

    def room_named(self, name: str) -> Room | None:
        return {"board": self.board, "control": self.control}.get(name)

    def forget_connections(self) -> None:
        """After a server restart: drop per-loop state, keep the documents."""
        self.board.forget_connections()
        self.control.forget_connections()
        self._gzipping = {}
        self._warming = None

    # -- host powers (server thread) --

    def kick(self, client_id: int) -> bool:
        """Disconnect a participant and keep their browser out until `allow`ed."""
        owner = self.board.owners.get(client_id)
        if owner is None:
            return False
        if owner.pid is not None:
            self.banned.add(owner.pid)
        for room in (self.board, self.control):
            room.close_where(
                lambda c: c is owner or (owner.pid is not None and c.pid == owner.pid),
                CLOSE_REMOVED,
                "removed by the host",
            )
        return True

    def allow_everyone(self) -> None:
        self.banned.clear()

    def rotate(self, token: str) -> None:
        """A new guest token: every old guest link stops working at once."""
        self.token = token
        self._pages.clear()
        for room in (self.board, self.control):
            room.close_where(lambda c: c.role == "guest", CLOSE_INVALID_TOKEN, "link rotated")

    def set_view_only(self, view_only: bool) -> None:
        """Guests keep watching; the server drops their drawing (not just the UI).

        A dropped update leaves that client's later ones waiting on it forever, so when drawing
        opens again everyone is asked to resync: what they drew meanwhile merges, nothing is
        stuck or lost.
        """
        self.board.writers = frozenset({"host"}) if view_only else frozenset({"guest", "host"})
        if not view_only:
            self.board.resync()

    def set_rendered(self, rendered: RenderedNotebook) -> None:
        self.rendered = rendered
        self._pages.clear()
        self._gzipping.clear()  # a compression still running belongs to the old page

    def warm_up(self) -> None:
        """Compress the guest page in the background so the first visitor does not wait."""
        self._warming = asyncio.get_running_loop().create_task(self.page("guest", True))

    async def page(self, role: str, gzipped: bool) -> bytes:
        """The page for a role, built once. Gzip runs in a worker thread (a 18 MB page takes
        ~0.5 s) and only gzip requests wait for it; a plain request never does."""
        plain = self._pages.get((role, False))
        if plain is None:  # no await in between: atomic on the server loop
            plain = self._pages[(role, False)] = self._build_page(role)
        if not gzipped:
            return plain
        done = self._pages.get((role, True))
        if done is not None:
            return done
        job = self._gzipping.get(role)
        if job is None:
            level = gzip_level(plain)
            job = asyncio.ensure_future(asyncio.to_thread(gzip.compress, plain, level))
            self._gzipping[role] = job
            job.add_done_callback(lambda j: self._keep_gzip(role, plain, j))
        return await asyncio.shield(job)

    def _keep_gzip(self, role: str, plain: bytes, job: asyncio.Future) -> None:
        """Cache a finished compression, unless the page changed meanwhile."""
        if self._gzipping.get(role) is job:
            del self._gzipping[role]
            fresh = self._pages.get((role, False)) is plain
            if fresh and not job.cancelled() and job.exception() is None:
                self._pages[(role, True)] = job.result()

    def _build_page(self, role: str) -> bytes:
        config = page_config(
            room=self.room,
            role=role,
            ws_base=f"../../ws/{self.room}",
            version=self.rendered.content_hash,
            cells=len(self.rendered.cell_ids),
            title=self.rendered.title,
        )
        page = self.rendered.html.replace(CONFIG_PLACEHOLDER, config_block(config), 1)
        # Defense in depth: a host token must never reach a page (e.g. saved widget state).
        return redact(page, self.secrets_for(role)).encode()

    def secrets_for(self, role: str) -> tuple[str, ...]:
        """The tokens a page (or any response) for `role` must not contain: a guest's never
        holds either, a host's never holds the host token (its own comes from its URL)."""
        return (self.host_token, self.token) if role == "guest" else (self.host_token,)


def gzip_level(page: bytes) -> int:
    """Text compresses well at 6; big pages are mostly base64 images that barely shrink."""
    return 6 if len(page) < 4_000_000 else 1


# --- the ASGI app --------------------------------------------------------------------------


class Registry:
    """Room id -> SharedNotebook; only touched on the server thread."""

    def __init__(self) -> None:
        self.shares: dict[str, SharedNotebook] = {}


def plotly_js_path() -> Path | None:
    """plotly.js from the kernel's own plotly package, when installed (no download needed)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


def error_page(status: int, title: str, detail: str) -> HTMLResponse:
    body = (
        "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        f"<title>{html.escape(title)}</title>"
        "<body style='font:16px system-ui;max-width:36em;margin:15vh auto;padding:0 1em'>"
        f"<h1 style='font-size:1.4em'>{html.escape(title)}</h1><p>{html.escape(detail)}</p>"
    )
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


@dataclass(frozen=True)
class StaticAsset:
    raw: bytes
    gzipped: bytes
    etag: str


class StaticCache:
    """The bundle files, read and gzipped once per process (in a worker thread)."""

    def __init__(self) -> None:
        self._assets: dict[str, StaticAsset] = {}

    async def get(self, name: str) -> StaticAsset | None:
        if name not in self._assets:
            asset = await asyncio.to_thread(self._load, STATIC_DIR / name)
            if asset is None:
                return None
            self._assets[name] = asset
        return self._assets[name]

    @staticmethod
    def _load(path: Path) -> StaticAsset | None:
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        etag = '"' + hashlib.sha256(raw).hexdigest()[:20] + '"'
        return StaticAsset(raw, gzip.compress(raw, 6), etag)


def build_app(registry: Registry) -> Starlette:
    static_cache = StaticCache()

    async def page(request: Request) -> Response:
        shared = registry.shares.get(request.path_params["room"])
        if shared is None:
            return error_page(404, "Nothing shared here", "This share has ended or never existed.")
        role = shared.role_for(request.query_params.get("token"))
        if role is None:
            return error_page(
                403,
                "This link is not valid",
                "The link is incomplete or no longer valid. Ask the presenter for a new one.",
            )
        gzipped = "gzip" in request.headers.get("accept-encoding", "")
        body = await shared.page(role, gzipped)
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-store", "Vary": "Accept-Encoding"}
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type="text/html; charset=utf-8", headers=headers)

    async def page_redirect(request: Request) -> Response:
        room = request.path_params["room"]
        if room not in registry.shares:  # only real rooms: never an open redirect
            return error_page(404, "Nothing shared here", "This share has ended or never existed.")
        query = f"?{request.url.query}" if request.url.query else ""
        headers = {"Location": f"{quote(room)}/{query}", **SECURITY_HEADERS}
        return Response(status_code=307, headers=headers)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            return Response("Not found", status_code=404, headers=SECURITY_HEADERS)
        asset = await static_cache.get(name)
        if asset is None:
            return Response("Not found", status_code=404, headers=SECURITY_HEADERS)
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache", "ETag": asset.etag}
        headers["Vary"] = "Accept-Encoding"
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        body = asset.raw
        if "gzip" in request.headers.get("accept-encoding", ""):
            body, headers["Content-Encoding"] = asset.gzipped, "gzip"
        return Response(body, media_type=STATIC_FILES[name], headers=headers)

    async def extra(request: Request) -> Response:
        """A token-checked extra of a share (content updates, export): 404 / 403 like pages."""
        shared = registry.shares.get(request.path_params["room"])
        handler = shared.extras.get(request.path_params["extra"]) if shared else None
        if shared is None or handler is None:
            return Response("Not found", status_code=404, headers=SECURITY_HEADERS)
        role = shared.role_for(request.query_params.get("token"))
        if role is None:
            return Response("Invalid token", status_code=403, headers=SECURITY_HEADERS)
        return await handler(role, request.query_params)

    async def plotly_asset(request: Request) -> Response:
        path = plotly_js_path()
        if path is None:
            return Response("plotly is not installed", status_code=404, headers=SECURITY_HEADERS)
        return FileResponse(path, media_type="text/javascript", headers=SECURITY_HEADERS)

    async def not_found(request: Request, exc: Exception) -> Response:
        return Response("Not found", status_code=404, headers=SECURITY_HEADERS)

    routes = [
        Route("/s/{room}", page_redirect),
        Route("/s/{room}/", page),
        Route("/s/{room}/static/{name}", static),
        Route("/s/{room}/assets/plotly.min.js", plotly_asset),
        Route("/s/{room}/x/{extra}", extra),
    ]
    pages = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})

    async def app(scope, receive, send) -> None:
        # Websockets skip Starlette's middleware so the room gets uvicorn's own `send` (and
        # with it the transport: see DirectFrames); everything else is a Starlette route.
        if scope["type"] == "websocket":
            await serve_socket(registry, WebSocket(scope, receive, send), send)
        else:
            await pages(scope, receive, send)

    return app


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
    full = seat_refusal(room, role, pid)
    if full is not None:
        await refuse(websocket, asgi_send, CLOSE_ROOM_FULL, full)
        return
    conn = Connection(
        websocket.send_bytes, websocket.close, role, pid, DirectFrames.attach(asgi_send)
    )
    if not room.join(conn):
        await conn.finish()  # the 4409 close frame must go out before the socket is torn down
        return
    await pump(room, conn, websocket, role)


def seat_refusal(room: Room, role: str, pid: str | None) -> str | None:
    """Why this socket may not take a seat in the room, or None. No await: atomic with join."""
    if role == "host":
        return None  # HOST_SLOTS beyond the guests' cap; Room.join bounds those
    guests = same_browser = 0
    for conn in room.connections:
        if conn.role == "guest":
            guests += 1
        if pid is not None and conn.pid == pid:
            same_browser += 1
    if guests >= GUEST_SLOTS:
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


def abort_quietly(transport: Any) -> None:
    with contextlib.suppress(Exception):  # already gone: fine
        transport.abort()


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
            room.receive(conn, data)
    except ProtocolError as e:
        log.info("closing a %s connection: %s", role, e)
        conn.close(e.code, str(e)[:100])
    except WebSocketDisconnect:
        pass
    finally:
        room.leave(conn)
        await conn.finish()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (faster sockets and scheduling), else asyncio's own loop."""
    if os.environ.get("JUPYTERSPOT_UVLOOP", "1") != "0":
        try:
            import uvloop

            return uvloop.new_event_loop()
        except ImportError:
            pass
    return asyncio.new_event_loop()


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


# --- connection guard: fds, slow heads, unfinished messages --------------------------------


def connection_cap(soft_limit: int | None = None) -> int:
    """How many sockets the server may hold: at most half of the fds left after FDS_RESERVED
    (the rest of the process, the user's kernel, must never hit EMFILE), and never over 1024."""
    if soft_limit is None:
        soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft_limit == resource.RLIM_INFINITY or soft_limit < 0:
        return 1024
    return max(32, min(1024, (soft_limit - FDS_RESERVED) // 2))


def is_shared_address(host: str | None) -> bool:
    """Loopback peers are a tunnel agent (or the local user): everyone behind a tunnel comes from
    the same loopback address, so a per-address cap there would lock every guest out at once."""
    if not host:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


class ConnectionGuard:
    """Counts one server's sockets; decides at accept time who may stay.

    "Waiting" connections are HTTP connections with no request in progress: not yet sent a full
    head, or idle between keep-alive requests. They are the cheap ones to open and hold, so past
    WAITING_CAP the oldest is dropped (a real request finishes its head in milliseconds, a
    slowloris socket sits there), and past the global cap a new socket is reset at once unless a
    waiting one can make room.
    """

    def __init__(self, cap: int | None = None) -> None:
        self.cap = connection_cap() if cap is None else cap
        self.waiting: dict[Any, str | None] = {}  # protocol -> peer host; insertion = age
        self.per_address: Counter[str] = Counter()
        self.partial_pool = 0  # bytes of unfinished messages beyond each socket's free part
        self.refused = 0  # counters for tests and status
        self.evicted = 0
        self.is_shared_address = is_shared_address

    def admit(self, protocol: Any, connections: set, host: str | None) -> bool:
        """Called once the new protocol is in `connections`; False = reset it now."""
        if len(connections) > self.cap and not self._evict_oldest():
            self.refused += 1
            return False
        if not self.is_shared_address(host) and self.per_address[host] >= WAITING_PER_ADDRESS:
            self.refused += 1
            return False
        return True

    def start_waiting(self, protocol: Any, host: str | None) -> None:
        if protocol in self.waiting:
            return
        if len(self.waiting) >= WAITING_CAP:
            self._evict_oldest()
        self.waiting[protocol] = host
        if host is not None:
            self.per_address[host] += 1

    def stop_waiting(self, protocol: Any) -> None:
        if protocol not in self.waiting:
            return
        host = self.waiting.pop(protocol)
        if host is not None:
            self.per_address[host] -= 1
            if self.per_address[host] <= 0:
                del self.per_address[host]

    def _evict_oldest(self) -> bool:
        if not self.waiting:
            return False
        oldest = next(iter(self.waiting))
        self.stop_waiting(oldest)
        self.evicted += 1
        abort_quietly(oldest.transport)
        return True


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a cap at accept time and a deadline for the request head.

    uvicorn arms no timer before the first request and cancels its keep-alive timer on any byte,
    so a peer that sends a header byte now and then held its socket forever (issue 11, row 9).
    """

    guard: ConnectionGuard  # set per server by guarded_protocols()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._host = self.client[0] if self.client else None
        if not self.guard.admit(self, self.connections, self._host):
            transport.abort()
            return
        self._await_head()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and self.conn.their_state is h11.IDLE:
            self._await_head()  # a new request starts: its head has HEADER_TIMEOUT to arrive
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._head_done()  # a request (or a websocket upgrade) is being served

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.guard.start_waiting(self, self._host)  # idle keep-alive: evictable again

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_done()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        self.guard.start_waiting(self, self._host)
        self._head_timer = self.loop.call_later(HEADER_TIMEOUT, self._head_too_slow)

    def _head_done(self) -> None:
        self.guard.stop_waiting(self)
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        self.guard.stop_waiting(self)
        abort_quietly(self.transport)  # no response: the peer is not reading one anyway


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol with a budget for unfinished messages.

    The size limit is the room's own (4 MiB board, 64 KiB control), checked by websockets on each
    frame header before any payload is buffered; over it the socket closes with 4413 like the
    room's own check. An unfinished message (a fragmented one, or one frame arriving slowly) may
    hold PARTIAL_FREE bytes; more is drawn from the guard's shared pool (1013 when it is empty)
    and it must finish within PARTIAL_TIMEOUT (4408).
    """

    guard: ConnectionGuard

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._held = 0  # bytes of the unfinished message (frames so far + parser buffer)
        self._charged = 0  # the part of it drawn from the shared pool
        self._messages = 0  # complete messages so far: progress for the timeout
        self._partial_timer: asyncio.TimerHandle | None = None

    def handle_connect(self, event: Any) -> None:
        name = event.path.partition("?")[0].rstrip("/").rpartition("/")[2]
        if name != "board":  # control, or a path that is refused right after the handshake
            self.conn.max_message_size = CONTROL_MAX_MESSAGE
        super().handle_connect(event)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._account_partial()

    def send_receive_event_to_app(self) -> None:
        self._messages += 1
        super().send_receive_event_to_app()

    def handle_parser_exception(self) -> None:
        if self.close_sent:
            return  # called again for every chunk that follows: the parser discards them
        if isinstance(self.conn.parser_exc, PayloadTooBig):
            # Same code as the room's size check (4413), not websockets' generic 1009.
            self._close_now(CLOSE_TOO_LARGE, "message too large")
        else:
            self._release_partial()
            super().handle_parser_exception()
            self._abort_later()

    def connection_lost(self, exc: Exception | None) -> None:
        self._release_partial()
        super().connection_lost(exc)

    def _account_partial(self) -> None:
        if self.close_sent or self.transport.is_closing():
            self._release_partial()
            return
        held = len(self.conn.reader.buffer) + sum(len(f) for f in self.frames)
        charged = max(0, held - PARTIAL_FREE)
        self.guard.partial_pool += charged - self._charged
        self._held, self._charged = held, charged
        if charged and self.guard.partial_pool > PARTIAL_POOL:
            self._close_now(CLOSE_TRY_AGAIN, "server busy: send that again later")
        elif held and self._partial_timer is None:
            self._arm_partial_timer()
        elif not held and self._partial_timer is not None:
            self._partial_timer.cancel()
            self._partial_timer = None

    def _arm_partial_timer(self) -> None:
        seen = self._messages
        self._partial_timer = self.loop.call_later(PARTIAL_TIMEOUT, self._partial_check, seen)

    def _partial_check(self, seen: int) -> None:
        """Still holding bytes of the same unfinished message as PARTIAL_TIMEOUT ago: close."""
        self._partial_timer = None
        if not self._held:
            return
        if self._messages != seen:  # it finished messages meanwhile: this one is newer
            self._arm_partial_timer()
            return
        self._close_now(CLOSE_TOO_SLOW, "message not finished in time")

    def _release_partial(self) -> None:
        self.guard.partial_pool -= self._charged
        self._held = self._charged = 0
        if self._partial_timer is not None:
            self._partial_timer.cancel()
            self._partial_timer = None

    def _close_now(self, code: int, reason: str) -> None:
        """Send our close frame, free what the socket held and discard what it still sends.

        The socket stays open for ABORT_REFUSED_AFTER so a sender that is mid-message reads the
        close code (closing at once would answer its next bytes with a reset, and the code would
        be lost); then it is reset whatever the peer does.
        """
        if self.conn.state is State.OPEN:
            self.conn.fail(code, reason)  # from now on the parser discards what arrives
        self.conn.data_to_send()  # drop what websockets queued (its own 1009 close, if any)
        self._release_partial()
        self.frames = []
        self.conn.reader.buffer.clear()
        if self.close_sent or self.transport.is_closing():
            abort_quietly(self.transport)
            return
        close = Close(code, reason)
        self.transport.write(Frame(Opcode.CLOSE, close.serialize()).serialize(mask=False))
        self.close_sent = True
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        if self.read_paused:  # keep reading (and discarding) so the peer is not blocked
            self.read_paused = False
            self.transport.resume_reading()
        # uvicorn closes the transport when the app returns unless close_timer is set
        self.close_timer = self.loop.call_later(
            ABORT_REFUSED_AFTER, abort_quietly, self.transport
        )

    def _abort_later(self) -> None:
        self.loop.call_later(ABORT_REFUSED_AFTER, abort_quietly, self.transport)


def guarded_protocols(guard: ConnectionGuard) -> tuple[type, type]:
    """The HTTP and websocket protocol classes for one server, bound to its guard."""
    http = type("ServerH11Protocol", (GuardedH11Protocol,), {"guard": guard})
    ws = type("ServerWebSocketProtocol", (GuardedWebSocketProtocol,), {"guard": guard})
    return http, ws


# --- the thread ----------------------------------------------------------------------------


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
    # IPPROTO_TCP, and without it Nagle + delayed ACK hold small frames 40 ms (measured: cursor
    # p95 40 ms -> see docs/benchmarks.md). NODELAY on the listener is inherited on Linux.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ServeError(f"Cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class ServerThread:
    """uvicorn on a pre-bound socket, in a daemon thread with its own event loop.

    If the loop dies while sharing (a bug, a stray exception), the thread logs it, rebinds the
    same port and serves the same rooms again: documents live on, clients reconnect and resync.
    """

    MAX_RESTARTS = 5

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.registry = Registry()
        self._sock = bind_socket(host, port)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self._app = build_app(self.registry)
        self._server = self._make_server()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopping = False
        self.restarts = 0
        self._restart_listeners: list[Callable[[], None]] = []
        self._thread = threading.Thread(target=self._run, name="jupyterspot-server", daemon=True)

    def _make_server(self):
        import uvicorn

        self.guard = ConnectionGuard()
        http, ws = guarded_protocols(self.guard)
        ws_impl = os.environ.get("JUPYTERSPOT_WS_IMPL", "websockets-sansio")
        config = uvicorn.Config(
            self._app,
            http=http,  # h11, explicitly: the guard hooks into it
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            # other implementations (for comparisons) run without the message budget
            ws=ws if ws_impl == "websockets-sansio" else ws_impl,
            ws_ping_interval=PING_INTERVAL,
            ws_ping_timeout=PING_TIMEOUT,
            ws_per_message_deflate=False,  # small frames: deflate costs CPU per recipient
            ws_max_size=RoomLimits().max_message,  # the board's; control's is set per socket
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            timeout_graceful_shutdown=1,
        )
        return uvicorn.Server(config)

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise ServeError("The share server did not start within 10 s")
        if self._error is not None:
            raise ServeError(f"The share server failed to start: {self._error}")
        return self

    def _run(self) -> None:
        while True:
            crashed = self._serve_once()
            if crashed is None or self._stopping or not self._ready.is_set():
                self._error = crashed
                self._ready.set()
                return
            if self.restarts >= self.MAX_RESTARTS:
                log.error("share server crashed %d times; giving up", self.restarts + 1)
                self._error = crashed
                return
            self.restarts += 1
            log.error("share server crashed (%r); restarting on port %d", crashed, self.port)
            if not self._rebind():
                self._error = crashed
                return

    def _serve_once(self) -> BaseException | None:
        loop = new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
            return None
        except BaseException as e:
            self._drop_clients(loop)
            return e
        finally:
            with contextlib.suppress(Exception):
                loop.close()

    def _drop_clients(self, loop: asyncio.AbstractEventLoop) -> None:
        """Reset every client socket of a dead loop so browsers reconnect now, not in 30 s."""
        for protocol in list(self._server.server_state.connections):
            transport = getattr(protocol, "transport", None)
            if transport is not None:
                with contextlib.suppress(Exception):
                    transport.abort()
        with contextlib.suppress(BaseException):
            loop.run_until_complete(asyncio.sleep(0.05))  # lets the aborts reach the sockets

    def _rebind(self) -> bool:
        for shared in self.registry.shares.values():
            shared.forget_connections()  # their sockets died with the old loop
        with contextlib.suppress(OSError):
            self._sock.close()
        try:
            self._sock = bind_socket(self.host, self.port)
        except ServeError:
            log.exception("could not listen again on port %d", self.port)
            return False
        self._server = self._make_server()
        return True

    async def _serve(self) -> None:
        # uvicorn calls config.load() and binds nothing: we pass our socket
        serve_task = asyncio.ensure_future(self._server.serve(sockets=[self._sock]))
        while not self._server.started and not serve_task.done():
            await asyncio.sleep(0.005)
        self._ready.set()
        if self.restarts:
            for listener in self._restart_listeners:  # on the new loop: they may schedule work
                listener()
        await serve_task

    def on_restart(self, listener: Callable[[], None]) -> None:
        """Called on the server thread once a crashed loop has been replaced."""
        self._restart_listeners.append(listener)

    def forget_restart_listener(self, listener: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):
            self._restart_listeners.remove(listener)

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and self._error is None

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 10.0) -> Any:
        """Run `fn(*args)` on the server loop and return its result (from any other thread).

        `fn` may be a plain callable or a coroutine function: whatever it returns is awaited
        there when it is awaitable, so `call(room.kick, 3)`, `call(async_fn)` and
        `call(lambda: coro())` all work. Rooms, documents and the registry live on the server
        loop and are not thread-safe, so the kernel reaches them only through here. An exception
        raised by `fn` propagates to the caller; no answer within `timeout` raises
        ServerTimeout (fn keeps running: the server may only be busy).
        """
        loop = self._loop
        if loop is None or not self.running:
            raise ServeError("The share server is not running")
        if threading.current_thread() is self._thread:
            raise RuntimeError("ServerThread.call from the server thread would wait on itself")

        async def run() -> Any:
            result = fn(*args)
            if inspect.isawaitable(result):
                result = await result
            return result

        future = asyncio.run_coroutine_threadsafe(run(), loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise ServerTimeout(f"The share server did not answer within {timeout:g} s") from None

    def call_soon(self, fn: Callable[[], Any]) -> None:
        """Schedule `fn()` on the server loop (from any thread); nothing when not running."""
        if self._loop is not None and self.running:
            self._loop.call_soon_threadsafe(fn)

    def call_later(self, delay: float, fn: Callable[[], Any]) -> None:
        """Schedule `fn()` on the server loop after `delay` s (from any thread)."""
        loop = self._loop
        if loop is not None and self.running:
            loop.call_soon_threadsafe(loop.call_later, delay, fn)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        if self._thread.is_alive():
            self._server.should_exit = True
            self._thread.join(timeout)
        self._sock.close()
