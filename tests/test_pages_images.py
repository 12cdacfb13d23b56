"""Large inline images served as separate, content-addressed resources (server/pages.py,
content/images.py, the `x/img` route in server/app.py), with a real server on loopback and real
headless Chromium:

- the image route's headers (type, nosniff, CSP, immutable caching, tag, 304) and what it refuses;
- an SVG opened directly runs no script;
- the viewer's cell geometry is the same on the page with cut-out images as on the page with the
  images inline: before the lazy images below the fold load, and after every image loaded;
- live updates: a new figure in a changed cell travels as a URL, the page shows it, and the store
  holds the images of two versions at most;
- the offline export keeps its images inline.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator

import pytest

from jupyterspot_magic.content import render as R
from jupyterspot_magic.content.live import LiveContent
from jupyterspot_magic.server.shared import SharedNotebook
from jupyterspot_magic.server.thread import ServerThread

from .conftest import DESKTOP, save_notebook, wait_for
from .pages_fixtures import GUEST, HOST, data_uri, get, gif, img, page, png, serve, svg

URL = re.compile(r'src="(x/img/([0-9a-f]{64})\.(png|jpg|gif|webp|svg))"')
VIEWER = "window.jupyterspot !== undefined"


@pytest.fixture(autouse=True)
def render_cache(tmp_path, monkeypatch) -> None:
    """Renders go to a fresh cache dir: the pages tested are rendered by this code."""
    monkeypatch.setenv("JUPYTERSPOT_CACHE_DIR", str(tmp_path / "render-cache"))


@pytest.fixture
def srv() -> Iterator[ServerThread]:
    server = ServerThread("127.0.0.1", 0).start()
    yield server
    server.stop()


def add_share(srv: ServerThread, room: str, rendered: R.RenderedNotebook) -> SharedNotebook:
    shared = SharedNotebook(room=room, token=GUEST, host_token=HOST, rendered=rendered)
    srv.call(srv.registry.register, shared)
    return shared


def page_text(srv: ServerThread, room: str = "room1") -> str:
    status, _, body = get(srv, f"/s/{room}/?token={GUEST}")
    assert status == 200, status
    return body.decode()


# ---------------------------------------------------------------- the route


def test_image_route_headers_and_what_it_refuses() -> None:
    data = png(120, 90)
    srv, shared = serve(page([img("image/png", data)]))
    try:
        html = page_text(srv)
        assert "base64" not in html
        (url, digest, ext), *_ = URL.findall(html)
        assert digest == hashlib.sha256(data).hexdigest() and ext == "png"
        assert 'width="120" height="90" loading="lazy" decoding="async"' in html

        status, h, body = get(srv, f"/s/room1/{url}")
        assert status == 200 and body == data
        assert h["content-type"] == "image/png"
        assert h["x-content-type-options"] == "nosniff"
        assert h["cache-control"] == "private, max-age=31536000, immutable"
        assert h["etag"] == f'"{digest}"'
        assert "script-src" not in h["content-security-policy"]  # default-src 'none' covers it
        assert "default-src 'none'" in h["content-security-policy"]
        assert "sandbox" in h["content-security-policy"]
        assert h["cross-origin-resource-policy"] == "same-origin"
        status, h304, body = get(srv, f"/s/room1/{url}", If_None_Match=f'W/"{digest}"')
        assert status == 304 and body == b"" and h304["etag"] == h["etag"]

        # Only names the page revealed, in the room that revealed them, while it is live.
        for bad in (
            f"/s/room1/x/img/{digest}.gif",
            f"/s/room1/x/img/{'0' * 64}.png",
            f"/s/room1/x/img/{digest}",
            f"/s/other/{url}",
            "/s/room1/x/img/..%2f..%2fpages.py",
        ):
            status, h, _ = get(srv, bad)
            assert status == 404 and h["cache-control"] == "no-store", bad
        srv.call(lambda: srv.registry.shares.pop("room1"))
        assert get(srv, f"/s/room1/{url}")[0] == 404
    finally:
        srv.stop()


def test_an_svg_opened_directly_runs_no_script(browser, tmp_path) -> None:
    srv, _ = serve(page([img("image/svg+xml", svg(80, 40, script=True))]))
    ctx = browser.new_context()
    try:
        # Control: the same SVG as a document of its own (a file) does run its script.
        path = tmp_path / "figure.svg"
        path.write_bytes(svg(80, 40, script=True))
        tab = ctx.new_page()
        tab.goto(path.as_uri())
        wait_for(lambda: tab.title() == "svg script ran", 5, "the control's script ran")

        (url, *_), *_ = URL.findall(page_text(srv))
        tab = ctx.new_page()
        asked: list[str] = []
        tab.on("request", lambda r: asked.append(r.url))
        tab.goto(f"http://127.0.0.1:{srv.port}/s/room1/{url}")
        tab.wait_for_load_state("load")
        assert tab.evaluate("document.documentElement.localName") == "svg"  # it did render
        assert tab.title() != "svg script ran"
        assert not any("ran-svg-script" in u for u in asked)
    finally:
        ctx.close()
        srv.stop()


# ---------------------------------------------------------------- layout


def encoded_by_chromium(browser, mime: str, width: int, height: int, seed: int) -> bytes:
    """A real JPEG or WebP of noise from Chromium's own encoder."""
    ctx = browser.new_context()
    try:
        url = ctx.new_page().evaluate(
            """([mime, w, h, seed]) => {
              const c = document.createElement('canvas'); c.width = w; c.height = h;
              const g = c.getContext('2d'); const d = g.createImageData(w, h);
              let x = seed * 2654435761 >>> 0;
              for (let i = 0; i < d.data.length; i++) {
                x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
                d.data[i] = (i % 4 === 3) ? 255 : x & 255;
              }
              g.putImageData(d, 0, 0);
              return c.toDataURL(mime, 0.9);
            }""",
            [mime, width, height, seed],
        )
    finally:
        ctx.close()
    assert url.startswith(f"data:{mime};base64,"), url[:40]
    return base64.b64decode(url.split(",", 1)[1])


