"""Issue 11, rows 1, 2, 3, 4 (tiny maps), 6 and 10: what a guest sends into the rooms.

Every attack runs against the real share server on loopback with real clients: the attacker is a
raw websocket sending updates made by pycrdt (or bytes built by hand where pycrdt itself would
crash making them), the honest participants are real yjs + y-websocket clients in Node
(tests/js/peer.mjs). Each test asserts that the server is alive, that an honest participant keeps
syncing during the attack (its write-to-other-peer latency p95 is printed), that the process' RSS
stays under the stated bound, and that the board ends identical on the server and on the honest
clients.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time

import pytest
from pycrdt import Doc, Map, create_update_message
from websockets.sync.client import connect

from jupyterspot_magic.collab.close_codes import (
    CLOSE_BAD_FRAME,
    CLOSE_TOO_LARGE,
    CLOSE_TOO_MANY,
)
from jupyterspot_magic.collab.room import (
    MAX_IDS_PER_CONNECTION,
    MAX_IDS_PER_CONNECTION_LIFETIME,
    AwarenessEntry,
    encode_awareness,
)
from jupyterspot_magic.collab.schema import STRUCT_COST

from . import forge
from .conftest import wait_for
from .inside import board_shapes
from .processes import rss_mb
from .room_server import base, close_code, send_until_closed, shapes, valid_shape


class Honest:
    """Two real yjs peers: Alice writes shapes, Bob must see each one; latency per write."""

    def __init__(self, srv, node_peers) -> None:
        self.alice = node_peers(base(srv), "board", "guest-token", "alice-browser")
        self.bob = node_peers(base(srv), "board", "guest-token", "bob-browser")
        for peer in (self.alice, self.bob):
            peer.wait(lambda e: e["event"] == "synced")
            peer.send(cmd="watch", prefix="honest-")
        self.latencies: list[float] = []
        self.n = 0

    def probe(self) -> None:
        self.n += 1
        key = f"honest-{self.n}"
        t0 = time.monotonic()
        self.alice.send(cmd="set", map="shapes", key=key, value=self.n)
        self.bob.wait(lambda e: e["event"] == "doc" and key in e["maps"]["shapes"], 20)
        self.latencies.append((time.monotonic() - t0) * 1000)
        self.forget()

    def snapshot(self, peer) -> dict:
        self.forget()  # NodePeer.dump matches the first equal event: start from none
        return peer.dump()["maps"]["shapes"]

    def forget(self) -> None:
        """Drop the events seen so far: each carries the whole board, and an attack's board in
        the peers' histories would be this process' RSS, not the server's."""
        for peer in (self.alice, self.bob):
            peer.history.clear()
            while not peer.lines.empty():
                peer.lines.get_nowait()

    def probe_during(self, attack) -> None:
        """Run `attack()` in a thread and probe until it is done (and at least 5 times)."""
        done = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            try:
                attack()
            except BaseException as e:  # reported below, in the test's thread
                errors.append(e)
            finally:
                done.set()

        threading.Thread(target=run, daemon=True).start()
        while not done.is_set() or len(self.latencies) < 5:
            self.probe()
            # pacing, not waiting: every doc event carries the whole board, and thousands of
            # them in the peers' histories would be this process' RSS, not the server's
            done.wait(0.1)
        if errors:
            raise errors[0]

    def p95(self) -> float:
        """Nearest rank: with few samples this is the worst one, never an extrapolation."""
        ranked = sorted(self.latencies)
        return ranked[max(0, math.ceil(0.95 * len(ranked)) - 1)] if ranked else 0.0

    def identical_with(self, srv, shared) -> dict:
        """The board on the server equals the board on both honest clients."""
        server_view = shapes(shared, srv)
        for peer in (self.alice, self.bob):
            wait_for(lambda p=peer: self.snapshot(p) == server_view, 20, "the same board")
        self.forget()
        return server_view


def report(row: str, honest: Honest, rss_growth: float) -> None:
    print(f"\n  latencies ms: {[round(x) for x in honest.latencies[:12]]}")
    print(
        f"\n[issue 11 row {row}] honest write->peer p95 {honest.p95():.1f} ms "
        f"over {len(honest.latencies)} writes, RSS growth {rss_growth:.1f} MB"
    )


