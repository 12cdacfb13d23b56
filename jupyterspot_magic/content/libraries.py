"""The output libraries a page needs, served by the share itself: no output asks a CDN.

Notebook outputs load their JavaScript from public CDNs (Plotly from cdn.plot.ly, Altair's Vega
from jsdelivr, BokehJS from cdn.bokeh.org, the widget manager from unpkg, MathJax and require.js
from cdnjs, folium's Leaflet from jsdelivr): a participant on a network that blocks those sees
blank outputs. So:

- `rewrite(html)` turns every CDN URL of a library in `LIBRARIES` in an output's HTML or
  JavaScript (content/render.py: never code, markdown or printed text) into the relative URL
  ``./lib/<key>[@<version asked>][.js|.css][?query]``, served by the share at
  ``/s/{room}/lib/...`` (server/app.py). Relative, like the bundle's URLs, so it works behind any
  proxy prefix; ``./`` because an ES module's ``import "lib/x"`` would be a bare specifier.
  The extension and query are kept as the output wrote them: require.js appends ``.js`` to a
  path without one, and ``?noext`` (Altair) tells it not to. A rewritten ``<script>`` loses its
  ``integrity``: the file served may be another build of the library than the CDN's.
  folium's maps live in ``<iframe src="data:text/html;base64,...">``: a data: document has no
  base URL, so a map whose libraries were rewritten becomes ``srcdoc`` (sandboxed as the data:
  frame was: scripts, no same origin), whose relative URLs resolve against the page's.
- `find(name)` is what the share serves for ``lib/<name>``: the kernel's own copy when its
  version is the one asked (plotly and bokeh ship their JS), else the pinned copy shipped in the
  wheel (static/lib/, built by js/build.mjs from the versions pinned in package.json), else the
  kernel's other version, else a stub where one is harmless (bokeh-mathjax).
- A page loads a library only when it uses it: the URLs are only where outputs asked for them,
  require.js is loaded by the page's stub on the first require()/define() call, MathJax when the
  page has math (templates/jupyterspot/index.html.j2).
- `used(html)` lists the library files a page references; the offline export inlines those
  (content/inline.py `inline_libraries`).

Remote content that is not a library (images, videos, map tiles, a chart's dataset URL) is left as
the author wrote it.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html as htmlmod
import importlib.util
import json
import re
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ..base.paths import STATIC_DIR

__all__ = ["LIB_DIR", "LIBRARIES", "Found", "find", "rewrite", "used"]

LIB_DIR = STATIC_DIR / "lib"
MANIFEST = LIB_DIR / "manifest.json"  # js/build.mjs: {key: {"file": ..., "version": ...}}
PREFIX = "./lib/"
MAX_NAME = 160  # a library name with a version and a query is far shorter; more is a 404

JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
PNG = "image/png"

# The page's own loaders (templates/jupyterspot/index.html.j2) are called by these: a library
# that is part of the page already must not be loaded twice (MathJax), and require.js must come
# through the page's stub, which replays the calls made before it loaded.
TRIGGERS = {
    "mathjax": "window.jupyterspotMathJax&&window.jupyterspotMathJax();",
    "require": "window.jupyterspotRequire&&window.jupyterspotRequire();",
}
# LaTeX inside Bokeh plots needs bokeh-mathjax (1.8 MB, the largest Bokeh part): shipped only by
# the kernel's own bokeh. Without it the loader must still count the file as loaded, or it never
# runs the plots at all (its on_error does not count down).
BOKEH_MATHJAX_STUB = "/* bokeh-mathjax: not shipped; LaTeX in Bokeh plots needs bokeh */"


@dataclass(frozen=True)
class Library:
    key: str
    media: str
    kernel_package: str | None = None  # a Python package that ships this library's JS
    stub: str | None = None  # served when neither the kernel nor the wheel has it
    umd: bool = False  # registers with require.js when it sees one: served with AMD_GUARD


LIBRARIES: dict[str, Library] = {
    lib.key: lib
    for lib in (
        Library("require", JS, stub=TRIGGERS["require"]),
        Library("requirejs", JS),  # the real require.js, loaded by the page's stub only
        Library("mathjax", JS, stub=TRIGGERS["mathjax"]),
        Library("plotly", JS, "plotly", umd=True),
        Library("vega", JS, umd=True),
        Library("vega-lite", JS, umd=True),
        Library("vega-embed", JS, umd=True),
        Library("bokeh", JS, "bokeh"),
        Library("bokeh-widgets", JS, "bokeh"),
        Library("bokeh-tables", JS, "bokeh"),
        Library("bokeh-gl", JS, "bokeh"),
        Library("bokeh-api", JS, "bokeh"),
        Library("bokeh-mathjax", JS, "bokeh", stub=BOKEH_MATHJAX_STUB),
        Library("html-manager", JS),
        Library("leaflet", JS, umd=True),
        Library("leaflet-css", CSS),
    )
}

# A UMD library loaded by a script tag while require.js is on the page (the widget manager
# brought it, say) calls require's `define` anonymously instead of setting its global, which
# require.js rejects ("Mismatched anonymous define() module") and the output that loaded it
# finds no `vegaEmbed`. Which way it loads is a race between the two on a page with both. So
# the share serves such a library between these two lines: `define` is hidden while it runs,
# unless require.js itself loaded it (its script element names the module).
AMD_GUARD = (
    # a library before that threw never ran its tail: put its saved `define` back first
    "if(window.__jspAmd){window.define=window.__jspAmd;window.__jspAmd=null}"
    "window.__jspAmd=(function(){var d=window.define,s=document.currentScript;"
    "if(d&&d.amd&&!(s&&s.getAttribute&&s.getAttribute('data-requiremodule'))){"
    "window.define=undefined;return d}return null})();\n",
    "\n;if(window.__jspAmd){window.define=window.__jspAmd;window.__jspAmd=null}\n",
)

# ---------------------------------------------------------------- rewriting

# Starts with a literal, so the regex engine skips ahead to each "//" (an 18 MB page of base64
# images: 0.9 s with an optional "https?:" in front, a few ms like this); the scheme before it is
# taken off by `_swap_urls`.
_CDN = re.compile(
    r"//(?:cdn\.plot\.ly|cdn\.jsdelivr\.net|unpkg\.com|cdnjs\.cloudflare\.com"
    r"|cdn\.bokeh\.org)/[^\s\"'<>()\\&`]+"
)
_SCHEMES = ("https:", "http:")
_VERSION = r"(?P<v>[0-9A-Za-z.*^~x-]+?)"  # lazy: "4.1.1.min.js" asks 4.1.1
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"//cdn\.plot\.ly/plotly-{_VERSION}?(?:\.min)?(?P<ext>\.js)?$"), "plotly"),
    (
        re.compile(
            r"//cdn\.bokeh\.org/bokeh/(?:release|dev)/bokeh-"
            rf"(?:(?P<part>widgets|tables|gl|mathjax|api)-)?{_VERSION}?(?:\.min)?(?P<ext>\.js)$"
        ),
        "bokeh",
    ),
    (
        re.compile(
            rf"//cdnjs\.cloudflare\.com/ajax/libs/(?P<pkg>[\w.-]+)/{_VERSION}/(?P<file>[^?]+)$"
        ),
        "cdnjs",
    ),
    (
        re.compile(
            r"//(?:cdn\.jsdelivr\.net/npm|unpkg\.com)/(?P<pkg>@[\w.-]+/[\w.-]+|[\w.-]+)"
            rf"(?:@{_VERSION})?(?P<file>/[^?]*)?$"
        ),
        "npm",
    ),
]
# npm or cdnjs package -> our key, and which of its files are the library (None: the main file)
_PACKAGES: dict[str, str] = {
    "plotly.js": "plotly",
    "plotly.js-dist": "plotly",
    "plotly.js-dist-min": "plotly",
    "vega": "vega",
    "vega-lib": "vega",
    "vega-lite": "vega-lite",
    "vega-embed": "vega-embed",
    "leaflet": "leaflet",
    "@jupyter-widgets/html-manager": "html-manager",
    "require.js": "require",
    "requirejs": "require",
    "mathjax": "mathjax",
}
_MAIN_FILE = re.compile(
    r"^/?(?:dist/|build/|es5/)?(?:plotly|vega|vega-lite|vega-embed|leaflet|embed-amd|require"
    r"|tex-[\w-]+|mml-[\w-]+|MathJax)(?:\.min)?\.(?P<ext>js|css)$"
)


def _classify(url: str) -> tuple[str, str | None, bool] | None:
    """(key, version asked, had an extension) of a CDN library URL, or None (not a library)."""
    body = url.partition("?")[0]
    body = body[body.index("//") :]
    for pattern, kind in _RULES:
        m = pattern.search(body)
        if m is None:
            continue
        ver = m.groupdict().get("v")
        if kind == "plotly":
            return "plotly", ver, bool(m.group("ext"))
        if kind == "bokeh":
            part = m.group("part")
            return ("bokeh-" + part if part else "bokeh"), ver, True
        key = _PACKAGES.get(m.group("pkg"))
        file = m.groupdict().get("file") or ""
        if key is None:
            return None
        if file in ("", "/"):  # a package's main file (jsdelivr's ?noext form, unpkg's redirect)
            return key, ver, False
        fm = _MAIN_FILE.match(file)
        if fm is None:
            return None
        if key == "html-manager" and not file.endswith("embed-amd.js"):
            return None  # embed.js sets up no AMD loader; only embed-amd is shipped
        if key == "leaflet" and fm.group("ext") == "css":
            key = "leaflet-css"
        return key, ver, True
    return None


# `import "https://cdn.plot.ly/plotly-4.1.1.min"` (plotly.py's module loader) names the file
# without .js, as its require.js path does; an import gets no .js added, a require path does, so
# the import is given the .js: one URL for both, one download.
_IMPORTED = re.compile(r"\bimport\s*[\"']\Z")


def _local(url: str, imported: bool = False) -> str | None:
    """The share's URL for a CDN library URL, or None."""
    found = _classify(url)
    if found is None:
        return None
    key, ver, had_ext = found
    had_ext = had_ext or (imported and "?" not in url)
    query = url.partition("?")[2]
    name = key + (f"@{ver}" if ver and key not in TRIGGERS else "")
    if had_ext:
        name += ".css" if LIBRARIES[key].media == CSS else ".js"
    return PREFIX + name + (f"?{query}" if query else "")


