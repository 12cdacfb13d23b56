"""Reactions, raised hands and cursor chat (issue 18) in real headless Chromium on one real share
(loopback): two desktops and a phone. A reaction reaches the others within 1 s at the same cell
and goes; `/` chat shows text (markup stays text, never runs); a raised hand stays until lowered
(also in the people list); the host's switch off hides the tools and the server strips the fields
even from a page that ignores the switch."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from jupyterspot_magic.session.registry import share

from .conftest import DEMO, DESKTOP, PHONE, wait_for

REACTION = (
    "(a) => document.querySelectorAll("
    '`[data-reaction="${a[0]}"][data-reaction-of="${a[1]}"]`).length'
)
STATE_OF = "(id) => window.jupyterspot.awareness.getStates().get(id) || null"


@pytest.fixture(scope="module")
def demo() -> Iterator:
    s = share(DEMO, tunnel="none")
    yield s
    s.stop()


@pytest.fixture
def three(live_pages, demo):
    alice = live_pages(demo.host_url + "&name=Alice", **DESKTOP)
    bob = live_pages(demo.url + "&name=Bob", **DESKTOP)
    carol = live_pages(demo.url + "&name=Carol", **PHONE)
    ids = {
        n: p.evaluate("window.jupyterspot.awareness.clientID")
        for n, p in (("alice", alice), ("bob", bob), ("carol", carol))
    }
    for page in (alice, bob, carol):  # everyone sees everyone
        wait_for(lambda p=page: all(p.evaluate(STATE_OF, i) for i in ids.values()), what="peers")
    return alice, bob, carol, ids


def first_cell(page) -> str:
    return page.evaluate("window.jupyterspot.layout.cells()[1].id.replace('cell-id=', '')")


def pointer_on_cell(page, cell: str) -> tuple[float, float]:
    """Scroll the cell into view and put the mouse a third into it; the point."""
    x, y = page.evaluate(
        "c => { const el = document.getElementById('cell-id=' + c); el.scrollIntoView();"
        " const r = el.getBoundingClientRect(); return [r.left + r.width / 3, r.top + 10]; }",
        cell,
    )
    page.mouse.move(x, y)
    return x, y


def rel_place(page, selector: str, cell: str) -> tuple[float, float]:
    """Where an element is anchored (its placement, not its rising animation), as fractions of
    the cell's box."""
    return tuple(
        page.evaluate(
            "([s, c]) => { const e = document.querySelector(s);"
            " const m = new DOMMatrix(e.style.transform);"
            " const l = e.parentElement.getBoundingClientRect();"
            " const r = document.getElementById('cell-id=' + c).getBoundingClientRect();"
            " return [(l.left + m.m41 - r.left) / r.width, (l.top + m.m42 - r.top) / r.height]; }",
            [selector, cell],
        )
    )


def test_a_reaction_reaches_the_others_within_1s_at_the_same_place_and_goes(three, demo) -> None:
    alice, bob, carol, ids = three
    cell = first_cell(alice)
    for page in (bob, carol):
        page.evaluate("c => document.getElementById('cell-id=' + c).scrollIntoView()", cell)
    pointer_on_cell(alice, cell)
    alice.keyboard.press("1")
    t0 = time.monotonic()
    for page in (bob, carol):
        wait_for(lambda p=page: p.evaluate(REACTION, ["up", ids["alice"]]), 1.0, "👍 within 1 s")
    took = time.monotonic() - t0
    sel = f'[data-reaction="up"][data-reaction-of="{ids["alice"]}"]'
    here, there = rel_place(alice, sel, cell), rel_place(bob, sel, cell)
    assert abs(here[0] - there[0]) < 0.05 and abs(here[1] - there[1]) < 0.05, (here, there)
    assert bob.locator(sel).inner_text() == "👍"
    # The presenter's widget count (session/reactions.py), from the people the kernel mirrors.
    per_cell = {c["cell"]: c["counts"] for c in wait_for(demo.mirror.reactions.counts, 3)}
    assert per_cell[cell].get("up", 0) >= 1, per_cell
    for page in (alice, bob, carol):  # shown ~3 s, then gone
        wait_for(lambda p=page: not p.evaluate(REACTION, ["up", ids["alice"]]), 5, "gone")
    print(f"reaction seen by the others after {took:.3f} s")

    # The phone: the react button is in the palette's "more" menu; a tap, then 👀.
    carol.locator('[data-testid="tool-more"]').tap()
    carol.locator('[data-testid="react"]').tap()
    carol.locator('[data-react-choice="look"]').tap()
    for page in (alice, bob):
        wait_for(lambda p=page: p.evaluate(REACTION, ["look", ids["carol"]]), 1.0, "👀 in 1 s")


