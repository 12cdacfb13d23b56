"""Issue 11, rows 4 (second half), 5 and 9: socket-level attacks on the real share server.

Each test runs the attack against a real server on loopback and asserts that the server thread
lives, that an honest y-websocket participant measured *during* the attack still connects and
syncs (its p95 is printed: run with -s to see it), that memory and file descriptors stay within
the bounds stated in server/guard.py, and that the attacker gets the documented close code.

Client and server live in this one process, so fd counts separate the two ends: a server-side
socket is one of our fds whose local port is the server's (read from /proc/net/tcp).
"""

from __future__ import annotations

import base64
import os
import socket
import statistics
import struct
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from pycrdt import Doc, create_sync_message
from websockets.sync.client import connect

from jupyterspot_magic.collab.close_codes import (
    CLOSE_INVALID_TOKEN,
    CLOSE_NOT_FOUND,
    CLOSE_ROOM_FULL,
    CLOSE_TOO_LARGE,
    CLOSE_TOO_SLOW,
    CLOSE_TRY_AGAIN,
)
from jupyterspot_magic.collab.room import (
    AWARENESS,
    STEP2,
    SYNC,
    AwarenessEntry,
    encode_awareness,
)
from jupyterspot_magic.server import guard

from .conftest import wait_for
from .processes import rss_mb
from .room_server import base

AWARENESS_STATE = '{"user":{"name":"Ana","color":"#e03131","role":"guest"}}'


# --- measuring ----------------------------------------------------------------------------


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def server_side_sockets(port: int) -> int:
    """Our open fds that are the server's end of a connection (local port = the server's)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] != "0A" and fields[9] in inodes:
                count += 1
    return count


def p95(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


# --- an honest participant ----------------------------------------------------------------


def honest_sync(port: int, token: str = "guest-token", pid: str = "", room: str = "board"):
    """A y-websocket client: connect, send sync step 1 and presence, wait for sync step 2.
    Returns the seconds from connect to synced."""
    t0 = time.monotonic()
    query = f"token={token}" + (f"&pid={pid}" if pid else "")
    with connect(f"ws://127.0.0.1:{port}/ws/room1/{room}?{query}", open_timeout=10) as ws:
        ws.send(create_sync_message(Doc()))
        if room == "board":
            ws.send(encode_awareness([(4242, AwarenessEntry(1, AWARENESS_STATE))]))
        deadline = t0 + 10
        while True:
            message = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            if isinstance(message, bytes) and message[:2] == bytes([SYNC, STEP2]):
                return time.monotonic() - t0
            assert message[0] in (SYNC, AWARENESS), message[:4]


class HonestProbe:
    """Syncs again and again in a thread while an attack runs; keeps every latency."""

    def __init__(self, port: int, token: str = "guest-token", every: float = 0.1) -> None:
        self.port, self.token, self.every = port, token, every
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                self.latencies.append(honest_sync(self.port, self.token, f"honest{n}"))
            except Exception as e:  # recorded, asserted on by the test
                self.failures.append(repr(e)[:200])
            self._stop.wait(self.every)

    @contextmanager
    def running(self) -> Iterator[HonestProbe]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(15)

    def report(self, what: str) -> float:
        value = p95(self.latencies)
        print(
            f"\n[{what}] honest sync during the attack: {len(self.latencies)} ok, "
            f"{len(self.failures)} failed, p95 {value * 1000:.0f} ms, "
            f"max {max(self.latencies) * 1000:.0f} ms"
        )
        return value


# --- raw websocket clients ------------------------------------------------------------------


def handshake(path: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


class RawSocket(socket.socket):
    leftover = b""  # bytes read past the handshake response


def raw_ws(port: int, path: str, read_response: bool = True) -> RawSocket:
    """A websocket opened by hand: the test decides what it reads and sends from then on."""
    sock = RawSocket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    sock.sendall(handshake(path))
    if read_response:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            assert chunk, "closed during the handshake"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head[:60]
        sock.leftover = head.split(b"\r\n\r\n", 1)[1]
    return sock


def client_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A masked client frame; the mask key is zero, so the payload goes as is (RFC-valid)."""
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", first, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", first, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, n)
    return head + b"\0\0\0\0" + payload


