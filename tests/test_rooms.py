"""The share server's rooms against real yjs/y-websocket clients (Node) and raw websockets.

Covers what pycrdt-websocket's stock room gets wrong: newcomers see everyone already
there, a closed client disappears within 2 s, no update before the handshake; plus token checks,
read-only control for guests, bounded and malformed frames, and nothing else reachable.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest
from pycrdt import Map
from websockets.sync.client import connect

from jupyterspot_magic.collab.close_codes import (
    CLOSE_BAD_FRAME,
    CLOSE_INVALID_TOKEN,
    CLOSE_TOO_LARGE,
    CLOSE_TOO_MANY,
)
from jupyterspot_magic.collab.codec import write_var_bytes
from jupyterspot_magic.collab.messages import (
    AWARENESS,
    STEP1,
    STEP2,
    SYNC,
    UPDATE,
    read_var_bytes,
)
from jupyterspot_magic.content.render import CONFIG_PLACEHOLDER

from .room_server import base, close_code, synced


def present(states: dict) -> dict:
    return {int(k): v for k, v in states.items() if v}


def test_newcomer_sees_everyone_already_there(server, node_peers):
    srv, _ = server
    alice = node_peers(base(srv), "board", "guest-token")
    alice.wait(lambda e: e["event"] == "synced")
    alice.send(cmd="awareness", state={"user": {"name": "Alice"}})
    bob = node_peers(base(srv), "board", "guest-token")
    bob.wait(lambda e: e["event"] == "synced")
    # Alice does nothing more: Bob must learn about her from the server alone.
    bob.wait(
        lambda e: (
            e["event"] == "awareness"
            and present(e["states"]).get(alice.client_id, {}).get("user", {}).get("name") == "Alice"
        )
    )


def test_closed_client_disappears_within_two_seconds(server, node_peers):
    srv, shared = server
    alice = node_peers(base(srv), "board", "guest-token")
    bob = node_peers(base(srv), "board", "guest-token")
    for peer, name in ((alice, "Alice"), (bob, "Bob")):
        peer.wait(lambda e: e["event"] == "synced")
        peer.send(cmd="awareness", state={"user": {"name": name}})
    bob.wait(lambda e: e["event"] == "awareness" and alice.client_id in present(e["states"]))
    alice.kill()  # the process dies: no goodbye message, only the TCP connection closes
    t0 = time.monotonic()
    bob.wait(
        lambda e: e["event"] == "awareness" and alice.client_id not in present(e["states"]),
        timeout=2.0,
    )
    assert time.monotonic() - t0 < 2.0
    assert all(cid != alice.client_id for cid, _, _ in srv.call(shared.board.states))


def test_document_syncs_and_late_joiner_gets_everything(server, node_peers):
    srv, _ = server
    alice = node_peers(base(srv), "board", "guest-token")
    alice.wait(lambda e: e["event"] == "synced")
    for i in range(20):
        alice.send(cmd="set", map="shapes", key=f"s{i}", value={"i": i})
    bob = node_peers(base(srv), "board", "guest-token")
    bob.wait(lambda e: e["event"] == "doc" and len(e["maps"]["shapes"]) == 20)
    bob.send(cmd="set", map="shapes", key="from-bob", value=1)
    alice.wait(lambda e: e["event"] == "doc" and "from-bob" in e["maps"]["shapes"])


def test_wrong_or_missing_token_is_refused_with_4401(server, node_peers):
    srv, _ = server
    for token in ("wrong", None):
        peer = node_peers(base(srv), "board", token)
        closed = peer.wait(lambda e: e["event"] == "close")
        assert closed["code"] == CLOSE_INVALID_TOKEN
        assert not any(e["event"] == "synced" for e in peer.history)


def test_guest_cannot_write_control_but_host_can(server, node_peers):
    srv, shared = server
    host, guest = synced(node_peers, srv, "control", "host-token", "guest-token")
    guest.send(cmd="set", map="control", key="leader", value=666)
    host.send(cmd="set", map="control", key="leadPolicy", value="host")
    guest.wait(lambda e: e["event"] == "doc" and e["maps"]["control"].get("leadPolicy") == "host")
    time.sleep(0.3)
    assert "leader" not in host.dump()["maps"]["control"]

    control = srv.call(lambda: shared.control.doc.get("control", type=Map).to_py())
    assert control == {"leadPolicy": "host"}


def test_no_update_before_the_handshake(server, node_peers):
    """A connection that has not sent sync step 1 receives no document update (upstream #138)."""
    srv, _ = server
    writer = node_peers(base(srv), "board", "guest-token")
    writer.wait(lambda e: e["event"] == "synced")
    with connect(f"{base(srv)}/board?token=guest-token") as raw:
        first = raw.recv(timeout=2)
        assert first[0] == SYNC and first[1] == STEP1
        writer.send(cmd="set", map="shapes", key="early", value=1)
        time.sleep(0.5)
        with pytest.raises(TimeoutError):
            while True:  # only awareness may arrive before our step 1
                msg = raw.recv(timeout=0.3)
                assert msg[0] == AWARENESS, "document update before the handshake"
        raw.send(bytes([SYNC, STEP1]) + write_var_bytes(b"\x00"))
        reply = raw.recv(timeout=2)
        while reply[0] == AWARENESS:
            reply = raw.recv(timeout=2)
        assert reply[:2] == bytes([SYNC, STEP2])
        assert len(read_var_bytes(reply, 2)[0]) > 2  # holds the early write
        writer.send(cmd="set", map="shapes", key="late", value=2)
        update = raw.recv(timeout=2)
        while update[0] == AWARENESS:
            update = raw.recv(timeout=2)
        assert update[:2] == bytes([SYNC, UPDATE])


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (bytes([SYNC, UPDATE]) + write_var_bytes(b"\x01\x02\x03garbage"), CLOSE_BAD_FRAME),
        (bytes([SYNC, UPDATE, 0xFF, 0xFF]), CLOSE_BAD_FRAME),  # truncated length
        (bytes([9, 1, 2]), CLOSE_BAD_FRAME),  # unknown message type
        (bytes([SYNC, UPDATE]) + write_var_bytes(b"x" * (5 * 1024 * 1024)), CLOSE_TOO_LARGE),
        # awareness every browser would choke on (JSON.parse throws): found by fuzzing
        (
            bytes([AWARENESS]) + write_var_bytes(b"\x01\x07\x01" + write_var_bytes(b"nu|l")),
            CLOSE_BAD_FRAME,
        ),
        (
            bytes([AWARENESS]) + write_var_bytes(b"\x01\x07\x01" + write_var_bytes(b'{"x":NaN}')),
            CLOSE_BAD_FRAME,
        ),
        (
            bytes([AWARENESS]) + write_var_bytes(b"\x01\x07\x01" + write_var_bytes(b"[1,2]")),
            CLOSE_BAD_FRAME,
        ),
        # one huge presence state, or one connection speaking for many clients
        (
            bytes([AWARENESS])
            + write_var_bytes(b"\x01\x07\x01" + write_var_bytes(b'{"x":"' + b"a" * 20000 + b'"}')),
            CLOSE_TOO_LARGE,
        ),
        (
            bytes([AWARENESS])
            + write_var_bytes(
                b"\x06" + b"".join(bytes([i, 1]) + write_var_bytes(b"{}") for i in range(1, 7))
            ),
            CLOSE_TOO_MANY,
        ),
    ],
    ids=[
        "corrupt-update",
        "truncated",
        "unknown-type",
        "oversize",
        "bad-json",
        "nan",
        "array",
        "huge-state",
        "many-ids",
    ],
)
def test_bad_frames_close_only_that_connection(server, node_peers, frame, code):
    srv, _ = server
    alice = node_peers(base(srv), "board", "guest-token")
    alice.wait(lambda e: e["event"] == "synced")
    alice.send(cmd="set", map="shapes", key="keep", value=1)
    alice.wait(lambda e: e["event"] == "doc")
    with connect(f"{base(srv)}/board?token=guest-token", max_size=None) as raw:
        raw.recv(timeout=2)
        raw.send(frame)
        assert close_code(raw, timeout=5) == code
    bob = node_peers(base(srv), "board", "guest-token")
    bob.wait(lambda e: e["event"] == "doc" and e["maps"]["shapes"] == {"keep": 1})
    alice.send(cmd="set", map="shapes", key="after", value=2)
    bob.wait(lambda e: e["event"] == "doc" and "after" in e["maps"]["shapes"])


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_only_page_bundle_and_rooms_are_reachable(server):
    srv, _ = server
    root = f"http://127.0.0.1:{srv.port}"
    assert http_status(f"{root}/s/room1/?token=guest-token") == 200
    assert http_status(f"{root}/s/room1/?token=host-token") == 200
    assert http_status(f"{root}/s/room1/?token=nope") == 403
    assert http_status(f"{root}/s/room1/") == 403
    assert http_status(f"{root}/s/other/?token=guest-token") == 404
    assert http_status(f"{root}/s/%5C%5Cevil.example") == 404  # no open redirect
    assert http_status(f"{root}/s/other") == 404
    for path in (
        "/",
        "/s/",
        "/s/room1/static/",
        "/s/room1/static/../../serve.py",
        "/s/room1/static/..%2f..%2fserve.py",
        "/s/room1/static/%2e%2e%2fshare.py",
        "/s/room1/static/__init__.py",
        "/s/room1/static/..%5c..%5cserve.py",
        "/etc/passwd",
        "/s/room1/assets/../../../../etc/passwd",
        "/s/room1/lib/..%2f..%2fserver%2fapp.py",
        "/s/room1/lib/%2e%2e/%2e%2e/base/paths.py",
        "/s/room1/lib/manifest.json",
        "/s/room1/lib/fonts/../../viewer.js",
        "/s/room1/lib/images/../../../contracts/shape.json",
        "/s/room1/lib/etc/passwd",
        "/s/room1/@jupyter-widgets/../static/viewer.js",
        "/s/room1/@jupyter-widgets/html-manager/dist/x.js",
    ):
        assert http_status(root + path) == 404, path


