"""Scroll leadership as people meet it (issue 4): real Chromium pages of different sizes on a
long notebook follow the leader by cell anchor, break away by scrolling, come back, lose a
leader who closes the tab, respect the "host decides" policy; and the widget's lead controls,
driven in a real kernel, change what the pages show."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest

from .conftest import DESKTOP, PHONE, REPO, require_corpus, show_widget
from .conftest import wait_for as wait_until
from .inside import awareness_field
from .kernel import Kernel

EULER = "norvig__pytudes__ipynb_Euler-Opus.ipynb"  # 208 cells: scrolling means something
SIZES = {
    "Alice": DESKTOP,
    "Bob": {"viewport": {"width": 820, "height": 700}},
    "Carol": PHONE,
}
ALIGN_SLACK = 3.0  # reference px: device-pixel rounding at phone zoom


def wait_for(cond: Callable[[], object], timeout: float, what: str, step: float = 0.02):
    """conftest's wait_for, polling faster, also saying how long it took: (value, seconds)."""
    t0 = time.monotonic()
    return wait_until(cond, timeout, what, step), time.monotonic() - t0


@pytest.fixture(scope="module")
def euler_share() -> Iterator:
    from jupyterspot_magic.session import registry as sharing

    path = require_corpus() / EULER
    share = sharing.share(path, tunnel="none")
    yield share
    share.stop()


@pytest.fixture
def share(euler_share):
    """The module's share with nobody leading and the default policy."""
    euler_share.release_lead()
    euler_share.lead_policy = "anyone"
    return euler_share


@pytest.fixture
def pages(live_pages) -> Callable:
    def open_page(url: str, name: str, **ctx):
        return live_pages(f"{url}&name={name}", **(ctx or SIZES.get(name, SIZES["Alice"])))

    return open_page


def cid(page) -> int:
    return page.evaluate("window.jupyterspot.awareness.clientID")


def follow_state(page) -> dict:
    return page.evaluate("window.jupyterspot.follow.state()")


def top(page) -> dict:
    return page.evaluate("window.jupyterspot.layout.topVisible()")


def cell_id(page, index: int) -> str:
    return page.evaluate(f"window.jupyterspot.layout.cells()[{index}].id.replace('cell-id=', '')")


def scroll_to(page, cell: str, offset: float) -> None:
    page.evaluate(f"window.jupyterspot.layout.scrollToCell({json.dumps(cell)}, {offset})")


def aligned(page, target: dict) -> bool:
    t = top(page)
    return t["cell"] == target["cell"] and abs(t["offset"] - target["offset"]) <= ALIGN_SLACK


def leader_everywhere(pages_: list, leader: int | None, timeout: float = 2.0) -> float:
    _, took = wait_for(
        lambda: all(follow_state(p)["leader"] == leader for p in pages_),
        timeout,
        f"everyone sees leader {leader}",
    )
    return took


def test_follow_break_away_resume_and_leader_leaving(share, pages):
    alice = pages(share.url, "Alice")
    bob = pages(share.url, "Bob")
    carol = pages(share.url, "Carol")
    everyone = [alice, bob, carol]
    a, b = cid(alice), cid(bob)
    for p in everyone:  # three different layouts: 1400 px, zoomed 820 px, phone
        assert p.evaluate("window.jupyterspot.layout.cellCount") == 208

    # Alice takes the lead and scrolls to a cell in the middle.
    alice.get_by_test_id("take-lead").click()
    leader_everywhere(everyone, a)
    assert alice.get_by_test_id("release-lead").is_visible()
    assert "Following Alice" in bob.get_by_test_id("follow-toggle").inner_text()
    scroll_to(alice, cell_id(alice, 104), 25)
    _, _ = wait_for(lambda: top(alice)["index"] == 104, 1, "Alice at cell 105")
    target = top(alice)
    # B and C show the same top cell (and offset) within 1 s.
    for p in (bob, carol):
        wait_for(lambda p=p: aligned(p, target), 1.0, "follower shows Alice's top cell")
    assert bob.evaluate("scrollY") > 1000, "Bob really scrolled"
    # The people list says who leads and who follows whom.
    people = bob.get_by_test_id("participants").inner_text()
    assert "leads" in people.lower() and "following Alice" in people

    # Bob wheel-scrolls: he stops following at once, Carol keeps following Alice's next move.
    bob.mouse.move(300, 400)
    bob.mouse.wheel(0, -900)
    wait_for(lambda: follow_state(bob)["paused"], 1.0, "Bob paused by his wheel")
    pill = bob.get_by_test_id("follow-pill")
    assert pill.is_visible()
    assert "Following Alice" in pill.inner_text() and "paused" in pill.inner_text()
    assert not carol.get_by_test_id("follow-pill").is_visible()
    bob_top = wait_for(lambda: (t := top(bob)) and t["index"] < 104 and t, 2, "Bob scrolled up")[0]
    scroll_to(alice, cell_id(alice, 150), 10)
    wait_for(lambda: top(alice)["index"] == 150, 1, "Alice at cell 151")
    target = top(alice)
    wait_for(lambda: aligned(carol, target), 1.0, "Carol follows Alice's next move")
    assert follow_state(bob)["following"] is None
    time.sleep(0.2)  # a few more frames in which a broken follow would pull Bob along
    assert top(bob)["index"] == bob_top["index"], "Bob was pulled back while paused"
    # Alice's page shows Bob reading on his own.
    wait_for(
        lambda: "on their own" in alice.get_by_test_id("participants").inner_text(),
        2,
        "Alice sees Bob on his own",
    )

    # Bob resumes: he lands on Alice's cell.
    bob.get_by_test_id("follow-resume").click()
    wait_for(lambda: aligned(bob, target), 1.0, "Bob back on Alice's cell")
    assert not pill.is_visible()
    assert follow_state(bob)["following"] == a

    # Alice closes her page: no leader within 2 s, and take-lead works for Bob.
    alice.close()
    took = leader_everywhere([bob, carol], None, timeout=2.0)
    assert took < 2.0
    assert share.leader is None
    bob.get_by_test_id("take-lead").click()
    leader_everywhere([bob, carol], b, timeout=1.0)
    assert share.leader["name"] == "Bob"