def close_code(sock: socket.socket, timeout: float = 5.0) -> int | None:
    """Read server frames until a close frame (its code) or the end (None)."""
    buf = getattr(sock, "leftover", b"")
    deadline = time.monotonic() + timeout
    while True:
        if buf.startswith(b"HTTP/") and b"\r\n\r\n" in buf:  # handshake response not read yet
            buf = buf.split(b"\r\n\r\n", 1)[1]
        while len(buf) >= 2 and not buf.startswith(b"HTTP/"):
            n, start = buf[1] & 0x7F, 2
            if n == 126:
                n, start = (struct.unpack("!H", buf[2:4])[0], 4) if len(buf) >= 4 else (-1, 0)
            elif n == 127:
                n, start = (struct.unpack("!Q", buf[2:10])[0], 10) if len(buf) >= 10 else (-1, 0)
            if n < 0 or len(buf) < start + n:
                break
            if buf[0] & 0x0F == 8:
                return struct.unpack("!H", buf[start : start + 2])[0]
            buf = buf[start + n :]
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            return None
        if not chunk:
            return None
        buf += chunk


def close_all(socks: list[socket.socket]) -> None:
    for sock in socks:
        sock.close()
    socks.clear()


def guests_in(srv, shared) -> tuple[int, int]:
    def count() -> tuple[int, int]:
        rooms = (shared.board, shared.control)
        return tuple(sum(c.role == "guest" for c in r.connections) for r in rooms)  # type: ignore[return-value]

    return srv.call(count)


def alive(srv) -> None:
    assert srv.running and srv.restarts == 0
    page = f"http://127.0.0.1:{srv.port}/s/room1/?token=guest-token"
    assert urllib.request.urlopen(page, timeout=5).status == 200


# --- row 5: a socket flood fills the rooms --------------------------------------------------


def test_row5_guest_flood_leaves_host_seats_and_refuses_the_excess_with_room_full(
    server, node_peers
):
    srv, shared = server
    srv.call(lambda: shared.set_max_people(100))  # 2 x 110 sockets stay quick
    port = srv.port
    # One browser (pid) gets SOCKETS_PER_PID sockets per room, the next is refused.
    same = [raw_ws(port, "/ws/room1/board?token=guest-token&pid=tabs") for _ in range(5)]
    assert close_code(same[-1]) == CLOSE_ROOM_FULL
    assert all(close_code(s, 0.2) is None for s in same[:4])
    close_all(same)
    wait_for(lambda: guests_in(srv, shared) == (0, 0), what="the four tabs leave")

    rss0 = rss_mb()
    flood: list[socket.socket] = []
    over = shared.max_people + 10
    with HonestProbe(port, token="host-token").running() as host_probe:
        t0 = time.monotonic()
        for i in range(over):  # 2 x 110 sockets, each its own "browser"
            for room in ("board", "control"):
                flood.append(raw_ws(port, f"/ws/room1/{room}?token=guest-token&pid=p{i}"))
        print(f"\n[row 5] {len(flood)} sockets opened in {time.monotonic() - t0:.2f} s")
        wait_for(lambda: guests_in(srv, shared) == (100, 100), what="both rooms full of guests")
        # the presenter (a real y-websocket client) still gets in, in both rooms
        host = node_peers(base(srv), "board", "host-token", "presenter")
        host.wait(lambda e: e["event"] == "synced")
        node_peers(base(srv), "control", "host-token", "presenter").wait(
            lambda e: e["event"] == "synced"
        )
        codes = [close_code(s, 0.05) for s in flood]
        wait_for(lambda: host_probe.latencies, what="a host sync during the flood")
    refused = [c for c in codes if c is not None]
    assert refused == [CLOSE_ROOM_FULL] * 20, refused
    assert not host_probe.failures, host_probe.failures
    assert host_probe.report("row 5, host") < 1.0
    growth = rss_mb() - rss0
    print(f"[row 5] RSS growth {growth:.1f} MB for {len(flood)} sockets")
    assert growth < 100
    # The room is full: a guest gets the "room is full" page (503), the presenter still gets in.
    assert srv.running and srv.restarts == 0
    host_page = f"http://127.0.0.1:{port}/s/room1/?token=host-token"
    assert urllib.request.urlopen(host_page, timeout=5).status == 200

    # The host's remedy: a new guest link; every flooding socket is closed at once.
    srv.call(lambda: shared.rotate("new-guest-token"))
    wait_for(lambda: guests_in(srv, shared) == (0, 0), what="flood closed by rotate")
    assert close_code(flood[0]) == CLOSE_INVALID_TOKEN
    close_all(flood)
    assert honest_sync(port, "new-guest-token", "ana") < 2.0


# --- row 9: slow heads and handshakes that never close ---------------------------------------


