"""Tampered and replayed ciphertext is refused (issue 14, "Must show"), against a real encrypted
share (its server in its own process, as users run it). A Python client speaks the browser's
side of collab/seal.py (ClientSeal): its real up frames are accepted, the same frame sent twice
on its connection, the frame with flipped bits, or replayed on a new connection closes the
socket with bad_frame (4500); a socket without the handshake gets `encrypted` (4406). Sealed
HTTP bodies (page, cells, export) open with the key only as what they are, and not with one bit
flipped. The loader page, in Chromium, says so when the link lacks its key or has a wrong one.

Each refusal has its control in the same test: the untouched frame on the same kind of socket
is answered, so a server that closed every socket would fail here too."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message

import pytest
from websockets.sync.client import ClientConnection, connect

from jupyterspot_magic.collab import seal

from .conftest import DEMO, DESKTOP, wait_for
from .room_server import close_code

BAD_FRAME, ENCRYPTED = 4500, 4406
# y-protocols: sync, step 1, a state vector of one client (id 5, clock 0). A bit flipped in
# its id still makes a valid message: only the seal can tell the flip (see FLIPS).
SYNC_STEP1 = bytes([0, 0, 3, 1, 5, 0])
SYNC_STEP2 = bytes([0, 1])  # the answer's first bytes


@pytest.fixture(scope="module")
def share(tmp_path_factory) -> Iterator:
    from jupyterspot_magic.session import registry as sharing

    nb = tmp_path_factory.mktemp("nb") / "demo.ipynb"
    shutil.copy(DEMO, nb)
    s = sharing.share(nb, tunnel="none", store=False, e2e=True)
    assert s.key is not None, "e2e=True made a plain share"
    yield s
    s.stop()


class Sealed:
    """One socket speaking the browser's side of the handshake (collab/seal.py ClientSeal)."""

    def __init__(self, ws: ClientConnection, client: seal.ClientSeal) -> None:
        self.ws = ws
        self.seal = client
        self.seal.open_hello(self.ws.recv(timeout=20))

    def frame(self, message: bytes = SYNC_STEP1) -> bytes:
        return self.seal.up(message)

    def answered(self, timeout: float = 20) -> bytes:
        """The first down message that is a sync answer (every one in between must open)."""
        while True:
            message = self.seal.down(self.ws.recv(timeout=timeout))
            if message[:2] == SYNC_STEP2:
                return message


@contextmanager
def sealed(share, doc: str = "board") -> Iterator[Sealed]:
    client = seal.ClientSeal(share.key, share.room, doc)
    url = f"{share.ws_url}/{doc}?token={share.token}&{client.query()}"
    with connect(url, open_timeout=20, max_size=None) as ws:
        yield Sealed(ws, client)


@pytest.mark.parametrize("doc", ["board", "control"])
def test_a_frame_sent_twice_is_refused(share, doc):
    with sealed(share, doc) as sock:
        first = sock.frame()
        sock.ws.send(first)
        sock.answered()  # the real frame was accepted and answered
        sock.ws.send(first)  # the same bytes again: a replay on its own connection
        assert close_code(sock.ws) == BAD_FRAME


# seq (8 bytes) | nonce (12) | ciphertext | tag (16): a bit flipped in each part; in the
# ciphertext, in SYNC_STEP1's client id (5 -> 1), so the flipped plaintext is valid too.
FLIPS = {"seq": 7, "nonce": 8 + 5, "ciphertext": 8 + 12 + 4, "tag": -1}


@pytest.mark.parametrize("where", list(FLIPS))
def test_a_frame_with_flipped_bits_is_refused(share, where):
    with sealed(share) as sock:
        good = sock.frame()
        bad = bytearray(good)
        bad[FLIPS[where]] ^= 0x04
        sock.ws.send(bytes(bad))
        assert close_code(sock.ws) == BAD_FRAME
    with sealed(share) as control:  # the same kind of frame, untouched, is answered
        control.ws.send(control.frame())
        control.answered()


def test_a_frame_replayed_on_a_new_connection_is_refused(share):
    with sealed(share) as first:
        captured = first.frame()
        first.ws.send(captured)
        first.answered()
    with sealed(share) as second:  # seq 1 there too, but sealed for the first socket's S
        second.ws.send(captured)
        assert close_code(second.ws) == BAD_FRAME
    with sealed(share) as third:
        third.ws.send(third.frame())
        third.answered()
        third.ws.send(third.frame(SYNC_STEP1))  # seq 2 of its own: also fine
        third.answered()


def test_frames_out_of_order_or_for_the_other_room_are_refused(share):
    with sealed(share) as sock:
        sock.frame()  # seq 1 sealed and never sent
        sock.ws.send(sock.frame())  # seq 2 first
        assert close_code(sock.ws) == BAD_FRAME
    with sealed(share, "board") as board, sealed(share, "control") as control:
        control.ws.send(board.frame())  # seq 1, sealed for the board's socket
        assert close_code(control.ws) == BAD_FRAME


@pytest.mark.parametrize("query", ["", "&e2e=", "&e2e=abcd", "&e2e=" + "zz" * 16])
def test_a_socket_without_the_handshake_is_refused(share, query):
    url = f"{share.ws_url}/board?token={share.token}{query}"
    with connect(url, open_timeout=20) as ws:
        assert close_code(ws) == ENCRYPTED


def fetch(url: str) -> tuple[int, Message, bytes]:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.headers, r.read()