def output(mime: str, data: bytes, metadata: dict | None = None) -> dict:
    return {
        "output_type": "display_data",
        "data": {mime: base64.b64encode(data).decode(), "text/plain": "<Figure>"},
        "metadata": metadata or {},
    }


def code(i: int, outputs: list[dict]) -> dict:
    return {
        "cell_type": "code",
        "id": f"code{i}",
        "metadata": {},
        "execution_count": i,
        "source": f"figure({i})",
        "outputs": outputs,
    }


def markdown(i: int, text: str) -> dict:
    return {"cell_type": "markdown", "id": f"md{i}", "metadata": {}, "source": text}


def image_notebook(browser) -> dict:
    """Every kind of image a page holds inline: nbconvert's PNG and JPEG outputs (one with a
    width from its metadata), GIF, WebP and SVG in markdown HTML, a styled image in an HTML
    output, an unsized SVG; tall enough that most of it is below the fold."""
    jpeg = encoded_by_chromium(browser, "image/jpeg", 640, 360, 1)
    webp = encoded_by_chromium(browser, "image/webp", 420, 260, 2)
    assert webp[8:12] == b"WEBP"
    sizes = [(700, 420), (500, 300), (1500, 500), (300, 640), (820, 410)]
    cells: list[dict] = [markdown(0, "# Figures\n\nSome text before the first figure.")]
    for i in range(20):
        w, h = sizes[i % len(sizes)]
        cells.append(code(i, [output("image/png", png(w, h, seed=i))]))
        if i % 5 == 1:
            cells.append(code(100 + i, [output("image/jpeg", jpeg)]))
        if i % 5 == 2:
            gif_tag = f'<img src="{data_uri("image/gif", gif(240, 120, seed=i))}" alt="gif">'
            webp_tag = f'<img alt="webp" src="{data_uri("image/webp", webp)}">'
            cells.append(markdown(i + 1, f"Some GIF:\n\n{gif_tag}\n\nand WebP: {webp_tag}"))
        if i % 5 == 3:
            svgs = (
                f'<img src="{data_uri("image/svg+xml", svg(300, 150))}"> and unsized: '
                f'<img src="{data_uri("image/svg+xml", svg(None, None))}">'
            )
            cells.append(markdown(i + 1, f"SVG: {svgs}"))
        if i % 5 == 4:
            styled = f'<p><img style="height:90px" src="{data_uri("image/png", png(400, 200))}">'
            cells.append(
                code(200 + i, [{**output("text/html", b""), "data": {"text/html": styled}}])
            )
            meta = {"image/png": {"width": 250}}
            cells.append(code(300 + i, [output("image/png", png(500, 250, seed=50 + i), meta)]))
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}


