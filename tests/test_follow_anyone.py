"""Follow anyone (issue 18): a click on a person in the people list follows their scroll, not
only the leader's. Three real Chromium pages (desktop, desktop, phone) on a 208-cell notebook:
the phone follows a desktop guest who reads on their own and tracks each move; the pill says
whom it follows; Esc and the pill's button go back to the leader; following someone who
follows the leader lands where the leader is; the leader's "bring everyone back" wins. And
four pages: a chain of followers (X -> Y -> Z -> the leader) shows the leader's place at its
every link (a follower's own published scroll is stale), a loop stays where it is and says so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .conftest import DESKTOP, PHONE, require_corpus
from .test_follow import (
    EULER,
    aligned,
    cell_id,
    cid,
    follow_state,
    leader_everywhere,
    scroll_to,
    top,
    wait_for,
)

TRACK_S = 1.0  # a follower shows the followed person's top cell within this long


@pytest.fixture(scope="module")
def euler() -> Iterator:
    from jupyterspot_magic.session import registry as sharing

    share = sharing.share(require_corpus() / EULER, tunnel="none")
    yield share
    share.stop()


def person_row(page, client_id: int):
    """Their row in the people list, opening the list first where it is a pill's (ui.ts)."""
    row = page.locator(f'[data-testid="participants"] [data-client-id="{client_id}"]')
    if not row.is_visible():
        page.locator(".jupyterspot-people-toggle").click()
    row.wait_for(state="visible")
    return row


def moves_to(page, index: int, offset: int) -> dict:
    """Put the page's top at cell `index` + `offset` and return its top as published."""
    scroll_to(page, cell_id(page, index), offset)
    return wait_for(lambda: (t := top(page)) and t["index"] == index and t, 1, f"at {index}")[0]


def test_follow_a_non_leader_tracks_their_scroll_until_the_leader_recalls(euler, live_pages):
    alice = live_pages(f"{euler.url}&name=Alice", **DESKTOP)
    bob = live_pages(f"{euler.url}&name=Bob", **DESKTOP)
    carol = live_pages(f"{euler.url}&name=Carol", **PHONE)
    everyone = [alice, bob, carol]
    a, b = cid(alice), cid(bob)
    alice.get_by_test_id("take-lead").click()
    leader_everywhere(everyone, a)
    at_alice = moves_to(alice, 40, 12)
    wait_for(lambda: aligned(carol, at_alice), TRACK_S, "Carol follows Alice")

    # Bob reads on his own (his wheel breaks away), Carol taps Bob's row: she follows Bob.
    bob.mouse.move(300, 400)
    bob.mouse.wheel(0, 1200)
    wait_for(lambda: follow_state(bob)["paused"], 1, "Bob reads on his own")
    at_bob = moves_to(bob, 120, 30)
    person_row(carol, b).tap()
    wait_for(lambda: follow_state(carol)["following"] == b, 1, "Carol follows Bob")
    _, took = wait_for(lambda: aligned(carol, at_bob), TRACK_S, "Carol shows Bob's top cell")
    pill = carol.get_by_test_id("follow-pill")
    assert pill.is_visible() and "Following Bob" in pill.inner_text(), pill.inner_text()
    assert "Back to Alice" in carol.get_by_test_id("follow-resume").inner_text()
    assert follow_state(carol)["leader"] == a and not follow_state(carol)["paused"]
    # Bob keeps reading: Carol tracks every move, Alice staying where she is.
    track = [took]
    for index, offset in ((150, 5), (90, 60), (20, 4)):
        at_bob = moves_to(bob, index, offset)
        track.append(wait_for(lambda t=at_bob: aligned(carol, t), TRACK_S, f"Carol at {index}")[1])
    assert top(alice)["index"] == 40
    # The others see whom she follows (her awareness `following`).
    wait_for(
        lambda: "following Bob" in person_row(alice, cid(carol)).inner_text(),
        2,
        "Alice's list says Carol follows Bob",
    )
    print(f"Carol tracked Bob in {', '.join(f'{t * 1000:.0f}' for t in track)} ms")

    # Esc: back to the leader, at once where she is.
    carol.keyboard.press("Escape")
    wait_for(lambda: follow_state(carol)["following"] == a, 1, "Esc: Carol follows Alice")
    wait_for(lambda: aligned(carol, at_alice), TRACK_S, "Carol back on Alice's cell")
    assert not pill.is_visible()

    # Alice (the leader) follows nobody: her click on Bob (reading on his own) takes her (and
    # her followers) where Bob is.
    person_row(alice, b).click()
    wait_for(lambda: aligned(alice, at_bob), TRACK_S, "Alice lands where Bob is")
    assert follow_state(alice)["following"] is None and follow_state(alice)["leader"] == a

    # Following someone who follows the leader lands where the leader is (Bob -> Carol ->
    # Alice), and the pill's button goes back to the leader.
    bob.get_by_test_id("follow-resume").click()
    wait_for(lambda: follow_state(bob)["following"] == a, 1, "Bob follows Alice again")
    at_alice = moves_to(alice, 60, 8)
    person_row(bob, cid(carol)).click()
    wait_for(lambda: follow_state(bob)["following"] == cid(carol), 1, "Bob follows Carol")
    wait_for(lambda: aligned(bob, at_alice), TRACK_S, "Bob, following Carol, is where Alice is")
    bob.get_by_test_id("follow-resume").click()
    wait_for(lambda: follow_state(bob)["following"] == a, 1, "the pill's button: back to Alice")

    # The leader's "bring everyone back" wins over following someone else.
    person_row(carol, b).tap()
    wait_for(lambda: follow_state(carol)["following"] == b, 1, "Carol follows Bob again")
    bob.mouse.move(300, 400)
    bob.mouse.wheel(0, -600)
    wait_for(lambda: follow_state(bob)["paused"], 1, "Bob on his own again")
    at_bob = moves_to(bob, 10, 4)
    wait_for(lambda: aligned(carol, at_bob), TRACK_S, "Carol follows Bob to cell 11")
    euler.bring_everyone_back()
    for p in (bob, carol):
        wait_for(lambda p=p: follow_state(p)["following"] == a, 1, "everyone follows Alice")
        wait_for(lambda p=p: aligned(p, at_alice), TRACK_S, "everyone on Alice's cell")
    assert not pill.is_visible()


