"""The relay's test rig, shared by tests/test_relay.py and tests/test_relayview_*.py: Debian's
redis-server and two relay instances (relay/server.mjs) behind it, started in a temporary
directory on loopback (module-scoped fixtures `redis` and `relays`), and RelayPeer, a page's two
rooms on a relay from Node (tests/js/relay_peer.mjs). A test module imports redis_fixture and
relays_fixture to get the fixtures `redis` and `relays` (and linked_fixture, pages_fixture for
`linked`: the `server` fixture's share linked to relay 0, and `pages`: RelayPeer's factory)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator

import pytest

from jupyterspot_magic.collab.lead import Lead
from jupyterspot_magic.server.relay import RelayLink

from .conftest import NodePeer, free_port, wait_for
from .processes import REPO, LineProcess, end_process

SECRET = "relay-secret-for-tests-0123456789"
RELAY = REPO / "relay"


class RelayPeer(NodePeer):
    """A page's two rooms on a relay instance (tests/js/relay_peer.mjs)."""

    def __init__(self, url: str, room: str, token: str, pid: str = "") -> None:  # noqa: D107
        script = str(REPO / "tests" / "js" / "relay_peer.mjs")
        LineProcess.__init__(self, ["node", script, url, room, token, pid], stdin=True)
        self.history = []
        self.client_id = self.wait(lambda e: e["event"] == "ready")["clientID"]

    def synced(self) -> RelayPeer:
        for doc in ("board", "control"):
            self.wait(lambda e, doc=doc: e["event"] == "synced" and e["doc"] == doc)
        return self

    def closed_with(self, timeout: float = 10.0) -> int:
        return self.wait(lambda e: e["event"] == "close", timeout)["code"]

    def sees(self, predicate: Callable[[dict], bool], timeout: float = 10.0) -> dict:
        return self.wait(lambda e: e["event"] == "doc" and predicate(e["maps"]), timeout)["maps"]


@pytest.fixture(scope="module", name="redis")
def redis_fixture(tmp_path_factory) -> Iterator[str]:
    if shutil.which("redis-server") is None or not (RELAY / "node_modules").is_dir():
        pytest.fail("needs redis-server (apt-get install redis-server) and `npm ci` in relay/")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = LineProcess(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ]
    )
    wait_for(lambda: _line(proc, "Ready to accept connections"), 10, "redis-server ready")
    yield f"redis://127.0.0.1:{port}"
    end_process(proc.proc)


class Relays(list):
    """The instances' websocket URLs; `procs` are their processes (same order)."""

    procs: list[LineProcess]


def start_relays(redis: str, count: int = 2, args: tuple[str, ...] = ()) -> Relays:
    env = {**os.environ, "JUPYTERSPOT_RELAY_SECRET": SECRET}
    urls = Relays()
    urls.procs = []
    for _ in range(count):
        proc = LineProcess(
            ["node", str(RELAY / "server.mjs"), "--redis", redis, "--port", "0", *args], env=env
        )
        line = wait_for(lambda proc=proc: _line(proc, "relay listening on"), 15, "relay ready")
        urls.procs.append(proc)
        port = re.search(r"on (\d+)", line).group(1)
        urls.append(f"ws://127.0.0.1:{port}")
    return urls


def stop_relays(relays: Relays) -> None:
    for proc in relays.procs:
        end_process(proc.proc)


@pytest.fixture(scope="module", name="relays")
def relays_fixture(redis: str) -> Iterator[Relays]:
    """Two relay instances on the same Redis: their websocket URLs (and `.procs`)."""
    relays = start_relays(redis)
    yield relays
    stop_relays(relays)


@pytest.fixture(name="linked")
def linked_fixture(server, relays) -> Iterator[tuple]:
    """The share server of the `server` fixture, linked to relay 0, with its lead running."""
    srv, shared = server

    def start() -> RelayLink:
        Lead(shared.board, shared.control)  # what session/hosted.py starts for a share
        link = RelayLink(shared, relays[0], SECRET)
        link.start()
        return link

    link = srv.call(start)
    wait_for(lambda: srv.call(link.linked.is_set), 10, "the kernel linked to the relay")
    yield srv, shared, link
    if srv.running:
        srv.call(link.stop)


@pytest.fixture(name="pages")
def pages_fixture() -> Iterator[Callable[..., RelayPeer]]:
    made: list[RelayPeer] = []

    def make(url: str, token: str, pid: str = "", room: str = "room1") -> RelayPeer:
        peer = RelayPeer(url, room, token, pid)
        made.append(peer)
        return peer

    yield make
    for peer in made:
        peer.kill()


def _line(proc: LineProcess, text: str) -> str | None:
    assert proc.proc.poll() is None, f"{proc.proc.args[0]} ended ({proc.proc.returncode})"
    while not proc.lines.empty():
        line = proc.lines.get()
        if text in line:
            return line
    return None
