"""Ask about this (issue 18): real Chromium pages on a real share of examples/demo.ipynb, three
of them (desktop host, desktop guest, phone guest). A question pinned on the phone with a real
touch tap shows on both desktops at the same cell-relative place (within 5 % of the cell's box)
and in the presenter's queue; "Go there" brings the follower to it; "Answered" clears it
everywhere. A view-only guest can ask but not draw; a guest's forged `ans` is refused by the
server; the host's switch hides the tool and the server refuses new questions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pycrdt import Doc, Map

from jupyterspot_magic.session.registry import share

from .conftest import DEMO, DESKTOP, PHONE, wait_for

CELL = "table"  # a cell well down the demo: "go there" has to scroll
QUESTION = "Why <img src=x onerror=window.pwned=1> this column?"


@pytest.fixture(scope="module")
def demo() -> Iterator:
    s = share(DEMO, tunnel="none")
    yield s
    s.stop()


@pytest.fixture
def fresh(demo):
    """The module's share as a test expects it: drawing open, questions on, nobody leading."""
    demo.view_only = False
    demo.release_lead()
    demo.clear()
    yield demo
    demo.view_only = False


def tap(page, x: float, y: float) -> None:
    """One real tap (touch events through the DevTools protocol), as a finger makes it."""
    cdp = page.context.new_cdp_session(page)
    point = [{"x": x, "y": y}]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": point})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def bring(page, cell: str) -> None:
    page.evaluate(
        "c => { const el = document.getElementById('cell-id=' + c);"
        " window.scrollTo(0, el.getBoundingClientRect().top + scrollY - 100); }",
        cell,
    )


def cell_point(page, cell: str, fx: float, fy: float) -> tuple[float, float]:
    return page.evaluate(
        "([c, fx, fy]) => { const r = document.getElementById('cell-id=' + c)"
        ".getBoundingClientRect(); return [r.left + r.width * fx, r.top + r.height * fy]; }",
        [cell, fx, fy],
    )


def pin_place(page, qid: str, cell: str) -> list[float] | None:
    """The pin's top-left as fractions of its cell's box, or None while it is not shown."""
    return page.evaluate(
        """([q, c]) => {
          const pin = document.querySelector(`[data-question-id="${q}"]`);
          if (!pin || pin.hidden || !pin.isConnected) return null;
          const p = pin.getBoundingClientRect();
          const r = document.getElementById('cell-id=' + c).getBoundingClientRect();
          if (!p.width) return null;
          return [(p.left - r.left) / r.width, (p.top - r.top) / r.height];
        }""",
        [qid, cell],
    )


def questions_on_board(s) -> dict:
    doc = Doc()
    doc.apply_update(s.board_update())
    return {k: v for k, v in doc.get("shapes", type=Map).to_py().items() if v.get("t") == "ask"}


def ask_by_touch(phone, cell: str, text: str) -> str:
    phone.get_by_test_id("tool-ask").tap()
    bring(phone, cell)
    x, y = cell_point(phone, cell, 0.5, 0.3)
    tap(phone, x, y)
    box = phone.get_by_test_id("ask-input")
    box.fill(text)
    box.press("Enter")
    return wait_for(
        lambda: phone.evaluate(
            "() => window.jupyterspot.questions.open().map((s) => s.id)[0] ?? null"
        ),
        5,
        "the phone's question in its own board",
    )