def test_output_libraries_are_served_with_caching(server):
    """lib/<name>: the share's copy of an output library (content/libraries.py), gzip + ETag."""
    srv, _ = server
    root = f"http://127.0.0.1:{srv.port}/s/room1/lib/"
    for name, media in (
        ("plotly@4.1.1.js", "text/javascript"),
        ("vega@6?noext", "text/javascript"),
        ("leaflet-css@1.9.3.css", "text/css"),
        ("requirejs.js", "text/javascript"),
    ):
        req = urllib.request.Request(root + name, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req) as r:
            assert r.headers["Content-Type"].startswith(media), name
            assert r.headers["Content-Encoding"] == "gzip" and r.headers["ETag"], name
            etag = r.headers["ETag"]
        again = urllib.request.Request(
            root + name, headers={"Accept-Encoding": "gzip", "If-None-Match": etag}
        )
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(again)
        assert e.value.code == 304, name


def test_page_has_config_for_role_and_never_the_host_token(server):
    srv, _ = server
    root = f"http://127.0.0.1:{srv.port}/s/room1/"
    with urllib.request.urlopen(f"{root}?token=guest-token") as r:
        page = r.read().decode()
        headers = r.headers
    assert '"role": "guest"' in page and CONFIG_PLACEHOLDER not in page
    assert "host-token" not in page
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    with urllib.request.urlopen(f"{root}?token=host-token") as r:
        assert '"role": "host"' in r.read().decode()


