"""The viewer in real Chromium after the server's closes (contracts/close_codes.json), with the
pinned y-websocket 3.1: a full room says so and is retried slowly until a seat frees, a
retryable close (bad_frame, from a modified page sending a malformed frame) comes back at once,
and a dead link (invalid_token, the guest link rotated) says so and is never retried.
tests/test_host_powers.py covers `removed` (kick) the same way from a real kernel.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from jupyterspot_magic.collab.close_codes import CLOSE_CODES
from jupyterspot_magic.content.render import CONFIG_PLACEHOLDER, RenderedNotebook
from jupyterspot_magic.server.shared import SharedNotebook

from .room_server import base, register

# The bare room page of tests/room_server.py, with the viewer bundle (built by `npm run build`).
PAGE = (
    '<html><head><link rel="stylesheet" href="static/viewer.css"></head><body>'
    "<main id='jupyterspot-root'><div id='cell-id=a' style='height:400px'></div></main>"
    f'{CONFIG_PLACEHOLDER}<script src="static/viewer.js"></script></body></html>'
)
STATUS = '[data-testid="connection-status"]'
SLOW_S = 15  # connection.ts SLOW_MAX_BACKOFF_MS
NEVER_WINDOW_S = 2.5 + 2.0  # y-websocket's longest normal backoff, and a margin


def viewer_share(room: str) -> SharedNotebook:
    rendered = RenderedNotebook(
        html=PAGE, content_hash="h", cell_ids=["a"], title="t", warnings=[], seconds=0, cached=False
    )
    return SharedNotebook(
        room=room, token="guest-token", host_token="host-token", rendered=rendered
    )


@pytest.fixture
def share(server):
    srv, _ = server
    shared = viewer_share("viewer1")
    register(srv, shared)
    return srv, shared


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    yield context.new_page()
    context.close()


def board_attempts(page) -> list[float]:
    """When the page opened each board websocket (monotonic seconds), as Chromium saw it."""
    attempts: list[float] = []
    page.on(
        "websocket",
        lambda ws: ws.url.split("?")[0].endswith("/board") and attempts.append(time.monotonic()),
    )
    return attempts


def wait_state(page, state: str, timeout: float) -> str:
    page.wait_for_selector(f'{STATUS}[data-state="{state}"]', timeout=timeout * 1000)
    return page.locator(STATUS).inner_text()


def url(srv, room: str = "viewer1", token: str = "guest-token") -> str:
    return f"http://127.0.0.1:{srv.port}/s/{room}/?token={token}"


def test_a_full_room_says_so_and_is_retried_slowly_until_a_seat_frees(share, page, node_peers):
    """A live page loses its sockets (closed directly on the server with too_slow, as for a
    reader that fell behind) while the room filled up: its reconnect is refused with room_full.
    (A page is not even served while the room is full: server/pages.py answers that.)"""
    srv, shared = share
    srv.call(lambda: shared.set_max_people(2))
    seat = [node_peers(base(srv, "viewer1"), room, "guest-token") for room in ("board", "control")]
    for peer in seat:
        peer.wait(lambda e: e["event"] == "synced")
    attempts = board_attempts(page)
    page.goto(url(srv))
    wait_state(page, "live", 10)
    too_slow = CLOSE_CODES["too_slow"]["code"]
    pid = page.evaluate("localStorage.getItem('jupyterspot.pid')")

    def fill_and_drop() -> int:
        shared.set_max_people(1)
        return sum(
            room.close_where(lambda c: c.pid == pid, too_slow, "test: too slow")
            for room in (shared.board, shared.control)
        )

    assert srv.call(fill_and_drop) == 2
    # "reconnecting…" after the drop, then the refusal's reason
    expect(page.locator(STATUS)).to_have_text("room is full, retrying…", timeout=10_000)
    assert page.locator(STATUS).get_attribute("data-state") == "reconnecting"
    assert CLOSE_CODES["room_full"]["retry"] == "slow"
    refused = len(attempts)
    for peer in seat:
        peer.kill()
    wait_state(page, "live", SLOW_S + 10)
    gap = attempts[refused] - attempts[refused - 1]
    assert gap > SLOW_S - 3, f"retried after {gap:.1f} s, not slowly: {attempts}"
    assert page.locator(STATUS).inner_text() == "live"


def test_a_retryable_close_comes_back_and_a_dead_link_stops(share, page):
    srv, shared = share
    attempts = board_attempts(page)
    warnings: list[str] = []
    page.on("console", lambda m: m.type == "warning" and warnings.append(m.text))
    page.goto(url(srv))
    wait_state(page, "live", 10)
    assert CLOSE_CODES["bad_frame"]["retry"] == "backoff"
    # A modified page sends a malformed frame: the server closes it with bad_frame, and the
    # viewer opens a new board socket within y-websocket's backoff (not the slow 15 s).
    with page.expect_websocket(lambda ws: "/board" in ws.url, timeout=10_000):
        page.evaluate("window.jupyterspot.provider.ws.send(new Uint8Array([9, 1, 2]))")
    assert attempts[1] - attempts[0] < 2.5 + 1, attempts
    wait_state(page, "live", 10)
    meaning = CLOSE_CODES["bad_frame"]["meaning"]
    assert any(meaning in w for w in warnings), warnings

    srv.call(lambda: shared.rotate("new-guest-token"))  # the old link: invalid_token
    text = wait_state(page, "invalid", 10)
    assert text == "This link is no longer valid", text
    settled = len(attempts)
    page.wait_for_timeout(NEVER_WINDOW_S * 1000)  # bounded observation: nothing may happen
    assert len(attempts) == settled, "the page retried a dead link"
