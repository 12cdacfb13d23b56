"""The output libraries a page uses, carried inside an offline export (content/export.py).

An export opens from a file (a USB stick, an attachment): nothing can be fetched, neither from
the share (``./lib/...``, content/libraries.py) nor from a CDN. So each library the page uses is
carried once, as text, in ``<script id="jupyterspot-libs" type="application/json">`` at the top
of ``<head>``, and every way a page asks for a library is pointed at it:

- ``<script src="./lib/X">`` (a tag in an output: Plotly's, MathJax's) runs the library inline
  (`jupyterspotRun`, an indirect eval: global scope, like a script), once per page however many
  outputs carry the tag, as a browser runs a cached file;
- ``import "./lib/X"`` (Plotly's ES-module loader) does the same;
- ``<link href="./lib/X.css">`` becomes a ``<style>``;
- any other quoted ``"./lib/X"`` is a URL in JavaScript (Bokeh's loader list, Altair's and
  require.js's paths, the widget manager's URL, the page's require stub): it becomes
  ``jupyterspotLib("X")``, a ``blob:`` URL of the carried text, which scripts, ``import()``,
  ``fetch`` and require.js all load from a file page;
- a sandboxed ``srcdoc`` frame (folium's map: content/libraries.py) cannot reach the page's
  copies (its origin is opaque), so its libraries are written into it.

Only libraries the page references are carried: a notebook without Plotly carries no Plotly.
"""

from __future__ import annotations

import base64
import html as htmlmod
import json
import re

from . import libraries

__all__ = ["inline_libraries"]

_NAME = r"[\w@.*^~-]+"
_SCRIPT_SRC = re.compile(
    rf"<script\b[^>]*?\ssrc=([\"'])\./lib/(?P<name>{_NAME})(?:\?[^\"']*)?\1[^>]*>\s*</script>",
    re.IGNORECASE,
)
_CSS_LINK = re.compile(
    rf"<link\b(?=[^>]*\srel=[\"']?stylesheet)[^>]*?\shref=([\"'])\./lib/(?P<name>{_NAME}\.css)"
    rf"(?:\?[^\"']*)?\1[^>]*>",
    re.IGNORECASE,
)
_IMPORT = re.compile(rf"\bimport\s*([\"'])\./lib/(?P<name>{_NAME})(?:\?[^\"']*)?\1")
# a string value in JavaScript (not an object key: Bokeh 2's {"<url>": "<hash>"})
_QUOTED = re.compile(rf"([\"'])\./lib/(?P<name>{_NAME})(?:\?[^\"']*)?\1(?!\s*:)")
# inline scripts that run (JSON and widget state are data: never rewritten)
_RUNNING_SCRIPT = re.compile(
    r"(<script\b(?![^>]*\ssrc=)(?P<attrs>[^>]*)>)(?P<body>.*?)(</script>)",
    re.IGNORECASE | re.DOTALL,
)
# a type other than JavaScript or module: data (application/json, widget state), never code
_JS_TYPE = re.compile(
    r"\stype=[\"']?(?![\"'])(?!(?:text|application)/(?:javascript|ecmascript)\b|module\b)", re.I
)
_SRCDOC = re.compile(r'\ssrcdoc="(?P<doc>[^"]*\./lib/[^"]*)"')
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
# Libraries the viewer itself loads for figures nbconvert drops (js/viewer/figures.ts)
_VIEWER_FIGURES = {
    'class="jupyterspot-plotly"': ["plotly"],
    'class="jupyterspot-vega"': ["vega", "vega-lite", "vega-embed"],
}
# The page calls require()/define() (the widget manager, classic-notebook outputs): the page's
# stub then loads require.js (templates/jupyterspot/index.html.j2)
_USES_AMD = re.compile(r"\b(?:require|requirejs|define)\s*[(.]")

_RUNTIME = """<script>(function () {
  var el = document.getElementById("jupyterspot-libs");
  var libs = el ? JSON.parse(el.textContent) : {files: {}, names: {}};
  var urls = {}, ran = {};
  function file(name) {
    return libs.names[String(name).replace(/^\\.\\/lib\\//, "").split("?")[0]];
  }
  window.jupyterspotLib = function (name) {
    var id = file(name);
    if (id === undefined) return "./lib/" + name;
    if (!urls[id]) {
      var type = /\\.css$/.test(id) ? "text/css" : "text/javascript";
      urls[id] = URL.createObjectURL(new Blob([libs.files[id]], {type: type}));
    }
    return urls[id];
  };
  window.jupyterspotRun = function (name) {
    var id = file(name);
    if (id === undefined || ran[id]) return;
    ran[id] = true;
    (0, eval)(libs.files[id]);
  };
})();</script>"""


