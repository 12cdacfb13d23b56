"""The share's link to a relay (`--relay URL`): the kernel connects OUT to the relay and stays
the source of truth for both rooms.

The relay (relay/ in the repository: Hocuspocus instances behind one Redis) serves the pages; a
kernel behind NAT reaches it with one outbound websocket to `<URL>/kernel`, authenticated with
the relay secret (`Authorization: Bearer`, from JUPYTERSPOT_RELAY_SECRET). Over it:

- kernel -> relay: `hello` (room, who may join: SHA-256 of the guest and host tokens, banned
  browsers, view-only; the kernel's state vectors), `policy` whenever those change (polled every
  POLICY_EVERY: a rotate, kick or view-only is refused by every relay instance within that),
  `update` (every change the kernel's documents integrate: the relay applies it, Redis fans it
  out), `send` / `close` for one page's socket.
- relay -> kernel: `state` (what the relay held that the kernel lacks), `join` / `leave` of a
  page's socket on a room, `sync` (a page's document write, which the relay never applies
  itself), `awareness` (a page's presence, already fanned out by the relay).

Each page socket is a `Connection` here that never joins the room's fan-out (the relay does the
fan-out): its writes go through `Room.receive`, so the schema, the causal-order check, the
rate and growth limits, view-only and the store apply exactly as for a direct websocket, and
its presence reaches the lead and the people list. A write the kernel refuses closes that page
(the relay is told the code) and never reaches the relay's documents, other pages or the store.

Frames: frames.mjs's (lib0 varString of a JSON header, varUint8Array payload). Everything runs
on the server thread's loop; `RelayLink.start()` is called there.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from pycrdt import Map
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from ..collab.close_codes import CLOSE_BAD_FRAME, close_reason
from ..collab.codec import write_var_bytes
from ..collab.messages import AWARENESS, STEP2, UPDATE, ProtocolError, read_var_bytes, sync_message
from ..collab.room import Connection, Room, TokenBucket
from .shared import SharedNotebook
from .sockets import participant_key

log = logging.getLogger(__name__)

KERNEL_PATH = "/kernel"
SECRET_ENV = "JUPYTERSPOT_RELAY_SECRET"  # the same variable the relay (relay/server.mjs) reads
POLICY_EVERY = 0.1  # s: how soon a rotate, kick or view-only reaches every relay instance
RECONNECT_MAX = 10.0  # s: the longest wait between two attempts to reach the relay
MAX_FRAME = 320 << 20  # a `state` frame holds a whole board (the room accepts 256 MiB)
MAX_OUTBOX = 64 << 20  # bytes waiting for the relay; past it the link starts over
END_WAIT = 2.0  # s: how long stop() waits for the relay to take `end` before closing anyway


def relay_settings(url: str, environ: dict[str, str] | None = None) -> tuple[str, str]:
    """`--relay URL`: the URL pages use and the secret the kernel links with, or ValueError in
    one line (checked when the share starts, not when the link first fails)."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"--relay must be a ws:// or wss:// URL without query, not {url!r}")
    secret = (os.environ if environ is None else environ).get(SECRET_ENV, "")
    if len(secret) < 16:
        raise ValueError(f"--relay needs the relay's secret in {SECRET_ENV} (16+ characters)")
    return url.rstrip("/"), secret


def encode_frame(header: dict[str, Any], payload: bytes = b"") -> bytes:
    text = json.dumps(header, separators=(",", ":")).encode()
    return write_var_bytes(text) + write_var_bytes(payload)


def decode_frame(data: bytes) -> tuple[dict[str, Any], bytes]:
    text, pos = read_var_bytes(data, 0)
    header = json.loads(text)
    if not isinstance(header, dict) or not isinstance(header.get("op"), str):
        raise ProtocolError("bad relay frame")
    payload = read_var_bytes(data, pos)[0] if pos < len(data) else b""
    return header, payload


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def policy_of(shared: SharedNotebook) -> dict[str, Any]:
    """Who may join, as the relay needs it: never the tokens themselves."""
    return {
        "guest": sha256(shared.token),
        "host": sha256(shared.host_token),
        "banned": sorted(shared.banned),
        "viewOnly": "guest" not in shared.board.writers,
        "reactions": shared.board.reactions,  # the host's switch (collab/reactions.py)
    }