def test_programmatic_follow_never_breaks_away(share, pages):
    """Many fast leader moves (small eased ones and long jumps): the follower never pauses."""
    alice = pages(share.url, "Alice")
    carol = pages(share.url, "Carol")
    alice.get_by_test_id("take-lead").click()
    leader_everywhere([alice, carol], cid(alice))
    for i, index in enumerate([20, 22, 60, 61, 5, 180, 90, 91, 92, 140]):
        scroll_to(alice, cell_id(alice, index), 5 + i)
        time.sleep(0.03)
    target = wait_for(lambda: (t := top(alice)) and t["index"] == 140 and t, 1, "Alice at 141")[0]
    wait_for(lambda: aligned(carol, target), 1.0, "Carol followed every move")
    assert follow_state(carol)["paused"] is False
    # Keys break away too (here End), and F resumes.
    carol.keyboard.press("End")
    wait_for(lambda: follow_state(carol)["paused"], 1.0, "Carol paused by the End key")
    wait_for(lambda: top(carol)["index"] > 190, 2, "End took Carol to the end")
    carol.keyboard.press("f")
    wait_for(lambda: aligned(carol, target), 1.0, "F brought Carol back to Alice")


def test_host_decides_policy(share, pages):
    share.lead_policy = "host"
    guest = pages(share.url, "Gina")
    host = pages(share.host_url, "Hank", viewport={"width": 1200, "height": 800})
    g, h = cid(guest), cid(host)
    # The guest's button says the host decides; a forced request still changes nothing.
    take = guest.get_by_test_id("take-lead")
    wait_for(take.is_disabled, 2, "guest's take-lead disabled under 'host decides'")
    guest.evaluate("window.jupyterspot.follow.takeLead()")

    def server_saw_request() -> list:
        return share.host.call(awareness_field, share.room, g, "leadRequest")

    wait_for(
        lambda: server_saw_request() == [{"seq": 1, "op": "take"}],
        2,
        "the server received the guest's request",
    )
    time.sleep(0.1)
    assert share.leader is None
    assert follow_state(guest)["leader"] is None and follow_state(host)["leader"] is None

    # The host's take-lead works, and the guest follows the host.
    assert host.get_by_test_id("take-lead").is_enabled()
    host.get_by_test_id("take-lead").click()
    leader_everywhere([guest, host], h, timeout=1.0)
    assert share.leader["client_id"] == h
    scroll_to(host, cell_id(host, 80), 5)
    target = wait_for(lambda: (t := top(host)) and t["index"] == 80 and t, 1, "host moved")[0]
    wait_for(lambda: aligned(guest, target), 1.0, "guest follows the host")
    # Under "host decides" a guest cannot hand the lead to itself either.
    guest.evaluate(f"window.jupyterspot.follow.handLead({g})")
    wait_for(
        lambda: server_saw_request() == [{"seq": 2, "op": "hand", "to": g}],
        2,
        "the server received the guest's hand request",
    )
    time.sleep(0.1)
    assert share.leader["client_id"] == h
    # The host hands the lead to the guest from the people list; now the host follows her.
    row = host.locator(f'[data-testid="participants"] [data-client-id="{g}"]')
    if not row.is_visible():  # a 1200 px window: the list is a pill's, opened on request (ui.ts)
        host.locator(".jupyterspot-people-toggle").click()
    row.get_by_test_id("hand-lead").click()
    leader_everywhere([guest, host], g, timeout=1.0)
    assert follow_state(host)["following"] == g
    assert guest.get_by_test_id("release-lead").is_visible()