def test_row1_row2_nested_maps_never_reach_the_document(server, node_peers):
    srv, shared = server
    honest = Honest(srv, node_peers)
    rss0 = rss_mb()
    codes: list[int] = []

    def attack() -> None:
        for depth in (40_000, 2_000, 1):
            client = 4242 + depth
            chain = forge.nested_chain(client, depth)
            with connect(f"{base(srv)}/board?token=guest-token", max_size=None) as ws:
                ws.send(create_update_message(chain))
                codes.append(close_code(ws))
            # the 15-byte deletion of the chain's root, as if the chain had been accepted: it
            # deletes what does not exist, refused (it would wait to erase the next writes)
            with connect(f"{base(srv)}/board?token=guest-token", max_size=None) as ws:
                ws.send(create_update_message(forge.deletion(client, 0, 1)))
                codes.append(close_code(ws))

    honest.probe_during(attack)
    assert codes == [CLOSE_BAD_FRAME] * 6
    assert srv.running
    board = honest.identical_with(srv, shared)
    assert "evil" not in board and len(board) == honest.n
    # the honest clients' yjs never saw a nested map: their documents still take writes
    honest.probe()
    report("1/2", honest, rss_mb() - rss0)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda s: s.__setitem__("x", 1), id="scalar-shape"),
        pytest.param(lambda s: s.__setitem__("s1", Map({"t": "rect", "z": 1.0})), id="unknown"),
        pytest.param(lambda s: s.__setitem__("s1", Map({"c": "red"})), id="bad-color"),
        pytest.param(lambda s: s.__setitem__("s1", Map({"text": "x" * 4001})), id="long-text"),
        pytest.param(lambda s: s.__setitem__("s1", Map({"x": float("inf")})), id="infinite"),
        pytest.param(lambda s: s.__setitem__("s1", Map({"pts": b"abc"})), id="ragged-points"),
        pytest.param(lambda s: s.__setitem__("s1", Map({"cell": {"a": 1}})), id="object"),
        pytest.param(lambda s: s.__setitem__("bad id!", Map({"x": 1.0})), id="bad-id"),
    ],
)
def test_fields_outside_the_schema_close_the_sender(server, node_peers, make):
    srv, shared = server
    honest = Honest(srv, node_peers)
    doc = Doc()
    make(doc.get("shapes", type=Map))
    with connect(f"{base(srv)}/board?token=guest-token", max_size=None) as ws:
        ws.send(create_update_message(doc.get_update()))
        assert close_code(ws) == CLOSE_BAD_FRAME
    other_root = Doc()
    other_root.get("strokes", type=Map)["s1"] = valid_shape()
    with connect(f"{base(srv)}/board?token=guest-token", max_size=None) as ws:
        ws.send(create_update_message(other_root.get_update()))
        assert close_code(ws) == CLOSE_BAD_FRAME
    honest.probe()
    assert set(honest.identical_with(srv, shared)) == {"honest-1"}