def test_guest_cannot_claim_the_host_role(server, node_peers):
    srv, _ = server
    host = node_peers(base(srv), "board", "host-token")
    guest = node_peers(base(srv), "board", "guest-token")
    host.send(cmd="awareness", state={"user": {"name": "Real host", "role": "host"}})
    guest.send(cmd="awareness", state={"user": {"name": "Mallory", "role": "host"}})

    def roles(e):
        users = {v["user"]["name"]: v["user"]["role"] for v in present(e["states"]).values()}
        return e["event"] == "awareness" and users == {"Real host": "host", "Mallory": "guest"}

    # the guest's own copy is its local claim; every other client sees the proven role
    host.wait(lambda e: e["event"] == "awareness" and "Mallory" in str(e["states"]) and roles(e))


def test_listener_is_tcp_with_nodelay():
    """Small frames go out at once: without IPPROTO_TCP asyncio leaves Nagle on for accepted
    sockets and delayed ACKs hold cursor updates ~40 ms (measured, docs/benchmarks.md)."""
    import socket

    from jupyterspot_magic.server.thread import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        sock.close()


def test_coalescing_keeps_every_latest_state_and_fast_removal(server):
    """20 clients x 200 rapid cursor updates: coalescing may drop intermediate states, never the
    latest; a client that leaves is gone for everyone within 2 s (issue 7 regression)."""
    import json
    import subprocess

    from .conftest import REPO

    srv, _ = server
    out = subprocess.run(
        ["node", str(REPO / "tests" / "js" / "storm.mjs"), base(srv), "guest-token", "20", "200"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["allLatest"], result
    assert result["removed"] and result["removedMs"] < 2000, result


def presence(client_id: int, clock: int, state: bytes) -> bytes:
    """One raw awareness message (client ids and clocks under 128)."""
    return bytes([AWARENESS]) + write_var_bytes(
        bytes([1, client_id, clock]) + write_var_bytes(state)
    )


def test_a_reconnecting_browser_keeps_its_place_without_flicker(server, node_peers):
    """The same browser (same pid) reconnects before its old socket is seen gone: the new
    socket takes over its client id, so the old socket closing removes nobody. Another browser
    can never take that id, even after its owner left."""
    srv, shared = server
    watcher = node_peers(base(srv), "board", "guest-token", "browser-w")
    watcher.wait(lambda e: e["event"] == "synced")
    bea = b'{"user":{"name":"Bea"}}'
    old = connect(f"{base(srv)}/board?token=guest-token&pid=browser-b").__enter__()
    old.recv(timeout=2)
    old.send(presence(42, 1, bea))
    watcher.wait(lambda e: e["event"] == "awareness" and "Bea" in str(e["states"]))
    with connect(f"{base(srv)}/board?token=guest-token&pid=browser-b") as new:
        new.recv(timeout=2)
        new.send(presence(42, 2, bea))
        time.sleep(0.3)
        old.close()  # the stale socket finally goes
        time.sleep(0.5)
        assert srv.call(lambda: shared.board.owners.get(42)) is not None
        latest = [e for e in watcher.history if e["event"] == "awareness"][-1]
        assert "Bea" in str(latest["states"]), "Bea flickered out"
    watcher.wait(lambda e: e["event"] == "awareness" and "Bea" not in str(e["states"]))
    with connect(f"{base(srv)}/board?token=guest-token&pid=intruder") as intruder:
        intruder.recv(timeout=2)
        intruder.send(presence(42, 9, b'{"user":{"name":"Fake"}}'))
        time.sleep(0.3)
    assert srv.call(lambda: shared.board.awareness.get(42)) is None
