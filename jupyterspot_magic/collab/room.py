"""Yjs rooms speaking the y-websocket protocol, built on pycrdt's Doc.

Why not pycrdt-websocket's YRoom: measured gaps — a newcomer is not sent the awareness states
already there, a closed connection's state lingers ~30 s, a client can receive updates before its
handshake, and it relays every awareness message N x N (p50 216 ms at 10 clients x 20 Hz here).
This room fixes each by construction:

- one outbound queue and writer task per connection (no task per message), same bytes to all;
- a connection gets document updates only after it has been sent sync step 2;
- awareness is kept per client id, owned by the connection that announced it, coalesced once per
  event-loop turn, sent in full to newcomers and cleared when the owner disconnects;
- writes to a read-only room (control, for guests) are dropped, frames are bounded and decoded
  strictly: a bad frame closes that connection only;
- in audience mode (audience.py) a guest's presence goes only to hosts and speakers, so what a
  listener receives does not grow with the room.

The wire format is messages.py's; every document update is checked by schema.py first.
Everything here runs on the server thread's event loop; nothing is thread-safe on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, Map

from . import schema as board_schema
from .audience import Audience
from .close_codes import (
    CLOSE_GOING_AWAY,
    CLOSE_ROOM_FULL,
    CLOSE_TOO_LARGE,
    CLOSE_TOO_MANY,
    CLOSE_TOO_SLOW,
)
from .codec import Reader, split_update
from .colors import ColorSlots
from .messages import (
    AUTH,
    AWARENESS,
    EMPTY_UPDATE,
    QUERY_AWARENESS,
    STEP1,
    STEP2,
    SYNC,
    UPDATE,
    AwarenessEntry,
    ProtocolError,
    decode_awareness,
    encode_awareness,
    read_var_bytes,
    sync_message,
    ws_frame,
)
from .reactions import RATES, Gate, stripped
from .schema import ASK, SchemaError, Unresolved, Validator
from .seal import ConnectionSeal, RoomSeal

log = logging.getLogger(__name__)

MAX_QUEUED_BYTES = 16 * 1024 * 1024  # a reader this far behind is dropped; it resyncs on reconnect
ABORT_AFTER = 2.0  # s: a connection we closed that is still not gone is reset
MAX_STATE = 4 * 1024  # one client's awareness state: name, cursor, scroll, laser (~300 B real)
MAX_IDS_PER_CONNECTION = 4  # a page announces one client id; a few for safety
# Client ids one connection may ever announce: announce/remove pairs must not churn the departed
# table (a flood of them once evicted the presenter's record and let a guest claim its id).
MAX_IDS_PER_CONNECTION_LIFETIME = 16
MAX_DEPARTED = 10_000  # guest client ids remembered after they left (clock, browser key, role)
SYNC_SPLIT = 8 << 20  # an initial sync bigger than this is sent in pieces of SYNC_CHUNK ...
SYNC_CHUNK = 1 << 20
SYNC_PACE = 4 << 20  # ... each once less than this is still waiting in the socket's buffer


class LimitExceeded(ProtocolError):
    """A well-formed frame past a limit (size, rate, growth): the sender is disconnected."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


