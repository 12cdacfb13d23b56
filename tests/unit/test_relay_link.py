"""server/relay.py's pure parts: the --relay settings, the frames, and the policy the relay is
told (never a token)."""

from __future__ import annotations

import pytest

from jupyterspot_magic.collab.close_codes import MAX_REASON, close_reason
from jupyterspot_magic.server.relay import (
    SECRET_ENV,
    decode_frame,
    encode_frame,
    policy_of,
    relay_settings,
)

from ..room_server import new_shared

SECRET = {SECRET_ENV: "s" * 16}


def test_settings_take_a_websocket_url_and_the_secret_from_the_environment() -> None:
    assert relay_settings("wss://relay.example/jp/", SECRET) == ("wss://relay.example/jp", "s" * 16)
    for bad in ("https://relay.example", "relay.example", "ws://", "ws://h/?token=x"):
        with pytest.raises(ValueError, match="ws:// or wss://"):
            relay_settings(bad, SECRET)
    with pytest.raises(ValueError, match=SECRET_ENV):
        relay_settings("ws://127.0.0.1:8080", {SECRET_ENV: "short"})


def test_frames_round_trip_with_and_without_payload() -> None:
    header = {"op": "sync", "sid": "abc-1", "doc": "board", "type": 2}
    assert decode_frame(encode_frame(header, b"\x00\x01\xff")) == (header, b"\x00\x01\xff")
    roll = {"op": "roll", "room": "é"}
    assert decode_frame(encode_frame(roll)) == (roll, b"")


def test_the_policy_holds_hashes_never_tokens() -> None:
    shared = new_shared()
    shared.banned.add("browser-1")
    policy = policy_of(shared)
    text = repr(policy)
    assert shared.token not in text and shared.host_token not in text
    assert policy["banned"] == ["browser-1"] and policy["viewOnly"] is False
    assert len(policy["guest"]) == len(policy["host"]) == 64 and policy["guest"] != policy["host"]


def test_close_reasons_fit_a_close_frame_and_end_on_a_character() -> None:
    assert close_reason("room full") == "room full"
    for text in ("\U0001f600" * 60, "é" * 100, "x" * 122 + "\U0001f600", "a" * 500):
        cut = close_reason(text)
        assert len(cut.encode()) <= MAX_REASON and text.startswith(cut)
        assert len(cut.encode()) > MAX_REASON - 4  # only the last, partial character goes
