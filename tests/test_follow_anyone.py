"""Follow anyone (issue 18): a click on a person in the people list follows their scroll, not
only the leader's. Three real Chromium pages (desktop, desktop, phone) on a 208-cell notebook:
the phone follows a desktop guest who reads on their own and tracks each move; the pill says
whom it follows; Esc and the pill's button go back to the leader; following someone who
follows the leader lands where the leader is; the leader's "bring everyone back" wins."""

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

    # Alice (the leader) follows nobody: her click on Carol only goes where Carol is.
    person_row(alice, cid(carol)).click()
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