def test_a_page_sends_at_most_4_reactions_a_second(three) -> None:
    alice, bob, _carol, ids = three
    pointer_on_cell(alice, first_cell(alice))
    sent = alice.evaluate("[...Array(30)].map(() => window.jupyterspot.reactions.react('yay'))")
    assert sum(sent) == 4
    wait_for(lambda: bob.evaluate(REACTION, ["yay", ids["alice"]]) >= 1, what="a 🎉")


def test_slash_chat_shows_text_and_markup_stays_text(three) -> None:
    alice, bob, carol, ids = three
    pointer_on_cell(bob, first_cell(bob))
    bob.keyboard.press("/")
    box = bob.locator('[data-testid="chat-input"]')
    wait_for(box.is_visible, what="the chat box")
    evil = '<img src=x onerror="window.__pwned=1"><b>hi</b> ' + "x" * 80
    box.fill(evil)
    box.press("Enter")
    bubble = f'[data-chat-of="{ids["bob"]}"]'
    for page in (alice, carol):
        wait_for(lambda p=page: p.locator(bubble).count(), 1.0, "the chat bubble in 1 s")
        text = page.locator(f"{bubble} .jupyterspot-chat-text")
        assert text.inner_text() == evil[:60].strip()
        assert text.locator("*").count() == 0  # no element made from the text
        assert page.locator(f"{bubble} .jupyterspot-chat-name").inner_text() == "Bob"  # who said it
        assert page.evaluate("window.__pwned") is None
    assert box.count() == 0  # Enter sent it and closed the box
    # Esc cancels: nothing sent.
    bob.keyboard.press("/")
    wait_for(box.is_visible, what="the chat box again")
    box.fill("never sent")
    box.press("Escape")
    assert box.count() == 0
    for page in (alice, carol):  # shown ~5 s, then gone
        wait_for(lambda p=page: not p.locator(bubble).count(), 7, "the bubble gone")
    assert "never sent" not in alice.evaluate(STATE_OF, ids["bob"]).get("chat", {}).get("text")


def test_a_raised_hand_stays_until_lowered(three) -> None:
    alice, _bob, carol, ids = three
    person = f'[data-testid="participants"] [data-client-id="{ids["carol"]}"]'
    row = f'{person} [data-testid="hand-raised"]'
    carol.locator('[data-testid="tool-more"]').tap()
    carol.locator('[data-testid="react"]').tap()
    carol.locator('[data-react-choice="hand"]').tap()
    wait_for(lambda: alice.locator(row).count(), 1.0, "the hand in Alice's people list")
    # The ✋ reaction floats and goes; the hand stays.
    wait_for(lambda: alice.evaluate(REACTION, ["hand", ids["carol"]]), 1.0, "the ✋ reaction")
    wait_for(lambda: not alice.evaluate(REACTION, ["hand", ids["carol"]]), 5, "the ✋ gone")
    assert alice.locator(row).count() == 1
    assert alice.evaluate(STATE_OF, ids["carol"])["hand"] is True
    carol.locator('[data-testid="tool-more"]').tap()
    carol.locator('[data-testid="react"]').tap()
    carol.locator('[data-react-choice="hand"]').tap()  # lowered
    wait_for(lambda: not alice.locator(row).count(), 2, "the hand lowered")


def test_switch_off_hides_the_tools_and_the_server_strips(three, demo) -> None:
    alice, bob, _carol, ids = three
    try:
        demo.reactions = False
        wait_for(lambda: bob.locator('[data-testid="react"]').is_hidden(), what="react hidden")
        pointer_on_cell(bob, first_cell(bob))
        bob.keyboard.press("2")
        bob.keyboard.press("/")
        assert bob.locator('[data-testid="chat-input"]').count() == 0
        assert "react" not in (bob.evaluate(STATE_OF, ids["bob"]) or {})  # nothing sent
        assert bob.locator("[data-reaction]").count() == 0  # nothing shown
        assert bob.evaluate("window.jupyterspot.reactions.react('up')") is False
        # A page that ignores the switch: its fields never reach the others. The marker
        # (`following`) rides in the same state, so once it arrives the rest was stripped.
        bob.evaluate(
            "() => { const a = window.jupyterspot.awareness; a.setLocalState({...a.getLocalState(),"
            " hand: true, following: 424242, chat: {text: 'sneaky', seq: 9},"
            " react: {n: 'up', seq: 99, cell: 'x', x: 1, y: 2}}); }"
        )
        seen = wait_for(
            lambda: (
                (alice.evaluate(STATE_OF, ids["bob"]) or {}).get("following") == 424242
                and alice.evaluate(STATE_OF, ids["bob"])
            ),
            what="the marker",
        )
        assert not {"hand", "chat", "react"} & set(seen), seen
        assert alice.locator('[data-testid="hand-raised"]').count() == 0
        assert alice.locator(f'[data-chat-of="{ids["bob"]}"]').count() == 0
        assert demo.reactions is False
    finally:
        demo.reactions = True
    wait_for(lambda: bob.locator('[data-testid="react"]').is_visible(), what="react back")