def slowloris(port: int, count: int, seconds: float, opened: list[int]) -> None:
    """Keep `count` connections each sending a partial request head, one byte a second, and
    reopen the ones the server dropped (at most `count` reopenings a second)."""
    socks: list[socket.socket | None] = [None] * count
    head = b"GET /s/room1/?token=nope HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: "
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            for i in range(count):
                sock = socks[i]
                try:
                    if sock is None:
                        sock = socks[i] = socket.create_connection(("127.0.0.1", port), 2)
                        sock.sendall(head)
                        opened[0] += 1
                    else:
                        sock.send(b"a")
                except OSError:
                    if sock is not None:
                        sock.close()
                    socks[i] = None
            time.sleep(1.0)
    finally:
        for sock in socks:
            if sock is not None:
                sock.close()


def test_row9_partial_heads_cannot_exhaust_file_descriptors(server):
    srv, shared = server
    srv.call(lambda: shared.set_max_people(100))  # waiting cap: max(WAITING_CAP, 232 seats)
    port = srv.port
    fds0, rss0 = fd_count(), rss_mb()
    opened = [0]
    samples: list[int] = []
    fd_peak = fds0
    attacker = threading.Thread(target=slowloris, args=(port, 1100, 9.0, opened), daemon=True)
    with HonestProbe(port).running() as probe:
        attacker.start()
        while attacker.is_alive():
            samples.append(server_side_sockets(port))
            fd_peak = max(fd_peak, fd_count())
            attacker.join(0.25)
    samples.sort()
    median, peak = samples[len(samples) // 2], samples[-1]
    print(
        f"\n[row 9a] {opened[0]} slow-head connections opened; server-side sockets median "
        f"{median}, peak {peak} (waiting cap {guard.WAITING_CAP}, hard cap {srv.guard.cap}); "
        f"fds before {fds0}"
    )
    # Each held socket costs one fd. The hard bound is the accept-time cap; the waiting cap is
    # kept in the steady state, while a burst may briefly overshoot it: an evicted socket's fd
    # closes on the loop's next turn (seen: peak 340 with both cores loaded).
    assert peak <= srv.guard.cap
    assert median <= guard.WAITING_CAP + 20
    assert opened[0] > 1100  # the server really dropped them and the attacker reopened
    assert not probe.failures, probe.failures[:3]
    assert probe.report("row 9a") < 1.0
    wait_for(lambda: server_side_sockets(port) == 0, what="server sockets released")
    fds1 = fd_count()
    print(
        f"[row 9a] fds before {fds0}, after the attack {fds1} "
        f"(peak during: {fd_peak}, of which ~1100 are the attacker's own)"
    )
    assert fds1 <= fds0 + 5
    assert fd_peak <= fds0 + 1100 + guard.WAITING_CAP + 40
    assert rss_mb() - rss0 < 60
    alive(srv)


def test_row9_handshakes_that_never_close_are_reset_after_one_second(server):
    srv, _ = server
    port = srv.port
    fds0 = fd_count()
    socks: list[socket.socket] = []
    peak = 0
    with HonestProbe(port).running() as probe:
        t0 = time.monotonic()
        for i in range(600):  # 120/s for 5 s; the client never reads: no close handshake
            socks.append(raw_ws(port, "/ws/x/y" if i % 2 else "/ws/room1/board?token=no", False))
            wait = t0 + (i + 1) / 120 - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if i % 30 == 0:
                peak = max(peak, server_side_sockets(port))
    print(f"\n[row 9b] 600 unanswered handshakes in {time.monotonic() - t0:.1f} s; "
          f"server-side sockets peak {peak}")
    # ~120 a second, each reset ABORT_REFUSED_AFTER (1 s) after its close frame: no pile-up
    assert peak <= 120 * (guard.ABORT_REFUSED_AFTER + 1) + 20
    assert not probe.failures, probe.failures[:3]
    assert probe.report("row 9b") < 1.0
    wait_for(lambda: server_side_sockets(port) == 0, what="all refused sockets reset", timeout=5)
    codes = {close_code(s, 0.5) for s in socks[:40]}
    assert codes <= {CLOSE_NOT_FOUND, CLOSE_INVALID_TOKEN, None}
    assert codes & {CLOSE_NOT_FOUND, CLOSE_INVALID_TOKEN}  # the viewer's codes still arrive
    close_all(socks)
    assert fd_count() <= fds0 + 5
    alive(srv)


def test_connection_cap_resets_new_sockets_when_nothing_can_be_dropped(server):
    """Past the global cap a socket is reset at accept time, unless an idle one can go."""
    srv, _ = server
    port = srv.port
    srv.call(lambda: setattr(srv.guard, "cap", 12))
    with ExitStack() as stack:
        members = [
            stack.enter_context(connect(f"{base(srv)}/board?token=guest-token&pid=m{i}"))
            for i in range(12)
        ]
        extra = socket.create_connection(("127.0.0.1", port), 2)
        extra.settimeout(2)
        try:
            extra.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = extra.recv(100)
        except ConnectionResetError:
            answer = b""
        extra.close()
        assert answer == b""  # reset at accept: not a byte of an answer
        assert srv.guard.refused >= 1
        members[0].close()
        wait_for(lambda: server_side_sockets(port) <= 11, what="a seat frees")
        assert honest_sync(port, pid="late") < 2.0
    alive(srv)


def test_connection_cap_follows_the_file_limit():
    assert guard.connection_cap(1024) == (1024 - guard.FDS_RESERVED) // 2
    assert guard.connection_cap(1_000_000) == 1024
    assert guard.connection_cap(100) == 32
    assert guard.ConnectionGuard().cap <= 1024


# --- row 4 (second half): unfinished messages ------------------------------------------------


def unfinished_message(port: int, total: int, chunk: int = 1 << 20) -> socket.socket:
    """Send `total` bytes of one fragmented board message and never send its last frame."""
    sock = raw_ws(port, "/ws/room1/board?token=guest-token")
    payload = b"\0" * chunk
    sock.sendall(client_frame(0x2, payload, fin=False))
    sent = chunk
    try:
        while sent < total:
            sock.sendall(client_frame(0x0, payload, fin=False))
            sent += chunk
    except OSError:
        pass  # closed by the server: what the test checks
    return sock


def test_row4_unfinished_fragmented_messages_hold_a_bounded_pool(server):
    srv, shared = server
    port = srv.port
    rss0 = rss_mb()
    socks: list[socket.socket] = []
    with HonestProbe(port).running() as probe:
        for i in range(30):
            # a third as in the issue (16 MiB, never finished), the rest just under the room's
            # 4 MiB so that they are held: 20 x 3.75 MiB is more than the pool
            if i % 3 == 0:
                socks.append(unfinished_message(port, 16 << 20))
            else:
                socks.append(unfinished_message(port, 15 * (256 << 10), chunk=256 << 10))
        held = srv.call(lambda: srv.guard.partial_pool)
        peak_rss = rss_mb()
        wait_for(lambda: len(probe.latencies) >= 10, what="honest syncs during the attack")
    codes = [close_code(s, 0.3) for s in socks]  # a sent close is already here
    growth = peak_rss - rss0
    print(
        f"\n[row 4b] pool held {held / 2**20:.1f} MiB of {guard.PARTIAL_POOL / 2**20:.0f}; "
        f"RSS growth {growth:.1f} MB; close codes {sorted(set(map(str, codes)))}"
    )
    bound_mb = (guard.PARTIAL_POOL + 30 * (guard.PARTIAL_FREE + (1 << 20))) / 2**20 + 40
    assert growth < bound_mb
    assert held <= guard.PARTIAL_POOL
    assert CLOSE_TOO_LARGE in codes  # 16 MiB messages pass the room's 4 MiB
    assert CLOSE_TRY_AGAIN in codes  # the pool filled: later senders were refused
    assert not probe.failures, probe.failures[:3]
    assert probe.report("row 4b") < 1.0
    close_all(socks)
    wait_for(lambda: srv.call(lambda: srv.guard.partial_pool) == 0, what="pool freed")
    alive(srv)


def test_row4_a_message_left_unfinished_closes_its_socket(server, monkeypatch):
    srv, _ = server
    monkeypatch.setattr(guard, "PARTIAL_TIMEOUT", 1.0)
    slow = unfinished_message(srv.port, 1 << 20, chunk=256 << 10)
    t0 = time.monotonic()
    assert close_code(slow, 5) == CLOSE_TOO_SLOW
    print(f"\n[row 4b] unfinished message closed after {time.monotonic() - t0:.1f} s")
    slow.close()
    wait_for(lambda: srv.call(lambda: srv.guard.partial_pool) == 0, what="pool freed")
    # a sender that keeps finishing messages is never cut, however long it stays
    # (presence: sync requests are limited to 5 a burst, then 1/s)
    with connect(f"{base(srv)}/board?token=guest-token") as ws:
        for clock in range(1, 16):
            ws.send(encode_awareness([(5150, AwarenessEntry(clock, '{"cursor":null}'))]))
            time.sleep(0.1)  # pacing the sender: 1.5 s of finished messages
        assert honest_sync(srv.port, pid="after") < 2.0