def test_row3_a_flood_of_ids_cannot_free_the_presenters_id(server, node_peers):
    srv, shared = server
    honest = Honest(srv, node_peers)
    host = node_peers(base(srv), "board", "host-token", "presenter-browser")
    host.wait(lambda e: e["event"] == "synced")
    host.send(cmd="awareness", state={"user": {"name": "Presenter", "role": "host"}})
    honest.bob.wait(lambda e: e["event"] == "awareness" and "Presenter" in json.dumps(e))
    host_id = host.client_id
    host.send(cmd="offline")  # the presenter's connection drops
    honest.bob.wait(
        lambda e: e["event"] == "awareness" and "Presenter" not in json.dumps(e["states"])
    )
    rss0 = rss_mb()
    codes: list[int] = []

    def pairs(first: int, n: int) -> list[bytes]:
        announce = [(first + i, AwarenessEntry(1, '{"cursor":null}')) for i in range(n)]
        remove = [(first + i, AwarenessEntry(2, None)) for i in range(n)]
        return [encode_awareness(announce), encode_awareness(remove)]

    def attack() -> None:
        with connect(f"{base(srv)}/board?token=guest-token") as ws:  # 10,001 pairs at once
            for frame in pairs(10_000_000, 10_001):
                ws.send(frame)
            codes.append(close_code(ws))
        # and spread over many connections, each within its caps (4 at once, 16 in its life)
        per, at_once = MAX_IDS_PER_CONNECTION_LIFETIME, MAX_IDS_PER_CONNECTION
        for k in range(10_001 // per + 1):
            with connect(f"{base(srv)}/board?token=guest-token") as ws:
                for j in range(0, per, at_once):
                    for frame in pairs(20_000_000 + k * per + j, at_once):
                        ws.send(frame)
        with connect(f"{base(srv)}/board?token=guest-token") as ws:  # now claim the host's id
            state = '{"user":{"name":"Presenter","role":"host"},"cursor":null}'
            ws.send(encode_awareness([(host_id, AwarenessEntry(10**6, state))]))
            ws.send(encode_awareness([(host_id, AwarenessEntry(10**6 + 1, state))]))
            ws.recv(timeout=5)

    honest.probe_during(attack)
    assert codes == [CLOSE_TOO_MANY]
    assert srv.call(lambda: host_id not in shared.board.awareness)
    # the real presenter comes back with the same id and re-announces itself, as the viewer does
    host.send(cmd="online")
    host.send(cmd="awareness", state={"user": {"name": "Presenter", "role": "host"}})
    wait_for(lambda: host_id in srv.call(lambda: dict(shared.board.owners)), 10)
    honest.forget()
    assert honest.bob.dump()["states"][str(host_id)]["user"]["name"] == "Presenter"
    owner = srv.call(lambda: shared.board.owners[host_id])
    assert owner.role == "host" and owner.pid == "presenter-browser"
    assert srv.call(lambda: len(shared.board.departed)) <= 10_000 + 1
    honest.identical_with(srv, shared)
    report("3", honest, rss_mb() - rss0)


def empty_shape_batches(batches: int, per: int) -> list[bytes]:
    """Updates of `per` empty shapes each: the cheapest valid struct on the wire."""
    doc = Doc()
    shapes_map = doc.get("shapes", type=Map)
    out = []
    for batch in range(batches):
        before = doc.get_state()
        with doc.transaction():
            for i in range(per):
                shapes_map[f"t{batch}-{i}"] = Map()
        out.append(doc.get_update(before))
    return out


def test_row4_tiny_maps_cost_what_they_cost_and_stop_at_the_budget(server, node_peers):
    """Many tiny shapes: accepted until the room's decoded-cost budget, then refused; the
    process' memory follows the decoded cost, not the wire bytes."""
    srv, shared = server
    honest = Honest(srv, node_peers)
    budget = 24 * 1024 * 1024  # a smaller budget than the default keeps the test quick
    srv.call(lambda: setattr(shared.board.limits, "max_cost", budget))
    updates = empty_shape_batches(100, 5_000)  # made before measuring: the attacker's
    sent = {"bytes": 0}  # own document is not the server's memory
    rss0 = rss_mb()

    def attack() -> None:
        with connect(f"{base(srv)}/board?token=guest-token", max_size=None) as ws:
            for update in updates:
                try:
                    ws.send(create_update_message(update))
                except Exception:
                    break
                sent["bytes"] += len(update)
            sent["code"] = close_code(ws)

    honest.probe_during(attack)
    assert sent["code"] == CLOSE_TOO_LARGE
    growth = rss_mb() - rss0
    cost = srv.call(lambda: shared.board.cost)
    assert cost <= budget
    # stated bound (docs/security.md): a room's memory <= 1.5 x its decoded cost (+16 MB slack
    # for buffers); the attack stopped at the growth burst, well inside the room's budget
    assert growth <= 1.5 * cost / 2**20 + 16, (growth, cost)
    print(f"\n  decoded cost accepted {cost / 2**20:.1f} MiB, RSS growth {growth:.1f} MB")
    honest.identical_with(srv, shared)
    report("4", honest, growth)
    print(f"  wire {sent['bytes'] / 1024:.0f} KiB, struct cost {STRUCT_COST} B each")


def test_row6_a_board_bigger_than_one_message_still_reaches_newcomers(server, node_peers):
    srv, shared = server
    doc = Doc()
    board = doc.get("shapes", type=Map)
    for i in range(100):  # 100 of the largest strokes the schema allows: 24 MB
        board[f"big{i}"] = valid_shape(t="pen", pts=bytes(240_000), d=3)
    update = doc.get_update()
    assert len(update) > 20 * 1024 * 1024
    srv.call(lambda: shared.board.apply_stored(update))  # as a restored board would be
    honest = Honest(srv, node_peers)  # both join the 24 MB board: pieces, paced
    rss0 = rss_mb()
    for peer in (honest.alice, honest.bob):
        peer.wait(lambda e: e["event"] == "doc" and len(e["maps"]["shapes"]) == 100, 60)
        assert not any(e["event"] == "close" for e in peer.history)
    t0 = time.monotonic()
    late = node_peers(base(srv), "board", "guest-token")
    late.wait(lambda e: e["event"] == "synced", 60)
    print(
        f"\n  a newcomer joined the {len(update) / 2**20:.1f} MiB board in "
        f"{time.monotonic() - t0:.2f} s"
    )
    assert len(late.dump()["maps"]["shapes"]) == 100  # "synced" means everything arrived
    honest.probe()
    honest.identical_with(srv, shared)
    report("6", honest, rss_mb() - rss0)


def test_row10_big_fast_awareness_is_coalesced_to_the_budget(server, node_peers):
    srv, shared = server
    honest = Honest(srv, node_peers)
    limits = shared.board.limits
    seconds = 4.0
    received = {"bytes": 0}
    size = {"state": 0}
    stop = threading.Event()

    def listen() -> None:
        with connect(f"{base(srv)}/board?token=guest-token", max_size=None) as ws:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    received["bytes"] += len(ws.recv(timeout=0.2))

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(0.3)  # let the listener's own sync arrive before counting matters
    received["bytes"] = 0
    rss0 = rss_mb()

    def attack() -> None:
        # the largest state the awareness schema allows (~730 B), as fast as the rate limit lets
        cell = "c" * 200
        with connect(f"{base(srv)}/board?token=guest-token") as ws:
            t0 = time.monotonic()
            clock = 0
            while time.monotonic() - t0 < seconds:
                clock += 1
                anchor = {"cell": cell, "x": clock % 1000, "y": 1.5}
                state = json.dumps(
                    {
                        "user": {"name": "n" * 100},
                        "cursor": anchor,
                        "laser": anchor,
                        "scroll": {"cell": cell, "offset": 1},
                    }
                )
                size["state"] = len(state)
                ws.send(encode_awareness([(31337, AwarenessEntry(clock, state))]))
                time.sleep(1 / 290)  # pacing the attacker, not waiting for a result
        time.sleep(0.5)

    honest.probe_during(attack)
    stop.set()
    listener.join(5)
    allowed = limits.presence_per_second * (seconds + 1) + limits.presence_burst
    sent = 290 * seconds * size["state"]
    got = received["bytes"] / 1024
    print(f"\n  attacker sent ~{sent / 1024:.0f} KiB; a participant got {got:.0f} KiB")
    print(f"  (budget {allowed / 1024:.0f} KiB + honest traffic)")
    assert received["bytes"] <= allowed + 64 * 1024
    assert srv.running
    honest.identical_with(srv, shared)
    report("10", honest, rss_mb() - rss0)


def test_row2_a_browser_keeps_drawing_after_a_nested_chain_attack(browser, node_peers):
    """The victim of row 2 is every browser: a real page stays live and keeps syncing."""
    from jupyterspot_magic.session.registry import share

    from .conftest import DEMO

    s = share(DEMO, tunnel="none", fresh=True)
    page = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(s.url + "&name=Victim")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=\"connection-status\"]')"
            "?.dataset.state === 'live' && !!window.jupyterspot?.board",
            timeout=15000,
        )
        cell = page.locator(".jp-Cell").first.get_attribute("id").removeprefix("cell-id=")
        with connect(f"{s.ws_url}/board?token={s.token}", max_size=None) as ws:
            ws.send(create_update_message(forge.nested_chain(99, 2_000)))
            assert close_code(ws) == CLOSE_BAD_FRAME
        with connect(f"{s.ws_url}/board?token={s.token}", max_size=None) as ws:
            ws.send(create_update_message(forge.deletion(99, 0, 1)))  # the 15-byte trigger
            assert close_code(ws) == CLOSE_BAD_FRAME  # deletes what does not exist
        peer = node_peers(s.ws_url, "board", s.token)
        peer.wait(lambda e: e["event"] == "synced")
        fields = {"t": "rect", "cell": cell, "ci": 0, "x": 10, "y": 10, "w": 80, "h": 40}
        fields |= {"c": "#e03131", "s": 4, "by": "Node", "at": 1700000000000}
        peer.send(cmd="shape", key="after-attack", fields=fields)
        page.wait_for_selector('[data-shape-id="after-attack"]', timeout=10000)
        # and the page still writes: its own shape reaches the other client
        page.evaluate(
            "f => window.jupyterspot.board.model.add('from-page', f)", {**fields, "by": "Victim"}
        )
        peer.wait(lambda e: e["event"] == "doc" and "from-page" in e["maps"]["shapes"])
        assert not [e for e in errors if "call stack" in e.lower()], errors
        keys = set(board_shapes(s))
        assert keys == {"after-attack", "from-page"}
    finally:
        page.context.close()
        s.stop()


