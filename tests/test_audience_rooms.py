"""Audience mode against real yjs/y-websocket clients (Node, tests/js/): who hears whose presence
(collab/audience.py, routed by collab/room.py), the floor and the head count in the control
document (collab/crowd.py, checked by collab/schema.py), the auto threshold with hysteresis, and
the bytes a listener receives, which must not grow with the room."""

from __future__ import annotations

import json
import subprocess
from contextlib import ExitStack

from pycrdt import Map
from websockets.sync.client import connect

from jupyterspot_magic.collab import audience
from jupyterspot_magic.collab.close_codes import CLOSE_BAD_FRAME
from jupyterspot_magic.collab.crowd import NAMES_SHOWN

from .conftest import REPO, NodePeer, wait_for
from .room_server import base


def user(name: str, role: str = "guest", x: int = 0) -> dict:
    return {"user": {"name": name, "color": "#1e88e5", "role": role}, "cursor": cursor(x)}


def cursor(x: int) -> dict:
    return {"cell": "a", "x": x, "y": 0}


def present(states: dict) -> dict[int, dict]:
    return {int(k): v for k, v in states.items() if v}


def dump(peer: NodePeer) -> dict:
    """What the peer holds now (NodePeer.dump matches an older, equal dump by equality)."""
    n = len(peer.history)
    peer.send(cmd="dump")
    return peer.wait(lambda e: e["event"] == "dump" and any(x is e for x in peer.history[n:]))


def holds(peer: NodePeer, other: NodePeer, x: int | None = None) -> bool:
    """Whether `peer` holds `other`'s presence now (with cursor x, when given)."""
    state = present(dump(peer)["states"]).get(other.client_id)
    if state is None:
        return False
    return x is None or (state.get("cursor") or {}).get("x") == x


def barrier(host: NodePeer, peers: list[NodePeer], mark: int) -> None:
    """The host (heard by everyone) moves to `mark`; once every peer has that, everything the
    server routed to them before has arrived too (one ordered stream per connection)."""
    host.send(cmd="awareness", state=user("Host", "host", mark))
    for peer in peers:
        wait_for(lambda peer=peer: holds(peer, host, mark), what=f"the host's mark {mark}")


def page(make, srv, name: str, token: str = "guest-token", role: str = "guest") -> NodePeer:
    peer = make(base(srv), "board", token)
    peer.wait(lambda e: e["event"] == "synced")
    peer.send(cmd="awareness", state=user(name, role))
    return peer


def control_map(shared, srv) -> dict:
    return srv.call(lambda: shared.control.doc.get("control", type=Map).to_py())


def test_a_guest_is_heard_by_hosts_and_speakers_only(server, node_peers):
    srv, shared = server
    srv.call(lambda: shared.set_audience("on"))
    host = page(node_peers, srv, "Host", "host-token", "host")
    ana = page(node_peers, srv, "Ana")
    bob = page(node_peers, srv, "Bob")
    wait_for(lambda: holds(host, ana) and holds(host, bob), what="the host hears both guests")
    ana.send(cmd="awareness", state=user("Ana", x=5))
    wait_for(lambda: holds(host, ana, 5), what="the host hears Ana move")
    barrier(host, [bob], 1)
    assert not holds(bob, ana) and not holds(ana, bob)  # guests do not hear each other
    assert holds(bob, host) and holds(ana, host)  # everyone hears the host

    # A newcomer's first awareness message holds only what it may see: the host.
    cleo = node_peers(base(srv), "board", "guest-token")
    first = cleo.wait(lambda e: e["event"] == "awareness")
    assert set(present(first["states"])) <= {host.client_id, cleo.client_id}

    # The floor: Ana is heard by everyone, and hears everyone; taken back, she is removed.
    assert srv.call(lambda: shared.give_floor(ana.client_id))
    wait_for(lambda: holds(bob, ana) and holds(ana, bob), what="Ana has the floor")
    assert control_map(shared, srv)["floor"] == str(ana.client_id)
    assert srv.call(lambda: shared.take_floor(ana.client_id))
    wait_for(lambda: not holds(bob, ana), what="Bob no longer holds Ana")
    wait_for(lambda: not holds(ana, bob), what="Ana no longer holds Bob")
    assert not srv.call(lambda: shared.take_floor(ana.client_id))
    assert not srv.call(lambda: shared.give_floor(123456789))  # nobody with that id

    # The leader is a speaker too (control.leader, as collab/lead.py writes it).
    def lead(cid: int | None) -> None:
        shared.control.doc.get("control", type=Map)["leader"] = cid

    srv.call(lambda: lead(bob.client_id))
    wait_for(lambda: holds(ana, bob) and holds(cleo, bob), what="everyone hears the leader")
    bob.send(cmd="awareness", state=user("Bob", x=7))
    wait_for(lambda: holds(cleo, bob, 7), what="the leader's moves reach everyone")
    srv.call(lambda: lead(None))
    wait_for(lambda: not holds(cleo, bob), what="the former leader is back in the audience")

    # Removals follow the same routing: Ana leaving reaches the host at once.
    ana.kill()
    wait_for(lambda: not holds(host, ana), timeout=5, what="the host sees Ana leave")


