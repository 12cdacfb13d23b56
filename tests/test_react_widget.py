"""The notebook widget's issue-18 parts, rendered by the built widget (static/widget.js) in
Chromium with a stand-in anywidget model (tests/conftest.py widget_mock): the per-cell reaction
list (`widget-reactions`, labelled by the cell's place in the notebook, aged in the page from the
slots' start times) and the ✋ of a raised hand in the people list."""

from __future__ import annotations

import time

from .conftest import show_widget, wait_for


def test_the_reaction_list_and_raised_hands(browser) -> None:
    now_ms = round(time.time() * 1000)
    reactions = [
        {"cell": "c-b", "index": 2, "counts": {"up": 3}, "slots": [[now_ms - 2000, {"up": 3}]]},
        {  # one slot still in the minute, one 61 s old (aged out here, not by the kernel)
            "cell": "c-a",
            "index": 0,
            "counts": {"yay": 2, "what": 1},
            "slots": [[now_ms - 61_000, {"what": 1}], [now_ms - 1000, {"yay": 2}]],
        },
    ]
    people = [
        {"client_id": 1, "name": "Ana", "color": "#e03131", "role": "guest", "hand": True},
        {"client_id": 2, "name": "Bob", "color": "#1971c2", "role": "guest", "hand": False},
    ]
    page = browser.new_page()
    try:
        show_widget(page, reactions=reactions, participants=people)
        items = page.get_by_test_id("widget-reactions").locator("li")
        wait_for(lambda: items.count() == 2, 5, "two cells listed")
        assert items.all_inner_texts() == ["cell 3: 👍 3", "cell 1: 🎉 2"]
        hands = page.locator('[data-client-id] [data-testid="widget-hand"]')
        assert hands.count() == 1
        assert hands.first.evaluate("e => e.closest('[data-client-id]').dataset.clientId") == "1"
        page.evaluate("window.__set('reactions', [])")
        wait_for(lambda: page.get_by_test_id("widget-reactions").is_hidden(), 5, "emptied")
    finally:
        page.close()