def follows(page, who) -> None:
    page.evaluate("id => window.jupyterspot.follow.followPerson(id)", cid(who))
    wait_for(lambda: follow_state(page)["following"] == cid(who), 1, "following")


def test_a_chain_of_followers_ends_at_the_leader_and_a_loop_stays_put(euler, live_pages):
    lead = live_pages(f"{euler.url}&name=Lee", **DESKTOP)
    x, y, z = (live_pages(f"{euler.url}&name={n}", **DESKTOP) for n in "XYZ")
    # Each reads on their own first: their published scrolls (stale once they follow) differ.
    for page, index in ((x, 10), (y, 20), (z, 30)):
        moves_to(page, index, 20)
    lead.get_by_test_id("take-lead").click()
    leader_everywhere([lead, x, y, z], cid(lead))
    at_lead = moves_to(lead, 100, 5)
    for p in (x, y, z):
        wait_for(lambda p=p: aligned(p, at_lead), TRACK_S, "everyone on the leader's cell")

    # Y follows Z (who follows the leader), X follows Y: all of them are where the leader is.
    follows(y, z)
    follows(x, y)
    at_lead = moves_to(lead, 150, 6)
    for p in (x, y, z):
        wait_for(lambda p=p: aligned(p, at_lead), TRACK_S, "the chain tracks the leader")

    # A loop: X and Y read on their own, X follows Y (goes to Y), then Y follows X.
    x.evaluate("window.jupyterspot.follow.pause()")
    moves_to(x, 60, 10)
    y.evaluate("window.jupyterspot.follow.pause()")
    at_y = moves_to(y, 70, 10)
    follows(x, y)
    wait_for(lambda: aligned(x, at_y), TRACK_S, "X goes where Y is")
    follows(y, x)
    pill = y.get_by_test_id("follow-pill")
    wait_for(lambda: pill.get_attribute("data-loop") is not None, 1, "Y's pill: a loop")
    assert "who follows you" in pill.inner_text(), pill.inner_text()
    # The leader moves (Z follows): nobody in the loop moves, nobody goes to a stale place.
    at_lead = moves_to(lead, 20, 6)
    wait_for(lambda: aligned(z, at_lead), TRACK_S, "Z follows the leader")
    for p in (x, y):
        assert aligned(p, at_y), top(p)
    # Esc on Y leaves the loop: back to the leader; X (following Y) comes along.
    y.keyboard.press("Escape")
    for p in (x, y):
        wait_for(lambda p=p: aligned(p, at_lead), TRACK_S, "out of the loop, on the leader's cell")
    assert pill.get_attribute("data-loop") is None

    # Esc that drops a drawing tool is only that: it does not also stop following a person.
    follows(x, z)
    x.get_by_test_id("tool-pen").click()
    pen = x.get_by_test_id("tool-pen")
    wait_for(lambda: pen.get_attribute("aria-pressed") == "true", 1, "X holds the pen")
    x.keyboard.press("Escape")
    wait_for(lambda: pen.get_attribute("aria-pressed") != "true", 1, "Esc drops the pen")
    assert follow_state(x)["following"] == cid(z), follow_state(x)
    x.keyboard.press("Escape")
    wait_for(lambda: follow_state(x)["following"] == cid(lead), 1, "the next Esc: the leader")
