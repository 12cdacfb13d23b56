"""Issue 13, "Must show": every corpus notebook (../shared/notebooks and generated/) is served,
and in a Chromium where no host but loopback resolves, each of its Plotly, Bokeh, Vega/Altair
and saved-widget outputs draws (an svg/canvas/widget node inside that very output, counted
against what the .ipynb holds) and the page requests nothing off-origin. The same for the
share's offline export opened from file://.

What is expected comes from the notebook file (tests/offline_outputs.py); what the page did from
the browser's events (tests/offline_browser.py). Off-origin requests the notebook itself names
as content (a remote markdown image, a video iframe, a Vega dataset URL) cannot be served by any
share: they are reported in the failure text and the report, not failed on. Scripts, styles and
fonts from elsewhere always fail: those are the libraries the share must serve.

JUPYTERSPOT_CORPUS_REPORT=<file> appends one JSON line per page checked (for the results table:
`python -m tests.offline_report <file>`).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyterspot_magic.session import registry as sharing

from .conftest import DESKTOP, corpus, require_corpus
from .offline_browser import (
    DRAWN_JS,
    Visit,
    expectations_js,
    only_file,
    same_origin,
)
from .offline_outputs import KINDS, Holdings, read

LOAD_TIMEOUT = 60_000  # ms: the page's load event (the 18 MB notebook's page included)
DRAW_TIMEOUT = 30_000  # ms: every expected output drawn, once loaded
QUIET_TIMEOUT = 30_000  # ms: then no request for 500 ms (else: what is still in flight)
ALL_DRAWN = "(exps) => (DRAWN)(exps).every((r) => r.drawn)".replace("DRAWN", DRAWN_JS)


@pytest.fixture(scope="module", autouse=True)
def render_cache(fresh_render_cache: None) -> None:
    """Renders go to a fresh cache dir: the pages tested are rendered by this code."""


@pytest.fixture(scope="module", params=corpus(), ids=lambda p: p.name)
def shared(request: pytest.FixtureRequest) -> Iterator[tuple[Path, Holdings, Any]]:
    """One notebook shared (no tunnel, no board store) for both of its tests, with what it
    holds."""
    require_corpus()
    path: Path = request.param
    share = sharing.share(path, tunnel="none", store=False)
    try:
        yield path, read(path), share
    finally:
        share.stop()


def test_the_browser_reaches_nothing_but_loopback(offline_browser: Any, tmp_path: Path) -> None:
    """The harness itself, on a page served from loopback: loopback works; a CDN script fails to
    resolve and is reported as a library fetched off-origin; a remote image the notebook names
    counts as content; a missing script of the page's own is a failed library load."""
    (tmp_path / "probe.html").write_text(
        '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>'
        '<img src="https://example.org/pic.png"><script src="missing.js"></script>'
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/probe.html"
    visit = Visit(allowed=same_origin(url), named={"https://example.org/pic.png"})
    context = offline_browser.new_context()
    try:
        page = context.new_page()
        visit.attach(context, page)
        assert page.goto(url).status == 200
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
        server.shutdown()
        server.server_close()
    bad, content = visit.off_origin()
    assert [r.url for r in bad] == ["https://cdn.jsdelivr.net/npm/vega@5"]
    assert [r.url for r in content] == ["https://example.org/pic.png"]
    assert any("ERR_NAME_NOT_RESOLVED" in why for _, why in visit.failed), visit.failed
    libs, other = visit.local_failures()
    assert len(libs) == 1 and "missing.js: HTTP 404" in libs[0] and other == [], (libs, other)


def test_served_page_draws_offline(shared: tuple[Path, Holdings, Any], offline_browser) -> None:
    """The guest page: served (200, one anchor per cell), every interactive output drawn,
    nothing requested off-origin, no uncaught error."""
    path, holdings, share = shared
    cell_ids = list(share.rendered.cell_ids)
    assert len(cell_ids) == holdings.cells, (len(cell_ids), holdings.cells)
    visit = Visit(allowed=same_origin(share.url), named=holdings.named)
    result = check_page(offline_browser, share.url, holdings, cell_ids, visit)
    assert result["status"] == 200 and result["anchors"] == holdings.cells, result
    report(path, "served", result)
    assert_clean(path.name, "served page", result)


def test_export_draws_offline(
    shared: tuple[Path, Holdings, Any], offline_browser, tmp_path: Path
) -> None:
    """The share's Export (host token) saved to disk and opened from file://: the same."""
    path, holdings, share = shared
    base = share.url.split("?")[0]
    with urllib.request.urlopen(f"{base}x/export?token={share.host_token}", timeout=120) as r:
        assert r.status == 200
        export = tmp_path / f"{path.stem}-export.html"
        export.write_bytes(r.read())
    url = export.as_uri()
    visit = Visit(allowed=only_file(url), named=holdings.named.beside(url))
    result = check_page(offline_browser, url, holdings, list(share.rendered.cell_ids), visit)
    report(path, "export", result)
    assert_clean(path.name, "export (file://)", result)


# ------------------------------------------------------------------ the page check


def check_page(browser: Any, url: str, holdings: Holdings, cell_ids: list[str], visit: Visit):
    """Open `url` in a fresh context; wait (bounded) for every expected output to draw and the
    network to go quiet; return what drew and what the page did."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    exps = expectations_js(holdings.expected, cell_ids)
    context = browser.new_context(**DESKTOP)
    started = time.monotonic()
    try:
        page = context.new_page()
        visit.attach(context, page)
        response = page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT)
        if exps:
            # what did not draw is said below, output by output
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_function(ALL_DRAWN, arg=exps, timeout=DRAW_TIMEOUT, polling=200)
        # late requests (a chart's data, a lazy library) are part of the page too
        try:
            page.wait_for_load_state("networkidle", timeout=QUIET_TIMEOUT)
            busy = []
        except PlaywrightTimeout:
            busy = visit.in_flight()  # [] when none is open: playwright's idle timer, under load
        states = page.evaluate(DRAWN_JS, exps) if exps else []
        anchors = page.evaluate("document.querySelectorAll('[id^=\"cell-id=\"]').length")
    finally:
        context.close()
    bad, content = visit.off_origin()
    failed_libs, failed_other = visit.local_failures()
    return {
        "status": response.status if response else None,
        "anchors": anchors,
        "seconds": round(time.monotonic() - started, 1),
        "counts": _counts(holdings, states),
        "not_drawn": [
            f"{e.kind} {e.where}{' root ' + e.root_id if e.root_id else ''}: {s['found']}"
            + (f" [its data: {', '.join(e.remote_data)}]" if e.remote_data else "")
            for e, s in zip(holdings.expected, states, strict=True)
            if not s["drawn"]
        ],
        "drawn_without_data": [
            f"vega {e.where}: data from {', '.join(e.remote_data)} (unreachable offline)"
            for e, s in zip(holdings.expected, states, strict=True)
            if s["drawn"] and e.remote_data
        ],
        "off_origin": sorted({str(r) for r in bad}),
        "network_busy": busy,
        "content_off_origin": sorted({str(r) for r in content}),
        "failed_local": sorted(set(failed_libs)),
        "failed_local_content": sorted(set(failed_other)),
        "page_errors": visit.page_errors,
        "console_errors": visit.console_errors[:20],
    }


def _counts(holdings: Holdings, states: list[dict]) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {}
    for kind in KINDS:
        want = holdings.count(kind)
        if want:
            got = sum(
                s["drawn"] for e, s in zip(holdings.expected, states, strict=True) if e.kind == kind
            )
            counts[kind] = [got, want]
    return counts


def assert_clean(name: str, what: str, result: dict) -> None:
    """Fail with every problem of the page at once, each precise."""
    lines: list[str] = []
    for key, title in (
        ("not_drawn", "not drawn"),
        ("off_origin", "requested off-origin"),
        ("failed_local", "the page's own scripts/styles/fonts failed to load"),
        ("network_busy", f"still in flight {QUIET_TIMEOUT // 1000} s after the page drew"),
        ("page_errors", "uncaught page errors"),
    ):
        if result[key]:
            lines.append(f"  {title} ({len(result[key])}):")
            lines += [f"    {x}" for x in result[key]]
    if lines:
        counts = ", ".join(f"{k} {d}/{w}" for k, (d, w) in result["counts"].items())
        extra = [
            f"  (content the notebook names, fetched off-origin: {result['content_off_origin']})"
        ]
        pytest.fail(
            f"{name}, {what}: drawn {counts or 'n/a'}\n" + "\n".join(lines + extra), pytrace=False
        )


def report(path: Path, mode: str, result: dict) -> None:
    out = os.environ.get("JUPYTERSPOT_CORPUS_REPORT")
    if out:
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps({"notebook": path.name, "mode": mode, **result}) + "\n")
