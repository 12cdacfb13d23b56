"""The viewer's panels never cover the notebook (issue 16 item 2): in real Chromium windows from
360 to 1920 px wide on a real share, no visible fixed or absolute panel (top bar, palette,
pills, lists, the name prompt) overlaps any cell's box after load; the name prompt is in the
page's flow above the notebook, not over it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jupyterspot_magic.session.registry import share

from .conftest import DEMO, PHONE

# Every visible element of the viewer's chrome placed out of the flow (fixed or absolute, outside
# the notebook root), against every rendered cell: the overlap area in CSS px, worst first.
OVERLAPS = """() => {
  const root = document.getElementById('jupyterspot-root');
  const panels = [...document.body.querySelectorAll('body > *, body > * *')].filter((el) => {
    if (root.contains(el) || el.closest('.jupyterspot-board-input')) return false;
    const cs = getComputedStyle(el);
    if (cs.position !== 'fixed' && cs.position !== 'absolute') return false;
    if (cs.visibility === 'hidden' || cs.display === 'none') return false;
    if (Number(cs.opacity) === 0) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  });
  const cells = [...root.querySelectorAll('.jp-Cell')].filter((c) => c.getClientRects().length);
  const out = [];
  for (const p of panels) {
    const a = p.getBoundingClientRect();
    for (const c of cells) {
      const b = c.getBoundingClientRect();
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 0.5 && h > 0.5) {
        out.push({panel: (p.dataset.testid || p.className || p.tagName).toString(),
                  cell: c.id, w: Math.round(w), h: Math.round(h)});
      }
    }
  }
  return out.sort((x, y) => y.w * y.h - x.w * x.h);
}"""

SIZES = [(1200, 800), (1400, 900)]
# Every width, phones to wide screens: the vertical palette covered the left 34 px of every cell
# from 720 to 1104 px (review of issue 16).
WIDTHS = [360, 390, 720, 768, 900, 1000, 1100, 1200, 1400, 1600, 1920]
# The bottom bar stays over the page's bottom edge: the page must scroll far enough that the
# last cell comes out above it.
BELOW_LAST_CELL = """() => {
  window.scrollTo(0, document.documentElement.scrollHeight);
  const bar = document.querySelector('[data-testid=toolbar]').getBoundingClientRect();
  const cells = [...document.querySelectorAll('#jupyterspot-root .jp-Cell')];
  return {bar: bar.top, last: cells[cells.length - 1].getBoundingClientRect().bottom};
}"""


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    s = share(DEMO, tunnel="none")
    yield s.url
    s.stop()


def context_for(width: int) -> dict:
    if width < 500:
        return {**PHONE, "viewport": {"width": width, "height": 740 if width == 360 else 844}}
    return {"viewport": {"width": width, "height": 800}}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("named", [True, False], ids=["named", "name-prompt"])
def test_no_panel_covers_a_cell_at_any_width(browser, demo_url, width, named):
    """The top bar, the palette and every other panel clear every cell after load; where the
    palette is the bottom bar, the page scrolls the last cell out from under it."""
    page = open_page(browser, demo_url + ("&name=Alice" if named else ""), **context_for(width))
    try:
        if not named:
            page.get_by_test_id("name-dialog").wait_for()
        bottom = page.evaluate(
            "() => document.querySelector('[data-testid=toolbar]')"
            ".classList.contains('jupyterspot-toolbar-bottom')"
        )
        overlaps = page.evaluate(OVERLAPS)
        if bottom:  # over the bottom edge, never over what cannot scroll out from under it
            overlaps = [o for o in overlaps if o["panel"] != "toolbar"]
            ends = page.evaluate(BELOW_LAST_CELL)
            assert ends["last"] <= ends["bar"], f"the last cell stays under the bar: {ends}"
        assert overlaps == [], f"panels over cells at {width} px: {overlaps[:6]}"
    finally:
        page.context.close()


def open_page(browser, url: str, **ctx):
    context = browser.new_context(**ctx)
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(
        "window.jupyterspot && window.jupyterspot.connection.status.state === 'live'"
        " && document.fonts.status === 'loaded'",
        timeout=20000,
    )
    # After load: the layout has settled (fonts, images) and the bar has placed itself.
    page.wait_for_load_state("load")
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return page


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("named", [True, False], ids=["named", "name-prompt"])
def test_no_panel_covers_a_cell_after_load(browser, demo_url, size, named):
    w, h = size
    url = demo_url + ("&name=Alice" if named else "")
    page = open_page(browser, url, viewport={"width": w, "height": h})
    try:
        if not named:
            page.get_by_test_id("name-dialog").wait_for()
        overlaps = page.evaluate(OVERLAPS)
        assert overlaps == [], f"panels over cells at {w}x{h}: {overlaps[:6]}"
        # The people list is shown where the margin has room for it, and a pill otherwise.
        margin = page.evaluate(
            "() => document.documentElement.clientWidth"
            " - document.getElementById('jupyterspot-root').getBoundingClientRect().right"
        )
        is_open = page.evaluate(
            "() => document.querySelector('[data-testid=topbar]').hasAttribute('data-open')"
        )
        print(f"{w}x{h} named={named}: right margin {margin:.0f} px, list open: {is_open}")
    finally:
        page.context.close()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_name_prompt_is_in_the_flow_above_the_notebook(browser, demo_url, size):
    w, h = size
    page = open_page(browser, demo_url, viewport={"width": w, "height": h})
    try:
        dialog = page.get_by_test_id("name-dialog")
        dialog.wait_for()
        box = dialog.bounding_box()
        first = page.locator("#jupyterspot-root .jp-Cell").first.bounding_box()
        assert box["y"] + box["height"] <= first["y"], (box, first)
        assert page.evaluate(
            "() => getComputedStyle(document.querySelector('[data-testid=name-dialog]')).position"
        ) in ("static", "relative")
        page.get_by_test_id("name-input").fill("Zoe")
        page.get_by_test_id("name-submit").click()
        dialog.wait_for(state="detached")
        page.locator('[data-testid="participants"]').get_by_text("Zoe").wait_for(state="attached")
    finally:
        page.context.close()


def test_phone_status_pill_does_not_cover_the_title(browser, demo_url):
    page = open_page(browser, demo_url + "&name=Bob", **PHONE)
    try:
        bar = page.get_by_test_id("topbar").bounding_box()
        title = page.locator("#jupyterspot-root h1").first.bounding_box()
        assert bar["y"] + bar["height"] <= title["y"], (bar, title)
        # The bottom palette is the one bar a phone keeps over the page's bottom edge: the page
        # scrolls further (viewer.css), so the last cell comes out above it; all else is clear.
        over = [o for o in page.evaluate(OVERLAPS) if o["panel"] != "toolbar"]
        assert over == [], over
        ends = page.evaluate(BELOW_LAST_CELL)
        assert ends["last"] <= ends["bar"], ends
    finally:
        page.context.close()