def test_a_question_from_the_phone_pinned_queued_gone_to_and_answered(live_pages, fresh):
    host = live_pages(fresh.host_url + "&name=Hana", **DESKTOP)
    guest = live_pages(fresh.url + "&name=Dee", **DESKTOP)
    phone = live_pages(fresh.url + "&name=Pia", **PHONE)
    qid = ask_by_touch(phone, CELL, QUESTION)
    on_phone = wait_for(lambda: pin_place(phone, qid, CELL), 5, "the pin on the phone")

    for page in (host, guest):
        bring(page, CELL)
        place = wait_for(lambda p=page: pin_place(p, qid, CELL), 5, "the pin on a desktop")
        assert abs(place[0] - on_phone[0]) <= 0.05 and abs(place[1] - on_phone[1]) <= 0.05, (
            place,
            on_phone,
        )
        pin = page.locator(f'[data-question-id="{qid}"]')
        assert "<img" in pin.inner_text() and "Pia" in pin.inner_text()
        assert pin.locator("img").count() == 0  # text, never markup
    assert not phone.evaluate("window.pwned") and not host.evaluate("window.pwned")

    row = host.get_by_test_id("questions").locator(f'[data-queue-question="{qid}"]')
    wait_for(lambda: row.count() == 1, 5, "the question in the presenter's queue")
    assert "onerror" in row.inner_text() and row.locator("img").count() == 0

    # Everyone back at the top; the guest follows whoever leads. "Go there": the host leads
    # and the follower comes to the pin.
    for page in (host, guest):
        page.evaluate("window.scrollTo(0, 0)")
    row.get_by_test_id("question-goto").click()
    wait_for(
        lambda: guest.evaluate(
            """q => { const el = document.querySelector(`[data-question-id="${q}"]`);
               if (!el) return false; const r = el.getBoundingClientRect();
               return r.top >= 0 && r.bottom <= innerHeight; }""",
            qid,
        ),
        8,
        "the follower brought to the question",
    )

    row.get_by_test_id("question-answered").click()
    for page in (host, guest, phone):
        wait_for(lambda p=page: pin_place(p, qid, CELL) is None, 5, "the pin cleared")
    wait_for(lambda: row.count() == 0, 5, "the question off the queue")
    assert questions_on_board(fresh)[qid]["ans"] > 0  # kept on the board (notes, export)


def test_a_view_only_guest_can_ask_but_not_draw(live_pages, fresh):
    fresh.view_only = True
    host = live_pages(fresh.host_url + "&name=Hana", **DESKTOP)
    guest = live_pages(fresh.url + "&name=Dee", **DESKTOP)
    wait_for(lambda: guest.get_by_test_id("tool-pen").is_disabled(), 5, "the pen disabled")
    assert guest.get_by_test_id("tool-ask").is_enabled()
    guest.get_by_test_id("tool-ask").click()
    bring(guest, CELL)
    x, y = cell_point(guest, CELL, 0.4, 0.5)
    guest.mouse.click(x, y)
    guest.get_by_test_id("ask-input").fill("May I ask?")
    guest.get_by_test_id("ask-input").press("Enter")
    bring(host, CELL)
    wait_for(
        lambda: host.get_by_test_id("questions").get_by_text("May I ask?").count(),
        5,
        "the view-only guest's question at the host",
    )
    # A modified page draws anyway: the server drops it. The name change after it is a
    # barrier: the socket's frames are handled in order.
    guest.evaluate("window.jupyterspot.board.add({t: 'pen', cell: 'table', pts: [0, 0, 9, 9]})")
    guest.evaluate("window.jupyterspot.setName('Dee two')")
    wait_for(lambda: "Dee two" in host.get_by_test_id("participants").inner_text(), 5, "barrier")
    doc = Doc()
    doc.apply_update(fresh.board_update())
    kinds = [v.get("t") for v in doc.get("shapes", type=Map).to_py().values()]
    assert kinds == ["ask"]


