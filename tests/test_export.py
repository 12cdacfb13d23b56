"""Export (issue 6, "Must show"): the standalone HTML opened in Chromium with the share's server
stopped and every network request refused shows the notebook and every shape, at the same place
on its cell as in the live page (`data-shape-id` count equals the board's); the board JSON; and
the page's own Export download (guest and host tokens, nothing for a wrong one)."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request

from .conftest import DEMO

LIVE = "window.jupyterspot && window.jupyterspot.connection.status.state === 'live'"
SHAPES = [
    "{t: 'rect', w: 80, h: 30}",
    "{t: 'ellipse', w: 50, h: 40}",
    "{t: 'arrow', w: 90, h: -20}",
    "{t: 'pen', pts: [0, 0, 20, 10, 40, 5, 60, 25]}",
    "{t: 'hl', pts: [0, 0, 120, 0], s: 14}",
    "{t: 'text', text: '<img src=x onerror=alert(1)>', s: 16}",
    "{t: 'note', w: 140, h: 60, text: 'a sticky note'}",
]
PLACE = """([id, cell]) => {
  const e = document.querySelector(`[data-shape-id="${id}"]`);
  const c = document.getElementById('cell-id=' + cell);
  if (!e || !c) return null;
  const a = e.getBoundingClientRect(), b = c.getBoundingClientRect(), k = c.offsetWidth / b.width;
  return [(a.left - b.left) * k, (a.top - b.top) * k, a.width * k, a.height * k];
}"""


def status(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, {}


def test_exported_html_opens_offline_with_every_shape(browser, tmp_path):
    from jupyterspot_magic.session import registry as sharing

    nb = tmp_path / "demo.ipynb"
    shutil.copy(DEMO, nb)
    s = sharing.share(nb, tunnel="none", store=False)
    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    try:
        page = ctx.new_page()
        page.goto(f"{s.url}&name=Eve")
        page.wait_for_function(LIVE, timeout=20000)
        cells = page.evaluate("[...document.querySelectorAll('.jp-Cell')].map(c => c.id.slice(8))")
        ids = page.evaluate(
            """([cells, kinds]) => { const ids = [];
              for (let i = 0; i < 14; i++) {
                const ci = i % cells.length;
                const shape = (0, eval)('(' + kinds[i % kinds.length] + ')');
                ids.push(window.jupyterspot.board.add({c: '#e03131', s: 3, ...shape,
                  cell: cells[ci], ci, x: 20 + i * 5, y: 10}));
              } return ids; }""",
            [cells, SHAPES],
        )
        page.evaluate(
            "() => { const r = window.jupyterspot.board.renderer; r.margin = 1e6; r.cull(); }"
        )
        live_places = {
            i: page.evaluate(PLACE, [i, cells[n % len(cells)]]) for n, i in enumerate(ids)
        }

        # The page's own Export (guests and hosts), never without a valid token.
        base = s.url.split("?")[0]
        code, headers = status(f"{base}x/export?token={s.token}")
        assert code == 200 and "attachment" in headers["content-disposition"]
        assert status(f"{base}x/export?token={s.host_token}")[0] == 200
        assert status(f"{base}x/export?token=nope")[0] == 403
        assert page.locator('[data-testid="export"]').get_attribute("href").startswith("x/export")

        html_path = s.export(tmp_path / "out" / "notes.html")
        board = json.loads(s.export(tmp_path / "out" / "board.json").read_text())
        assert board["count"] == 14 and set(board["shapes"]) == set(ids)
        assert all(len(v["pts"]) >= 4 for v in board["shapes"].values() if v["t"] == "pen")
        text = html_path.read_text()
        assert s.token not in text and s.host_token not in text
    finally:
        ctx.close()
        s.stop()

    # Offline: server gone, and anything but the file itself (and data: URLs) refused.
    offline = browser.new_context(viewport={"width": 1300, "height": 900})
    try:
        refused = []

        def only_the_file(route):
            url = route.request.url
            if url.startswith(("file:", "data:")):
                route.continue_()
            else:
                refused.append(url)
                route.abort()

        offline.route("**/*", only_the_file)
        page = offline.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html_path.as_uri())
        page.wait_for_function(
            "document.querySelectorAll('[data-shape-id]').length === 14", timeout=15000
        )
        assert page.locator("[data-shape-id]").count() == board["count"]
        assert page.locator(".jp-Cell").count() == len(cells)
        assert page.locator(".jp-Cell").first.inner_text().strip()  # the notebook shows
        assert page.locator(".jp-Cell img, .jp-Cell svg").count() > 0  # its figures too
        # The typed text stayed text.
        assert page.locator("img[src=x]").count() == 0
        for n, sid in enumerate(ids):
            got = page.evaluate(PLACE, [sid, cells[n % len(cells)]])
            want = live_places[sid]
            assert got and want
            assert max(abs(a - b) for a, b in zip(got, want, strict=True)) <= 1.0, (sid, got, want)
        assert not errors, errors
        assert page.evaluate("document.documentElement.hasAttribute('data-jupyterspot-offline')")
    finally:
        offline.close()
