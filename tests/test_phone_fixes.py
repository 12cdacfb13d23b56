"""The review of issue 16's phone and panel work, each finding in real headless Chromium on a real
share: the view-only notice keeps "more" on a 360 px screen; a two-finger sideways pan with a
drawing tool in reading zoom; the "more" menu shows the active tool, closes on Esc and keeps
the keyboard's focus; a double tap on an input or an interactive output is the output's own; a
drawing in a wide screen's margin stays reachable at 980 px; the "Aa" button reads without the
gesture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jupyterspot_magic.session.registry import share

from .conftest import DEMO, PHONE, wait_for
from .test_phone import ON_SCREEN, cell_box, double_tap, read_cell

P360 = {**PHONE, "viewport": {"width": 360, "height": 740}}
MENU_OPEN = "() => !document.querySelector('[data-testid=tool-more-menu]').hidden"
FOCUSED = "() => document.activeElement && document.activeElement.dataset.testid"


@pytest.fixture(scope="module")
def demo() -> Iterator:
    s = share(DEMO, tunnel="none", store=False)
    yield s
    s.stop()


def cells(page) -> list[str]:
    return page.evaluate("window.jupyterspot.layout.cells().map(c => c.id.replace('cell-id=', ''))")


def test_view_only_notice_keeps_more_on_screen(live_pages, demo):
    """The notice came after the bar was fitted and pushed "more" off a 360 px screen."""
    page = live_pages(demo.url + "&name=Bob", **P360)
    try:
        demo.view_only = True
        page.wait_for_function(
            "document.querySelector('[data-testid=toolbar]').hasAttribute('data-view-only')"
        )
        bar = page.evaluate(
            "() => { const t = document.querySelector('[data-testid=toolbar]');"
            " return [t.scrollWidth, t.clientWidth]; }"
        )
        assert bar[0] <= bar[1] + 1, f"the bar scrolls sideways: {bar}"
        assert page.evaluate(ON_SCREEN, "tool-more"), "'more' is off the screen"
    finally:
        demo.view_only = False


def two_finger_pan(page, dx: float, dy: float, x: float = 300, y: float = 400) -> None:
    """Two fingers moving together (real touch events through the DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)

    def points(k: float) -> list[dict]:
        return [
            {"x": x + dx * k, "y": y + dy * k, "id": 1},
            {"x": x + 40 + dx * k, "y": y + 40 + dy * k, "id": 2},
        ]

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": points(0)})
    for i in range(1, 11):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": points(i / 10)})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_two_finger_sideways_pan_with_a_tool_in_reading_zoom(live_pages, demo):
    """The pan used window.scrollBy; the reading zoom's sideways scroll is <body>'s."""
    page = live_pages(demo.url + "&name=Bob", **PHONE)
    read_cell(page, cells(page)[2])
    page.get_by_test_id("tool-pen").tap()
    drawn = page.evaluate("window.jupyterspot.board.shapes().length")
    before = page.evaluate("[document.body.scrollLeft, scrollY]")
    two_finger_pan(page, -200, 0)
    wait_for(
        lambda: page.evaluate("document.body.scrollLeft") >= before[0] + 150,
        what=f"a sideways pan (from {before})",
    )
    two_finger_pan(page, 0, -200)
    wait_for(lambda: page.evaluate("scrollY") >= before[1] + 150, what="a vertical pan")
    assert page.evaluate("window.jupyterspot.board.shapes().length") == drawn, "the pan drew"


def test_more_menu_shows_the_active_tool_and_keeps_focus(live_pages, demo):
    page = live_pages(demo.url + "&name=Bob", **P360)
    more = page.get_by_test_id("tool-more")
    in_menu = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=tool-more-menu] [aria-pressed]')]"
        ".map((e) => e.dataset.testid)"
    )
    assert "tool-laser" in in_menu, in_menu
    more.tap()
    page.get_by_test_id("tool-laser").tap()
    page.get_by_test_id("tool-more-menu").wait_for(state="hidden")
    assert more.get_attribute("aria-pressed") == "true", "'more' hides the active tool"
    assert "Laser" in (more.get_attribute("title") or "")
    # The keyboard: Enter opens, a choice closes and the focus stays on "more", Esc closes.
    more.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(MENU_OPEN)
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED).startswith("tool-"), page.evaluate(FOCUSED)
    page.keyboard.press("Enter")
    page.wait_for_function(f"!({MENU_OPEN})()")
    assert page.evaluate(FOCUSED) == "tool-more", "the focus fell to the top of the page"
    page.keyboard.press("Enter")
    page.wait_for_function(MENU_OPEN)
    page.keyboard.press("Escape")
    page.wait_for_function(f"!({MENU_OPEN})()")
    assert page.evaluate(FOCUSED) == "tool-more"