def test_a_guests_forged_answer_is_refused(live_pages, fresh):
    host = live_pages(fresh.host_url + "&name=Hana", **DESKTOP)
    guest = live_pages(fresh.url + "&name=Dee", **DESKTOP)
    qid = host.evaluate(
        "window.jupyterspot.board.add({t: 'ask', cell: 'table', x: 40, y: 10, text: 'open?'})"
    )
    wait_for(lambda: qid in questions_on_board(fresh), 5, "the host's question on the server")
    wait_for(
        lambda: guest.evaluate(f"!!window.jupyterspot.board.model.get({qid!r})"), 5, "at guest"
    )
    # The server's refusal closes the guest's board socket (bad_frame); the page logs why.
    said: list[str] = []
    guest.on("console", lambda m: said.append(m.text))
    guest.evaluate(
        f"window.jupyterspot.board.model.shapes.get({qid!r}).set('ans', Date.now())"
    )  # the guest's own copy hides it; the server must refuse it for everyone else

    def refused() -> bool:
        guest.evaluate("null")  # Playwright delivers the page's console events during a call
        return any("outside the schema" in t for t in said)

    wait_for(refused, 8, "the forger refused")
    assert "ans" not in questions_on_board(fresh)[qid]
    bring(host, CELL)
    wait_for(lambda: pin_place(host, qid, CELL), 5, "still open at the host")


def test_questions_off_hides_the_tool_and_the_server_refuses(live_pages, fresh):
    host = live_pages(fresh.host_url + "&name=Hana", **DESKTOP)
    guest = live_pages(fresh.url + "&name=Dee", **DESKTOP)
    host.get_by_test_id("questions-switch").click()
    wait_for(lambda: not guest.get_by_test_id("tool-ask").is_visible(), 5, "the tool hidden")
    guest.evaluate("window.jupyterspot.board.add({t: 'ask', cell: 'table', text: 'sneaky'})")
    guest.evaluate("window.jupyterspot.setName('Dee two')")
    wait_for(lambda: "Dee two" in host.get_by_test_id("participants").inner_text(), 5, "barrier")
    assert questions_on_board(fresh) == {}
    host.get_by_test_id("questions-switch").click()
    wait_for(lambda: guest.get_by_test_id("tool-ask").is_visible(), 5, "the tool back")


def test_the_notebook_widgets_queue_goes_there_and_answers(live_pages, fresh):
    """The widget's command "questions" (frontends/widget.py) on the real share: the open
    questions reach the kernel (Share.questions); "goto" makes the presenter page lead at the
    pin and brings the follower; "answer" clears the pin on every page."""
    from jupyterspot_magic.frontends.widget import questions_command

    guest = live_pages(fresh.url + "&name=Dee", **DESKTOP)
    qid = guest.evaluate(
        "window.jupyterspot.board.add({t: 'ask', cell: 'table', x: 30, y: 20, text: 'and this?',"
        " by: 'Dee'})"
    )
    rows = wait_for(lambda: fresh.questions, 5, "the question in Share.questions")
    assert [(r["id"], r["text"], r["by"], r["cell"]) for r in rows] == [
        (qid, "and this?", "Dee", CELL)
    ]
    assert not questions_command(fresh, {"op": "goto", "id": qid})["ok"]  # no presenter view
    host = live_pages(fresh.host_url + "&name=Hana", **DESKTOP)
    wait_for(lambda: any(p["role"] == "host" for p in fresh.participants), 5, "presenter here")
    assert questions_command(fresh, {"op": "goto", "id": qid})["ok"]
    for page in (host, guest):
        wait_for(
            lambda p=page: p.evaluate(
                """q => { const el = document.querySelector(`[data-question-id="${q}"]`);
                   if (!el) return false; const r = el.getBoundingClientRect();
                   return r.top >= 0 && r.bottom <= innerHeight; }""",
                qid,
            ),
            8,
            "the presenter and the follower at the question",
        )
    assert questions_command(fresh, {"op": "answer", "id": qid})["ok"]
    for page in (host, guest):
        wait_for(lambda p=page: pin_place(p, qid, CELL) is None, 5, "the pin cleared")
    wait_for(lambda: fresh.questions == [], 5, "no open question left in the kernel")
    assert not questions_command(fresh, {"op": "answer", "id": "nope"})["ok"]
