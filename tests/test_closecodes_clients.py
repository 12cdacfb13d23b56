"""Every close code of the contract against real y-websocket clients with y-websocket's own
reconnect rule (the pinned 3.1: it stops after 4400-4499 and retries every other code): a client
reconnects after a close iff contracts/close_codes.json says its retry is not "never".

The server is the real one on loopback. Most closes come from real conditions: a wrong token,
an unknown room, a host's kick, a full room (max_people 1), a malformed frame, an oversized
message, an awareness update speaking for too many clients, a room closing everyone as a stopped
share does. Two are closed directly on the server side (Room.close_where, the call every close
of a seated connection goes through), because their conditions are too costly to drive here:
too_slow (16 MiB queued for a reader) and try_again (the guard's 64 MiB pool of unfinished
messages). Under the old numbering (retryable codes in 4400-4499) this test fails: y-websocket
3.1 stops after bad_frame, too_slow, room_full, too_large and too_many.
"""

from __future__ import annotations

import base64
import json
import queue
import time
from collections.abc import Callable, Iterator

import pytest

from jupyterspot_magic.collab.close_codes import CLOSE_CODES
from jupyterspot_magic.collab.codec import write_var_bytes
from jupyterspot_magic.collab.messages import AWARENESS
from jupyterspot_magic.collab.seal import new_key
from jupyterspot_magic.server.shared import SharedNotebook
from jupyterspot_magic.server.thread import ServerThread

from .conftest import wait_for
from .processes import REPO, LineProcess
from .room_server import base, new_shared, register

# y-websocket waits at most maxBackoffTime (2.5 s, its default) between attempts: a client that
# has not tried again 2 s past that has stopped. (A bounded observation is the only way to see
# "never"; the retrying clients of the same run come back well within it, printed below.)
MAX_BACKOFF_S = 2.5
NEVER_WINDOW_S = MAX_BACKOFF_S + 2.0
# Awareness for 6 client ids from one connection: over MAX_IDS_PER_CONNECTION (tests/test_rooms.py)
SIX_IDS = bytes([AWARENESS]) + write_var_bytes(
    b"\x06" + b"".join(bytes([i, 1]) + write_var_bytes(b"{}") for i in range(1, 7))
)