def test_sealed_bodies_open_only_as_themselves(share):
    key, room = share.key, share.room
    base = share.url.split("?")[0]
    _, headers, page = fetch(f"{base}x/page?token={share.token}")
    html = seal.open_blob(key, room, "page", page).decode()
    assert share.rendered.title in html and "jp-Cell" in html
    _, headers, export = fetch(f"{base}x/export?token={share.token}")
    assert "filename" not in headers.get("Content-Disposition", ""), "it would name the title"
    assert seal.open_blob(key, room, "export", export)

    # A cells answer: every cell, or "reload" while the server lacks the per-cell view; sealed
    # either way.
    cells = fetch(f"{base}x/cells?token={share.token}&since=unknown")[2]
    assert "version" in json.loads(seal.open_blob(key, room, "cells", cells))
    for blob, kind in ((page, "page"), (export, "export"), (cells, "cells")):
        for at in (0, 12, len(blob) // 2, len(blob) - 1):  # nonce, body, tag
            bad = bytearray(blob)
            bad[at] ^= 0x01
            with pytest.raises(seal.SealError):
                seal.open_blob(key, room, kind, bytes(bad))
        other = "page" if kind != "page" else "cells"
        with pytest.raises(seal.SealError):  # a blob is bound to its kind and its share
            seal.open_blob(key, room, other, blob)
        with pytest.raises(seal.SealError):
            seal.open_blob(key, room + "x", kind, blob)
        with pytest.raises(seal.SealError):
            seal.open_blob(seal.new_key(), room, kind, blob)


def test_the_loader_says_what_is_wrong_with_the_link(share, browser):
    """Chromium on the loader: no fragment -> 'incomplete'; a wrong key -> 'does not open'; the
    right one opens the notebook (the control)."""
    plain = share.url.split("#")[0]
    wrong = plain + seal.fragment(seal.new_key())
    context = browser.new_context(**DESKTOP)
    try:
        for url, says in (
            (plain, "This link is incomplete"),
            (plain + "#", "This link is incomplete"),
            (plain + "#k=" + seal.key_text(share.key)[:20], "This link is incomplete"),
            (wrong, "This link's key does not open this share"),
        ):
            page = context.new_page()  # (a goto that changes only the fragment loads nothing)
            page.goto(url)
            page.wait_for_function(
                "t => document.body && document.body.innerText.includes(t)",
                arg=says,
                timeout=20000,
            )
            assert page.evaluate("!window.jupyterspot")
            page.close()
        page = context.new_page()
        page.goto(share.url)
        page.wait_for_function(LIVE, timeout=30000)
    finally:
        context.close()


def test_a_browser_frame_replayed_through_the_proxy_is_refused(share, browser):
    """Chromium through a recording proxy: the proxy sends the page's last board frame again on
    its own connection (what a tunnel could do) -> bad_frame, and the page reconnects and keeps
    its drawing; the same captured frame on a new connection, or with a bit flipped -> bad_frame."""
    from .e2e_proxy import RecordingProxy, decode
    from .inside import board_shapes

    port = int(share.url.split("/")[2].rsplit(":", 1)[1])
    context = browser.new_context(**DESKTOP)
    with RecordingProxy(port) as proxy:
        try:
            page = context.new_page()
            page.goto(proxy.url(share.url))
            page.wait_for_function(LIVE, timeout=30000)
            shape = page.evaluate(
                "window.jupyterspot.board.add({t: 'rect', cell: document.querySelector("
                "'.jp-Cell').id.slice(8), ci: 0, x: 5, y: 5, w: 30, h: 30, c: '#2f9e44', s: 2})"
            )
            wait_for(lambda: shape in board_shapes(share), 20, "the server has the shape")
            board = board_socket(proxy)

            def replay() -> bytes | None:
                try:
                    return proxy.replay_last_frame(board)
                except ValueError:  # the page is sending: at the next frame boundary
                    return None

            frame = wait_for(replay, 20, "a frame boundary to replay at")
            assert frame[0] == 0x82, "a whole binary frame"
            closes = wait_for(
                lambda: [
                    p for p in decode(proxy.connections()).of("close", "down") if p.conn == board
                ],
                20,
                "the server closes the replaying socket",
            )
            assert closes[0].meta["code"] == BAD_FRAME
            # The page gets a new socket (a new handshake) and carries on.
            wait_for(lambda: board_socket(proxy) != board, 30, "a new board socket")
            page.wait_for_function(LIVE, timeout=30000)
            assert shape in page.evaluate("window.jupyterspot.board.shapes().map(s => s.id)")
        finally:
            context.close()
    captured = unmasked(frame)
    with sealed(share) as sock:  # the browser's frame on a new connection
        sock.ws.send(captured)
        assert close_code(sock.ws) == BAD_FRAME
    with sealed(share) as sock:
        flipped = bytearray(captured)
        flipped[len(flipped) // 2] ^= 0x10
        sock.ws.send(bytes(flipped))
        assert close_code(sock.ws) == BAD_FRAME


LIVE = "window.jupyterspot && window.jupyterspot.connection.status.state === 'live'"


def board_socket(proxy) -> int:
    """The connection index of the newest board socket the proxy saw answered with 101."""
    from .e2e_proxy import decode

    heads = [
        p
        for p in decode(proxy.connections()).of("head", "down")
        if p.meta.get("status") == 101 and "/board?" in p.label
    ]
    return heads[-1].conn if heads else -1


def unmasked(frame: bytes) -> bytes:
    """A browser's websocket frame's payload (the client masks it)."""
    from .e2e_proxy import _ws_frame

    return _ws_frame(frame, 0)[3]