def test_review_a_client_in_two_sections_closes_the_sender_and_changes_nothing(server, node_peers):
    """Found by review: yrs appends a client's second section and integrates it, clocks
    repeating; the check once skipped it and 49,998 nested maps (then SIGSEGV) got through."""
    srv, shared = server
    honest = Honest(srv, node_peers)
    chain = [forge.a_map(parent=(601, i), key="k") for i in range(2_000)]
    shape = [forge.a_map(root="shapes", key="x"), *chain]
    # section 1 covers the clocks with a harmless GC; section 2 repeats them with the chain
    hostile = forge.update([(601, 0, [forge.gc(len(shape))]), (601, 0, shape)])

    def attack() -> None:
        with connect(f"{base(srv)}/board?token=guest-token", max_size=None) as ws:
            ws.send(create_update_message(hostile))
            assert close_code(ws) == CLOSE_BAD_FRAME
        with connect(f"{base(srv)}/board?token=guest-token", max_size=None) as ws:
            ws.send(create_update_message(forge.deletion(601, 0, 1)))
            assert close_code(ws) == CLOSE_BAD_FRAME  # deletes what does not exist

    honest.probe_during(attack)
    assert srv.running and set(honest.identical_with(srv, shared)) == {
        f"honest-{i}" for i in range(1, honest.n + 1)
    }


