"""A share with --relay tells its pages where the rooms are: the page config's `relay` key
(SharedNotebook.relay, set by session/hosted.py from the share's --relay URL)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re

from jupyterspot_magic.server.pages import build_page
from jupyterspot_magic.server.shared import SharedNotebook

from ..room_server import new_shared

RELAY = "wss://relay.example.org/js"


def run(coro):
    """asyncio.run on a thread of its own: in a full run Playwright's sync API keeps an event
    loop running on the main thread, where asyncio.run refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def config_of(page: bytes) -> dict:
    block = re.search(rb'<script id="jupyterspot-config"[^>]*>(.*?)</script>', page, re.S)
    assert block, page[:200]
    return json.loads(block.group(1))


def test_the_page_config_names_the_shares_relay_for_every_role() -> None:
    plain = new_shared("room1")
    shared = SharedNotebook(
        room="room1",
        token="guest-token",
        host_token="host-token",
        rendered=plain.rendered,
        relay=RELAY,
    )
    for role in ("guest", "host"):
        assert config_of(run(shared.page(role, gzipped=False)))["relay"] == RELAY
        assert config_of(run(plain.page(role, gzipped=False)))["relay"] == ""  # wsBase


def test_build_page_without_a_relay_keeps_the_rooms_at_ws_base() -> None:
    config = config_of(build_page(new_shared("room1").rendered, "room1", "guest", ()))
    assert config["relay"] == "" and config["wsBase"] == "../../ws/room1"