_LOADING_TAG = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)
_INTEGRITY = re.compile(r"\s(?:integrity|crossorigin)(?:=(?:\"[^\"]*\"|'[^']*'|[^\s>]*))?", re.I)
# What the data: frame had: its own scripts, no access to the page (a data: URL's origin is opaque)
FRAME_SANDBOX = "allow-scripts allow-popups"
_DATA_FRAME = re.compile(
    r"<iframe\b(?P<before>[^>]*?)\ssrc=\"data:text/html;(?:charset=[\w-]+;)?base64,"
    r"(?P<data>[A-Za-z0-9+/=\s]+)\"(?P<after>[^>]*)>",
    re.IGNORECASE,
)


def rewrite(html: str) -> str:
    """`html` with every CDN library URL pointing at the share (see the module docstring)."""
    if "data:text/html" in html:  # before the quick test: a frame's URLs are inside its base64
        html = _DATA_FRAME.sub(_frame, html)
    if "//" not in html:
        return html
    out = _swap_urls(html)
    if out is html:
        return out
    return _LOADING_TAG.sub(_drop_integrity, out)


def _swap_urls(html: str) -> str:
    parts: list[str] = []
    done = 0
    for m in _CDN.finditer(html):
        start = m.start()
        scheme = next((s for s in _SCHEMES if html.endswith(s, 0, start)), "")
        at = start - len(scheme)
        imported = _IMPORTED.search(html, max(0, at - 16), at) is not None
        local = _local(scheme + m.group(0), imported=imported)
        if local is None:
            continue
        parts += [html[done : start - len(scheme)], local]
        done = m.end()
    return "".join([*parts, html[done:]]) if parts else html