def test_keys_typed_in_a_shadow_dom_input_are_text_not_reactions(three) -> None:
    """/tmp/review18r/shadow.py on the viewer: `2`, `/` and a board letter typed into an input
    inside a shadow root (a widget's) stay in the input: no reaction, no chat box, no tool."""
    _alice, bob, _carol, ids = three
    pointer_on_cell(bob, first_cell(bob))
    bob.evaluate(
        "() => { const d = document.createElement('div'); d.id = 'shadow-host';"
        " document.body.append(d); d.attachShadow({mode: 'open'}).innerHTML = '<input id=in>'; }"
    )
    tool = "() => document.querySelector('[data-testid^=tool-][aria-pressed=true]')?.dataset.testid"
    before = bob.evaluate(tool)
    bob.locator("#shadow-host").locator("input").focus()
    bob.keyboard.type("2/p")
    value = bob.evaluate(
        "document.getElementById('shadow-host').shadowRoot.querySelector('input').value"
    )
    assert value == "2/p"
    assert bob.locator('[data-testid="chat-input"]').count() == 0
    assert "react" not in (bob.evaluate(STATE_OF, ids["bob"]) or {})
    assert bob.evaluate(tool) == before
    bob.evaluate("document.getElementById('shadow-host').remove()")


def test_a_senders_reactions_on_screen_are_bounded(three) -> None:
    """Twenty new reactions from one sender (as a page that floods would show them): at most
    MAX_SHOWN_PER_SENDER (6) nodes at once (js/viewer/reactions.ts)."""
    alice, _bob, _carol, _ids = three
    cell = first_cell(alice)
    shown = alice.evaluate(
        """(cell) => { const a = window.jupyterspot.awareness; const id = 777001;
        const put = (s) => { a.states.set(id, s); a.emit('change', [{added: [], updated: [id],
          removed: []}, 'remote']); };
        put({user: {name: 'F'}});
        for (let seq = 1; seq <= 20; seq++) put({user: {name: 'F'}, react: {n: 'up', seq, cell,
          x: 5, y: 5}});
        const n = document.querySelectorAll('[data-reaction-of="777001"]').length;
        a.states.delete(id); a.emit('change', [{added: [], updated: [], removed: [id]}, 'remote']);
        return n; }""",
        cell,
    )
    assert 1 <= shown <= 6, shown


def test_a_reaction_from_the_menu_goes_on_the_cell_in_the_middle_of_the_view(three) -> None:
    alice, _bob, _carol, ids = three
    pointer_on_cell(alice, first_cell(alice))
    alice.locator('[data-testid="react"]').click()  # the mouse is now on the button
    alice.locator('[data-react-choice="what"]').click()
    react = wait_for(lambda: alice.evaluate(STATE_OF, ids["alice"]).get("react"), 2, "sent")
    middle = alice.evaluate(
        "() => window.jupyterspot.layout.pointToAnchor(innerWidth / 2, innerHeight / 2)"
    )
    assert react["n"] == "what" and react["cell"] == middle["cell"], (react, middle)
    assert abs(react["y"] - middle["y"]) <= 2, (react, middle)


def test_a_phone_says_something_from_the_react_menu(three) -> None:
    alice, _bob, carol, ids = three
    carol.locator('[data-testid="tool-more"]').tap()
    carol.locator('[data-testid="react"]').tap()
    carol.locator('[data-testid="react-say"]').tap()
    box = carol.locator('[data-testid="chat-input"]')
    wait_for(box.is_visible, what="the chat box on the phone")
    box.fill("from my phone")
    box.press("Enter")
    bubble = alice.locator(f'[data-chat-of="{ids["carol"]}"] .jupyterspot-chat-text')
    wait_for(lambda: bubble.count() and bubble.inner_text() == "from my phone", 2, "the bubble")
