"""The viewer in real headless Chromium: followers publish no scroll while they follow (and publish
again once they break away), and in audience mode the people list shows the server's head count
and names and says "audience mode", and the host's "Give floor" makes a guest heard by everyone.

The share runs in this process (ServerThread + SharedNotebook + Lead, as a share opens its rooms),
on a 208-cell notebook of the corpus, so that scrolling means something."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from jupyterspot_magic.collab.lead import Lead
from jupyterspot_magic.content.render import render
from jupyterspot_magic.server.shared import SharedNotebook
from jupyterspot_magic.server.thread import ServerThread
from jupyterspot_magic.session.rooms import write_control

from .conftest import require_corpus, wait_for

EULER = "norvig__pytudes__ipynb_Euler-Opus.ipynb"  # 208 cells
# Counts the awareness updates this page itself sends (y-protocols emits "update" with origin
# "local" for each setLocalState, the message y-websocket then sends).
COUNT_OWN_UPDATES = """() => {
  const a = window.jupyterspot.awareness;
  window.__ownUpdates = 0;
  a.on("update", (_change, origin) => { if (origin === "local") window.__ownUpdates++; });
}"""


@pytest.fixture(scope="module")
def euler() -> Iterator[tuple[ServerThread, SharedNotebook]]:
    rendered = render(require_corpus() / EULER)
    srv = ServerThread("127.0.0.1", 0).start()
    shared = SharedNotebook(room="aud", token="guest-token", host_token="host-token",
                            rendered=rendered)

    def open_rooms() -> Lead:
        srv.registry.register(shared)
        write_control(shared, rendered)
        return Lead(shared.board, shared.control)

    lead = srv.call(open_rooms)
    yield srv, shared
    srv.call(lead.close)
    srv.stop()


@pytest.fixture
def share(euler) -> Iterator[tuple[ServerThread, SharedNotebook]]:
    srv, shared = euler
    yield srv, shared
    srv.call(lambda: shared.set_audience("auto"))


@pytest.fixture
def pages(live_pages) -> Callable:
    def open_page(srv: ServerThread, token: str, name: str, **ctx):
        return live_pages(f"http://127.0.0.1:{srv.port}/s/aud/?token={token}&name={name}", **ctx)

    return open_page


def cid(page) -> int:
    return page.evaluate("window.jupyterspot.awareness.clientID")


def top(page) -> dict:
    return page.evaluate("window.jupyterspot.layout.topVisible()")


def own_updates(page) -> int:
    return page.evaluate("window.__ownUpdates")


def published_scroll(page) -> dict | None:
    return page.evaluate("window.jupyterspot.awareness.getLocalState().scroll")


def holds(page, client_id: int) -> bool:
    return page.evaluate(f"window.jupyterspot.awareness.getStates().has({client_id})")


def test_followers_publish_no_scroll_while_following_and_again_once_they_break_away(
    share, pages
):
    srv, _ = share
    leader = pages(srv, "host-token", "Lea")
    followers = [pages(srv, "guest-token", name) for name in ("Ann", "Ben", "Cy")]
    leader.evaluate("window.jupyterspot.follow.takeLead()")
    lead_id = cid(leader)
    for f in followers:
        wait_for(lambda f=f: f.evaluate("window.jupyterspot.follow.state().following")
                 == lead_id, what="a follower follows the leader")
        f.mouse.move(400, 300)  # a pointer resting on the page, as a reader's does
        f.evaluate(COUNT_OWN_UPDATES)

    # The leader scrolls for ~2 s with the wheel: ~40 real scroll events on every follower.
    leader.mouse.move(500, 400)
    for _ in range(40):
        leader.mouse.wheel(0, 120)
        leader.wait_for_timeout(50)  # the leader's own pace: a person scrolling, not a wait
    target = top(leader)
    for f in followers:
        wait_for(lambda f=f: top(f)["cell"] == target["cell"], timeout=5,
                 what="a follower reached the leader's cell")
    sent = [own_updates(f) for f in followers]
    print(f"\n[follow] awareness updates sent by each follower during the scroll: {sent}")
    assert all(n <= 1 for n in sent), sent  # was 39-41 each

    # Breaking away: the follower's own scrolling is published again, each time it moves.
    ann = followers[0]
    ann.mouse.wheel(0, -600)
    wait_for(lambda: ann.evaluate("window.jupyterspot.follow.state().paused"), what="Ann paused")
    wait_for(lambda: (published_scroll(ann) or {}).get("cell") == top(ann)["cell"],
             what="Ann's own position published")
    before = own_updates(ann)
    ann.mouse.wheel(0, -600)
    wait_for(lambda: own_updates(ann) > before, what="Ann's next scroll published")
    wait_for(lambda: (published_scroll(ann) or {}).get("cell") == top(ann)["cell"],
             what="Ann's new position published")


def test_audience_mode_lists_the_head_count_and_the_host_gives_the_floor(share, pages):
    srv, shared = share
    srv.call(lambda: shared.set_audience("on"))
    host = pages(srv, "host-token", "Hana")
    ana = pages(srv, "guest-token", "Ana")
    bob = pages(srv, "guest-token", "Bob")
    ana_id, bob_id = cid(ana), cid(bob)
    summary = bob.get_by_test_id("audience-summary")
    wait_for(lambda: "3 people" in summary.inner_text(), what="Bob's page counts three")
    text = summary.inner_text()
    assert "Audience mode" in text
    names = bob.get_by_test_id("audience-names").inner_text()
    assert "Hana" in names and "Ana" in names and "Bob" in names
    assert bob.locator(".jupyterspot-count").inner_text() == "3"
    # Bob's page holds the host's presence, not Ana's: the list above comes from the server.
    assert holds(bob, cid(host)) and not holds(bob, ana_id)

    # The host's list offers the floor for guests; Ana given it is heard by Bob, and back.
    row = host.locator(f'li[data-client-id="{ana_id}"]')
    wait_for(lambda: row.get_by_test_id("give-floor").count() == 1, what="Give floor shown")
    row.get_by_test_id("give-floor").click()
    ana.mouse.move(300, 300)  # her pointer: what Bob should now see
    wait_for(lambda: holds(bob, ana_id), what="Bob hears Ana once she has the floor")
    wait_for(lambda: bob.locator(f'li[data-client-id="{ana_id}"]').count() == 1,
             what="Ana in Bob's list")
    assert json.loads(json.dumps(srv.call(lambda: shared.crowd.floor()))) == [ana_id]
    row.get_by_test_id("take-floor").click()
    wait_for(lambda: not holds(bob, ana_id), what="Ana back in the audience")
    assert holds(host, bob_id)  # the host still hears everyone

    # Audience mode off: the summary goes, guests hear each other again.
    srv.call(lambda: shared.set_audience("off"))
    wait_for(lambda: not summary.is_visible(), what="no audience summary")
    wait_for(lambda: holds(bob, ana_id), what="guests hear each other again")
