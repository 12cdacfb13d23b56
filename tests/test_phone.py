"""Phones (issue 16 item 1), in real headless Chromium touch contexts at 360x740 and 390x844 on a
real share: every palette button is on the screen or one tap away (the "more" menu); the reading
gesture (a double tap, js/viewer/reading.ts) makes the body text >= 12 px; a stroke drawn then with
a real touch lands on the same cell-relative box as a 1400 px page sees it; and a page reading
zoomed in still follows the leader."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jupyterspot_magic.session.registry import share

from .conftest import DEMO, DESKTOP, PHONE, wait_for
from .test_annotations import REL_BOX, touch_drag

PHONES = {
    "360x740": {**PHONE, "viewport": {"width": 360, "height": 740}},
    "390x844": PHONE,
}
TOOLS = "browse select pen highlighter eraser arrow rect ellipse text note laser style"
BUTTONS = [*(f"tool-{t}" for t in TOOLS.split(" ")), "undo", "redo"]
TOL = 0.05  # of the cell's width and height

# On the screen and not covered: the element the screen shows at the button's centre is it.
ON_SCREEN = """(id) => {
  const b = document.querySelector(`[data-testid="${id}"]`);
  if (!b) return false;
  const r = b.getBoundingClientRect();
  if (r.width < 20 || r.height < 20) return false;
  if (r.left < 0 || r.top < 0 || r.right > innerWidth || r.bottom > innerHeight) return false;
  const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
  return !!hit && b.contains(hit);
}"""

# Rendered text size of every text kind in a cell: font-size x layout scale x pinch scale.
TEXT_PX = """(cell) => {
  const c = document.getElementById('cell-id=' + cell);
  const s = window.jupyterspot.layout.scaleOf(c) * (window.visualViewport?.scale ?? 1);
  const els = c.querySelectorAll('.jp-RenderedMarkdown p, .jp-RenderedMarkdown li, pre');
  return [...els].map((e) => parseFloat(getComputedStyle(e).fontSize) * s);
}"""


@pytest.fixture(scope="module")
def demo() -> Iterator:
    s = share(DEMO, tunnel="none")
    yield s
    s.stop()


def double_tap(page, x: float, y: float) -> None:
    """Two real taps (touch events through the DevTools protocol), as a finger makes them."""
    cdp = page.context.new_cdp_session(page)
    for _ in range(2):
        point = [{"x": x, "y": y}]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": point})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def cell_box(page, cell: str) -> dict:
    return page.evaluate(
        "c => { const r = document.getElementById('cell-id=' + c).getBoundingClientRect();"
        " return {left: r.left, top: r.top, right: r.right, bottom: r.bottom,"
        " width: r.width, height: r.height}; }",
        cell,
    )


def read_cell(page, cell: str) -> dict:
    """Bring the cell's first paragraph up and double-tap it; the cell's box afterwards."""
    page.evaluate(
        "c => { const el = document.getElementById('cell-id=' + c);"
        " window.scrollTo(0, el.getBoundingClientRect().top + scrollY - 150); }",
        cell,
    )
    x, y = page.evaluate(
        "c => { const p = document.getElementById('cell-id=' + c)"
        ".querySelector('.jp-RenderedMarkdown p'); const r = p.getBoundingClientRect();"
        " return [r.left + 30, r.top + r.height / 2]; }",
        cell,
    )
    double_tap(page, x, y)
    page.wait_for_function("window.jupyterspot.layout.reading", timeout=5000)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return cell_box(page, cell)


@pytest.mark.parametrize("size", PHONES)
def test_every_tool_is_on_the_screen_or_one_tap_away(live_pages, demo, size):
    page = live_pages(demo.url + "&name=Bob", **PHONES[size])
    bar = page.get_by_test_id("toolbar")
    assert page.evaluate(
        "() => { const t = document.querySelector('[data-testid=toolbar]');"
        " return t.scrollWidth <= t.clientWidth + 1; }"
    ), "the bottom bar hides buttons in a sideways scroll"
    shown = [b for b in BUTTONS if page.evaluate(ON_SCREEN, b)]
    rest = [b for b in BUTTONS if b not in shown]
    assert "tool-pen" in shown and "tool-browse" in shown and "undo" in shown, shown
    assert rest, "all 14 buttons in one row at this width?"
    bar.get_by_test_id("tool-more").tap()
    page.get_by_test_id("tool-more-menu").wait_for()
    missing = [b for b in rest if not page.evaluate(ON_SCREEN, b)]
    assert missing == [], f"not reachable at {size}: {missing} (on the bar: {shown})"
    # A tool from the menu works and closes the menu.
    page.get_by_test_id(rest[0] if rest[0].startswith("tool-") else "tool-laser").tap()
    page.get_by_test_id("tool-more-menu").wait_for(state="hidden")
    print(f"{size}: on the bar {len(shown)} {shown}; in the menu {len(rest)} {rest}")


@pytest.mark.parametrize("size", PHONES)
def test_reading_gesture_text_size_and_a_stroke_on_the_same_content(live_pages, demo, size):
    desk = live_pages(demo.url + "&name=Alice", **DESKTOP)
    phone = live_pages(demo.url + "&name=Bob", **PHONES[size])
    cell = phone.evaluate("window.jupyterspot.layout.cells()[2].id.replace('cell-id=', '')")
    before = min(phone.evaluate(TEXT_PX, cell))
    assert before < 12, f"text already {before:.2f} px before the gesture"

    box = read_cell(phone, cell)
    sizes = phone.evaluate(TEXT_PX, cell)
    assert min(sizes) >= 12, f"text {min(sizes):.2f} px after the reading gesture ({size})"
    code = phone.evaluate("window.jupyterspot.layout.cells()[1].id.replace('cell-id=', '')")
    code_px = min(phone.evaluate(TEXT_PX, code))
    assert code_px >= 12, f"code {code_px:.2f} px after the reading gesture ({size})"
    # The fixed bars keep their size and place: the palette is still the screen's width.
    width = phone.viewport_size["width"]
    assert phone.get_by_test_id("toolbar").bounding_box()["width"] <= width + 1

    # Pen, then one finger across the visible part of the cell.
    phone.get_by_test_id("tool-pen").tap()
    phone.wait_for_function(
        "document.querySelector('[data-testid=\"tool-pen\"]').getAttribute('aria-pressed')"
        " === 'true'"
    )
    left, right = max(box["left"], 0) + 30, min(box["right"], width) - 30
    y = box["top"] + box["height"] * 0.55
    n = 20
    points = [
        (left + (right - left) * i / (n - 1), y + (10 if i % 4 < 2 else -10)) for i in range(n)
    ]
    touch_drag(phone, points)
    shape = wait_for(
        lambda: phone.evaluate(
            "() => window.jupyterspot.board.shapes().filter((s) => s.t === 'pen').pop()"
        ),
        5,
        "the phone's stroke",
    )
    assert shape["cell"] == cell, "the stroke is anchored to another cell"
    sel = f'[data-shape-id="{shape["id"]}"]'
    desk.wait_for_function("s => !!document.querySelector(s)", arg=sel, timeout=5000)
    # The finger's path, relative to the cell (the stroke's box is that plus its width).
    drawn = [
        (left - box["left"]) / box["width"],
        (y - 10 - box["top"]) / box["height"],
        (right - box["left"]) / box["width"],
        (y + 10 - box["top"]) / box["height"],
    ]
    on_phone = phone.evaluate(REL_BOX, [sel, cell])
    on_desk = wait_for(
        lambda: (
            (b := desk.evaluate(REL_BOX, [sel, cell]))
            and all(abs(u - v) <= TOL for u, v in zip(b, on_phone, strict=True))
            and b
        ),
        5,
        f"the desktop's box of the stroke agrees with the phone's {on_phone}",
    )
    for u, v in zip(on_desk, drawn, strict=True):
        assert abs(u - v) <= TOL, f"1400 px page {on_desk} vs finger path {drawn}"
    print(
        f"{size}: text {min(sizes):.2f} px, code {code_px:.2f} px (was {before:.2f});"
        f" stroke on 1400 px {on_desk}, finger {drawn}"
    )


def test_a_page_reading_zoomed_in_still_follows_the_leader(live_pages, demo):
    alice = live_pages(demo.url + "&name=Alice", **DESKTOP)
    bob = live_pages(demo.url + "&name=Bob", **PHONE)
    cell = bob.evaluate("window.jupyterspot.layout.cells()[2].id.replace('cell-id=', '')")
    read_cell(bob, cell)
    alice.get_by_test_id("take-lead").click()
    bob.wait_for_function("window.jupyterspot.follow.state().following !== null", timeout=5000)
    target = alice.evaluate(
        "() => { const l = window.jupyterspot.layout; const id = l.cells()[5].id"
        ".replace('cell-id=', ''); l.scrollToCell(id, 20); return l.topVisible(); }"
    )

    def aligned() -> object:
        t = bob.evaluate("window.jupyterspot.layout.topVisible()")
        return (t["cell"] == target["cell"] and abs(t["offset"] - target["offset"]) <= 3) or t

    wait_for(
        lambda: aligned() is True, 5, f"Bob, zoomed in to read, shows Alice's top cell {target}"
    )
    assert bob.evaluate("window.jupyterspot.layout.reading"), "following undid the reading zoom"
    assert bob.evaluate("window.jupyterspot.follow.state().following") is not None
