"""--relay, the review's findings (issue 19): a refusal reason no guest can turn into a crash,
a stopped share that stops on every relay instance, a link that survives the server loop's
restart. The same real rig as tests/test_relay.py: redis-server, two relay instances
(relay/server.mjs), a real share server linked to instance 0, pages in Node on both."""

from __future__ import annotations

import subprocess

from websockets.sync.client import connect

from jupyterspot_magic.collab.close_codes import (
    CLOSE_BAD_FRAME,
    CLOSE_GOING_AWAY,
    CLOSE_NOT_FOUND,
)
from jupyterspot_magic.server.relay import RelayLink, decode_frame, encode_frame, sha256

from .conftest import wait_for
from .relay_fixtures import (  # noqa: F401
    SECRET,
    linked_fixture,
    pages_fixture,
    redis_fixture,
    relays_fixture,
    start_relays,
    stop_relays,
)
from .room_server import shapes
from .test_relay import SHAPE

ASTRAL_ROOT = "\U0001f600" * 60  # 60 characters, 240 bytes in UTF-8, 120 UTF-16 units


def redis_cli(redis: str, *args: str) -> str:
    port = redis.rsplit(":", 1)[1]
    out = subprocess.run(
        ["redis-cli", "-p", port, *args], capture_output=True, text=True, timeout=10, check=True
    )
    return out.stdout.strip()


def test_a_refusal_whose_reason_is_long_in_bytes_closes_only_its_sender(linked, relays, pages):
    """The kernel refuses a root map named with 60 astral characters and quotes the name: the
    close reason must fit a websocket close frame (123 bytes) on both sides, and the relay
    instance holding the sender (reached through Redis) stays up for everyone else."""
    srv, shared, _link = linked
    ana = pages(relays[1], "guest-token", "ana-browser").synced()
    bob = pages(relays[1], "guest-token", "bob-browser").synced()
    mallory = pages(relays[1], "guest-token", "mallory-browser").synced()

    mallory.send(cmd="root", name=ASTRAL_ROOT, key="k", value=1)
    close = mallory.wait(lambda e: e["event"] == "close")
    assert close["code"] == CLOSE_BAD_FRAME
    assert len(close["reason"].encode()) <= 123 and "unknown root" in close["reason"]

    ana.send(cmd="shape", key="s-after", fields=SHAPE)
    bob.sees(lambda m: "s-after" in m["shapes"])
    pages(relays[1], "guest-token", "late-browser").synced()
    assert relays.procs[1].proc.poll() is None
    assert "s-after" in shapes(shared, srv)


def test_the_relay_survives_any_close_a_kernel_frame_asks_for(relays, pages):
    """The relay trusts no sender's reason: a `close` whose reason is 300 bytes, or whose code
    ws.close() refuses, closes that page and nothing else. The kernel here is the test itself
    (a real websocket to /kernel with the secret), so the kernel's own cut is not involved."""
    room = "room-raw"
    policy = {"guest": sha256("g"), "host": sha256("h"), "banned": [], "viewOnly": False}
    bearer = {"Authorization": f"Bearer {SECRET}"}
    with connect(relays[0] + "/kernel", additional_headers=bearer) as ws:
        ws.send(encode_frame({"op": "hello", "room": room, "policy": policy}))
        while decode_frame(ws.recv(timeout=10))[0]["op"] != "state":
            pass  # the policy is in Redis once the relay answers the hello
        long, bad, stays = (pages(relays[1], "g", f"{n}-browser", room) for n in "abc")
        sids: dict[str, str] = {}
        while len(sids) < 3:
            header, _ = decode_frame(ws.recv(timeout=10))
            if header["op"] == "join" and header["doc"] == "board":
                sids[header["pid"]] = header["sid"]

        def close(pid: str, code: int, reason: str) -> None:
            ws.send(encode_frame({"op": "close", "sid": sids[pid], "code": code, "reason": reason}))

        close("a-browser", CLOSE_BAD_FRAME, ASTRAL_ROOT + "x" * 60)
        assert long.closed_with() == CLOSE_BAD_FRAME
        close("b-browser", 1005, "a code no close frame may carry")
        assert bad.closed_with() == CLOSE_BAD_FRAME
        assert relays.procs[1].proc.poll() is None
        stays.dump()
        assert not any(e["event"] == "close" for e in stays.history)
        pages(relays[1], "g", "d-browser", room).synced()