def test_the_head_count_is_published_and_only_the_server_writes_it(server, node_peers):
    srv, shared = server
    srv.call(lambda: shared.set_audience("on"))
    page(node_peers, srv, "Host", "host-token", "host")
    guests = [page(node_peers, srv, f"Guest {i}") for i in range(3)]
    reader = node_peers(base(srv), "control", "guest-token")

    def published(e: dict) -> bool:
        c = e.get("maps", {}).get("control", {})
        return e["event"] == "doc" and c.get("people") == 4 and c.get("audience") is True

    event = reader.wait(published)
    names = json.loads(event["maps"]["control"]["names"])
    assert names[0] == "Host" and sorted(names[1:]) == ["Guest 0", "Guest 1", "Guest 2"]
    assert len(names) <= NAMES_SHOWN
    guests[0].kill()
    reader.wait(lambda e: e["event"] == "doc" and e["maps"]["control"].get("people") == 3)

    # A host may give the floor by writing control.floor; the schema checks it.
    writer = node_peers(base(srv), "control", "host-token")
    writer.wait(lambda e: e["event"] == "synced")
    writer.send(cmd="set", map="control", key="floor", value=str(guests[1].client_id))
    wait_for(lambda: holds(guests[2], guests[1]), what="the host's floor reaches the room")
    # Nobody writes the head count but the server, not even a host; a bad floor is refused.
    for key, value in (("people", 1), ("names", "[]"), ("audience", False), ("floor", "1;2")):
        rogue = node_peers(base(srv), "control", "host-token")
        rogue.wait(lambda e: e["event"] == "synced")
        rogue.send(cmd="set", map="control", key=key, value=value)
        closed = rogue.wait(lambda e: e["event"] == "close")
        assert closed["code"] == CLOSE_BAD_FRAME, (key, closed)
    assert control_map(shared, srv)["people"] == 3
    assert control_map(shared, srv)["floor"] == str(guests[1].client_id)


def test_auto_mode_switches_on_above_the_threshold_and_off_below_the_lower_one(
    server, node_peers
):
    srv, shared = server  # "auto" is the default
    host = page(node_peers, srv, "Host", "host-token", "host")
    ana = page(node_peers, srv, "Ana")
    bob = page(node_peers, srv, "Bob")
    wait_for(lambda: holds(bob, ana), what="a small room: guests hear each other")
    people = lambda: srv.call(lambda: len(shared.board.connections))  # noqa: E731
    active = lambda: srv.call(lambda: shared.board.audience.active)  # noqa: E731
    url = f"{base(srv)}/board?token=guest-token"
    with ExitStack() as stack:
        quiet = []  # pages that only watch (raw websockets: real sockets, no presence)
        while len(quiet) + 3 < audience.AUTO_ON_ABOVE:
            quiet.append(stack.enter_context(connect(url)))
        wait_for(lambda: people() == audience.AUTO_ON_ABOVE, what="50 people")
        assert not active()
        quiet.append(stack.enter_context(connect(url)))  # the 51st
        wait_for(active, what="audience mode on above 50")
        wait_for(lambda: not holds(bob, ana), what="Bob's copy of Ana is removed")
        ana.send(cmd="awareness", state=user("Ana", x=3))
        wait_for(lambda: holds(host, ana, 3), what="the host still hears Ana")

        # Hysteresis: still on at 45, off below 40.
        def one_leaves() -> None:
            quiet.pop().close()
            left = len(quiet) + 3
            wait_for(lambda: people() == left, what="a quiet page left")

        while people() > audience.AUTO_OFF_BELOW + 5:
            one_leaves()
        assert active()
        while people() >= audience.AUTO_OFF_BELOW:
            one_leaves()
        wait_for(lambda: not active(), what="audience mode off below 40")
        # Ana did not move since she was hidden: she is back for Bob all the same (when she was
        # removed for everyone, her own page re-announced itself with a newer clock).
        wait_for(lambda: holds(bob, ana, 3), what="Bob hears Ana again")


def listener_bytes(srv, room: str, mode: str, movers: int) -> dict:
    """Run tests/js/audience_bytes.mjs: `movers` guests at 10 Hz, a host at 20 Hz, 3 listeners."""
    out = subprocess.run(
        [
            "node",
            str(REPO / "tests" / "js" / "audience_bytes.mjs"),
            base(srv, room),
            "guest-token",
            "host-token",
            str(movers),
            "3",
            "2000",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\n[audience {mode}] {result}")
    return result


def test_a_listener_receives_the_same_bytes_at_20_and_80_moving_guests(server):
    from .room_server import new_shared, register

    srv, _ = server
    runs = {}
    for mode in ("on", "off"):
        for movers in (20, 80):
            shared = new_shared(f"{mode}{movers}")
            register(srv, shared)
            srv.call(lambda shared=shared, mode=mode: shared.set_audience(mode))
            runs[mode, movers] = listener_bytes(srv, shared.room, mode, movers)
    for run in runs.values():  # the movers really moved (the generator kept the pace)
        assert run["moverRate"] >= 0.7 * 10 * run["movers"], run
    per = {key: max(run["perListener"]) for key, run in runs.items()}
    # Audience mode: what a listener gets does not depend on how many move (the presenter's
    # cursor, ~2 KB/s), while the host hears everyone.
    assert per["on", 80] <= 1.3 * per["on", 20] + 500, per
    assert per["on", 80] < 5_000, per
    assert runs["on", 80]["hostBytes"] > 2.5 * runs["on", 20]["hostBytes"]
    # Without it a listener's bytes follow the number of movers (4x the movers: >= 2.5x).
    assert per["off", 80] >= 2.5 * per["off", 20], per
    assert per["off", 80] >= 15 * per["on", 80], per