# --- the widget, in a real kernel ----------------------------------------------------------

KERNEL_SETUP = """
import json, jupyterspot_magic
from jupyterspot_magic.frontends.widget import widget_of
share = jupyterspot_magic.current()
w = widget_of(share)
acks = []
_send = w.send
def _spy(content, buffers=None):
    acks.append(content)
    return _send(content, buffers)
w.send = _spy
print(json.dumps({"url": share.url, "host_url": share.host_url}))
"""


@pytest.fixture
def kernel(tmp_path_factory) -> Iterator[Kernel]:
    env = {"JUPYTERSPOT_CACHE_DIR": str(tmp_path_factory.mktemp("render-cache"))}
    k = Kernel(REPO, env=env)
    yield k
    k.execute("import jupyterspot_magic; jupyterspot_magic.stop()")
    k.shutdown()


def widget_msg(kernel: Kernel, content: dict) -> dict:
    """Send a lead control as the widget's front end would; returns the kernel's ack."""
    out = kernel.json(
        f"w._handle_custom_msg({content!r}, [])\nprint(json.dumps(acks[-1]))", timeout=30
    )
    assert out["req"] == content["req"]
    return out


def test_widget_hand_lead_and_release_change_the_pages(kernel, pages):
    path = require_corpus() / EULER
    result = kernel.execute(f"%load_ext jupyterspot_magic\n%jupyterspot share {path} --tunnel none")
    assert result["error"] is None, result["error"]
    info = kernel.json(KERNEL_SETUP)
    alice = pages(info["url"], "Alice")
    bob = pages(info["url"], "Bob")
    b = cid(bob)
    wait_for(
        lambda: len(kernel.json("print(json.dumps(share.participants))")) == 2,
        5,
        "the kernel sees both pages",
        step=0.1,
    )
    assert alice.get_by_test_id("follow-toggle").is_hidden()

    # "Hand lead to" Bob from the widget: Bob's page says he leads, Alice's follows him.
    ack = widget_msg(kernel, {"type": "lead", "op": "hand", "to": b, "req": 1})
    assert ack["ok"] and "Bob" in ack["message"], ack
    leader_everywhere([alice, bob], b, timeout=1.0)
    assert bob.get_by_test_id("release-lead").is_visible()
    assert "You lead" in bob.get_by_test_id("lead-status").inner_text()
    assert "Following Bob" in alice.get_by_test_id("follow-toggle").inner_text()
    scroll_to(bob, cell_id(bob, 120), 12)
    target = wait_for(lambda: (t := top(bob)) and t["index"] == 120 and t, 1, "Bob moved")[0]
    wait_for(lambda: aligned(alice, target), 1.0, "Alice follows Bob")
    # The widget's rows: where each person is and whom they follow.
    rows = wait_for(
        lambda: (
            (r := kernel.json("print(json.dumps(share.participants))"))
            and any(p["following"] == b and p["cell_index"] == 120 for p in r)
            and r
        ),
        3,
        "the kernel sees Alice following Bob at cell 121",
        step=0.1,
    )[0]
    assert kernel.json("print(json.dumps(w.leader))") == b
    assert {p["name"] for p in rows} == {"Alice", "Bob"}

    # Alice breaks away; "bring everyone back" brings her back to Bob.
    alice.mouse.move(300, 300)
    alice.mouse.wheel(0, 700)
    wait_for(lambda: follow_state(alice)["paused"], 1, "Alice paused")
    assert widget_msg(kernel, {"type": "lead", "op": "recall", "req": 2})["ok"]
    wait_for(lambda: not follow_state(alice)["paused"], 1, "Alice follows again")
    wait_for(lambda: aligned(alice, target), 1.0, "Alice back on Bob's cell")

    # "Release" from the widget: nobody leads, the pages say so, nobody follows.
    assert widget_msg(kernel, {"type": "lead", "op": "release", "req": 3})["ok"]
    leader_everywhere([alice, bob], None, timeout=1.0)
    assert alice.get_by_test_id("follow-toggle").is_hidden()
    assert bob.get_by_test_id("release-lead").is_hidden()
    assert "Nobody leads" in alice.get_by_test_id("lead-status").inner_text()
    scroll_to(bob, cell_id(bob, 30), 5)
    wait_for(lambda: top(bob)["index"] == 30, 1, "Bob moved alone")
    time.sleep(0.3)
    assert top(alice)["index"] == 120, "Alice must not follow after the release"

    # While a cell runs, the lead state still reaches the widget (traits set from the server
    # thread go out as comm messages before the cell finishes).
    busy = kernel.start("import time; time.sleep(2.5)")
    time.sleep(0.3)
    alice.get_by_test_id("take-lead").click()
    leader_everywhere([alice, bob], cid(alice), timeout=1.0)
    done = kernel.collect(busy, timeout=30)
    finished = done["messages"][-1]["received"]
    leader_updates = [
        m
        for m in done["messages"]
        if m["msg_type"] == "comm_msg"
        and m["content"]["data"].get("state", {}).get("leader") == cid(alice)
    ]
    assert leader_updates, "the widget did not hear of the new leader while the cell ran"
    assert leader_updates[0]["received"] < finished - 0.5
    assert widget_msg(kernel, {"type": "lead", "op": "release", "req": 31})["ok"]
    leader_everywhere([alice, bob], None, timeout=1.0)

    # "Take lead" as host with no presenter view open says so (the widget's link opens one).
    ack = widget_msg(kernel, {"type": "lead", "op": "take", "req": 4})
    assert not ack["ok"] and "presenter view" in ack["message"]
    host = pages(info["host_url"], "Hank", viewport={"width": 1000, "height": 700})
    wait_for(
        lambda: widget_msg(kernel, {"type": "lead", "op": "take", "req": 5})["ok"],
        3,
        "take lead makes the presenter view the leader",
        step=0.2,
    )
    leader_everywhere([alice, bob, host], cid(host), timeout=1.0)