POLICY_KEY = "jsrelay:policy:room1"


def test_stopping_the_share_stops_it_on_every_relay_instance(linked, relays, pages, redis):
    srv, _shared, link = linked
    on_0 = pages(relays[0], "guest-token", "a-browser").synced()
    on_1 = pages(relays[1], "host-token", "b-browser").synced()
    ttl = int(redis_cli(redis, "TTL", POLICY_KEY))
    assert 0 < ttl <= 600  # a kernel that vanishes without `end` leaves no room open for ever

    srv.call(link.stop)
    for page in (on_0, on_1):
        close = page.wait(lambda e: e["event"] == "close")
        assert (close["code"], close["reason"]) == (CLOSE_GOING_AWAY, "share stopped")
    for url in relays:
        assert pages(url, "guest-token", "c-browser").closed_with() == CLOSE_NOT_FOUND
    assert redis_cli(redis, "EXISTS", POLICY_KEY) == "0"


def test_a_kernel_gone_without_end_leaves_its_room_open_only_until_the_policy_expires(
    server, redis, pages
):
    """A relay with a 2 s TTL (600 s by default): the kernel's link dies without `end` (its
    task cancelled: what a killed kernel looks like to the relay); the pages there stay while
    the policy lives (the kernel may relink), then get going_away, and new joins 4404."""
    srv, shared = server
    short = start_relays(redis, 1, ("--policy-ttl", "2"))
    try:
        link = srv.call(lambda: _started(RelayLink(shared, short[0], SECRET)))
        wait_for(lambda: srv.call(link.linked.is_set), 10, "the kernel linked")
        page = pages(short[0], "guest-token", "a-browser").synced()
        srv.call(lambda: link._task.cancel())  # no stop(): no `end`
        assert page.closed_with(timeout=15) == CLOSE_GOING_AWAY
        assert redis_cli(redis, "EXISTS", POLICY_KEY) == "0"
        assert pages(short[0], "guest-token", "b-browser").closed_with() == CLOSE_NOT_FOUND
    finally:
        stop_relays(short)


def _started(link: RelayLink) -> RelayLink:
    link.start()
    return link


def test_the_link_comes_back_after_the_server_loop_restarts(linked, relays, pages):
    """ServerThread replaces a crashed loop (server/thread.py); start() again from its restart
    listener relinks on the new loop with the same observers: pages on both instances keep
    drawing through the kernel, and each integrated write goes to the relay once."""
    srv, shared, link = linked
    srv.on_restart(link.start)
    ana = pages(relays[0], "guest-token", "ana-browser").synced()
    bob = pages(relays[1], "guest-token", "bob-browser").synced()
    sent: list[str] = []
    forward = link._on_change
    link._on_change = lambda name, update: (sent.append(name), forward(name, update))

    srv._loop.call_soon_threadsafe(srv._loop.stop)  # the loop dies under the link
    wait_for(lambda: srv.restarts == 1 and srv.running, 10, "the server restarted")
    wait_for(lambda: srv.call(link.linked.is_set), 10, "the link relinked")
    sent.clear()
    ana.send(cmd="shape", key="s-after-restart", fields=SHAPE)
    bob.sees(lambda m: "s-after-restart" in m["shapes"])
    assert "s-after-restart" in shapes(shared, srv)
    assert sent.count("board") == 1  # one observer, not one per start()
    bob.send(cmd="shape", key="s-bad", fields=SHAPE | {"onload": "x"})
    assert bob.closed_with() == CLOSE_BAD_FRAME  # the kernel still judges relay pages
    pages(relays[1], "guest-token", "late-browser").sees(lambda m: "s-after-restart" in m["shapes"])