class TokenBucket:
    """Allows `rate` units per second on average and bursts up to `burst`."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens = rate, burst, burst
        self.stamp = time.monotonic()

    def take(self, amount: float = 1.0) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < amount:
            return False
        self.tokens -= amount
        return True


# --- awareness states, as a room relays them -----------------------------------------------


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # Python accepts NaN/Infinity, JSON.parse throws


def checked_state(state: str, role: str, color: Callable[[], str] | None = None) -> str:
    """The state as it may be relayed: valid JSON object for every client, guest role proven,
    and, given `color` (the sender's slot colour, colors.py), `user.color` that colour.

    Clients run JSON.parse on every state they receive and a throw breaks their message handling
    (found by fuzzing), so anything a browser could not parse closes the sender instead.
    """
    if len(state) > MAX_STATE:
        raise LimitExceeded(CLOSE_TOO_LARGE, "awareness state too large")
    try:
        parsed = json.loads(state, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:  # deeply nested JSON raises RecursionError
        raise ProtocolError(f"awareness state is not JSON: {e}") from None
    if not isinstance(parsed, dict):
        raise ProtocolError("awareness state is not an object")
    try:
        board_schema.check_awareness(parsed)
    except SchemaError as e:
        raise ProtocolError(str(e)) from None
    user = parsed.get("user")
    if not isinstance(user, dict):
        return state
    changed = False
    if role != "host" and user.get("role", "guest") != "guest":
        user["role"] = "guest"  # a guest cannot claim to be host
        changed = True
    if color is not None:
        assigned = color()
        if user.get("color") != assigned:
            user["color"] = assigned  # nobody shows a colour that is not their slot's
            changed = True
    return json.dumps(parsed, separators=(",", ":")) if changed else state


# --- connections ---------------------------------------------------------------------------


class Connection:
    """One websocket in one room: an outbound queue drained by a single writer task."""

    def __init__(
        self,
        send: Callable[[bytes], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        role: str,
        pid: str | None = None,
        frames: Any = None,
        seal: ConnectionSeal | None = None,
    ) -> None:
        self._send = send
        # An end-to-end encrypted share's socket (collab/seal.py): what it sends is opened
        # before the room reads it, what it is sent is sealed first. None: plain.
        self.seal = seal
        self._close = close
        self.frames = frames  # DirectFrames (server/sockets.py) or None: then the writer task sends
        self.role = role
        self.pid = pid  # the browser's participant key: what a kick bans
        self.messages: TokenBucket | None = None  # set by the room it joins
        self.growth: TokenBucket | None = None
        self.presence: TokenBucket | None = None  # awareness bytes relayed for this connection
        self.step1s: TokenBucket | None = None  # sync requests: each costs the board's encoding
        self.gate: Gate | None = None  # new reactions / chat lines relayed (reactions.py)
        self.client_ids: set[int] = set()
        self.ids_ever: set[int] = set()  # bounded by MAX_IDS_PER_CONNECTION_LIFETIME
        self.deferred: dict[int, AwarenessEntry] = {}  # states over budget, latest only
        self.defer_scheduled = False
        self._pacing: asyncio.Task | None = None
        self.synced = False  # sync step 2 sent: from then on it receives document updates
        self.hears_all = True  # gets every client's presence (audience.py: hosts, speakers)
        self.closed = False
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._wakeup = asyncio.Event()
        self._closing: asyncio.Task | None = None
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    def send(self, message: bytes) -> None:
        """Queue one message for this connection only (sealed here on an encrypted share)."""
        if self.seal is not None:
            message = self.seal.room.down(message)
        self.send_framed(message)

    def send_framed(self, data: bytes, frame: bytes | None = None) -> None:
        """Queue what goes on the wire; `frame` is it already framed (shared by a fan-out, and
        sealed once for everyone by Room.framed)."""
        if self.closed:
            return
        if self.frames is not None:
            if self.frames.write(frame or ws_frame(data)) and (
                self.frames.buffered() > MAX_QUEUED_BYTES
            ):
                self.close(CLOSE_TOO_SLOW, "client too slow")
            return
        self._queue.append(data)
        self._queued_bytes += len(data)
        if self._queued_bytes > MAX_QUEUED_BYTES:
            self.close(CLOSE_TOO_SLOW, "client too slow")
            return
        self._wakeup.set()

    def send_step2(self, update: bytes, cut: Callable[[bytes], Awaitable[list[bytes]]]) -> None:
        """Answer a sync step 1. A board bigger than SYNC_SPLIT goes in pieces (`cut`: the
        room's, shared by everyone joining the same board), each once the socket has drained
        below SYNC_PACE: a single 20 MiB sync used to trip the slow-reader limit and drop every
        newcomer."""
        if len(update) <= SYNC_SPLIT or self.frames is None:
            self.send(sync_message(STEP2, update))
            return
        self._pacing = asyncio.get_running_loop().create_task(self._pace(cut(update)))

    def syncing(self) -> bool:
        """A paced answer is still going out (a second step 1 meanwhile is ignored)."""
        return self._pacing is not None and not self._pacing.done()

    async def _pace(self, pieces: Awaitable[list[bytes]]) -> None:
        assert self.frames is not None
        for message in await pieces:
            while not self.closed and self.frames.buffered() > SYNC_PACE:
                await asyncio.sleep(0.005)  # uvicorn exposes no drain event for raw writes
            if self.closed:
                return
            self.send(message)

    async def _write_loop(self) -> None:
        try:
            while not self.closed:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue and not self.closed:
                    data = self._queue.popleft()
                    self._queued_bytes -= len(data)
                    await self._send(data)
        except Exception:  # the socket went away: the receive loop sees it and cleans up
            self.closed = True

    def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self._wakeup.set()
        loop = asyncio.get_running_loop()
        self._closing = loop.create_task(self._close_quietly(code, reason))
        if self.frames is not None:
            loop.call_later(ABORT_AFTER, self.frames.abort_if_stuck)

    async def finish(self) -> None:
        """Let a pending close frame go out before the socket is torn down."""
        self.stop_writer()
        if self._closing is not None:
            await self._closing

    async def _close_quietly(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):  # already gone: nothing to tell it
            await self._close(code, reason)

    def stop_writer(self) -> None:
        self.closed = True
        self._writer.cancel()
        if self._pacing is not None:
            self._pacing.cancel()


# --- rooms ---------------------------------------------------------------------------------


class Lazy:
    """An awareness message for many connections: encoded and framed once, on first use, and
    not at all when it is empty or nobody needs it."""

    def __init__(
        self,
        entries: list[tuple[int, AwarenessEntry]],
        framed: Callable[[bytes], tuple[bytes, bytes]],
    ) -> None:
        self.entries = entries
        self._framed = framed  # the room's: seals once on an encrypted share
        self._built: tuple[bytes, bytes] | None = None
        self._ids: set[int] | None = None

    def ids(self) -> set[int]:
        if self._ids is None:
            self._ids = {cid for cid, _entry in self.entries}
        return self._ids

    def send_to(self, conn: Connection) -> None:
        if not self.entries:
            return
        if self._built is None:
            self._built = self._framed(encode_awareness(self.entries))
        conn.send_framed(*self._built)


SCHEMAS = {"board": board_schema.BOARD, "control": board_schema.CONTROL}


def sync_step2_pieces(update: bytes) -> list[bytes]:
    """The answer to a sync step 1: one step 2, or for a big board several updates and a final
    step 2 (so a client reports "synced" only once it has everything)."""
    pieces = split_update(update, SYNC_CHUNK)
    return [sync_message(UPDATE, p) for p in pieces[:-1]] + [sync_message(STEP2, pieces[-1])]


@dataclass
class RoomLimits:
    """Per-connection and per-room bounds; generous for people, tight for scripts."""

    max_message: int = 4 * 1024 * 1024
    max_connections: int = 100
    messages_per_second: float = 300.0  # a pen at 120 Hz plus cursor frames fits easily
    message_burst: float = 1000.0
    # Decoded cost (schema.STRUCT_COST per struct + content bytes) a connection may add; a pen
    # stroke costs ~10 KB, so a second's drawing is far below the rate.
    growth_per_second: float = 256 * 1024
    growth_burst: float = 16 * 1024 * 1024  # e.g. a reconnect carrying offline drawings
    max_document: int = 256 * 1024 * 1024  # total update bytes the room accepts
    # Decoded cost (schema.STRUCT_COST per struct + content bytes) the room accepts: what the
    # server's memory follows. Wire bytes do not: 5-byte items cost yrs ~200 B each (x17-21).
    max_cost: int = 192 * 1024 * 1024
    presence_per_second: float = 24 * 1024  # awareness bytes/s relayed for one connection
    presence_burst: float = 64 * 1024  # (a real page sends ~300 B states at <= 60/s)


@dataclass
class Room:
    """A Yjs document with its awareness, shared by the connections in it."""

    name: str
    writers: frozenset[str] = frozenset({"guest", "host"})  # roles allowed to change the document
    limits: RoomLimits = field(default_factory=RoomLimits)
    # Questions (shapes of kind "ask"): whether new ones are taken (the host's switch,
    # control.questions; server/shared.py). Roles that are not writers (view-only guests) may
    # still send updates that only create questions.
    questions_open: Callable[[], bool] = lambda: True

    def __post_init__(self) -> None:
        self.doc = Doc()
        self.doc_bytes = 0  # update bytes applied so far (an upper bound of the doc's size)
        self.cost = 0  # decoded cost of everything integrated (see RoomLimits.max_cost)
        self.validator = Validator(SCHEMAS[self.name], self._live_entries, self._delete_set)
        self._checked: board_schema.Checked | None = None  # the update being applied
        self._cut_cache: tuple[bytes, asyncio.Future] | None = None  # see _cut
        self.connections: set[Connection] = set()
        self.awareness: dict[int, AwarenessEntry] = {}
        # client id -> (the state text, its parse): `states()` is read several times a second
        # (the people list, the lead, the head count) and in a lecture only one state changes
        self._parsed: dict[int, tuple[str, dict]] = {}
        self.owners: dict[int, Connection] = {}
        # client id -> (clock, pid, role) of ids that left; host ids are never forgotten
        self.departed: dict[int, tuple[int, str | None, str]] = {}
        # client id -> (entry, role of its owner): what changed since the last flush
        self._pending: dict[int, tuple[AwarenessEntry, str]] = {}
        self._flush_scheduled = False
        self._origin: tuple[Connection, bytes] | None = None  # the update being applied
        self._awareness_listeners: list[Callable[[], None]] = []
        self.audience = Audience()  # off until the share sets a mode (crowd.py)
        self._audience_listeners: list[Callable[[], None]] = []
        self.seal: RoomSeal | None = None  # set by an end-to-end encrypted share
        # Presence colours by join order (colors.py): the board's people only.
        self.colors = ColorSlots() if self.name == "board" else None
        self.reactions = True  # the host's switch (reactions.py): off strips react/hand/chat
        self.doc.observe(self._on_change)

    def framed(self, message: bytes) -> tuple[bytes, bytes]:
        """A message for several connections, sealed and framed once: (data, frame)."""
        data = self.seal.down(message) if self.seal is not None else message
        return data, ws_frame(data)

    # -- lifecycle --

    def join(self, conn: Connection) -> bool:
        if len(self.connections) >= self.limits.max_connections:
            conn.close(CLOSE_ROOM_FULL, "room full")
            return False
        limits = self.limits
        conn.messages = TokenBucket(limits.messages_per_second, limits.message_burst)
        conn.growth = TokenBucket(limits.growth_per_second, limits.growth_burst)
        conn.presence = TokenBucket(limits.presence_per_second, limits.presence_burst)
        conn.step1s = TokenBucket(1.0, 5.0)  # a page sends one per connection
        conn.gate = Gate({key: TokenBucket(*rate) for key, rate in RATES.items()})
        self._recount(len(self.connections) + 1)  # before it joins: it has nothing to reroute
        self.connections.add(conn)
        conn.hears_all = self.audience.hears_all(conn.role, conn.client_ids)
        conn.send(self.step1())
        present = [
            (cid, e)
            for cid, e in self.awareness.items()
            if e.state is not None and (conn.hears_all or self._visible(cid))
        ]
        if present:
            conn.send(encode_awareness(present))
        return True

    def step1(self) -> bytes:
        return sync_message(STEP1, self.doc.get_state())

    def leave(self, conn: Connection) -> None:
        self.connections.discard(conn)
        conn.stop_writer()
        self._forget_states(conn)
        self._recount(len(self.connections))

    def _forget_states(self, conn: Connection) -> None:
        """Tell everyone at once that this connection's people are gone (idempotent)."""
        for client_id in conn.client_ids:
            if self.owners.get(client_id) is conn:
                del self.owners[client_id]
                entry = self.awareness.pop(client_id, None)
                self._release_color(conn, client_id)
                if entry is not None:
                    self._depart(client_id, entry.clock, conn)
                    self._queue_awareness(client_id, AwarenessEntry(entry.clock, None), conn.role)
        conn.deferred.clear()

    def _depart(self, client_id: int, clock: int, conn: Connection) -> None:
        self.departed.pop(client_id, None)  # re-inserted last: eviction is oldest first
        self.departed[client_id] = (clock, conn.pid, conn.role)
        while len(self.departed) > MAX_DEPARTED:
            # Forget the oldest guest id; a host's id (the presenter's, the usual leader) is
            # never forgotten, so no flood of ids can make it claimable by someone else.
            oldest = next((cid for cid, d in self.departed.items() if d[2] != "host"), None)
            if oldest is None:
                break
            del self.departed[oldest]

    def close_all(self, code: int = CLOSE_GOING_AWAY, reason: str = "share stopped") -> None:
        for conn in list(self.connections):
            conn.close(code, reason)

    def forget_connections(self) -> None:
        """The loop these connections lived on is gone: start over, keeping the document."""
        self.connections.clear()
        self.awareness.clear()
        if self.colors is not None:
            self.colors.clear()
        self.owners.clear()
        self.departed.clear()
        self._pending = {}
        self._flush_scheduled = False
        self._origin = None
        self._cut_cache = None  # its future belonged to the dead loop
        self.audience.active = self.audience.wanted(0)

    def resync(self) -> None:
        """Ask every client for what the server lacks (they answer step 1 with step 2)."""
        message = self.step1()
        for conn in self.connections:
            conn.send(message)

    def close_where(self, match: Callable[[Connection], bool], code: int, reason: str) -> int:
        closing = [conn for conn in self.connections if match(conn)]
        for conn in closing:
            conn.close(code, reason)
            self._forget_states(conn)  # not only once its socket has finished closing
        return len(closing)

    def on_awareness(self, listener: Callable[[], None]) -> None:
        self._awareness_listeners.append(listener)

    def on_audience(self, listener: Callable[[], None]) -> None:
        """Called when audience mode switches on or off."""
        self._audience_listeners.append(listener)

    # -- audience mode (audience.py): who hears whose presence --

    def set_audience_mode(self, mode: str) -> None:
        """ "auto", "on" or "off" (the user's --audience); applied at once."""
        self.audience.set_mode(mode)
        self._recount(len(self.connections))

    def set_speakers(self, speakers: frozenset[int]) -> None:
        """The leader and those with the floor: their presence goes to everyone, and they hear
        everyone's (crowd.py calls this when the control document changes)."""
        self._reroute(self.audience.active, frozenset(speakers))

    def set_reactions(self, on: bool) -> None:
        """The host's `reactions` switch (crowd.py reads it from the control document). Going
        off, the states held are stripped too: a raised hand must not stay up, for the others
        or in the kernel's people list. Each is relayed with the next clock, which its sender
        also adopts (y-protocols takes a newer state of its own id as its local state)."""
        was, self.reactions = self.reactions, on
        if on or not was:
            return
        for client_id, entry in list(self.awareness.items()):
            text = entry.state
            bare = stripped(text) if text is not None else text
            if bare is text:
                continue  # nothing to take away
            owner = self.owners.get(client_id)
            self.awareness[client_id] = new = AwarenessEntry(entry.clock + 1, bare)
            # not on the server's loop (a share being built): nobody to tell yet
            with contextlib.suppress(RuntimeError):
                self._queue_awareness(client_id, new, owner.role if owner else "guest")

    def _recount(self, people: int) -> None:
        self._reroute(self.audience.wanted(people), self.audience.speakers)

    def role_of(self, client_id: int) -> str:
        owner = self.owners.get(client_id)
        return owner.role if owner is not None else "guest"

    def _visible(self, client_id: int) -> bool:
        return self.audience.visible(client_id, self.role_of(client_id))

    def _reroute(self, active: bool, speakers: frozenset[int]) -> None:
        """Switch the policy and bring every connection to what it should hold under the new one:
        states it now may see are sent, states it may no longer see are removed (so nobody keeps
        a frozen cursor for the 30 s until yjs drops it as outdated)."""
        audience = self.audience
        flipped = active != audience.active
        if not flipped and (speakers == audience.speakers or not active):
            audience.speakers = speakers  # audience mode off: everyone hears everyone anyway
            return
        present = [(cid, e) for cid, e in self.awareness.items() if e.state is not None]
        before = {cid for cid, _e in present if self._visible(cid)}
        audience.active, audience.speakers = active, speakers
        after = {cid for cid, _e in present if self._visible(cid)}

        def removals(ids: set[int]) -> list[tuple[int, AwarenessEntry]]:
            return [(cid, AwarenessEntry(e.clock, None)) for cid, e in present if cid in ids]

        # One message per kind of change, framed once (see _flush_awareness).
        every = {cid for cid, _e in present}
        gained = Lazy([(cid, e) for cid, e in present if cid not in before], self.framed)
        lost = Lazy(removals(every - after), self.framed)
        shown = [(cid, e) for cid, e in present if cid in after - before]
        changed = Lazy(shown + removals(before - after), self.framed)
        removed: set[int] = set()  # ids somebody was just told are gone
        told: dict[int, Lazy] = {}
        for conn in self.connections:
            had, has = conn.hears_all, audience.hears_all(conn.role, conn.client_ids)
            conn.hears_all = has
            if had and has:
                continue
            message = gained if has else lost if had else changed
            message.send_to(conn)
            if message is not gained and message.entries:
                removed |= every - after if message is lost else before - after
                told |= dict.fromkeys(conn.client_ids, message)
        self._poke(removed, told)
        if flipped:
            for listener in self._audience_listeners:
                listener()

    def _poke(self, removed: set[int], told: dict[int, Lazy]) -> None:
        """Tell the owner of each removed state that it was removed, unless it was just told.

        yjs accepts a state only with a clock above the one it last saw for that client, and a
        removal carries the state's clock: shown again later unchanged, the state would be
        refused by everyone who got the removal. A y-protocols client that receives its own
        removal announces itself again with the next clock, which is then the one the server
        shows (routed as usual: to hosts and speakers while hidden).
        """
        for cid in removed:
            owner = self.owners.get(cid)
            entry = self.awareness.get(cid)
            message = told.get(cid)
            if owner is None or entry is None or (message and cid in message.ids()):
                continue
            owner.send(encode_awareness([(cid, AwarenessEntry(entry.clock, None))]))

    # -- incoming --

    def receive(self, conn: Connection, message: bytes) -> None:
        """Handle one frame; raises ProtocolError for anything malformed."""
        if len(message) > self.limits.max_message:
            raise LimitExceeded(CLOSE_TOO_LARGE, "message too large")
        if conn.messages is not None and not conn.messages.take():
            raise LimitExceeded(CLOSE_TOO_MANY, "too many messages")
        if not message:
            raise ProtocolError("empty frame")
        kind = message[0]
        if kind == SYNC:
            self._receive_sync(conn, message)
        elif kind == AWARENESS:
            update, _ = read_var_bytes(message, 1)
            self._receive_awareness(conn, update)
        elif kind in (AUTH, QUERY_AWARENESS):
            pass  # not used by this server; harmless
        else:
            raise ProtocolError(f"unknown message type {kind}")

    def _receive_sync(self, conn: Connection, message: bytes) -> None:
        if len(message) < 2:
            raise ProtocolError("truncated sync message")
        step = message[1]
        payload, _ = read_var_bytes(message, 2)
        if step == STEP1:
            if conn.step1s is not None and not conn.step1s.take():
                raise LimitExceeded(CLOSE_TOO_MANY, "too many sync requests")
            if conn.syncing():
                return  # its board is on the way; another copy would only cost memory
            try:
                missing = self.doc.get_update(payload)
            except ValueError as e:
                raise ProtocolError(f"bad state vector: {e}") from None
            conn.send_step2(missing, self._cut)
            conn.synced = True  # no await between the two lines: no update can slip past
        elif step in (STEP2, UPDATE):
            writer = conn.role in self.writers
            asker = self.name == "board"  # a view-only guest may still ask (questions)
            if (not writer and not asker) or payload == EMPTY_UPDATE:
                return  # read-only for this role: dropped, the document is unchanged
            if self.doc_bytes + len(payload) > self.limits.max_document:
                raise LimitExceeded(CLOSE_TOO_LARGE, "the board is full")
            try:
                checked = self.validator.check(payload, guest=conn.role != "host")
            except Unresolved:
                # It builds on writes the server never got (dropped under view-only, or sent
                # out of order): take nothing, and ask this client for everything we lack.
                conn.send(self.step1())
                return
            except SchemaError as e:
                raise ProtocolError(f"{self.name}: {e}") from None
            if not writer:
                if not checked.asks.only_creates_asks():
                    return  # view-only: anything but new questions is dropped, as before
                if not checked.own_deletes:
                    payload = checked.without_foreign_deletes(payload)
            # The host turned questions off: taken, then the new questions erased (below).
            refused = checked.asks.made and not self.questions_open()
            asks_before = self._ask_ids() if refused else None
            # Growth is paid in decoded cost (what the server's CPU and memory follow), so
            # 5-byte empty maps cannot buy ~120 times more work than their wire size says.
            if conn.growth is not None and not conn.growth.take(checked.cost):
                raise LimitExceeded(CLOSE_TOO_LARGE, "writing too much too fast")
            if self.cost + checked.cost > self.limits.max_cost:
                raise LimitExceeded(CLOSE_TOO_LARGE, "the board is full")
            self._apply_remote(conn, payload, checked)
            self.doc_bytes += len(payload)
            if asks_before is not None:
                self._withdraw_asks(asks_before)
        else:
            raise ProtocolError(f"unknown sync step {step}")

    def _apply_remote(
        self, conn: Connection | None, update: bytes, checked: board_schema.Checked
    ) -> None:
        self._origin = (conn, update) if conn is not None else None
        self._checked = checked
        try:
            self.doc.apply_update(update)
        except BaseException as e:  # pyo3 panics derive from BaseException
            if isinstance(e, KeyboardInterrupt | SystemExit):
                raise
            self._reindex()  # yrs may have integrated part of it before it failed
            raise ProtocolError(f"corrupt update: {e}") from None
        finally:
            self._origin = None
            self._checked = None
        self.validator.commit(checked)
        self.cost += checked.cost
        if not self._index_matches(checked):
            self._reindex()
            raise ProtocolError("the update did not integrate as checked")

    def _index_matches(self, checked: board_schema.Checked) -> bool:
        """Defense in depth: yrs' state vector agrees with the index for the clients just
        written (a disagreement means a struct integrated that the check did not see)."""
        reader = Reader(self.doc.get_state())
        state = {reader.var_uint(): reader.var_uint() for _ in range(reader.var_uint())}
        tails = self.validator.tails()
        return all(state.get(client, 0) == tails.get(client, 0) for client in checked.spans.spans)

    def _reindex(self) -> None:
        """Rebuild the index from the document itself (what yrs really holds)."""
        log.error("%s: the schema index disagreed with the document; rebuilding it", self.name)
        validator = Validator(self.validator.schema, self._live_entries, self._delete_set)
        validator.commit(validator.check_trusted(self.doc.get_update()))
        self.validator = validator

    async def _cut(self, update: bytes) -> list[bytes]:
        """A big sync in pieces, cut once in a worker thread and shared: newcomers to the same
        board get the same bytes, so ten joiners cost one cut and one copy of the pieces."""
        key = hashlib.blake2b(update, digest_size=16).digest()
        if self._cut_cache is None or self._cut_cache[0] != key:
            job = asyncio.ensure_future(asyncio.to_thread(sync_step2_pieces, update))
            self._cut_cache = (key, job)
        return await asyncio.shield(self._cut_cache[1])

    def _live_entries(self) -> int:
        return len(self.doc.get(self.validator.schema.root, type=Map))

    def _delete_set(self) -> bytes:
        """The document's delete set (an update with no structs: the state is ours)."""
        return self.doc.get_update(self.doc.get_state())

    def _ask_ids(self) -> set[str]:
        shapes = self.doc.get(self.validator.schema.root, type=Map)
        return {k for k, v in shapes.items() if isinstance(v, Map) and v.get("t") == ASK}

    def _withdraw_asks(self, before: set[str]) -> None:
        """Questions are off: the questions an accepted update made are erased by the server.
        Dropping the update instead would leave the page's later writes waiting on its clock
        (and a resync carries it again): the page stays in step, its question goes away."""
        made = self._ask_ids() - before
        if made:
            shapes = self.doc.get(self.validator.schema.root, type=Map)
            with self.doc.transaction(origin="kernel"):
                for shape_id in made:
                    del shapes[shape_id]

    def apply_stored(self, update: bytes, *, servers: bool = False) -> None:
        """Restore one stored update (server thread, before anyone connects): checked against
        the schema like a guest's, so a board poisoned before this version cannot come back.
        `servers`: the update holds an earlier server's writes, so server-only fields pass (the
        caller puts its own values back). Raises ProtocolError (one line) for a skipped update."""
        try:
            checked = self.validator.check(update, max_structs=1 << 62, trusted=servers)
        except SchemaError as e:
            raise ProtocolError(f"{self.name}: {e}") from None
        self._apply_remote(None, update, checked)
        self.doc_bytes += len(update)

    def _on_change(self, event) -> None:
        """Relay what the document actually integrated, re-encoded by the server.

        Never the sender's raw bytes: a damaged update can decode differently in yrs and yjs
        (found by fuzzing), and an update that completes items waiting on it carries those too.
        The sender is skipped only when it is getting back exactly what it sent.
        """
        update = event.update
        if update == EMPTY_UPDATE:
            return
        if self._checked is None:  # the kernel's own write (lead, clear, policy): index it
            self.cost += self.validator.learn(update)
        skip = self._origin[0] if self._origin and self._origin[1] == update else None
        receivers = [conn for conn in self.connections if conn.synced and conn is not skip]
        if receivers:  # sealed (a counter step) only when someone gets it
            built = self.framed(sync_message(UPDATE, update))
            for conn in receivers:
                conn.send_framed(*built)

    def _may_speak_for(self, conn: Connection, client_id: int, clock: int) -> bool:
        """A client id belongs to one browser: the connection that announced it, or the same
        browser reconnecting (its `pid`) before the old socket is noticed gone. Nobody may
        reuse a departed id with an older clock or from another browser.

        A hand-over needs a newer clock: y-websocket re-announces every state it hears with its
        original clock, so a second tab of the same browser echoes the first tab's state, and
        taking the id on that echo left it owned by a socket that never listed it (a ghost and
        a colour nobody freed)."""
        owner = self.owners.get(client_id)
        if owner is not None and owner is not conn:
            if conn.pid is None or owner.pid != conn.pid or owner.role != conn.role:
                return False
            known = self.awareness.get(client_id)
            if known is not None and clock <= known.clock:
                return False
            owner.client_ids.discard(client_id)  # handed over to the new socket
            self._release_color(owner, client_id)  # the new socket's slot applies from now
            self.owners[client_id] = conn
        departed = self.departed.get(client_id)
        if owner is None and departed is not None:
            old_clock, old_pid, old_role = departed
            if clock <= old_clock or old_role != conn.role:
                return False
            if old_pid is not None and old_pid != conn.pid:
                return False
        if client_id not in conn.client_ids and len(conn.client_ids) >= MAX_IDS_PER_CONNECTION:
            raise LimitExceeded(CLOSE_TOO_MANY, "too many client ids")
        if client_id not in conn.ids_ever:
            if len(conn.ids_ever) >= MAX_IDS_PER_CONNECTION_LIFETIME:
                raise LimitExceeded(CLOSE_TOO_MANY, "too many client ids")
            conn.ids_ever.add(client_id)
        return True

    def _receive_awareness(self, conn: Connection, update: bytes) -> None:
        corrected: dict[int, AwarenessEntry] = {}  # the sender's states whose colour was rewritten
        for client_id, clock, state in decode_awareness(update):
            if not self._may_speak_for(conn, client_id, clock):
                continue
            known = self.awareness.get(client_id)
            removal = state == "null"
            if known is not None and not (
                clock > known.clock or (clock == known.clock and removal)
            ):
                continue
            if removal:
                self.awareness.pop(client_id, None)
                self._release_color(conn, client_id)
                self.owners.pop(client_id, None)
                conn.client_ids.discard(client_id)
                conn.deferred.pop(client_id, None)
                self._depart(client_id, clock, conn)
                self._queue_awareness(client_id, AwarenessEntry(clock, None), conn.role)
                continue
            sent = state
            state = checked_state(state, conn.role, self._color_of(conn, client_id))
            if not self.reactions:
                state = stripped(state)  # the host turned reactions off (reactions.py)
            elif conn.gate is not None:
                state = conn.gate.admit(client_id, state)  # new ones over budget (reactions.py)
            if state is not sent and self.colors is not None:
                corrected[client_id] = AwarenessEntry(clock + 1, state)
            else:
                corrected.pop(client_id, None)
            self.awareness[client_id] = entry = AwarenessEntry(clock, state)
            self.owners[client_id] = conn
            conn.client_ids.add(client_id)
            if not conn.hears_all and self.audience.hears_all(conn.role, conn.client_ids):
                self._hear_all(conn)  # a speaker's id on a new connection (a reconnect)
            self._relay_within_budget(conn, client_id, entry)
        self._send_corrections(conn, corrected)

    def _color_of(self, conn: Connection, client_id: int) -> Callable[[], str] | None:
        colors = self.colors
        if colors is None:
            return None
        return lambda: colors.color(conn, client_id, conn.role)

    def _release_color(self, conn: Connection, client_id: int) -> None:
        if self.colors is not None:
            self.colors.release(conn, client_id)

    def _send_corrections(self, conn: Connection, corrected: dict[int, AwarenessEntry]) -> None:
        """Tell the sender what the others see (its slot's colour): its own states with the next
        clock, which y-protocols adopts as the local state and announces. One message per frame,
        the latest state per client id, paid from the sender's presence budget like a relay
        (once per entry, 2,000 wrong-colour entries in one frame cost 2,000 replies). Over
        budget it is skipped: the next state the page sends is corrected again."""
        if not corrected:
            return
        cost = sum(len(entry.state or "") for entry in corrected.values())
        if conn.presence is None or conn.presence.take(cost):
            conn.send(encode_awareness(list(corrected.items())))

    def _hear_all(self, conn: Connection) -> None:
        """Send a connection that now hears everyone the states it was not sent."""
        conn.hears_all = True
        hidden = [
            (cid, e)
            for cid, e in self.awareness.items()
            if e.state is not None and not self._visible(cid)
        ]
        if hidden:
            conn.send(encode_awareness(hidden))

    def _relay_within_budget(self, conn: Connection, client_id: int, entry: AwarenessEntry) -> None:
        """Relay a state now if the sender's presence budget allows; otherwise keep only its
        latest state and relay that once the budget refills (a 4 KiB state at 300/s would
        otherwise cost every participant 1.2 MB/s down and the tunnel N times that up)."""
        assert entry.state is not None
        if not conn.deferred and (conn.presence is None or conn.presence.take(len(entry.state))):
            self._queue_awareness(client_id, entry, conn.role)
            return
        conn.deferred[client_id] = entry
        if not conn.defer_scheduled:
            conn.defer_scheduled = True
            asyncio.get_running_loop().call_later(0.05, self._release_deferred, conn)

    def _release_deferred(self, conn: Connection) -> None:
        conn.defer_scheduled = False
        if conn.closed:
            conn.deferred.clear()
            return
        for client_id, entry in list(conn.deferred.items()):
            if self.awareness.get(client_id) is not entry:
                del conn.deferred[client_id]  # replaced or removed meanwhile
            elif conn.presence is None or conn.presence.take(len(entry.state or "")):
                del conn.deferred[client_id]
                self._queue_awareness(client_id, entry, conn.role)
        if conn.deferred:
            conn.defer_scheduled = True
            asyncio.get_running_loop().call_later(0.05, self._release_deferred, conn)

    # -- outgoing awareness, coalesced --

    def _queue_awareness(self, client_id: int, entry: AwarenessEntry, role: str) -> None:
        self._pending[client_id] = (entry, role)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_awareness)

    def _flush_awareness(self) -> None:
        """Send what changed this turn: one message for those who hear everyone, and in audience
        mode one with only the visible clients (hosts, speakers) for everyone else. Removals
        follow the same routing. Who is visible is decided now, not when queued: a speaker
        change in between has already been rerouted (_reroute)."""
        self._flush_scheduled = False
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        every = Lazy([(cid, entry) for cid, (entry, _role) in pending.items()], self.framed)
        if not self.audience.active:
            for conn in self.connections:
                every.send_to(conn)
        else:
            visible = self.audience.visible
            shown = [(c, e) for c, (e, role) in pending.items() if visible(c, role)]
            public = Lazy(shown, self.framed)
            for conn in self.connections:
                (every if conn.hears_all else public).send_to(conn)
        for listener in self._awareness_listeners:
            listener()

    # -- reading state (server thread) --

    def states(self) -> list[tuple[int, dict, str]]:
        """(client id, parsed state, proven role) for every present client. The dicts are
        shared between calls: read them, never change them."""
        out = []
        parsed: dict[int, tuple[str, dict]] = {}
        for client_id, entry in self.awareness.items():
            text = entry.state
            if text is None:
                continue
            known = self._parsed.get(client_id)
            if known is not None and known[0] == text:
                state = known[1]
            else:
                try:
                    state = json.loads(text)
                except ValueError:
                    continue
                if not isinstance(state, dict):
                    continue
            parsed[client_id] = (text, state)
            owner = self.owners.get(client_id)
            out.append((client_id, state, owner.role if owner else "guest"))
        self._parsed = parsed  # only the present: nobody who left is kept
        return out