def test_review_a_flood_of_sync_requests_on_a_big_board_is_bounded(server):
    """Found by review: every sync step 1 on a board over 8 MiB started its own cut of the whole
    board (60 requests: +1.2 GB). Now one answer at a time per connection, one cut per board
    shared by everyone, and at most 5 requests in a burst (1/s after): too_many."""
    from jupyterspot_magic.collab.room import STEP1, sync_message

    srv, shared = server
    doc = Doc()
    board = doc.get("shapes", type=Map)
    for i in range(40):  # 9.6 MB
        board[f"big{i}"] = valid_shape(t="pen", pts=bytes(240_000), d=3)
    update = doc.get_update()
    srv.call(lambda: shared.board.apply_stored(update))
    rss0 = rss_mb()
    with connect(f"{base(srv)}/board?token=guest-token", max_size=None) as ws:
        requests = (sync_message(STEP1, b"\x00") for _ in range(60))
        # reads its (one) board meanwhile: a longer wait for the close
        assert send_until_closed(ws, requests, timeout=20) == CLOSE_TOO_MANY
    growth = rss_mb() - rss0
    print(f"\n  60 sync requests on a {len(update) / 2**20:.1f} MiB board: RSS +{growth:.0f} MB")
    assert growth < 3 * len(update) / 2**20 + 32
    assert srv.running


def test_review_a_reconnect_to_a_server_restarted_empty_restores_everything(server, node_peers):
    """Found by review: yjs writes clients in descending id order; when the higher id edited the
    lower id's shape, the check refused the reconnect's step 2 forever (5,742 resyncs in 3 s)."""
    from jupyterspot_magic.server.thread import ServerThread

    from .room_server import new_shared

    srv, _ = server  # stopped below (stopping it again at teardown is harmless)
    port = srv.port
    one = node_peers(base(srv), "board", "guest-token")
    two = node_peers(base(srv), "board", "guest-token")
    low, high = sorted((one, two), key=lambda p: p.client_id)
    for peer in (low, high):
        peer.wait(lambda e: e["event"] == "synced")
    fields = {"t": "rect", "cell": "a", "ci": 0, "x": 1, "y": 2, "w": 10, "h": 10}
    low.send(cmd="shape", key="s1", fields=fields | {"c": "#e03131", "s": 4, "by": "Lo", "at": 1})
    high.wait(lambda e: e["event"] == "doc" and "s1" in e["maps"]["shapes"])
    high.send(cmd="field", key="s1", field="x", value=50)  # the higher id edits the lower's shape
    low.wait(lambda e: e["event"] == "doc" and e["maps"]["shapes"].get("s1", {}).get("x") == 50)
    srv.stop()
    # the same address, an empty board; the room is there before the first connection is
    # served (a peer that reconnected in between would get 4404 and, like the viewer, give up)
    again = ServerThread("127.0.0.1", port)
    shared = new_shared()
    again.registry.register(shared)
    again.start()
    try:
        closes = [e for p in (low, high) for e in p.history if e["event"] == "close"]
        wait_for(
            lambda: shapes(shared, again).get("s1", {}).get("x") == 50,
            20,
            f"the board restored by the reconnects (closes seen: {closes})",
        )
        for peer in (low, high):
            assert not [e for e in peer.history if e["event"] == "close" and e["code"] >= 4000]
    finally:
        again.stop()