def _drop_integrity(m: re.Match[str]) -> str:
    tag = m.group(0)
    ours = any(f"{a}={q}{PREFIX}" in tag for a in ("src", "href") for q in "\"'")
    return _INTEGRITY.sub("", tag) if ours else tag


def _frame(m: re.Match[str]) -> str:
    """A data: iframe whose document loads libraries, as a sandboxed srcdoc frame.

    A data: document always has an opaque origin; a srcdoc one has the page's unless sandboxed
    without allow-same-origin: so FRAME_SANDBOX replaces whatever sandbox the frame had."""
    try:
        inner = base64.b64decode(m.group("data")).decode("utf-8")
    except ValueError:
        return m.group(0)
    changed = rewrite(inner)
    if changed == inner:
        return m.group(0)
    before, after = _no_sandbox(m.group("before")), _no_sandbox(m.group("after"))
    # escaped quotes and no raw newline: valid in an attribute and inside a JS string alike
    doc = htmlmod.escape(changed, quote=True).replace("\r", "&#13;").replace("\n", "&#10;")
    return f'<iframe{before} srcdoc="{doc}" sandbox="{FRAME_SANDBOX}"{after}>'


_ATTRIBUTE = re.compile(r"(\s+)([^\s=>\"']+)(\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]*))?")


def _no_sandbox(attrs: str) -> str:
    return _ATTRIBUTE.sub(lambda a: "" if a.group(2).lower() == "sandbox" else a.group(0), attrs)


_LOCAL = re.compile(r"\./lib/(?P<name>[\w@.*^~-]+)")


def used(html: str) -> list[str]:
    """The `lib/` names a page references, in order of first use (srcdoc frames included)."""
    names: dict[str, None] = {}
    for m in _LOCAL.finditer(html):
        names.setdefault(m.group("name"))
    return list(names)


# ---------------------------------------------------------------- serving