GEOMETRY = """() => {
  const L = window.jupyterspot.layout;
  const cells = [...L.cells()].map((c) => {
    const id = c.id.slice('cell-id='.length);
    const p = L.anchorToPage({ cell: id, x: 0, y: 0 });
    return [id, p.x, p.y, c.getBoundingClientRect().height];
  });
  const height = document.documentElement.scrollHeight;
  const probes = [];
  for (let y = 0; y < height; y += 97) {
    const a = L.pageToAnchor(300, y);
    probes.push(a && [a.cell, a.x, a.y]);
  }
  return { cells, probes, height };
}"""
ALL_LOADED = "[...document.images].every((i) => i.complete && i.naturalWidth > 0)"
FETCHED = """performance.getEntriesByType('resource').filter((e) => e.name.includes('/x/img/'))
  .length"""


def same_geometry(a: dict, b: dict) -> list:
    """Differences beyond 0.01 px between two GEOMETRY results (empty: the same layout)."""
    diffs: list = []
    if a["height"] != b["height"] or len(a["cells"]) != len(b["cells"]):
        diffs.append(("page", a["height"], b["height"], len(a["cells"]), len(b["cells"])))
    for x, y in zip(a["cells"], b["cells"], strict=False):
        if x[0] != y[0] or any(abs(p - q) > 0.01 for p, q in zip(x[1:], y[1:], strict=True)):
            diffs.append(("cell", x, y))
    for x, y in zip(a["probes"], b["probes"], strict=False):
        if (x is None) != (y is None) or (
            x and y and (x[0] != y[0] or abs(x[1] - y[1]) > 0.01 or abs(x[2] - y[2]) > 0.01)
        ):
            diffs.append(("probe", x, y))
    return diffs[:10]


def test_cut_images_leave_the_layout_as_it_was(browser, srv, tmp_path) -> None:
    nb = image_notebook(browser)
    path = tmp_path / "figures.ipynb"
    path.write_text(json.dumps(nb))
    rendered = R.render(path)
    inline = add_share(srv, "inline", rendered)
    inline.pages.min_image_bytes = None  # the page as before: every image inline
    add_share(srv, "cut", rendered)
    html = page_text(srv, "cut")
    assert "base64" not in html.split("</style>")[-1]  # every figure went out (CSS may keep some)
    assert len(set(URL.findall(html))) >= 20
    assert html.count('loading="lazy"') >= 20

    ctx = browser.new_context(**DESKTOP)
    try:
        tab = ctx.new_page()
        tab.goto(f"http://127.0.0.1:{srv.port}/s/inline/?token={GUEST}")
        tab.wait_for_function(VIEWER)
        tab.wait_for_function(ALL_LOADED, timeout=20000)
        expected = tab.evaluate(GEOMETRY)
        assert expected["height"] > 4 * DESKTOP["viewport"]["height"]  # mostly below the fold

        tab = ctx.new_page()
        tab.goto(f"http://127.0.0.1:{srv.port}/s/cut/?token={GUEST}")
        tab.wait_for_function(VIEWER)
        before = tab.evaluate(GEOMETRY)
        fetched = tab.evaluate(FETCHED)
        total = len(set(URL.findall(html)))
        assert fetched < total, "every image loaded already: nothing measured before loading"
        assert same_geometry(before, expected) == []

        tab.evaluate(
            "document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')"
        )
        tab.wait_for_function(ALL_LOADED, timeout=20000)
        assert tab.evaluate(FETCHED) == total
        assert same_geometry(tab.evaluate(GEOMETRY), expected) == []
    finally:
        ctx.close()


