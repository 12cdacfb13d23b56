"""Real Chromium pages join a share through the relay (--relay; js/viewer/relay-rooms.ts).

A real share of examples/demo.ipynb made with the public API, `share(..., relay=URL)` and
JUPYTERSPOT_RELAY_SECRET set, linked to relay instance 0 of two behind one Debian redis-server
(tests/relay_fixtures.py). Pages are opened through the share's own page URLs. The host's page
keeps the relay URL the share wrote into its config; the guest's page is the same served page
with that URL swapped for instance 1 (what a load balancer in front of the instances would do:
the share names one URL). Everything else is real: the pages' websockets go to the relays only,
the kernel checks and stores what they write.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator

import pytest
from pycrdt import Doc, Map

from jupyterspot_magic.session.registry import share

from .conftest import DEMO, wait_for, wait_names
from .relay_fixtures import SECRET, redis_fixture, relays_fixture  # noqa: F401
from .test_annotations import READY, cell_id, mouse_drag, newest, pick, show_cell, wave
from .test_follow import aligned, cid, follow_state, scroll_to, top

VIEW = {"viewport": {"width": 1000, "height": 520}}  # short: the demo's 13 cells scroll


@pytest.fixture(scope="module")
def relay_share(relays) -> Iterator:
    before = os.environ.get("JUPYTERSPOT_RELAY_SECRET")
    os.environ["JUPYTERSPOT_RELAY_SECRET"] = SECRET  # read in the kernel by share(relay=...)
    try:
        s = share(DEMO, tunnel="none", relay=relays[0])
    finally:
        if before is None:
            del os.environ["JUPYTERSPOT_RELAY_SECRET"]
        else:
            os.environ["JUPYTERSPOT_RELAY_SECRET"] = before
    yield s
    s.stop()


class Page:
    """A Chromium page of the share and the websocket URLs it opened."""

    def __init__(self, page, sockets: list[str]) -> None:
        self.page = page
        self.sockets = sockets


@pytest.fixture
def open_page(browser, relays) -> Iterator[Callable[..., Page]]:
    contexts = []

    def make(url: str, name: str, relay: int = 0, token: str = "", live: bool = True) -> Page:
        context = browser.new_context(**VIEW)
        contexts.append(context)
        if relay:
            context.add_init_script(swap_relay(relays[0], relays[relay]))
        if token:
            context.add_init_script(swap_token(token))
        page = context.new_page()
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.goto(f"{url}&name={name}")
        if live:
            page.wait_for_function(READY, timeout=20000)
        return Page(page, sockets)

    yield make
    for context in contexts:
        context.close()


def swap_relay(configured: str, relay: str) -> str:
    """An init script: the served page's config names `relay` instead of `configured` by the time
    the viewer reads it (its DOMContentLoaded handler is registered after this one). In the
    browser, not by fulfilling a rewritten response: Chromium treats a fulfilled document as
    public and refuses its websockets to loopback (local network access checks)."""
    return f"""document.addEventListener("DOMContentLoaded", () => {{
      const block = [...document.querySelectorAll('script[id="jupyterspot-config"]')].pop();
      const config = JSON.parse(block.textContent);
      if (config.relay !== {json.dumps(configured)}) throw new Error("no relay in the config");
      block.textContent = JSON.stringify({{...config, relay: {json.dumps(relay)}}});
    }}, {{once: true}});"""


def swap_token(token: str) -> str:
    """An init script: the page's address carries `token` instead of the one it was served for
    (the share server serves no page to a wrong link); the viewer reads its token from there."""
    return f"""history.replaceState(null, "",
      location.href.replace(/([?&]token=)[^&]*/, "$1" + {json.dumps(token)}));"""


def kernel_shapes(s) -> dict:
    doc = Doc()
    doc.apply_update(s.board_update())
    return doc.get("shapes", type=Map).to_py() or {}


def test_two_pages_on_two_instances_see_each_other_draw_and_follow(relay_share, relays, open_page):
    host = open_page(relay_share.host_url, "Alice", relay=0)
    guest = open_page(relay_share.url, "Bob", relay=1)
    a, b = host.page, guest.page

    # Each page's one websocket went to its relay instance, none to the share server.
    assert [u.split("?")[0].rstrip("/") for u in host.sockets] == [relays[0]], host.sockets
    assert [u.split("?")[0].rstrip("/") for u in guest.sockets] == [relays[1]], guest.sockets
    assert "pid=" in guest.sockets[0]

    # Presence crosses instances: both list both.
    for p in (a, b):
        wait_names(p, {"Alice", "Bob"}, timeout=10)
    wait_for(
        lambda: {"Alice", "Bob"} <= {p["name"] for p in relay_share.participants},
        10,
        "the kernel lists both relay pages",
    )

    # The guest draws on instance 1; the host's page on instance 0 shows it, the kernel has it.
    cell = cell_id(b, 2)
    box = show_cell(b, cell)
    show_cell(a, cell)
    pick(b, "tool-pen")
    mouse_drag(b, wave(box, 0.5))
    stroke = newest(b, "pen")
    a.wait_for_selector(f'[data-shape-id="{stroke["id"]}"]', timeout=10000)
    wait_for(lambda: stroke["id"] in kernel_shapes(relay_share), 10, "the kernel stores it")

    # The host takes the lead and scrolls: the guest's page follows.
    a.get_by_test_id("take-lead").click()
    leader = cid(a)
    wait_for(lambda: follow_state(b)["leader"] == leader, 10, "the guest sees the host leading")
    scroll_to(a, cell_id(a, 8), 10)
    target = wait_for(lambda: top(a)["cell"] == cell_id(a, 8) and top(a), 10, "host scrolled")
    wait_for(lambda: aligned(b, target), 10, f"the guest follows to {target}")


def test_a_wrong_token_says_invalid_link_and_never_retries(relay_share, relays, open_page):
    # The guest's page, its address carrying a wrong token: the viewer gives that to the relay.
    guest = open_page(relay_share.url, "Eve", relay=1, token="not-the-token", live=False)
    page = guest.page
    assert [u.split("?")[0].rstrip("/") for u in guest.sockets[:1]] == [relays[1]], guest.sockets
    page.wait_for_function(
        "() => window.jupyterspot && window.jupyterspot.connection.status.state === 'invalid'",
        timeout=10000,
    )
    status = page.get_by_test_id("connection-status").inner_text()
    assert "no longer valid" in status, status
    # Nothing is scheduled: no retry timer, no retry loop, and the socket may not reconnect.
    pending = page.evaluate(
        """() => { const s = window.jupyterspot.connection.rooms.socket;
        return {should: s.shouldConnect, timer: s.reconnectTimeout,
                retry: s.cancelWebsocketRetry === undefined ? null : 'running'}; }"""
    )
    assert pending == {"should": False, "timer": None, "retry": None}, pending
    # And none comes: longer than the slowest normal retry (2.5 s) plus its first try.
    with pytest.raises(Exception, match="Timeout"):
        page.wait_for_event("websocket", timeout=4000)
    assert len(guest.sockets) == 1, guest.sockets


def test_a_retryable_close_from_the_relay_comes_back(relay_share, relays, open_page):
    guest = open_page(relay_share.url, "Bob", relay=1)
    page = guest.page
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    # A text frame: relay.mjs closes the whole socket with bad_frame (4500, retried with backoff).
    with page.expect_websocket(timeout=10000) as again:  # the page reconnects
        page.evaluate("window.jupyterspot.connection.rooms.socket.webSocket.send('not binary')")
    assert again.value.url.split("?")[0].rstrip("/") == relays[1]
    page.wait_for_function(READY, timeout=10000)
    assert any("relay closed the connection" in w for w in warnings), warnings
    assert [u.split("?")[0].rstrip("/") for u in guest.sockets] == [relays[1]] * 2, guest.sockets