# --- the widget's front end (static/widget.js) with a stand-in model -----------------------


def test_widget_front_end_lead_controls_wait_for_the_kernel(browser):
    page = browser.new_page()
    try:
        show_widget(page)
        people = [
            {
                "client_id": 1,
                "name": "Alice",
                "role": "guest",
                "cell_index": 11,
                "cell_count": 40,
                "following": None,
            },
            {
                "client_id": 2,
                "name": "Bob",
                "role": "guest",
                "cell_index": 3,
                "cell_count": 40,
                "following": None,
            },
        ]
        page.evaluate("p => window.__set('participants', p)", people)
        # No presenter view open: "Take lead" is a real link to it, which takes the lead itself.
        take = page.get_by_test_id("widget-take-lead")
        assert take.get_attribute("href").endswith("?token=h&lead=1")
        assert page.get_by_test_id("widget-leader").inner_text() == "Nobody leads"
        assert page.get_by_test_id("widget-release-lead").is_hidden()

        # "Make leader" on Bob: a message to the kernel, and "waiting" until it answers.
        page.locator('[data-client-id="2"]').get_by_test_id("widget-hand-lead").click()
        assert page.evaluate("window.__sent") == [{"type": "lead", "op": "hand", "req": 1, "to": 2}]
        state = page.get_by_test_id("widget-lead-state")
        wait_for(lambda: "waiting for the kernel" in state.inner_text(), 2, "busy kernel shown")
        page.evaluate("window.__msg({type: 'ack', req: 1, ok: true, message: 'Bob leads now.'})")
        wait_for(lambda: state.inner_text() == "Bob leads now.", 1, "the kernel's answer shown")

        # The kernel's state flows in through traits (also while a cell runs).
        people[0]["following"] = 2
        page.evaluate("p => window.__set('participants', p)", people)
        page.evaluate("window.__set('leader', 2)")
        assert page.get_by_test_id("widget-leader").inner_text() == "Bob leads"
        rows = page.get_by_test_id("widget-participants")
        assert "cell 12 of 40 · following Bob" in rows.locator('[data-client-id="1"]').inner_text()
        assert "leads" in rows.locator('[data-client-id="2"]').inner_text().lower()
        assert page.get_by_test_id("widget-release-lead").is_visible()
        page.get_by_test_id("widget-recall").click()
        page.get_by_test_id("widget-lead-policy").select_option("host")
        ops = [m["op"] for m in page.evaluate("window.__sent")]
        assert ops == ["hand", "recall", "policy"]
        assert page.evaluate("window.__sent")[-1]["policy"] == "host"

        # With a presenter view open, "Take lead" asks the kernel instead of opening another.
        people.append({"client_id": 3, "name": "Hank", "role": "host", "following": None})
        page.evaluate("p => window.__set('participants', p)", people)
        take.click()
        assert page.evaluate("window.__sent")[-1]["op"] == "take"
        assert len(page.context.pages) == 1
    finally:
        page.close()