# An input and a Plotly-like output put into a cell, as a notebook's outputs have them.
PLANT = """(cell) => {
  const c = document.getElementById('cell-id=' + cell);
  const input = document.createElement('input');
  input.id = 'planted-input';
  input.style.cssText = 'display:block;width:600px;height:60px;font-size:16px';
  const plot = document.createElement('div');
  plot.className = 'js-plotly-plot';
  plot.innerHTML = '<div id="planted-plot" style="width:600px;height:200px"></div>';
  c.prepend(input, plot);
  window.scrollTo(0, c.getBoundingClientRect().top + scrollY - 120);
}"""


def centre(page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    return box["x"] + min(box["width"], 200) / 2, box["y"] + box["height"] / 2


def test_a_double_tap_on_inputs_and_interactive_outputs_is_theirs(live_pages, demo):
    page = live_pages(demo.url + "&name=Bob", **PHONE)
    page.evaluate(PLANT, cells(page)[2])
    for selector in ("#planted-input", "#planted-plot"):
        double_tap(page, *centre(page, selector))
        page.evaluate("() => new Promise((r) => requestAnimationFrame(r))")
        assert not page.evaluate("window.jupyterspot.layout.reading"), selector
    read_cell(page, cells(page)[2])  # text still takes the gesture


def test_a_drawing_in_the_margin_is_reachable_when_shrunk(live_pages, demo):
    """A stroke right of the notebook (x ~1040 reference px) drawn at 1600 px was clipped away
    below ~1036 px (the shrunk root clipped its sides): at 980 px the page pans to it."""
    wide = live_pages(demo.url + "&name=Alice", viewport={"width": 1600, "height": 900})
    small = live_pages(demo.url + "&name=Bob", viewport={"width": 980, "height": 800})
    cell = cells(wide)[0]
    wide.get_by_test_id("tool-pen").click()
    box = cell_box(wide, cell)
    x0, y0 = box["right"] + 40, box["top"] + 40
    wide.mouse.move(x0, y0)
    wide.mouse.down()
    for i in range(1, 15):
        wide.mouse.move(x0 + 6 * i, y0 + (6 if i % 2 else -6))
    wide.mouse.up()
    shape = wide.evaluate("() => window.jupyterspot.board.shapes().pop()")
    selector = f'[data-shape-id="{shape["id"]}"]'
    small.wait_for_function("s => !!document.querySelector(s)", arg=selector)
    # Pan the page as far right as it goes: the stroke is then on the screen, not clipped.
    small.evaluate("() => { document.body.scrollLeft = 1e6; window.scrollTo(1e6, scrollY); }")
    # On the screen, and no box it is in clips it (pointer-events: none, so no hit test).
    seen = small.evaluate(
        """(s) => { const el = document.querySelector(s); const r = el.getBoundingClientRect();
        const x = (r.left + r.right) / 2, y = (r.top + r.bottom) / 2;
        const clips = [];
        for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) {
          const cs = getComputedStyle(e), b = e.getBoundingClientRect();
          const out = x < b.left || x > b.right;
          if (cs.overflowX !== 'visible' && out) clips.push(e.id || e.className);
        }
        return {x, y, innerWidth, hit: x > 0 && x < innerWidth && y > 0 && y < innerHeight
                && clips.length === 0, clips}; }""",
        selector,
    )
    assert seen["hit"], f"the margin stroke is not on the screen at 980 px: {seen}"
    assert small.evaluate("document.documentElement.scrollWidth") <= 980, "the document widened"


def test_the_read_button_toggles_the_reading_zoom(live_pages, demo):
    """No touch, no gesture: the "Aa" button reads the cell at the top of the screen; on a touch
    screen it says how to double-tap, once."""
    page = live_pages(demo.url + "&name=Bob", viewport={"width": 420, "height": 800})
    button = page.get_by_test_id("read-zoom")
    top = cells(page)[2]
    page.evaluate(
        "c => window.scrollTo(0, document.getElementById('cell-id=' + c)"
        ".getBoundingClientRect().top + scrollY - 60)",
        top,
    )
    button.click()
    page.wait_for_function("window.jupyterspot.layout.reading")
    assert button.get_attribute("aria-pressed") == "true"
    box = cell_box(page, top)
    assert box["top"] < 800 and box["bottom"] > 60, f"the cell read is not on the screen: {box}"
    button.click()
    page.wait_for_function("!window.jupyterspot.layout.reading")
    wide = live_pages(demo.url + "&name=Bob", viewport={"width": 1400, "height": 800})
    assert wide.get_by_test_id("read-zoom").is_hidden(), "at full size the zoom adds nothing"
    phone = live_pages(demo.url + "&name=Bob", **PHONE)
    hint = phone.locator(".jupyterspot-read-hint")
    assert hint.is_visible()
    read_cell(phone, cells(phone)[2])
    hint.wait_for(state="hidden")
    phone.reload()
    phone.wait_for_function("window.jupyterspot.connection.status.state === 'live'")
    assert phone.locator(".jupyterspot-read-hint").is_hidden(), "the hint came back"
