"""A Chromium that cannot reach anything but loopback, and what a page did in it.

`OFFLINE_ARGS`: every host name except 127.0.0.1 and localhost resolves to nothing
(`--host-resolver-rules`), so a CDN script fails the way it does on an air-gapped network. On
top of that a `Visit` records every request of the page, its frames and its workers (the
context's events), every failed load, every uncaught page error and console error, and sorts
off-origin requests into libraries (a failure) and content the notebook itself names (a remote
image, a video iframe, a Vega dataset URL: reported). `DRAWN_JS` says, per expected output,
whether it drew (tests/offline_outputs.py says what is expected).
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .offline_outputs import Expected

RESOLVER_RULES = "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost"
# swiftshader: Plotly's 3-D surface needs WebGL, which --disable-gpu otherwise leaves out
OFFLINE_ARGS = [f"--host-resolver-rules={RESOLVER_RULES}", "--enable-unsafe-swiftshader"]
LOCAL_SCHEMES = ("data:", "blob:", "about:")
# What an off-origin request may be and still count as the notebook's own content (when the
# notebook names that exact URL). Scripts, styles and fonts are libraries: never.
CONTENT_TYPES = {"image", "media", "document", "fetch", "xhr"}
LIBRARY_TYPES = {"script", "stylesheet", "font"}


@dataclass(frozen=True)
class Request:
    url: str
    kind: str  # playwright's resource_type
    frame: str  # the URL of the frame that made it ("" for workers)

    def __str__(self) -> str:
        where = f" (from frame {short(self.frame)})" if self.frame else ""
        return f"{self.kind} {short(self.url)}{where}"


def short(url: str, limit: int = 140) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Visit:
    """Everything one page (and its frames and workers) asked for and what went wrong."""

    allowed: Any  # (url) -> bool: same origin (served) or the file itself (export)
    named: Container[str]  # URLs the notebook names (tests/offline_outputs.py Named)
    requests: list[Request] = field(default_factory=list)
    failed: list[tuple[Request, str]] = field(default_factory=list)  # (request, reason)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    _main: Any = None  # the page's main frame: its requests say no frame
    _open: dict[int, str] = field(default_factory=dict)  # requests neither finished nor failed

    def attach(self, context: Any, page: Any) -> None:
        self._main = page.main_frame
        context.on("request", self._on_request)
        context.on("requestfailed", self._on_failed)
        context.on("requestfinished", lambda r: self._open.pop(id(r), None))
        context.on("response", self._on_response)
        page.on("pageerror", lambda e: self.page_errors.append(f"{e.name}: {e.message}"[:300]))
        page.on("console", self._on_console)

    def _request(self, r: Any) -> Request:
        try:
            frame = "" if r.frame == self._main else r.frame.url
        except Exception:  # a worker's or service worker's request has no frame
            frame = "(a worker)"
        return Request(r.url, r.resource_type, frame)

    def _on_request(self, r: Any) -> None:
        self.requests.append(self._request(r))
        self._open[id(r)] = r.url

    def in_flight(self) -> list[str]:
        return sorted(short(u) for u in self._open.values())

    def _on_failed(self, r: Any) -> None:
        self._open.pop(id(r), None)
        self.failed.append((self._request(r), str(r.failure)))

    def _on_response(self, r: Any) -> None:
        if r.status >= 400:
            self.failed.append((self._request(r.request), f"HTTP {r.status}"))

    def _on_console(self, m: Any) -> None:
        if m.type == "error":
            where = (m.location or {}).get("url", "")
            self.console_errors.append(f"{m.text[:300]} ({short(where, 100)})")

    def off_origin(self) -> tuple[list[Request], list[Request]]:
        """(libraries and anything else unnamed: failures, content the notebook names)."""
        bad: list[Request] = []
        content: list[Request] = []
        for r in self.requests:
            if r.url.startswith(LOCAL_SCHEMES) or self.allowed(r.url):
                continue
            named = r.kind in CONTENT_TYPES and r.url.split("#")[0] in self.named
            (content if named else bad).append(r)
        return bad, content

    def local_failures(self) -> tuple[list[str], list[str]]:
        """Failed loads of the page's own files: (libraries, i.e. scripts, styles and fonts the
        share should serve: failures; anything else, e.g. an image a notebook links relative to
        itself that is not beside it: reported)."""
        first: dict[Request, str] = {}  # a 404'd script also fails as ERR_ABORTED: say the 404
        for r, why in self.failed:
            first.setdefault(r, why)
        libs: list[str] = []
        other: list[str] = []
        for r, why in first.items():
            if self.allowed(r.url):
                (libs if r.kind in LIBRARY_TYPES else other).append(f"{r}: {why}")
        return libs, other


def same_origin(page_url: str) -> Any:
    home = origin(page_url)
    return lambda url: origin(url) == home


def only_file(file_url: str) -> Any:
    """For an export opened from file://: the file itself and nothing else on disk."""
    return lambda url: url.split("#")[0].split("?")[0] == file_url


def expectations_js(expected: Iterable[Expected], cell_ids: list[str]) -> list[dict]:
    return [
        {"kind": e.kind, "cell": cell_ids[e.cell], "out": e.output, "root": e.root_id}
        for e in expected
    ]


# One entry per expectation: {drawn, found}. `found` says what is there instead when not drawn
# (no such output, the fallback's text, a static image). Open shadow roots are searched too:
# BokehJS 3 draws inside them.
DRAWN_JS = """(exps) => {
  const deep = (root, sel) => {
    const out = [...root.querySelectorAll(sel)];
    const walk = (node) => {
      for (const el of node.querySelectorAll('*')) {
        if (!el.shadowRoot) continue;
        out.push(...el.shadowRoot.querySelectorAll(sel));
        walk(el.shadowRoot);
      }
    };
    walk(root);
    return out;
  };
  const sized = (els) => els.some((e) => { const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0; });
  const SELECTORS = {
    plotly: '.js-plotly-plot svg.main-svg',
    vega: '.vega-embed svg, .vega-embed canvas',
    bokeh: 'canvas',
    widget: '.jupyter-widgets [class*="widget-"]',
  };
  const outputOf = (e) => {
    const cell = document.getElementById('cell-id=' + e.cell);
    if (!cell) return [null, 'no cell ' + e.cell + ' in the page'];
    const area = cell.querySelector('.jp-OutputArea');
    const kids = area ? [...area.children].filter((k) => k.matches('.jp-OutputArea-child')) : [];
    if (e.out >= kids.length) return [null, `the cell shows ${kids.length} outputs`];
    return [kids[e.out], ''];
  };
  return exps.map((e) => {
    let el, why;
    if (e.kind === 'bokeh') {
      el = document.querySelector(`[data-root-id="${e.root}"]`);
      why = el ? '' : `no element with data-root-id=${e.root}`;
    } else {
      [el, why] = outputOf(e);
    }
    if (!el) return {drawn: false, found: why};
    if (sized(deep(el, SELECTORS[e.kind]))) return {drawn: true, found: ''};
    const imgs = deep(el, 'img, svg').length;
    const text = (el.innerText || '').replace(/\\s+/g, ' ').trim().slice(0, 120);
    const found = (imgs ? `${imgs} img/svg (static) ` : '') + `text: ${JSON.stringify(text)}`;
    return {drawn: false, found};
  });
}"""
