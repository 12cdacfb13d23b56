"""Outputs written for other front-ends draw from the share's own libraries, in a Chromium that
reaches nothing but loopback (issue 13): the MathJax 2 API (MathJax.Hub.Config threw under the
page's MathJax 3 and stopped the output's script), the classic notebook's require.js pattern
(require.config paths to cdn.plot.ly, then require(["plotly"])), a heading whose id is a
library's global name ("## Plotly" is window.Plotly by the window's named access), and an output
the kernel streams live (issue 12) that loads Plotly from its CDN.

Each fails without the feature: the CDN URLs stay and resolve to nothing (the figure stays
empty), `MathJax.Hub` is undefined (TypeError), and window.Plotly is the heading element.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from jupyterspot_magic.session import registry

from .conftest import DESKTOP, save_notebook
from .kernel import Kernel
from .live_helpers import code, lab_meta, nb45, run_as, share_command, share_info, write_nb

pytestmark = pytest.mark.timeout(240)
DRAW_TIMEOUT = 30_000  # ms

# The element by id, as MathJax 2 took it; the callback after it runs once typesetting is done
MATHJAX2 = """<div class="mj2" id="mj2-box">$$\\int_0^1 x^2\\,dx$$</div>
<script>
MathJax.Hub.Config({tex2jax: {inlineMath: [["$", "$"]]}});
MathJax.Hub.Queue(["Typeset", MathJax.Hub, "mj2-box"], function () {
  window.__mj2_after = !!document.querySelector("#mj2-box mjx-container");
});
window.__mj2 = "ran";
</script>"""
# The classic notebook's Plotly (plotly.py's old notebook_connected renderer): require.js paths
REQUIRE_PLOTLY = """<div id="req-plot" style="height:300px"></div>
<script>
require.config({paths: {plotly: "https://cdn.plot.ly/plotly-latest.min"}});
require(["plotly"], function (Plotly) { Plotly.newPlot("req-plot", [{y: [1, 3, 2]}]); });
</script>"""
# include_plotlyjs="cdn": a script tag with integrity, then the global
TAG_PLOTLY = """<div id="{id}" style="height:300px"></div>
<script charset="utf-8" src="https://cdn.plot.ly/plotly-4.1.1.min.js"
 integrity="sha256-O24V1F27f8pb0glCkelh3cVHLNiHAJ5gCaVtq2aNch8=" crossorigin="anonymous"></script>
<script>Plotly.newPlot("{id}", [{{type: "bar", y: [2, 1, 3]}}]);</script>"""


def html_output(html: str) -> dict:
    return {"output_type": "display_data", "data": {"text/html": html}, "metadata": {}}


class Page:
    """A page in its own context, recording requests that leave the page's origin."""

    def __init__(self, browser: Any, url: str) -> None:
        self.context = browser.new_context(**DESKTOP)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.off_origin: list[str] = []
        origin = urlsplit(url).netloc
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def request(r: Any) -> None:
            parts = urlsplit(r.url)
            if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != origin:
                self.off_origin.append(r.url)

        self.context.on("request", request)
        self.page.goto(url)

    def wait(self, expression: str, what: str) -> None:
        try:
            self.page.wait_for_function(expression, timeout=DRAW_TIMEOUT)
        except Exception as e:  # say what did not draw, and why the page thinks so
            raise AssertionError(
                f"{what}: not drawn; errors {self.errors}, off-origin {self.off_origin}"
            ) from e

    def close(self) -> None:
        self.context.close()


def test_outputs_for_other_front_ends_draw_offline(offline_browser, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTERSPOT_CACHE_DIR", str(tmp_path / "cache"))
    cells = [
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": "## Plotly\n\nfigures below",
            "id": "h",
        },
        {**code("mj2", "mathjax2()"), "outputs": [html_output(MATHJAX2)]},
        {**code("req", "classic()"), "outputs": [html_output(REQUIRE_PLOTLY)]},
        {**code("tag", "cdn()"), "outputs": [html_output(TAG_PLOTLY.format(id="tag-plot"))]},
    ]
    path = tmp_path / "front_ends.ipynb"
    save_notebook(path, nb45(cells))
    share = registry.share(path, tunnel="none")
    page = Page(offline_browser, share.url)
    try:
        page.wait("window.__mj2 === 'ran'", "the MathJax 2 output's script")
        page.wait("window.__mj2_after === true", "MathJax 2 Queue: typeset, then the callback")
        page.wait("!!document.querySelector('#req-plot svg.main-svg')", "require(['plotly'])")
        page.wait("!!document.querySelector('#tag-plot svg.main-svg')", "Plotly by script tag")
        assert page.page.evaluate("!(window.Plotly instanceof Element)")
        assert not page.errors, page.errors
        assert not page.off_origin, page.off_origin
    finally:
        page.close()
        share.stop()


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Kernel]:
    k = Kernel(tmp_path)
    yield k
    k.shutdown()


def test_a_live_output_loads_its_library_from_the_share(kernel, offline_browser, tmp_path):
    """A cell run after the share started: its HTML (with a CDN script tag) reaches the page by
    the live path (content/live.py per-cell render), rewritten like a saved output."""
    path = write_nb(tmp_path / "live.ipynb", nb45([code("c1", "1 + 1"), code("c2", "")]))
    run_as(kernel, share_command(path), lab_meta("c1"))
    url = share_info(kernel)["url"]
    page = Page(offline_browser, url)
    try:
        page.page.wait_for_function("window.jupyterspot !== undefined", timeout=DRAW_TIMEOUT)
        src = (
            "from IPython.display import HTML, display\ndisplay(HTML("
            + json.dumps(TAG_PLOTLY.format(id="live-plot"))
            + "))"
        )
        result = run_as(kernel, src, lab_meta("c2"))
        assert result["error"] is None, result["error"]
        page.wait("!!document.querySelector('#live-plot svg.main-svg')", "the live Plotly output")
        assert not page.off_origin, page.off_origin
    finally:
        page.close()
        run_as(kernel, "%jupyterspot stop", {})
