"""Page load in headless Chromium: our share page vs nbconvert's plain HTML of the same notebook.

The peer is `HTMLExporter(template_name="lab")` output served by Python's http.server on
loopback; ours is the share's page (same nbconvert output plus the viewer, gzip, live rooms).
Medians of 3 loads in fresh browser contexts: DOMContentLoaded, load event, and for ours the time
until the viewer shows "live" (joined the room).

Usage: python bench/page_load.py [NOTEBOOK ...]
"""

from __future__ import annotations

import functools
import http.server
import statistics
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.isolated import isolate  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

CORPUS = REPO.parent / "shared" / "notebooks"
DEFAULT = [
    REPO / "examples" / "demo.ipynb",
    CORPUS / "norvig__pytudes__ipynb_Euler-Opus.ipynb",
    CORPUS / "generated" / "gen_big_images.ipynb",
]
LIVE_PROBE = """
new MutationObserver((_, obs) => {
  const el = document.querySelector('[data-testid="connection-status"][data-state="live"]');
  if (el) { window.__live = performance.now(); obs.disconnect(); }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""
TIMING = """() => { const n = performance.getEntriesByType('navigation')[0];
  return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd}; }"""


def plain_server(folder: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def load(browser, url: str, live: bool) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.add_init_script(LIVE_PROBE)
    page.goto(url, wait_until="load", timeout=120_000)
    result = page.evaluate(TIMING)
    if live:
        page.wait_for_function("window.__live !== undefined")
        result["live"] = page.evaluate("window.__live")
    context.close()
    return result


def main() -> None:
    import nbformat
    from nbconvert import HTMLExporter
    from playwright.sync_api import sync_playwright

    from jupyterspot_magic.session import registry as sharing

    isolate()  # temporary data and cache dirs: the user's render cache untouched
    notebooks = [Path(p) for p in sys.argv[1:]] or DEFAULT
    exporter = HTMLExporter(template_name="lab")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        server, port = plain_server(Path(tmp))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        print(
            f"{'notebook':28} {'MB':>5} | {'plain dcl':>9} {'load':>7} | {'ours dcl':>8} "
            f"{'load':>7} {'live':>7} | {'load ratio':>10}"
        )
        for nb in notebooks:
            html, _ = exporter.from_notebook_node(nbformat.read(nb, as_version=4))
            (Path(tmp) / "plain.html").write_text(html, encoding="utf-8")
            share = sharing.share(nb, tunnel="none", store="none")
            load(browser, share.url, live=True)  # warm: the server compresses the page once
            plain = [load(browser, f"http://127.0.0.1:{port}/plain.html", False) for _ in range(3)]
            ours = [load(browser, share.url, True) for _ in range(3)]
            share.stop()

            def med(runs, key):
                return statistics.median(r[key] for r in runs)

            print(
                f"{nb.name[:28]:28} {nb.stat().st_size / 1e6:5.1f} | {med(plain, 'dcl'):9.0f} "
                f"{med(plain, 'load'):7.0f} | {med(ours, 'dcl'):8.0f} {med(ours, 'load'):7.0f} "
                f"{med(ours, 'live'):7.0f} | {med(ours, 'load') / med(plain, 'load'):10.2f}"
            )
        browser.close()
        server.shutdown()


if __name__ == "__main__":
    main()
