"""The end-to-end wire format (collab/seal.py) against hostile structures: every way a tunnel
could move, replay, reorder, cut or alter a frame or a blob is refused, and nothing opens with
another share's key, room, document, direction or purpose."""

from __future__ import annotations

import pytest

from jupyterspot_magic.collab.seal import (
    HEADER,
    ClientSeal,
    RoomSeal,
    SealError,
    client_nonce_from,
    fragment,
    key_from_text,
    key_text,
    new_key,
    open_blob,
    seal_blob,
)

KEY = bytes(range(32))


def pair(key: bytes = KEY, room: str = "room1", doc: str = "board"):
    """A server room, one connection and the browser's side, past the handshake."""
    server = RoomSeal(key, room, doc)
    client = ClientSeal(key, room, doc)
    conn = server.connection(client.client_nonce)
    client.open_hello(conn.hello())
    return server, conn, client


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


def test_messages_go_both_ways() -> None:
    server, conn, client = pair()
    assert [conn.open(client.up(m)) for m in (b"a", b"bb", b"")] == [b"a", b"bb", b""]
    assert [client.down(server.down(m)) for m in (b"x", b"yy")] == [b"x", b"yy"]


def test_a_replayed_or_reordered_up_frame_is_refused() -> None:
    _server, conn, client = pair()
    first, second = client.up(b"1"), client.up(b"2")
    with pytest.raises(SealError, match="order"):
        conn.open(second)  # skipped one
    assert conn.open(first) == b"1"
    with pytest.raises(SealError, match="order"):
        conn.open(first)  # replayed
    assert conn.open(second) == b"2"


def test_a_frame_replayed_on_another_connection_is_refused() -> None:
    server, conn, client = pair()
    captured = client.up(b"take the lead")
    assert conn.open(captured) == b"take the lead"
    # the tunnel opens its own socket, even with the same browser nonce: a new server id
    other = server.connection(client.client_nonce)
    with pytest.raises(SealError, match="key"):
        other.open(captured)


def test_every_flipped_bit_region_is_refused() -> None:
    _server, conn, client = pair()
    frame = client.up(b"a stroke")
    for at in (0, 7, 8, HEADER - 1, HEADER, len(frame) - 1):  # seq, nonce, body, tag
        with pytest.raises(SealError):
            conn.open(flip(frame, at))
    with pytest.raises(SealError, match="36 bytes"):
        conn.open(frame[:35])
    assert conn.open(frame) == b"a stroke"  # the refusals consumed nothing


def test_nothing_moves_between_rooms_docs_directions_or_keys() -> None:
    server, _conn, client = pair()
    down = server.down(b"state")
    for room, doc, key in (
        ("room2", "board", KEY),
        ("room1", "control", KEY),
        ("room1", "board", new_key()),
    ):
        other = ClientSeal(key, room, doc)
        other.open_hello(RoomSeal(key, room, doc).connection(other.client_nonce).hello())
        with pytest.raises(SealError):
            other.down(down)
    # a server frame sent back up does not open as the browser's
    _s2, conn2, client2 = pair()
    with pytest.raises(SealError):
        conn2.open(server.down(b"x"))
    assert client2.down(_s2.down(b"ok")) == b"ok"


def test_down_frames_must_increase_and_a_stale_hello_fails() -> None:
    server, conn, client = pair()
    old = server.down(b"old")
    new = server.down(b"new")
    assert client.down(new) == b"new"
    with pytest.raises(SealError, match="order"):
        client.down(old)
    # a hello recorded from an earlier connection does not open for a browser's new nonce
    fresh = ClientSeal(KEY, "room1", "board")
    with pytest.raises(SealError):
        fresh.open_hello(conn.hello())


def test_blobs_bind_key_room_and_purpose() -> None:
    blob = seal_blob(KEY, "room1", "page", b"<html>secret</html>" * 100)
    assert b"secret" not in blob and len(blob) < 200  # compressed inside, then sealed
    assert open_blob(KEY, "room1", "page", blob) == b"<html>secret</html>" * 100
    for key, room, kind in (
        (new_key(), "room1", "page"),
        (KEY, "room2", "page"),
        (KEY, "room1", "cells"),
    ):
        with pytest.raises(SealError):
            open_blob(key, room, kind, blob)
    with pytest.raises(SealError):
        open_blob(KEY, "room1", "page", flip(blob, 20))
    with pytest.raises(SealError):
        open_blob(KEY, "room1", "page", b"short")


def test_key_text_and_the_handshake_parameter() -> None:
    key = new_key()
    assert key_from_text(key_text(key)) == key and "=" not in key_text(key)
    assert fragment(key) == f"#k={key_text(key)}" and fragment(None) == ""
    with pytest.raises(ValueError):
        key_from_text(key_text(key)[:-2])
    assert client_nonce_from("00" * 16) == bytes(16)
    for bad in (None, "", "0" * 31, "zz" * 16, "00" * 17):
        assert client_nonce_from(bad) is None


def test_a_frame_from_an_earlier_server_never_opens_in_a_later_one() -> None:
    """The key outlives a server (stored with the links), its counters do not: without the
    room's epoch a recorded frame with a high seq would open after a restart (review finding)."""
    earlier, _conn, _client = pair()
    recorded = [earlier.down(b"old stroke %d" % i) for i in range(5)]
    later, _conn2, client = pair()  # same key, room and doc: a new server
    for frame in recorded:
        with pytest.raises(SealError):
            client.down(frame)
    assert client.down(later.down(b"new")) == b"new"
    with pytest.raises(SealError, match="36 bytes"):
        client.down(b"\x00" * 7)  # short: a SealError, not a struct error
