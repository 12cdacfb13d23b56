"""Magnify (issue 18): any participant enlarges one output on their own screen (zoom: wheel,
pinch, + / -, 0; pan: drag, arrows; Esc closes) and nobody else notices. Real Chromium pages:
three (desktop, desktop, phone in the reading zoom) on the demo notebook, where magnifying on one
page leaves the others' scroll, follow state and this page's published awareness unchanged, and
this page keeps following underneath; and one desktop page on Plotly and Bokeh figures, where
the real figure moves into the view and back: Plotly still answers hover, SVG stays vector, and
no cell moves by a pixel."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from jupyterspot_magic.session.registry import share

from .conftest import DEMO, DESKTOP, NOTEBOOKS, PHONE, wait_for
from .test_annotations import touch_drag
from .test_follow import aligned, cid, follow_state, leader_everywhere
from .test_phone import read_cell

BOKEH = NOTEBOOKS / "generated" / "gen_plotly_bokeh.ipynb"
ALTAIR = NOTEBOOKS / "generated" / "gen_altair_widgets.ipynb"  # an interval brush (Vega-Lite)

# Where every cell is (layout px) and how far the page scrolled: magnify must move none of it.
GEOMETRY = """() => ({
  y: Math.round(scrollY),
  height: document.documentElement.scrollHeight,
  cells: window.jupyterspot.layout.cells().map((c) => c.offsetTop),
})"""
STATE_OF = "id => JSON.stringify(window.jupyterspot.awareness.getStates().get(id))"
OUTPUT = "#cell-id\\={cell} .jp-OutputArea-output"


@pytest.fixture(scope="module")
def demo() -> Iterator:
    s = share(DEMO, tunnel="none")
    yield s
    s.stop()


def figures_page(browser, url: str, ready: str, **context_args):
    """A page of `url` in a context of its own, once the JS condition `ready` holds. Not
    live_pages: its goto waits 30 s for "load", which Plotly and BokehJS (~5 MB) can miss on a
    saturated machine. The caller closes `page.context`; a page that never got ready is closed
    here."""
    context = browser.new_context(**context_args)
    try:
        page = context.new_page()
        page.goto(url, wait_until="domcontentloaded", timeout=120_000)
        page.wait_for_function(ready, timeout=60_000)
    except BaseException:
        context.close()
        raise
    return page


def cell_of(page, index: int) -> str:
    return page.evaluate(f"window.jupyterspot.layout.cells()[{index}].id.replace('cell-id=', '')")


def lead_to(page, index: int, offset: int) -> dict:
    return page.evaluate(
        "([i, o]) => { const l = window.jupyterspot.layout;"
        " l.scrollToCell(l.cells()[i].id.replace('cell-id=', ''), o); return l.topVisible(); }",
        [index, offset],
    )


def magnify_state(page) -> dict:
    return page.evaluate("window.jupyterspot.magnify.state()")


def pinch(page, cx: float, cy: float, start: float, end: float, steps: int = 8) -> None:
    """Two fingers spreading apart around (cx, cy), real touch events."""
    cdp = page.context.new_cdp_session(page)

    def points(d: float) -> list[dict]:
        return [{"x": cx - d, "y": cy, "id": 1}, {"x": cx + d, "y": cy, "id": 2}]

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": points(start)})
    for i in range(1, steps + 1):
        d = start + (end - start) * i / steps
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": points(d)})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_magnify_on_one_page_changes_nothing_for_the_others(demo, live_pages):
    alice = live_pages(f"{demo.url}&name=Alice", **DESKTOP)
    bob = live_pages(f"{demo.url}&name=Bob", **DESKTOP)
    carol = live_pages(f"{demo.url}&name=Carol", **PHONE)
    everyone = [alice, bob, carol]
    read_cell(carol, cell_of(carol, 2))  # the phone reads zoomed in (reading.ts)
    alice.get_by_test_id("take-lead").click()
    leader_everywhere(everyone, cid(alice))
    image = cell_of(alice, 3)  # a matplotlib PNG
    target = lead_to(alice, 3, 10)
    for p in (bob, carol):
        wait_for(lambda p=p: aligned(p, target), 2, "followers on the image's cell")
    before = {p: (follow_state(p), p.evaluate(GEOMETRY)) for p in everyone}
    seen = {who: alice.evaluate(STATE_OF, cid(who)) for who in (bob, carol)}

    # The phone: a tap on the figure shows the button, a tap on it opens the view.
    out = carol.locator(OUTPUT.format(cell=image)).first
    box = out.bounding_box()
    out.tap(position={"x": min(box["width"], 390) / 2, "y": box["height"] / 2})
    carol.get_by_test_id("magnify").tap()
    view = carol.get_by_test_id("magnify-view")
    view.wait_for()
    assert view.locator("img").count() == 1, "the figure itself is in the view"
    g = carol.evaluate(GEOMETRY)
    assert g == before[carol][1], f"opening moved the page {g} {before[carol][1]}"
    fit = magnify_state(carol)
    carol.get_by_test_id("magnify-in").tap()
    # One tap, one step (magnify.ts STEP): the tap acts from touchend and no click doubles it.
    wait_for(lambda: magnify_state(carol)["zoom"] > 1.01, 2, "the tap zooms in")
    assert abs(magnify_state(carol)["zoom"] - 1.25) < 1e-6, magnify_state(carol)
    pinch(carol, 195, 420, 40, 120)
    zoomed = wait_for(lambda: (s := magnify_state(carol))["zoom"] > 2 and s, 2, "pinch zooms")
    touch_drag(carol, [(200, 500), (170, 470), (120, 420)])
    panned = magnify_state(carol)
    assert (panned["x"], panned["y"]) != (zoomed["x"], zoomed["y"]), "a drag pans"
    # Nothing of it reached anyone: Carol still follows, where she was; the others unmoved.
    assert follow_state(carol) == before[carol][0]
    assert carol.evaluate(GEOMETRY) == before[carol][1]
    for p in (alice, bob):
        assert p.evaluate(GEOMETRY) == before[p][1] and follow_state(p) == before[p][0]

    # Bob (desktop) magnifies the table with his mouse: wheel, keys, drag, Esc.
    table = cell_of(bob, 5)
    # Point at it where it is (a hover that scrolled the page would be Bob scrolling away).
    box = bob.locator(OUTPUT.format(cell=table)).first.bounding_box()
    assert box["y"] + 40 < 900, "the table is not in Bob's window"
    bob.mouse.move(box["x"] + 60, box["y"] + 20)
    bob.get_by_test_id("magnify").click()
    bob.get_by_test_id("magnify-view").wait_for()
    # His pointer was published up to the button, as always; from here on nothing is.
    wait_for(
        lambda: (b := alice.evaluate(STATE_OF, cid(bob))) == bob.evaluate(STATE_OF, cid(bob)) and b,
        2,
        "Alice has Bob's state as it is now",
    )
    seen[bob] = alice.evaluate(STATE_OF, cid(bob))
    assert bob.get_by_test_id("magnify-view").locator("table").count() >= 1
    bob.mouse.move(700, 450)
    bob.mouse.wheel(0, -400)
    wait_for(lambda: magnify_state(bob)["zoom"] > 1.5, 2, "the wheel zooms in")
    bob.keyboard.press("+")
    bob.keyboard.press("ArrowLeft")
    bob.mouse.move(200, 700)
    bob.mouse.down()
    bob.mouse.move(400, 600, steps=5)
    bob.mouse.up()
    bob.keyboard.press("0")
    assert abs(magnify_state(bob)["zoom"] - 1) < 1e-6, "0 fits again"
    assert follow_state(bob) == before[bob][0], "Bob's wheel and keys in the view broke away"

    # The leader moves on while both views are open: both pages still follow underneath.
    target = lead_to(alice, 8, 5)
    for p in (bob, carol):
        wait_for(lambda p=p: aligned(p, target), 2, "a magnifying page still follows")
    bob.keyboard.press("Escape")
    carol.get_by_test_id("magnify-close").tap()
    for p in (bob, carol):
        p.get_by_test_id("magnify-view").wait_for(state="hidden")
        assert follow_state(p) == before[p][0]
        assert p.evaluate(GEOMETRY)["cells"] == before[p][1]["cells"], "a cell moved"
        wait_for(lambda p=p: aligned(p, target), 2, "still on Alice's cell after closing")
    assert carol.locator(OUTPUT.format(cell=image) + " img").count() == 1, "the figure is back"
    assert carol.locator(".jupyterspot-magnify-placeholder").count() == 0
    assert carol.evaluate("window.jupyterspot.layout.reading"), "magnify undid the reading zoom"
    # What the others received of Bob and Carol: only what following already sent.
    for who in (bob, carol):
        now = alice.evaluate(STATE_OF, cid(who))
        assert json.loads(now) == json.loads(seen[who]), f"{now} != {seen[who]}"
    print(f"phone: fit {fit['zoom']:.2f}, pinch to {zoomed['zoom']:.2f}x")


SVG_SCALE = """() => {
  const s = document.querySelector('.jupyterspot-magnify .js-plotly-plot .main-svg');
  return s.getBoundingClientRect().width / s.width.baseVal.value; }"""
CANVASES = """() => { const out = []; const walk = (n) => { if (!n) return;
  if (n.tagName === 'CANVAS') { const r = n.getBoundingClientRect();
    out.push(n.width / (r.width * devicePixelRatio)); }
  if (n.shadowRoot) walk(n.shadowRoot); for (const c of n.children || []) walk(c); };
  walk(document.querySelector('.jupyterspot-magnify')); return out; }"""
POINTS = """() => [...document.querySelectorAll('.jupyterspot-magnify .js-plotly-plot .point')]
  .map((e) => e.getBoundingClientRect()).filter((r) => r.top > 80 && r.bottom < innerHeight - 20
    && r.left > 20 && r.right < innerWidth - 20)
  .map((r) => [r.x + r.width / 2, r.y + r.height / 2])"""


@pytest.mark.timeout(240)
def test_magnified_figures_are_the_real_ones_and_go_back(browser):
    s = share(BOKEH, tunnel="none")
    page = None
    try:
        page = figures_page(
            browser,
            f"{s.url}&name=Dana",
            "document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4"
            " && document.querySelectorAll('[data-root-id] .bk-Figure').length >= 3",
            **DESKTOP,
        )
        plot = page.locator(".jp-OutputArea-output:has(.js-plotly-plot)").first
        plot.scroll_into_view_if_needed()
        before = page.evaluate(GEOMETRY)
        figure = page.evaluate("() => document.querySelector('.js-plotly-plot').id")
        plot.hover()
        page.get_by_test_id("magnify").click()
        assert page.evaluate(GEOMETRY) == before, "opening moved the page"
        moved = page.locator(f'.jupyterspot-magnify [id="{figure}"]')
        assert moved.count() == 1, "the view does not hold the real figure"
        for _ in range(3):
            page.get_by_test_id("magnify-in").click()
        zoom = magnify_state(page)["zoom"]
        scale = page.evaluate(SVG_SCALE)
        # Vector: the SVG is laid out at its size and drawn at the view's scale (no bitmap).
        assert scale > 1.9, scale
        point = wait_for(lambda: page.evaluate(POINTS), 5, "a Plotly point in view")[0]
        page.mouse.move(point[0] - 2, point[1])
        page.mouse.move(*point)
        wait_for(
            lambda: page.locator(".jupyterspot-magnify .hoverlayer .hovertext").count() > 0,
            3,
            "Plotly's hover label in the magnified view",
        )
        page.keyboard.press("Escape")
        assert page.locator(f'[id="{figure}"]').evaluate("e => !e.closest('.jupyterspot-magnify')")
        assert page.evaluate(GEOMETRY) == before, "closing moved the page"

        # Bokeh: its canvases move too (pixels kept), and come back.
        bokeh = page.locator(".jp-OutputArea-output:has([data-root-id])").first
        bokeh.scroll_into_view_if_needed()
        before = page.evaluate(GEOMETRY)
        bokeh.hover()
        page.get_by_test_id("magnify").click()
        page.get_by_test_id("magnify-in").click()
        ratios = page.evaluate(CANVASES)
        assert ratios, "no Bokeh canvas in the view"
        page.keyboard.press("Escape")
        assert page.evaluate(GEOMETRY) == before
        assert page.locator(".jp-OutputArea-output [data-root-id] .bk-Figure").count() >= 3
        print(
            f"plotly: zoom {zoom:.2f}x of fit, SVG drawn at {scale:.2f}x its layout size, hover ok"
        )
    finally:
        if page is not None:
            page.context.close()
        s.stop()


OVERLAP = """() => { const b = document.querySelector('[data-testid=magnify]');
  if (b.hidden) return null; const r = b.getBoundingClientRect();
  return [...document.querySelectorAll('.modebar-btn')].map((t) => t.getBoundingClientRect())
    .filter((t) => t.width > 0 && t.left < r.right && t.right > r.left && t.top < r.bottom
      && t.bottom > r.top).length; }"""


@pytest.mark.timeout(240)
def test_the_magnify_button_covers_no_plotly_control(browser):
    s = share(BOKEH, tunnel="none")
    try:
        for width in (1400, 900):
            page = figures_page(
                browser,
                f"{s.url}&name=Eve",
                "document.querySelectorAll('.js-plotly-plot .modebar-btn').length >= 4",
                viewport={"width": width, "height": 900},
            )
            plots = page.locator(".jp-OutputArea-output:has(.js-plotly-plot)")
            assert plots.count() >= 2
            for i in range(plots.count()):
                plots.nth(i).scroll_into_view_if_needed()
                plots.nth(i).hover()
                hits = wait_for(
                    lambda p=page: (n := p.evaluate(OVERLAP)) is not None and [n], 3, "button shown"
                )[0]
                assert hits == 0, f"the button covers {hits} modebar button(s) at {width} px"
            page.context.close()
    finally:
        s.stop()


@pytest.mark.timeout(240)
def test_the_magnified_view_is_modal_and_lets_a_vega_brush_work(browser):
    s = share(ALTAIR, tunnel="none")
    page = None
    try:
        page = figures_page(
            browser,
            f"{s.url}&name=Fay",
            "window.jupyterspot && window.jupyterspot.connection.status.state === 'live'"
            " && document.querySelectorAll('.vega-embed canvas, .vega-embed svg').length >= 2",
            **DESKTOP,
        )
        page.evaluate(
            "() => { window.__seen = {move: 0, up: 0};"
            " addEventListener('pointermove', () => window.__seen.move++);"
            " addEventListener('pointerup', () => window.__seen.up++); }"
        )
        chart = page.locator(".vega-embed").nth(1)
        chart.scroll_into_view_if_needed()
        chart.hover()
        page.get_by_test_id("magnify").click()
        page.get_by_test_id("magnify-view").wait_for()
        y0 = page.evaluate("scrollY")
        cursor = page.evaluate(
            "JSON.stringify(window.jupyterspot.awareness.getLocalState().cursor)"
        )
        page.evaluate("() => { window.__seen = {move: 0, up: 0}; }")
        # A brush drag in the magnified chart: the window hears it (Vega listens there), the
        # page's published cursor does not move (presence ignores the view).
        box = page.locator(
            ".jupyterspot-magnify .vega-embed canvas, .jupyterspot-magnify .vega-embed svg"
        ).first.bounding_box()
        x0, y1 = box["x"] + 60, box["y"] + 60
        page.mouse.move(x0, y1)
        page.mouse.down()
        page.mouse.move(x0 + 80, y1 + 50, steps=8)
        page.mouse.up()
        seen = page.evaluate("window.__seen")
        assert seen["move"] >= 4 and seen["up"] == 1, seen
        now = page.evaluate("JSON.stringify(window.jupyterspot.awareness.getLocalState().cursor)")
        assert now == cursor, (now, cursor)

        # Modal: Tab stays inside, no key scrolls the page behind, F does not resume following.
        for _ in range(12):
            page.keyboard.press("Tab")
            assert page.evaluate(
                "document.querySelector('.jupyterspot-magnify').contains(document.activeElement)"
            ), "Tab left the dialog"
        for key in ("PageDown", "End", "Space", "f"):
            page.keyboard.press(key)
        assert page.evaluate("scrollY") == y0, "a key scrolled the page behind the view"
        # Esc closes it wherever the focus is (here: the page behind, after a click there).
        page.evaluate("document.body.focus(); document.activeElement.blur()")
        page.keyboard.press("PageDown")
        assert page.evaluate("scrollY") == y0, "PageDown with the focus outside scrolled the page"
        page.keyboard.press("Escape")
        page.get_by_test_id("magnify-view").wait_for(state="hidden")
    finally:
        if page is not None:
            page.context.close()
        s.stop()