class RelayLink:
    """One share's outbound link to a relay; reconnects until `stop()`."""

    def __init__(self, shared: SharedNotebook, url: str, secret: str) -> None:
        self.shared = shared
        self.url = url.rstrip("/") + KERNEL_PATH
        self.secret = secret
        self.linked = asyncio.Event()  # set while a session is up (tests and status wait on it)
        self.peers: dict[tuple[str, str], Connection] = {}
        self._ws: ClientConnection | None = None
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._outbox_bytes = 0
        self._sent_policy: dict[str, Any] | None = None
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._subscriptions: list[tuple[Room, Any]] = []

    def rooms(self) -> dict[str, Room]:
        return {"board": self.shared.board, "control": self.shared.control}

    # -- lifecycle (server thread) --

    def start(self) -> None:
        """Link up, on the server loop. Safe to call again (ServerThread.on_restart): once the
        loop the link ran on died, a fresh task on this loop; the document observers stay. A
        no-op after stop()."""
        loop = asyncio.get_running_loop()
        if self._stopping:
            return  # stopped for good (a restart listener left behind must not revive it)
        if not self._subscriptions:
            for name, room in self.rooms().items():
                sub = room.doc.observe(lambda e, name=name: self._on_change(name, e.update))
                self._subscriptions.append((room, sub))
        task = self._task
        if task is not None and not task.done() and task.get_loop() is loop:
            return  # running here already
        if task is not None:
            self._forget_loop(task)
        self._task = loop.create_task(self._run())

    def _forget_loop(self, task: asyncio.Task) -> None:
        """What belonged to the dead loop: its socket, queue and the pages' writer tasks went
        with it (cancelling those would need that loop). The relay's roll call on the next hello
        brings the pages back."""
        self.peers.clear()
        self._ws = None
        # Its coroutine is closed now, not by the garbage collector later: its `finally` would
        # then reset the new session's state. Awaiting in there (the socket's close) cannot
        # work without its loop: that RuntimeError is expected.
        with contextlib.suppress(RuntimeError):
            task.get_coro().close()
        self.linked = asyncio.Event()  # one bound to the dead loop would refuse to wait here
        self._outbox = asyncio.Queue()
        self._outbox_bytes = 0

    async def stop(self) -> None:
        """The share stopped: the relay is told (`end`: every instance closes the room's pages
        with going_away and forgets its policy, so the links stop working there too), then the
        link closes. Unlinked now, the relay's policy expires by itself (relay/relay.mjs)."""
        self._stopping = True
        for room, sub in self._subscriptions:
            room.doc.unobserve(sub)
        self._subscriptions.clear()
        ws = self._ws
        if ws is not None and self.linked.is_set():
            await self._end(ws)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._drop_peers()

    async def _end(self, ws: ClientConnection) -> None:
        self._out(encode_frame({"op": "end"}))
        try:
            await asyncio.wait_for(self._outbox.join(), END_WAIT)  # `end` is on the wire
            await asyncio.wait_for(ws.close(), END_WAIT)  # and the relay read it (it is ordered)
        except (asyncio.TimeoutError, OSError, WebSocketException) as e:  # 3.10: not TimeoutError
            log.warning("relay %s: could not tell it the share stopped: %r", self.url, e)

    async def _run(self) -> None:
        wait = 0.2
        while not self._stopping:
            try:
                async with connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {self.secret}"},
                    max_size=MAX_FRAME,
                    compression=None,
                ) as ws:
                    wait = 0.2
                    await self._session(ws)
            except (OSError, WebSocketException, ProtocolError, ValueError) as e:
                log.warning("relay %s: %s; retrying in %.1f s", self.url, e, wait)
            finally:
                self.linked.clear()
                self._ws = None
                self._drop_peers()
            if self._stopping:
                return
            await asyncio.sleep(wait)
            wait = min(RECONNECT_MAX, wait * 2)

    async def _session(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._outbox = asyncio.Queue()
        self._outbox_bytes = 0
        self._sent_policy = policy_of(self.shared)
        vectors = {
            name: base64.b64encode(room.doc.get_state()).decode()
            for name, room in self.rooms().items()
        }
        await ws.send(
            encode_frame(
                {"op": "hello", "room": self.shared.room, "policy": self._sent_policy, **vectors}
            )
        )
        for name, room in self.rooms().items():  # the relay's documents get all we have
            self._out(encode_frame({"op": "update", "doc": name}, room.doc.get_update()))
        self.linked.set()
        writer = asyncio.create_task(self._write(ws))
        watcher = asyncio.create_task(self._watch_policy())
        try:
            async for data in ws:
                if isinstance(data, bytes):
                    self._handle(*decode_frame(data))
        finally:
            writer.cancel()
            watcher.cancel()

    async def _write(self, ws: ClientConnection) -> None:
        while True:
            outbox = self._outbox  # _out may start a new one (too far behind)
            frame = await outbox.get()
            self._outbox_bytes -= len(frame)
            await ws.send(frame)
            outbox.task_done()  # stop() waits for `end` to be sent

    def _out(self, frame: bytes) -> None:
        if self._ws is None:
            return  # not linked: the next hello sends the whole state
        self._outbox_bytes += len(frame)
        if self._outbox_bytes > MAX_OUTBOX:
            log.warning("relay %s: too far behind; starting over", self.url)
            self._outbox = asyncio.Queue()
            self._outbox_bytes = 0
            asyncio.get_running_loop().create_task(self._ws.close())
            return
        self._outbox.put_nowait(frame)

    def _on_change(self, name: str, update: bytes) -> None:
        """Everything a document integrates (the kernel's writes, pages' accepted writes)."""
        self._out(encode_frame({"op": "update", "doc": name}, update))

    # -- policy --

    async def _watch_policy(self) -> None:
        while True:
            await asyncio.sleep(POLICY_EVERY)
            self._push_policy()

    def _push_policy(self) -> None:
        policy = policy_of(self.shared)
        if policy == self._sent_policy:
            return
        reopened = (
            bool(self._sent_policy and self._sent_policy["viewOnly"]) and not policy["viewOnly"]
        )
        self._sent_policy = policy
        self._out(encode_frame({"op": "policy", "policy": policy}))
        if reopened:  # what guests drew meanwhile was dropped: ask them for it (shared.py)
            step1 = self.shared.board.step1()
            for (_sid, doc), conn in self.peers.items():
                if doc == "board":
                    conn.send(step1)

    # -- from the relay --

    def _handle(self, header: dict[str, Any], payload: bytes) -> None:
        op, doc = header["op"], header.get("doc")
        room = self.rooms().get(doc) if isinstance(doc, str) else None
        if room is None:
            return
        key = (str(header.get("sid")), doc)
        if op == "state":
            self._take_state(doc, room, payload)
        elif op == "join":
            self._join(key, room, header)
        elif op == "leave":
            conn = self.peers.pop(key, None)
            if conn is not None:
                room.leave(conn)
        elif op == "sync" and header.get("type") in (STEP2, UPDATE):
            self._receive(key, room, sync_message(header["type"], payload))
        elif op == "awareness" and doc == "board":
            self._receive(key, room, bytes([AWARENESS]) + write_var_bytes(payload))

    def _join(self, key: tuple[str, str], room: Room, header: dict[str, Any]) -> None:
        role = header.get("role")
        if role not in ("guest", "host") or key in self.peers:
            return
        pid = participant_key(header.get("pid") if isinstance(header.get("pid"), str) else None)
        conn = Connection(*self._callbacks(*key), role, pid)
        # The room's per-connection budgets (Room.join sets the same), without joining its
        # fan-out: the relay sends this page everything.
        limits = room.limits
        conn.messages = TokenBucket(limits.messages_per_second, limits.message_burst)
        conn.growth = TokenBucket(limits.growth_per_second, limits.growth_burst)
        conn.presence = TokenBucket(limits.presence_per_second, limits.presence_burst)
        conn.step1s = TokenBucket(1.0, 5.0)
        conn.synced = True
        self.peers[key] = conn
        conn.send(room.step1())  # anything the page has that the kernel lacks comes back

    def _callbacks(
        self, sid: str, doc: str
    ) -> tuple[Callable[[bytes], Awaitable[None]], Callable[[int, str], Awaitable[None]]]:
        async def send(message: bytes) -> None:
            self._out(encode_frame({"op": "send", "sid": sid, "doc": doc}, message))

        async def close(code: int, reason: str) -> None:  # every reason the link sends
            header = {"op": "close", "sid": sid, "code": code, "reason": close_reason(reason)}
            self._out(encode_frame(header))

        return send, close

    def _receive(self, key: tuple[str, str], room: Room, message: bytes) -> None:
        conn = self.peers.get(key)
        if conn is None or conn.closed:
            return
        try:
            room.receive(conn, message)
        except ProtocolError as e:
            log.info("relay: closing a %s page: %s", conn.role, e)
            conn.close(getattr(e, "code", CLOSE_BAD_FRAME), str(e))
            room.leave(self.peers.pop(key))

    def _take_state(self, name: str, room: Room, update: bytes) -> None:
        """What the relay held beyond the kernel's state vector (pages kept it while the kernel
        was away). The board takes it through the schema; control's values stay the kernel's."""
        if len(update) <= 2:
            return
        if name == "board":
            with contextlib.suppress(ProtocolError):  # refused: logged by nobody, kept by nobody
                room.apply_stored(update)
            return
        control = room.doc.get("control", type=Map)
        before = control.to_py() or {}
        # Only kernels write the relay's documents (pages are read-only there): its control holds
        # an earlier kernel's server-only fields when the notebook is shared again (same room).
        # Refused, the presenter's page would send them back and be closed for it, again and
        # again (tests/test_relay.py, linked again); taken, they are overwritten just below.
        with contextlib.suppress(ProtocolError):
            room.apply_stored(update, servers=True)
        if (control.to_py() or {}) != before:
            with room.doc.transaction():
                for key in list(control.keys()):
                    if key not in before:
                        del control[key]
                for key, value in before.items():
                    control[key] = value

    def _drop_peers(self) -> None:
        rooms = self.rooms()
        for (_sid, doc), conn in list(self.peers.items()):
            rooms[doc].leave(conn)
        self.peers.clear()
