"""What a notebook holds that must draw in a browser: its Plotly, Bokeh, Vega/Altair and
saved-widget outputs, read from the .ipynb itself (not from the rendered page), so a page that
drops or mangles an output is counted against what the file says.

Also the URLs the notebook names as content (a markdown image on a remote host, an iframe to a
video site, a Vega dataset URL): the only off-origin requests tests/test_corpus_offline.py
reports instead of failing on, because no share can serve another site's content.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import nbformat

KINDS = ("plotly", "bokeh", "vega", "widget")
PLOTLY_MIME = "application/vnd.plotly.v1+json"
BOKEH_EXEC_MIME = "application/vnd.bokehjs_exec.v0+json"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
VEGA_MIME = re.compile(r"^application/vnd\.vega(lite)?\.v[0-9.]+\+json$")
# A Plotly figure in HTML (not plotly's init-only "notebook_connected" output, which draws none)
PLOTLY_HTML = re.compile(r"Plotly\.newPlot\(|class=\"plotly-graph-div\"")
VEGA_HTML = re.compile(r"vegaEmbed\(")
SCRIPTED = re.compile(r"<script|<iframe", re.I)
BOKEH_ROOT = re.compile(r'data-root-id="([^"]+)"')
VEGA_DATA_URL = re.compile(r'"url":\s*"(https?://[^"]+)"')


@dataclass(frozen=True)
class Expected:
    """One output that must draw: its kind and where it is in the notebook (and page)."""

    kind: str
    cell: int  # index of the cell in the notebook (nbformat v4 order)
    output: int  # index of the output in that cell
    root_id: str = ""  # Bokeh: the root element's data-root-id (the drawing goes there)
    remote_data: tuple[str, ...] = ()  # Vega: data URLs on other hosts (cannot load offline)

    @property
    def where(self) -> str:
        return f"cell {self.cell} output {self.output}"


@dataclass
class Holdings:
    """A notebook's interactive outputs and the URLs it names as content."""

    expected: list[Expected] = field(default_factory=list)
    named: Named = field(default_factory=lambda: Named(set(), []))
    cells: int = 0
    loads_code: bool = False  # an output runs a script or frames a document (folium's map)

    def count(self, kind: str) -> int:
        return sum(e.kind == kind for e in self.expected)

    @property
    def interactive(self) -> bool:
        return bool(self.expected)

    @property
    def export_matters(self) -> bool:
        """The export inlines libraries for it: an interactive output or any scripted one."""
        return self.interactive or self.loads_code


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _widget_models(nb: Any) -> set[str]:
    """Model ids with saved state: the usual {"state": {...}} bundle or Colab's bare model map."""
    bundle = (nb.metadata.get("widgets") or {}).get(WIDGET_STATE_MIME)
    if not isinstance(bundle, dict):
        return set()
    state = bundle.get("state") if isinstance(bundle.get("state"), dict) else bundle
    return {k for k, v in state.items() if isinstance(v, dict)}


def _kind(data: dict, models: set[str]) -> str | None:
    view = data.get(WIDGET_VIEW_MIME)
    if isinstance(view, dict):
        return "widget" if view.get("model_id") in models else None
    page = _text(data.get("text/html", ""))
    if PLOTLY_MIME in data or PLOTLY_HTML.search(page):
        return "plotly"
    if any(VEGA_MIME.match(m) for m in data) or VEGA_HTML.search(page):
        return "vega"
    return None


def _outputs(nb: Any) -> Iterator[tuple[int, int, dict, dict]]:
    for i, cell in enumerate(nb.cells):
        for j, out in enumerate(cell.get("outputs") or ()):
            data = out.get("data")
            if isinstance(data, dict):
                yield i, j, data, out.get("metadata") or {}


def _bokeh_roots(data: dict, meta: dict) -> list[str]:
    """Bokeh roots drawn by this output: an exec output names its root in its metadata; an HTML
    embed (bokeh.embed.file_html / components) carries data-root-id with Bokeh's own script."""
    exec_meta = meta.get(BOKEH_EXEC_MIME)
    if BOKEH_EXEC_MIME in data and isinstance(exec_meta, dict) and exec_meta.get("id"):
        return [str(exec_meta["id"])]
    page = _text(data.get("text/html", ""))
    if "Bokeh.embed" in page or "embed_items" in page:
        return BOKEH_ROOT.findall(page)
    return []


def read(path: Path) -> Holdings:
    """The interactive outputs of the notebook at `path` and the URLs it names."""
    raw = path.read_text(encoding="utf-8")
    nb = nbformat.reads(raw, as_version=4)
    found = Holdings(cells=len(nb.cells))
    models = _widget_models(nb)
    for i, j, data, meta in _outputs(nb):
        page = _text(data.get("text/html", ""))
        found.loads_code |= "application/javascript" in data or bool(SCRIPTED.search(page))
        for root in _bokeh_roots(data, meta):
            found.expected.append(Expected("bokeh", i, j, root_id=root))
        kind = _kind(data, models)
        if kind:
            blob = _text(data.get("text/html", "")) + json.dumps(data)
            remote = tuple(sorted(set(VEGA_DATA_URL.findall(blob)))) if kind == "vega" else ()
            found.expected.append(Expected(kind, i, j, remote_data=remote))
    found.named = _named_urls(raw)
    return found


@dataclass(frozen=True)
class Named:
    """The URLs a notebook names: `url in named` is true for one written in its text (also
    HTML-unescaped, and inside base64 data: documents such as folium's map iframes) or one
    matching a URL template it holds (a map's tile URL `https://{s}.tile.../{z}/{x}/{y}.png`)."""

    exact: set[str]
    patterns: list[re.Pattern[str]]
    relative: frozenset[str] = frozenset()  # images and media it names relative to itself

    def beside(self, file_url: str) -> Named:
        """For an export opened from file://: the relative references resolve beside the file
        (a markdown image `images/x.png` is then file:///<dir>/images/x.png), content as well."""
        near = {urljoin(file_url, r) for r in self.relative}
        return Named(self.exact | near, self.patterns, self.relative)

    def __contains__(self, url: object) -> bool:
        if not isinstance(url, str):
            return False
        return url in self.exact or any(p.fullmatch(url) for p in self.patterns)

    def __len__(self) -> int:
        return len(self.exact)


URL = re.compile(r"https?://[^\s\"'<>)\\]+")
_MEDIA = r"[^\s\"'<>():?#]+\.(?:png|jpe?g|gif|svg|webp|ogg|ogv|oga|mp3|mp4|webm|wav)"
RELATIVE = re.compile(rf"(?:\b(?:src|href)=[\"']({_MEDIA})[\"']|!\[[^\]]*\]\(<?({_MEDIA})>?[\s)])")
DATA_DOC = re.compile(r"data:text/html;(?:charset=[\w-]+;)?base64,([A-Za-z0-9+/=]+)")
PLACEHOLDER = re.compile(r"\\\{[a-z]+\\\}")  # `{z}` as re.escape writes it


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


def _named_urls(raw: str) -> Named:
    text = "\n".join(_strings(json.loads(raw)))
    for payload in DATA_DOC.findall(text):
        with contextlib.suppress(ValueError):
            text += "\n" + base64.b64decode(payload).decode("utf-8", "replace")
    urls = set(URL.findall(text))
    urls |= {html.unescape(u) for u in urls}
    templates = [u for u in urls if "{" in u]
    patterns = [re.compile(PLACEHOLDER.sub("[^/]+", re.escape(u))) for u in templates]
    relative = frozenset(a or b for a, b in RELATIVE.findall(text))
    return Named(urls, patterns, relative)