@dataclass(frozen=True)
class Found:
    """What the share answers for one `lib/<name>`."""

    body: bytes | None  # a generated file (a stub); else read `path`
    path: Path | None
    media: str
    source: str  # "kernel <version>", "pinned <version>", "stub": for the notes and benchmarks
    guarded: bool = False  # served inside AMD_GUARD

    def read(self) -> bytes:
        """The bytes served (OSError when the file went away)."""
        data = self.body if self.body is not None else Path(str(self.path)).read_bytes()
        if self.guarded:
            head, tail = AMD_GUARD
            data = head.encode() + data + tail.encode()
        return data


_NAME = re.compile(
    r"^(?P<key>[a-z-]+?)(?:@(?P<v>[0-9A-Za-z.*^~x-]+?))?(?:\.min)?(?P<ext>\.js|\.css)?$"
)
# leaflet.css's url(images/...); the widget manager's icon fonts, which it asks for beside its
# modules' require.js URLs (/s/{room}/@jupyter-widgets/...: server/app.py)
_ASSET = re.compile(
    r"^(?:images/(?P<png>[\w-]+\.png)|(?:[\w@./-]*/)?(?P<woff2>[0-9a-f]{20}\.woff2))$"
)
WOFF2 = "font/woff2"


def find(name: str) -> Found | None:
    """The file the share serves as ``lib/<name>``, or None (404)."""
    if len(name) > MAX_NAME:
        return None
    asset = _ASSET.match(name)
    if asset:
        png = asset.group("png")
        path = LIB_DIR / "images" / png if png else LIB_DIR / "fonts" / asset.group("woff2")
        return Found(None, path, PNG if png else WOFF2, "pinned") if path.is_file() else None
    m = _NAME.match(name)
    lib = LIBRARIES.get(m.group("key")) if m else None
    if m is None or lib is None:
        return None
    if lib.key in TRIGGERS:
        return Found(TRIGGERS[lib.key].encode(), None, JS, "stub")
    candidates = [c for c in (_kernel_copy(lib), _pinned_copy(lib.key)) if c is not None]
    if candidates:
        path, have, where = max(candidates, key=lambda c: _closeness(m.group("v"), c[1]))
        return Found(None, path, lib.media, f"{where} {have}", guarded=lib.umd)
    if lib.stub is not None:
        return Found(lib.stub.encode(), None, lib.media, "stub")
    return None


def _closeness(asked: str | None, have: str) -> int:
    """How well a copy fits the version an output asked for; ties keep the kernel's (first)."""
    if not asked or asked in ("latest", "*"):
        return 1
    if asked == have:
        return 3
    asked_major = re.match(r"[\^~]?(\d+)", asked)
    return 2 if asked_major and have.split(".")[0] == asked_major.group(1) else 0


def _pinned_copy(key: str) -> tuple[Path, str, str] | None:
    entry = _manifest().get(key)
    if not isinstance(entry, dict):
        return None
    path = LIB_DIR / str(entry.get("file", ""))
    return (path, str(entry.get("version", "")), "pinned") if path.is_file() else None


@functools.cache
def _manifest() -> dict:
    try:
        data = json.loads(MANIFEST.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _kernel_copy(lib: Library) -> tuple[Path, str, str] | None:
    """The copy the kernel's own package ships (`Library.kernel_package`), if any."""
    if lib.kernel_package == "plotly":
        return _plotly_copy()
    if lib.kernel_package == "bokeh":
        return _bokeh_copy(lib.key)
    return None


@functools.cache
def _package_dir(package: str) -> Path | None:
    """Where an installed package lives, without importing it (plotly takes seconds)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


_PLOTLY_HEADER = re.compile(rb"plotly\.js v([0-9][\w.-]*)")


@functools.cache
def _plotly_copy() -> tuple[Path, str, str] | None:
    """plotly.js as the kernel's plotly package ships it, and its version (from its header)."""
    base = _package_dir("plotly")
    path = base / "package_data" / "plotly.min.js" if base else None
    if path is None or not path.is_file():
        return None
    with contextlib.suppress(OSError), path.open("rb") as f:
        m = _PLOTLY_HEADER.search(f.read(512))
        return path, (m.group(1).decode() if m else ""), "kernel"
    return None


@functools.cache  # asked on every lib/ request: the package metadata is read once
def _bokeh_copy(key: str) -> tuple[Path, str, str] | None:
    """BokehJS as the kernel's bokeh ships it (its JS version is the package's)."""
    base = _package_dir("bokeh")
    path = base / "server" / "static" / "js" / f"{key}.min.js" if base else None
    if path is None or not path.is_file():
        return None
    try:
        return path, version("bokeh"), "kernel"
    except PackageNotFoundError:
        return path, "", "kernel"
