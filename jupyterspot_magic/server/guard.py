"""The connection guard: what the server accepts below ASGI, in uvicorn's own protocols.

Starlette never sees a socket that is only opened, nor a request head or a websocket message
arriving a byte at a time: uvicorn's h11 and websockets protocols hold those. The guard hooks into
both (issue 11 rows 4, 5, 9; numbers and reasons in docs/security.md): a cap on sockets at accept
time (past it the oldest idle one is dropped), a deadline for each request head, and a budget and
a deadline for unfinished websocket messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import resource
from collections import Counter
from collections.abc import Callable
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import PayloadTooBig
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import State

from ..collab.close_codes import CLOSE_TOO_LARGE, CLOSE_TOO_SLOW, CLOSE_TRY_AGAIN
from ..collab.seal import OVERHEAD as SEAL_OVERHEAD
from .shared import CONTROL_MAX_MESSAGE

# HTTP: a request head (headers) must arrive within HEADER_TIMEOUT of the connection or of its
# first byte; idle keep-alive connections close after uvicorn's timeout_keep_alive (5 s).
HEADER_TIMEOUT = 5.0
MAX_HEAD_BYTES = 16 * 1024  # h11's own default, stated: what a slow head can hold
# Connections without a request in progress: past this many the oldest is dropped. At least
# WAITING_CAP, and as many as the shares have seats (ConnectionGuard.waiting_cap): when a lecture
# opens the link at once, every socket waits a moment before the loop reads its head, and a cap of
# 256 dropped 944 of 1,200 honest sockets (600 people, measured). A slowloris then holds at most
# that many sockets, each for at most HEADER_TIMEOUT.
WAITING_CAP = 256
# The same, per peer address that is not loopback: past it that address's own oldest waiting
# connection is dropped (see ConnectionGuard.admit), so a reverse proxy on another machine, through
# which a whole lecture arrives from one address, is never refused.
WAITING_PER_ADDRESS = 32
FDS_RESERVED = 256  # the kernel's own files, zmq sockets, the user's code
BASE_CAP = 1024  # sockets the server may hold whatever its shares' seats (connection_cap)
# A socket refused before joining a room (invalid_token, not_found, removed, room_full) gets
# its close frame, then is reset if it has not completed the close handshake within this time:
# it cannot hold an fd.
ABORT_REFUSED_AFTER = 1.0
# Unfinished websocket messages: each socket may hold PARTIAL_FREE bytes of one for free; beyond
# that it draws from one pool shared by every socket, and a message still unfinished after
# PARTIAL_TIMEOUT closes its socket. Worst case held: cap * PARTIAL_FREE + PARTIAL_POOL.
PARTIAL_FREE = 64 * 1024
PARTIAL_POOL = 64 * 1024 * 1024
PARTIAL_TIMEOUT = 30.0  # s: 4 MiB over a 1 Mbit/s link takes ~34 s of which the pool holds ~30


def abort_quietly(transport: Any) -> None:
    with contextlib.suppress(Exception):  # already gone: fine
        transport.abort()


def connection_cap(soft_limit: int | None = None, seats: int = 0) -> int:
    """How many sockets the server may hold: what its shares' seats need (`seats`: a socket per
    person per room, Registry.seats) plus WAITING_CAP for page loads, at least BASE_CAP; and at
    most half of the fds left after FDS_RESERVED (the rest of the process must never hit EMFILE).
    With the default 500 people: 2 x (500 + 16) + 256 = 1288."""
    wanted = max(BASE_CAP, seats + WAITING_CAP)
    if soft_limit is None:
        soft_limit = fd_limit(2 * wanted + FDS_RESERVED)
    if soft_limit == resource.RLIM_INFINITY or soft_limit < 0:
        return wanted
    return max(32, min(wanted, (soft_limit - FDS_RESERVED) // 2))


def fd_limit(wanted: int) -> int:
    """The soft RLIMIT_NOFILE, raised towards `wanted` (never past the hard limit) when the seats
    need more than it allows: many systems start processes at 1024, which would cap a share at
    384 sockets (192 people) whatever --max-people says."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        with contextlib.suppress(ValueError, OSError):  # not allowed here: keep what we have
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
    return soft


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
    `waiting_cap` the oldest is dropped (a real request finishes its head in milliseconds, a
    slowloris socket sits there), and past the global cap a new socket is reset at once unless a
    waiting one can make room.
    """

    def __init__(self, cap: int | None = None, seats: Callable[[], int] | None = None) -> None:
        self.fixed_cap = cap  # a test's; None: follow the seats of the shares (connection_cap)
        self.seats = seats if seats is not None else lambda: 0
        self.waiting: dict[Any, str | None] = {}  # protocol -> peer host; insertion = age
        self.per_address: Counter[str] = Counter()
        self.partial_pool = 0  # bytes of unfinished messages beyond each socket's free part
        self.refused = 0  # counters for tests and status
        self.evicted = 0
        self.is_shared_address = is_shared_address

    @property
    def cap(self) -> int:
        """Sockets the server may hold now: it grows and shrinks with the registered shares'
        seats (a share of 600 people needs ~1,500), never past the fd budget."""
        if self.fixed_cap is not None:
            return self.fixed_cap
        return connection_cap(seats=self.seats())

    @cap.setter
    def cap(self, value: int) -> None:
        self.fixed_cap = value

    def admit(self, protocol: Any, connections: set, host: str | None) -> bool:
        """Called once the new protocol is in `connections`; False = reset it now."""
        if len(connections) > self.cap and not self._evict_oldest():
            self.refused += 1
            return False
        if not self.is_shared_address(host) and self.per_address[host] >= WAITING_PER_ADDRESS:
            # One address holding many waiting sockets is a slowloris or a proxy in front of a
            # whole audience: drop that address's oldest idle one, never the newcomer. Either
            # way the address holds at most WAITING_PER_ADDRESS of them.
            self._evict_oldest(host)
        return True

    @property
    def waiting_cap(self) -> int:
        """Waiting connections kept before the oldest is dropped: max(WAITING_CAP, seats)."""
        return max(WAITING_CAP, self.seats())

    def start_waiting(self, protocol: Any, host: str | None) -> None:
        if protocol in self.waiting:
            return
        if len(self.waiting) >= self.waiting_cap:
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

    def _evict_oldest(self, host: str | None = None) -> bool:
        """Drop the oldest waiting connection (of `host`, when given)."""
        if host is None:
            oldest = next(iter(self.waiting), None)
        else:
            oldest = next((p for p, h in self.waiting.items() if h == host), None)
        if oldest is None:
            return False
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
    frame header before any payload is buffered; over it the socket closes with too_large like the
    room's own check. An unfinished message (a fragmented one, or one frame arriving slowly) may
    hold PARTIAL_FREE bytes; more is drawn from the guard's shared pool (1013 when it is empty)
    and it must finish within PARTIAL_TIMEOUT (too_slow).
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
            self.conn.max_message_size = CONTROL_MAX_MESSAGE + SEAL_OVERHEAD
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
            # Same code as the room's size check (too_large), not websockets' generic 1009.
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
        self.close_timer = self.loop.call_later(ABORT_REFUSED_AFTER, abort_quietly, self.transport)

    def _abort_later(self) -> None:
        self.loop.call_later(ABORT_REFUSED_AFTER, abort_quietly, self.transport)


def guarded_protocols(guard: ConnectionGuard) -> tuple[type, type]:
    """The HTTP and websocket protocol classes for one server, bound to its guard."""
    http = type("ServerH11Protocol", (GuardedH11Protocol,), {"guard": guard})
    ws = type("ServerWebSocketProtocol", (GuardedWebSocketProtocol,), {"guard": guard})
    return http, ws