# ---------------------------------------------------------------- live updates and export


def test_live_update_cells_carry_image_urls_and_the_store_stays_bounded(
    browser, srv, tmp_path
) -> None:
    from jupyterspot_magic.session.rooms import update_content, write_control

    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [code(0, [output("image/png", png(300, 200, seed=0))]), markdown(1, "# End")],
    }
    path = tmp_path / "live.ipynb"
    save_notebook(path, nb)
    rendered = R.render(path)
    live = LiveContent("live")
    assert live.seed(path, rendered)
    shared = add_share(srv, "room1", rendered)
    shared.live = live.view()  # what the kernel sends the server (session/hosted.py)
    srv.call(write_control, shared, rendered)
    first = set(URL.findall(page_text(srv)))

    ctx = browser.new_context(**DESKTOP)
    try:
        tab = ctx.new_page()
        tab.goto(f"http://127.0.0.1:{srv.port}/s/room1/?token={GUEST}")
        tab.wait_for_function(VIEWER)
        names: list[set] = [{f"{d}.{e}" for _, d, e in first}]
        for version in range(1, 5):
            since = shared.rendered.content_hash
            figure = png(320, 180, seed=1000 + version)
            nb["cells"][0]["outputs"] = [output("image/png", figure)]
            save_notebook(path, nb)
            new = live.update(path)
            assert new is not None
            shared.live = live.view()
            srv.call(update_content, shared, new)

            status, _, body = get(srv, f"/s/room1/x/cells?token={GUEST}&since={since}")
            assert status == 200
            sent = [c for c in json.loads(body)["cells"] if c["html"] is not None]
            assert [c["id"] for c in sent] == ["code0"]
            digest = hashlib.sha256(figure).hexdigest()
            assert f'src="x/img/{digest}.png"' in sent[0]["html"]
            assert "base64" not in sent[0]["html"]
            assert get(srv, f"/s/room1/x/img/{digest}.png")[2] == figure

            # The open page swaps the cell in and shows the new figure from its URL.
            shown = f"""(() => {{ const i = document.querySelector('img[src$="{digest}.png"]');
              return !!i && i.complete && i.naturalWidth === 320; }})()"""
            tab.wait_for_function(shown, timeout=10000)

            page_text(srv)  # a newcomer's page: the store's generation is complete
            names.append({digest + ".png"})
            held = srv.call(shared.pages.images.names)
            assert held <= names[-1] | names[-2], (version, held)
    finally:
        ctx.close()


def test_the_offline_export_keeps_its_images_inline(srv, tmp_path) -> None:
    from jupyterspot_magic.server.export_route import Exporter

    data = png(200, 150, seed=7)
    path = tmp_path / "export.ipynb"
    path.write_text(
        json.dumps(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "metadata": {},
                "cells": [code(0, [output("image/png", data)])],
            }
        )
    )
    shared = add_share(srv, "room1", R.render(path))
    shared.exporter = Exporter(shared, str(path))
    assert URL.search(page_text(srv))  # the served page has cut it out...
    status, _, body = get(srv, f"/s/room1/x/export?token={GUEST}")
    assert status == 200
    exported = body.decode()
    assert data_uri("image/png", data) in exported  # ...the export has it inline
    assert "x/img/" not in exported