class Clients(LineProcess):
    """tests/js/closecodes_clients.mjs: y-websocket clients with the default reconnect rule."""

    def __init__(self) -> None:
        super().__init__(
            ["node", str(REPO / "tests" / "js" / "closecodes_clients.mjs")], stdin=True
        )
        self.history: list[dict] = []

    def send(self, **cmd: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def open(self, cid: str, ws_base: str, token: str, room: str = "board") -> int:
        self.send(cmd="open", id=cid, base=ws_base, room=room, token=token, pid=f"pid-{cid}")
        return self.wait(cid, lambda e: e["event"] == "ready")["clientID"]

    def events(self, cid: str) -> list[dict]:
        self._drain(0)
        return [e for e in self.history if e["id"] == cid]

    def wait(self, cid: str, predicate: Callable[[dict], bool], timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            mine = [e for e in self.history if e["id"] == cid]
            for event in mine[seen:]:
                if predicate(event):
                    return event
            seen = len(mine)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{cid}: no matching event within {timeout}s: {mine[-6:]}")
            self._drain(left, block=True)

    def _drain(self, timeout: float, block: bool = False) -> None:
        try:
            line = self.lines.get(timeout=timeout) if block else self.lines.get_nowait()
            self.history.append(json.loads(line))
            while True:
                self.history.append(json.loads(self.lines.get_nowait()))
        except queue.Empty:
            pass


@pytest.fixture
def clients() -> Iterator[Clients]:
    proc = Clients()
    yield proc
    proc.kill()


def code(name: str) -> int:
    return CLOSE_CODES[name]["code"]


def closed_with(wanted: int) -> Callable[[dict], bool]:
    return lambda e: e["event"] == "close" and e["code"] == wanted


def close_by_pid(shared: SharedNotebook, pid: str, name: str) -> Callable[[], int]:
    """A direct close of that browser's board socket (server side, see the module docstring)."""
    return lambda: shared.board.close_where(lambda c: c.pid == pid, code(name), f"test: {name}")


def test_y_websocket_clients_reconnect_iff_the_contract_says_so(server, clients) -> None:
    srv: ServerThread
    srv, shared = server
    full, stopping = new_shared("room2"), new_shared("room3")
    sealed = SharedNotebook(  # end-to-end encrypted: a plain client does not speak it
        room="room4",
        token="guest-token",
        host_token="host-token",
        rendered=full.rendered,
        key=new_key(),
    )
    for shared_ in (full, stopping, sealed):
        register(srv, shared_)
    srv.call(lambda: full.set_max_people(1))

    # Seated guests first, each on its own browser key (pid-<name>).
    seated = ["bad_frame", "too_large", "too_many", "too_slow", "try_again", "removed"]
    ids = {name: clients.open(name, base(srv), "guest-token") for name in seated}
    clients.open("going_away", base(srv, "room3"), "guest-token")
    clients.open("seat", base(srv, "room2"), "guest-token")
    for name in [*seated, "going_away", "seat"]:
        clients.wait(name, lambda e: e["event"] == "synced")
    # The server knows who announced which client id once their first awareness arrived.
    wait_for(lambda: srv.call(lambda: ids["removed"] in shared.board.owners), what="owner known")

    # Then every close, from its real condition where it is cheap.
    clients.open("invalid_token", base(srv), "wrong")
    clients.open("not_found", base(srv, "nope"), "guest-token")
    clients.open("encrypted", base(srv, "room4"), "guest-token")
    clients.open("room_full", base(srv, "room2"), "guest-token")  # the one seat is taken
    clients.send(cmd="raw", id="bad_frame", b64=base64.b64encode(bytes([9, 1, 2])).decode())
    clients.send(cmd="big", id="too_large", bytes=5 * 1024 * 1024)  # board: 4 MiB at most
    clients.send(cmd="raw", id="too_many", b64=base64.b64encode(SIX_IDS).decode())
    assert srv.call(close_by_pid(shared, "pid-too_slow", "too_slow")) == 1
    assert srv.call(close_by_pid(shared, "pid-try_again", "try_again")) == 1
    assert srv.call(lambda: shared.kick(ids["removed"]))
    srv.call(lambda: stopping.board.close_all())  # what a stopping share does: going_away

    names = sorted(CLOSE_CODES)
    tried = sorted([*seated, "going_away", "invalid_token", "not_found", "room_full", "encrypted"])
    assert names == tried, "a code of the contract is not tested"
    close: dict[str, dict] = {}
    for name in names:
        close[name] = clients.wait(name, closed_with(code(name)))

    def later(name: str, event: str) -> Callable[[dict], bool]:
        return lambda e: e["event"] == event and e["n"] > close[name]["n"]

    retrying = [n for n in names if CLOSE_CODES[n]["retry"] != "never"]
    never = [n for n in names if CLOSE_CODES[n]["retry"] == "never"]
    delays = {}
    for name in retrying:
        again = clients.wait(name, later(name, "connecting"), NEVER_WINDOW_S)
        delays[name] = again["ms"] - close[name]["ms"]
    # ... and gets back in: the refused one once its seat is free, every other one at once.
    clients.send(cmd="destroy", id="seat")
    for name in retrying:
        clients.wait(name, later(name, "synced"), 15)
        assert not any(e["event"] == "closed" for e in clients.events(name)), name

    # The never ones: y-websocket said it stops ("closed") and tries nothing more while the
    # observation lasts (longer than its longest backoff). Their closes came before the
    # retrying ones reconnected; the window counts from the newest of them.
    for name in never:
        clients.wait(name, later(name, "closed"))
    newest = max(close[n]["ms"] for n in never)
    clients.send(cmd="at", ms=newest + NEVER_WINDOW_S * 1000)
    clients.wait("clock", lambda e: e["event"] == "at", NEVER_WINDOW_S + 5)
    for name in never:
        tries = [e for e in clients.events(name) if later(name, "connecting")(e)]
        assert tries == [], (name, tries)
    print(f"\n[close codes] y-websocket {y_websocket_version()}: reconnect after close, ms")
    for name in sorted(names, key=code):
        retry = CLOSE_CODES[name]["retry"]
        print(f"  {code(name)} {name:14} {retry:8} {delays.get(name, 'stopped')}")


def y_websocket_version() -> str:
    pkg = REPO / "node_modules" / "y-websocket" / "package.json"
    return json.loads(pkg.read_text(encoding="utf-8"))["version"]