def inline_libraries(page: str) -> str:
    """`page` with the libraries it uses carried inside it (see the module docstring)."""
    names = _needed(page)
    if not names:
        return page
    files, by_name = _load(names)
    if not files:
        return page
    page = _SRCDOC.sub(lambda m: _inline_frame(m, files, by_name), page)
    page = _SCRIPT_SRC.sub(lambda m: _run_tag(m, by_name), page)
    page = _CSS_LINK.sub(lambda m: _style(m, files, by_name), page)
    page = _RUNNING_SCRIPT.sub(lambda m: _in_script(m, by_name), page)
    data = json.dumps({"files": files, "names": by_name}, ensure_ascii=False)
    block = (
        '<script id="jupyterspot-libs" type="application/json">'
        + data.replace("</", "<\\/")
        + "</script>"
        + _RUNTIME
    )
    head = _HEAD.search(page)
    at = head.end() if head else 0
    return page[:at] + block + page[at:]


def _needed(page: str) -> list[str]:
    """The library names the page asks for."""
    names = list(libraries.used(page))
    for marker, libs in _VIEWER_FIGURES.items():
        if marker in page:
            names += libs
    # the page's own stub mentions require() in its head: what counts is the rest
    body = page[page.find("</head>") :] if "</head>" in page else page
    if _USES_AMD.search(body) or any(n.startswith("html-manager") for n in names):
        names.append("requirejs.js")
    return list(dict.fromkeys(names))


def _load(names: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The text of each library file (one copy per file) and which file each name is."""
    files: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for name in names:
        found = libraries.find(name)
        if found is None:
            continue
        file_id = found.path.name if found.path else name
        if file_id not in files:
            text = found.read().decode("utf-8", "replace")
            files[file_id] = _fonts_inline(text) if file_id.startswith("html-manager") else text
        by_name[name] = file_id
    return files, by_name


# The widget manager's CSS names its icon fonts as webpack assets beside its own URL
# (`n.p+"<hash>.woff2"`), which from a file:// page is a file beside the export: the woff2 the
# share serves go in as data: URLs, the older formats (only asked for when woff2 fails) as empty.
_FONT_ASSET = re.compile(r'\b\w\.p\+"(?P<file>[0-9a-f]{20}\.(?P<ext>woff2|woff|ttf|eot|svg))"')


def _fonts_inline(code: str) -> str:
    def swap(m: re.Match[str]) -> str:
        found = libraries.find(m.group("file")) if m.group("ext") == "woff2" else None
        if found is None:
            return '"data:,"'
        return '"data:font/woff2;base64,' + base64.b64encode(found.read()).decode() + '"'

    return _FONT_ASSET.sub(swap, code)


def _run_tag(m: re.Match[str], by_name: dict[str, str]) -> str:
    name = m.group("name")
    return f"<script>jupyterspotRun({json.dumps(name)})</script>" if name in by_name else m.group(0)


def _style(m: re.Match[str], files: dict[str, str], by_name: dict[str, str]) -> str:
    css = files.get(by_name.get(m.group("name"), ""))
    if css is None:
        return m.group(0)
    return "<style>" + _css_images_inline(css).replace("</style", "<\\/style") + "</style>"


def _in_script(m: re.Match[str], by_name: dict[str, str]) -> str:
    """A running inline script's references to carried libraries, as the page's copies."""
    if _JS_TYPE.search(m.group("attrs")):
        return m.group(0)

    def run(im: re.Match[str]) -> str:
        name = im.group("name")
        return f"jupyterspotRun({json.dumps(name)})" if name in by_name else im.group(0)

    def url(qm: re.Match[str]) -> str:
        name = qm.group("name")
        return f"jupyterspotLib({json.dumps(name)})" if name in by_name else qm.group(0)

    body = _QUOTED.sub(url, _IMPORT.sub(run, m.group("body")))
    return m.group(1) + body + m.group(4)


# leaflet.css's icons (url(images/marker-icon.png)): beside the export file there is nothing
_CSS_IMAGE = re.compile(r"url\((['\"]?)(?P<file>images/[\w-]+\.png)\1\)")


def _css_images_inline(css: str) -> str:
    def swap(m: re.Match[str]) -> str:
        found = libraries.find(m.group("file"))
        if found is None:
            return m.group(0)
        return "url(data:image/png;base64," + base64.b64encode(found.read()).decode() + ")"

    return _CSS_IMAGE.sub(swap, css)


def _inline_frame(m: re.Match[str], files: dict[str, str], by_name: dict[str, str]) -> str:
    """A sandboxed frame's libraries, written into its document."""
    doc = htmlmod.unescape(m.group("doc"))

    def script(sm: re.Match[str]) -> str:
        code = files.get(by_name.get(sm.group("name"), ""))
        if code is None:
            return sm.group(0)
        return "<script>" + code.replace("</script", "<\\/script") + "</script>"

    doc = _SCRIPT_SRC.sub(script, doc)
    doc = _CSS_LINK.sub(lambda lm: _style(lm, files, by_name), doc)
    escaped = htmlmod.escape(doc, quote=True).replace("\r", "&#13;").replace("\n", "&#10;")
    return f' srcdoc="{escaped}"'
