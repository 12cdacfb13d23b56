"""Render a notebook into the shared page: nbconvert's lab template plus the viewer's hooks.

``render(source)`` takes a path or an already parsed notebook dict (Colab) and returns a
:class:`RenderedNotebook`. The page:

- is nbconvert's ``lab`` HTML (our ``jupyterspot`` template extends it), with local markdown
  images inlined (nothing on disk is served later);
- wraps the cells in ``<main id="jupyterspot-root">``, gives every cell ``id="cell-id=<id>"``
  with stable ids (see :func:`load_notebook`), and links ``static/viewer.css`` /
  ``static/viewer.js`` by relative URL; ``CONFIG_PLACEHOLDER`` appears exactly once, just
  before the viewer script, for the server to fill in;
- leaves out this package's own share output and widget state (they hold the host link);
- draws outputs nbconvert would drop (Plotly >= 6 JSON, Vega/Vega-Lite JSON) as
  ``<div class="jupyterspot-plotly">`` / ``<div class="jupyterspot-vega" data-mime="…">``
  whose first child is ``<script type="application/json" class="jupyterspot-figure">``
  (the figure JSON, with ``<``, ``>``, ``&`` escaped) followed by a visible fallback text;
  the viewer hydrates them.

The steps are public for the incremental path (content/live.py re-renders only changed cells):
:func:`read_source` (bytes and cache key, no nbformat), :func:`prepare` (parse, stable ids, own
output left out, figure HTML), :func:`export_cells` (nbconvert on some or all cells),
:func:`render_prepared` (the whole page) and :func:`remember` (into the caches); :func:`render`
is read, cache lookup, prepare, render_prepared.

Renders are cached by content hash in memory (a few entries) and on disk, in
``$JUPYTERSPOT_CACHE_DIR/render`` when that variable is set (read on every call), otherwise
``platformdirs.user_cache_dir("jupyterspot-magic")/render``. A broken cache only costs a re-render.

nbformat and nbconvert are imported on first use: importing this module stays cheap, and a
cache hit for a path never imports them.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import time
import uuid
from collections import Counter, OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..base.paths import PACKAGE_DIR
from ..base.text import one_line, plural
from . import libraries, repair

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = [
    "CONFIG_PLACEHOLDER",
    "Prepared",
    "RenderError",
    "RenderedNotebook",
    "Source",
    "cache_dir",
    "cached",
    "cell_anchors",
    "clear_memory_cache",
    "export_cells",
    "from_disk",
    "load_notebook",
    "prepare",
    "read_source",
    "remember",
    "render",
    "render_prepared",
]

CONFIG_PLACEHOLDER = "<!--jupyterspot-config-->"
# Bump when the page changes in a way the cache key would not see (2: MathJax on cells only,
# 3: output libraries from the share)
RENDERER_VERSION = "3"
CACHE_ENV = "JUPYTERSPOT_CACHE_DIR"
TEMPLATES_DIR = PACKAGE_DIR / "templates"
TEMPLATE_NAME = "jupyterspot"

PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
OWN_OUTPUT_KEY = "jupyterspot_magic"  # metadata key on the share's own outputs

_VEGA_MIME = re.compile(r"^application/vnd\.vega(lite)?\.v[0-9.]+\+json$")
_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # nbformat 4.5 schema
_BASE64 = re.compile(r"[A-Za-z0-9+/]+=*")
_ANCHOR = re.compile(r'id="cell-id=([^"]*)"')
# A cell the host keeps to themselves (content/outputs.py never streams it; every page shows
# PRIVATE_SOURCE instead): the tag, or this line in its source (a cell run before any save
# has no tags the kernel could see).
PRIVATE_TAG = "jupyterspot-private"
# (CRLF sources and a comment after it count too: a marker that fails open leaks the cell.)
_PRIVATE_LINE = re.compile(r"^[ \t]*#[ \t]*jupyterspot:[ \t]*private\b", re.MULTILINE)
PRIVATE_SOURCE = "# private cell (not shared)"
_MODEL_REF = re.compile(r"IPY_MODEL_([0-9A-Za-z_-]+)")

_MEMORY_ENTRIES = 4
_MEMORY_CHARS = 256 * 2**20
_DISK_ENTRIES = 32
_DISK_BYTES = 1024 * 2**20
_MAX_EMBED_BYTES = 32 * 2**20  # a markdown "image" bigger than this stays a link

log = logging.getLogger(__name__)
# nbconvert 7's HTMLExporter adds an alt text to every picture without one and says so at
# WARNING on the application's logger: in a terminal IPython that is the user's screen, about
# pictures of outputs they did not write; the page gets the alt text either way.
_ALT_TEXT_WARNING = "Alternative text is missing"


class _WithoutAltTextWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_ALT_TEXT_WARNING)


_QUIET_ALT_TEXT = _WithoutAltTextWarning()


@contextlib.contextmanager
def _alt_text_unsaid(exporter: Any) -> Any:
    """nbconvert's alt-text warning dropped while our exporter runs (other messages stay)."""
    logger = getattr(exporter.log, "logger", exporter.log)  # a LoggerAdapter's logger
    if not isinstance(logger, logging.Logger):
        yield
        return
    logger.addFilter(_QUIET_ALT_TEXT)
    try:
        yield
    finally:
        logger.removeFilter(_QUIET_ALT_TEXT)


class RenderError(Exception):
    """A notebook that cannot be rendered; ``str(e)`` is one line naming the notebook."""


@dataclass(frozen=True)
class RenderedNotebook:
    html: str  # the full page
    content_hash: str  # sha256 hex of the notebook content + renderer version (the cache key)
    cell_ids: list[str]  # in order; each appears in html as id="cell-id=<id>" exactly once
    title: str  # notebook file name without extension, or "Notebook"
    warnings: list[str]
    seconds: float  # time this call took (near 0 when served from cache)
    cached: bool


@dataclass(frozen=True)
class Source:
    """One read of a notebook: its bytes, what names it, and the cache key of its page."""

    raw: bytes  # file bytes, or canonical JSON of a dict: what the hash covers
    parsed: dict | None  # the dict a caller gave us
    label: str  # how errors name it
    base_dir: str  # where relative markdown images are looked up
    stem: str
    title: str  # the page's title: given, else the file name without extension, else "Notebook"
    content_hash: str  # the cache key: renderer, title, base_dir and the bytes


@dataclass(frozen=True)
class Prepared:
    """A notebook ready for nbconvert: stable ids, the share's own output left out, figure HTML.

    `nb` is this object's own copy (the caller's dict is untouched); exporting does not change it.
    """

    source: Source
    nb: NotebookNode
    cell_ids: list[str]
    notes: list[str]  # what converting it and its figures is worth saying
    stripped: int  # own outputs and widget models left out

    def warnings(self, export_notes: list[str]) -> list[str]:
        """What the user is told about a page of this notebook, given the exporter's notes."""
        out = [*self.notes, *export_notes]
        if self.stripped:
            out.append(f"left out the share's own output ({plural(self.stripped, 'item')})")
        return out


def cell_anchors(html: str) -> list[str]:
    """The cell ids a page's anchors name, in order (each cell is ``id="cell-id=<id>"``)."""
    return _ANCHOR.findall(html)


# ---------------------------------------------------------------- loading


def load_notebook(source: str | os.PathLike | dict) -> NotebookNode:
    """Read a notebook (path or parsed dict) as nbformat 4.5 with stable cell ids.

    Older formats (v3, v4.0-4.4) are converted; their ids, like missing, invalid or repeated
    ids of a 4.5 notebook, are derived from the cell (``c-`` + 10 hex of
    sha1(cell_type NUL source), ``-2``, ``-3``… for repeats), never random. The caller's dict is
    not modified. Raises :class:`RenderError` (one line) for anything that is not a notebook.
    """
    src = read_source(source)
    nb, _ = _to_notebook(_parse(src), src.label)
    return nb


def read_source(
    source: str | os.PathLike | dict, *, title: str | None = None, base_dir: str | None = None
) -> Source:
    """Read a notebook's bytes (a dict: its canonical JSON) and its cache key; no parsing.

    `base_dir`: where a dict's relative images are (default: the working directory); the
    notebook as the kernel runs it (content/outputs.py) keeps its file's folder.
    Raises :class:`RenderError` (one line) when the file cannot be read.
    """
    raw, parsed, label, found_dir, stem = _read(source)
    base_dir = base_dir if base_dir is not None and isinstance(source, dict) else found_dir
    title = title or stem or "Notebook"
    return Source(raw, parsed, label, base_dir, stem, title, _content_hash(raw, base_dir, title))


def _read(source: str | os.PathLike | dict) -> tuple[bytes, dict | None, str, str, str]:
    if isinstance(source, dict):
        label = "notebook contents (dict)"
        try:
            raw = json.dumps(source, sort_keys=True, separators=(",", ":"), default=str)
        except (TypeError, ValueError, RecursionError) as e:  # mixed keys, cycles
            raise RenderError(f"Not a Jupyter notebook: {label} ({one_line(e)})") from None
        return raw.encode("utf-8", "surrogatepass"), source, label, os.getcwd(), ""
    path = Path(os.path.expanduser(os.fspath(source)))
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RenderError(f"Notebook not found: {path}") from None
    except IsADirectoryError:
        raise RenderError(f"Not a notebook file (a directory): {path}") from None
    except OSError as e:
        if path.is_dir():  # Windows says PermissionError for directories
            raise RenderError(f"Not a notebook file (a directory): {path}") from None
        raise RenderError(f"Cannot read notebook: {path} ({e.strerror or e})") from None
    return raw, None, str(path), str(path.resolve().parent), path.stem


def _parse(src: Source) -> dict:
    if src.parsed is not None:
        data: Any = src.parsed
    else:
        try:
            text = src.raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise RenderError(f"Not UTF-8 text: {src.label} (byte {e.start})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise RenderError(
                f"Not valid JSON: {src.label} (line {e.lineno}, column {e.colno})"
            ) from None
        except RecursionError:
            raise RenderError(f"Not valid JSON: {src.label} (nested too deeply)") from None
    _check_shape(data, src.label)
    return data


def _check_shape(data: Any, label: str) -> None:
    """Refuse what is not a notebook before nbformat fails on it with a less clear message."""

    def refuse(why: str) -> RenderError:
        return RenderError(f"Not a Jupyter notebook: {label} ({why})")

    if not isinstance(data, dict):
        raise refuse(f"top level is a JSON {_json_type(data)}, not an object")
    major = data.get("nbformat", 4 if "cells" in data else 3)
    if not isinstance(major, int) or isinstance(major, bool):
        raise refuse('"nbformat" is not a number')
    if major >= 4 or "worksheets" not in data:
        cells = data.get("cells")
        if cells is None:
            raise refuse('no "cells"')
    else:
        sheets = data.get("worksheets")
        if not isinstance(sheets, list) or not all(isinstance(w, dict) for w in sheets):
            raise refuse('"worksheets" is not a list of objects')
        cells = [c for w in sheets for c in (w.get("cells") or [])]
    if major > 4:
        raise RenderError(f"Unsupported nbformat {major}: {label} (this renderer reads 1-4)")
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise refuse('"cells" is not a list of objects')
    if not all(isinstance(c.get("cell_type"), str) for c in cells):
        raise refuse('a cell has no "cell_type"')


def _json_type(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _to_notebook(data: dict, label: str) -> tuple[NotebookNode, list[str]]:
    """nbformat 4.5 NotebookNode with stable ids, plus what the conversion is worth saying."""
    import nbformat
    from nbformat.v4 import upgrade

    major = data.get("nbformat", 4 if "cells" in data else 3)
    minor = data.get("nbformat_minor", 0)
    minor = minor if isinstance(minor, int) else 0
    warnings: list[str] = []
    fixes = repair.Repairs()
    try:
        # from_dict/to_notebook_json copy the containers (the caller's dict stays as it
        # was); to_notebook_json joins multi-line strings, like nbformat.reads does.
        if major == 4:
            data = nbformat.from_dict(data)
            repair.before_reading(data, fixes)  # types the reader below trips on
            _fill_defaults(data, minor)
        nb = nbformat.versions[major].to_notebook_json(data, minor=minor)
        if major < 4:
            nb = nbformat.convert(nb, 4)  # invents random ids: replaced below
            warnings.append(f"converted from nbformat {major}")
            _assign_ids(nb.cells, keep_existing=False)
        elif minor < 5:
            nb = upgrade(nb, from_version=4, from_minor=minor)  # random ids too; routine: no note
            _assign_ids(nb.cells, keep_existing=False)
        else:
            fixed = _assign_ids(nb.cells, keep_existing=True)
            if fixed:
                warnings.append(f"{plural(fixed, 'cell id')} missing, invalid or repeated: derived")
    except RecursionError:  # a hostile file's nesting: Python's own words say nothing
        raise RenderError(f"Not a readable Jupyter notebook: {label} (nested too deeply)") from None
    except Exception as e:  # nbformat's conversion errors are many and wordy
        raise RenderError(f"Not a readable Jupyter notebook: {label} ({one_line(e)})") from None
    try:
        repair.repair(nb, fixes)  # Colab's widget state, v3 cells, schema errors (repair.py)
    except repair.Unrepairable as e:
        raise RenderError(f"Cannot render {label}: {one_line(e)}") from None
    return nb, [*warnings, *fixes.notes()]


def _fill_defaults(nb: NotebookNode, minor: int) -> None:
    """Add what hand-made notebooks leave out and nbformat's schema (checked by nbconvert) needs."""
    from nbformat import NotebookNode

    nb.setdefault("nbformat", 4)
    nb.setdefault("nbformat_minor", minor)
    nb.setdefault("metadata", NotebookNode())
    for cell in nb.cells:
        cell.setdefault("metadata", NotebookNode())
        cell.setdefault("source", "")
        if cell.cell_type != "code":
            continue
        cell.setdefault("execution_count", None)
        for output in cell.setdefault("outputs", []):
            kind = output.get("output_type") if isinstance(output, dict) else None
            if kind in ("display_data", "execute_result"):
                output.setdefault("data", NotebookNode())
                output.setdefault("metadata", NotebookNode())
            if kind == "execute_result":
                output.setdefault("execution_count", None)


def _assign_ids(cells: list, *, keep_existing: bool) -> int:
    """Give every cell a stable id; return how many were (re)derived."""
    existing = [c.get("id") if keep_existing else None for c in cells]
    valid = [i if isinstance(i, str) and _CELL_ID.match(i) else None for i in existing]
    used = {i for i in valid if i}
    kept: set[str] = set()
    repeats: Counter[str] = Counter()
    derived = 0
    for cell, cid in zip(cells, valid, strict=True):
        if cid and cid not in kept:  # first of a repeated id keeps it
            kept.add(cid)
            continue
        base = _derived_id(cell)
        new = base
        while new in used:
            repeats[base] += 1
            new = f"{base}-{repeats[base] + 1}"
        used.add(new)
        cell["id"] = new
        derived += 1
    return derived


def _derived_id(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(map(str, source))
    key = f"{cell.get('cell_type', '')}\0{source}".encode("utf-8", "surrogatepass")
    return "c-" + hashlib.sha1(key).hexdigest()[:10]


# ---------------------------------------------------------------- preparing


def prepare(src: Source) -> Prepared:
    """Parse and normalize a read notebook, leave out the share's own output and the host's
    private cells, add figure HTML.

    Raises :class:`RenderError` (one line) for anything that is not a notebook.
    """
    nb, notes = _to_notebook(_parse(src), src.label)
    cell_ids = [c["id"] for c in nb.cells]
    stripped = strip_own_share(nb)
    _hide_private(nb)
    _add_figure_html(nb)  # drawn with the share's own plotly.js / vega (content/libraries.py)
    _local_libraries(nb)
    return Prepared(src, nb, cell_ids, notes, stripped)


def normalize(data: dict, label: str = "notebook") -> NotebookNode:
    """A notebook dict as nbformat 4.5 with stable ids (a copy); RenderError if it is none."""
    _check_shape(data, label)
    return _to_notebook(data, label)[0]


def valid_cell_id(value: str) -> bool:
    """nbformat 4.5's rule for a cell id."""
    return bool(_CELL_ID.match(value))


def is_private_cell(cell: dict) -> bool:
    """The host keeps this cell to themselves: tagged `PRIVATE_TAG`, or a private line."""
    meta = cell.get("metadata")
    tags = meta.get("tags") if isinstance(meta, dict) else None
    if isinstance(tags, list) and PRIVATE_TAG in tags:
        return True
    source = cell.get("source")
    text = "".join(map(str, source)) if isinstance(source, list) else str(source or "")
    return bool(_PRIVATE_LINE.search(text))


def _hide_private(nb: NotebookNode) -> None:
    """Private cells keep their place (and id: pages and drawings stay aligned), not content."""
    for cell in nb.cells:
        if is_private_cell(cell):
            cell["source"] = PRIVATE_SOURCE
            if cell.get("cell_type") == "code":
                cell["outputs"] = []
                cell["execution_count"] = None
            cell.pop("attachments", None)


def strip_own_share(nb: NotebookNode) -> int:
    """Remove this package's outputs and widget state: they carry the host link and token."""
    models = _strip_own_widget_state(nb)
    removed = 0
    for cell in nb.cells:
        outputs = cell.get("outputs")
        if not outputs or not isinstance(outputs, list):
            continue
        kept = [o for o in outputs if not _is_own_output(o, models)]
        removed += len(outputs) - len(kept)
        cell["outputs"] = kept
    return removed + len(models)


def _is_own_output(output: Any, models: set[str]) -> bool:
    if not isinstance(output, dict):
        return False
    if OWN_OUTPUT_KEY in (output.get("metadata") or {}):
        return True
    data = output.get("data")
    view = data.get(WIDGET_VIEW_MIME) if isinstance(data, dict) else None
    return isinstance(view, dict) and view.get("model_id") in models


def _strip_own_widget_state(nb: NotebookNode) -> set[str]:
    state = repair.widget_models(nb.metadata)  # wrapped, or Colab's layout
    if state is None:
        return set()
    widgets = nb.metadata["widgets"]
    models = {k for k, v in state.items() if _is_own_widget(v)}
    todo = list(models)
    while todo:  # and the models ours is made of (children, layout): they may show the link
        for ref in _MODEL_REF.findall(json.dumps(state[todo.pop()], default=str)):
            if ref in state and ref not in models:
                models.add(ref)
                todo.append(ref)
    for model_id in models:
        del state[model_id]
    if models and not state:  # nothing left: no widget manager download for the page
        del widgets[WIDGET_STATE_MIME]
        if not widgets:
            del nb.metadata["widgets"]
    return models


def _is_own_widget(model: Any) -> bool:
    if not isinstance(model, dict):
        return False
    inner = model.get("state")
    anywidget_id = inner.get("_anywidget_id") if isinstance(inner, dict) else None
    if isinstance(anywidget_id, str) and anywidget_id.startswith("jupyterspot_magic"):
        return True
    # model_module, or anything in the state (a host URL...), naming us
    return "jupyterspot" in json.dumps(model, default=str).lower()


def _add_figure_html(nb: NotebookNode) -> Counter[str]:
    """Give Plotly/Vega JSON outputs an HTML form for the viewer to hydrate.

    As JupyterLab does, the figure is drawn from its JSON even when the output also holds a
    static picture (Julia's and R's vega-lite carry PNG and SVG fallbacks): the picture becomes
    what shows until the figure is drawn, and what a page without script shows. An output with
    its own HTML (Altair's, plotly.py's) draws itself and is left alone."""
    handled: Counter[str] = Counter()
    for cell in nb.cells:
        for output in cell.get("outputs") or ():
            data = output.get("data") if isinstance(output, dict) else None
            if not isinstance(data, dict) or "text/html" in data:
                continue
            mime = next((m for m in data if m == PLOTLY_MIME or _VEGA_MIME.match(m)), None)
            if mime:
                data["text/html"] = _figure_html(mime, data[mime], _static_picture(data))
                handled[mime] += 1
    return handled


# What an output runs or shows as HTML: where its CDN library URLs are. Code cells, their text
# outputs and markdown are left as written (a URL printed or discussed is not a script to load).
_SCRIPTED_MIMES = ("text/html", "application/javascript")


def _local_libraries(nb: NotebookNode) -> None:
    """Point the outputs' CDN library URLs at the share (content/libraries.py)."""
    for cell in nb.cells:
        for output in cell.get("outputs") or ():
            data = output.get("data") if isinstance(output, dict) else None
            if not isinstance(data, dict):
                continue
            for mime in _SCRIPTED_MIMES:
                value = data.get(mime)
                if isinstance(value, list):
                    value = "".join(map(str, value))
                if isinstance(value, str):
                    data[mime] = libraries.rewrite(value)


def _static_picture(data: dict) -> str:
    """The output's own picture as an <img>, or "" (then a line of text stands in)."""
    for mime in ("image/svg+xml", "image/png", "image/jpeg"):
        value = data.get(mime)
        if isinstance(value, list):
            value = "".join(map(str, value))
        if not isinstance(value, str) or not value:
            continue
        raw = value.encode("utf-8") if mime == "image/svg+xml" else None
        b64 = base64.b64encode(raw).decode() if raw is not None else "".join(value.split())
        if _BASE64.fullmatch(b64):  # it goes into an attribute: nothing else may
            return f'<img alt="figure" src="data:{mime};base64,{b64}">'
    return ""


def _figure_html(mime: str, figure: Any, picture: str = "") -> str:
    """The container the viewer hydrates: figure JSON first, then a visible fallback."""
    if isinstance(figure, str):  # some kernels store the JSON as text
        with contextlib.suppress(ValueError):
            figure = json.loads(figure)
    payload = (
        json.dumps(figure, ensure_ascii=False, separators=(",", ":"), default=str)
        .replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
    )
    if mime == PLOTLY_MIME:
        opening, what = '<div class="jupyterspot-plotly">', "Plotly"
    else:
        what = "Vega-Lite" if "vegalite" in mime else "Vega"
        opening = f'<div class="jupyterspot-vega" data-mime="{mime}">'
    fallback = picture or f"Interactive {what} figure (loading…)"
    return (
        f'{opening}<script type="application/json" class="jupyterspot-figure">{payload}</script>'
        f'<div class="jupyterspot-figure-fallback">{fallback}</div></div>'
    )


# ---------------------------------------------------------------- exporting


_export_lock = threading.Lock()
_exporter: Any = None


def _get_exporter() -> Any:
    """One exporter per process (templates and filters are set up once); call under the lock."""
    global _exporter
    if _exporter is None:
        _exporter = _make_exporter()
    return _exporter


def _make_exporter() -> Any:
    from jinja2 import pass_context
    from nbconvert.exporters import HTMLExporter
    from nbconvert.filters.markdown_mistune import (
        InvalidNotebook,
        IPythonRenderer,
        MarkdownWithMath,
    )

    class Renderer(IPythonRenderer):
        notes: list[str]

        def _src_to_base64(self, src: str) -> str | None:
            # nbconvert opens any existing path: a directory or unreadable file would abort
            # the whole render, and a huge file would bloat the page.
            try:
                path = os.path.join(self.path, src)
                if os.path.isfile(path) and os.path.getsize(path) <= _MAX_EMBED_BYTES:
                    return super()._src_to_base64(src)
            except (OSError, ValueError):
                pass
            return None

        def _embed_image_or_attachment(self, src: str) -> str:
            try:
                return super()._embed_image_or_attachment(src)
            except InvalidNotebook:  # missing attachment: a broken image, not a failed page
                self.notes.append(f"missing markdown attachment: {src}")
                return src

    class Exporter(HTMLExporter):
        notes: list[str] = []

        @pass_context
        def markdown2html(self, context: Any, source: str) -> str:
            # As HTMLExporter.markdown2html, with the tolerant renderer above.
            cell = context.get("cell", {})
            renderer = Renderer(
                escape=False,
                attachments=cell.get("attachments", {}),
                embed_images=self.embed_images,
                path=context.get("resources", {}).get("metadata", {}).get("path", ""),
                anchor_link_text=self.anchor_link_text,
                exclude_anchor_links=self.exclude_anchor_links,
                **self.lexer_options,
            )
            renderer.notes = self.notes
            return MarkdownWithMath(renderer=renderer).render(source)

    return Exporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        embed_images=True,
        # saved widget state is drawn by the widget manager the share serves, not unpkg's
        widget_renderer_url=libraries.PREFIX + "html-manager.js",
    )


def export_cells(prepared: Prepared, cells: list | None = None) -> tuple[str, list[str]]:
    """nbconvert's page of the prepared notebook, or of only `cells` of it, and its notes.

    A cell's HTML depends only on the cell and what the whole page shares (title, base dir,
    notebook metadata), so a page of some cells holds the same cell HTML as the whole page.
    Raises :class:`RenderError` (one line) when nbconvert fails.
    """
    nb = prepared.nb
    if cells is not None:
        nb = copy.copy(nb)
        nb.cells = cells
    return _export(nb, prepared.source)


def _export(nb: NotebookNode, src: Source) -> tuple[str, list[str]]:
    slot = f"<!--jupyterspot-slot-{uuid.uuid4().hex}-->"
    resources = {"metadata": {"name": src.title, "path": src.base_dir}, "jupyterspot_slot": slot}
    with _export_lock:
        exporter = _get_exporter()
        exporter.notes = notes = []
        try:
            with _alt_text_unsaid(exporter):
                html, _ = exporter.from_notebook_node(nb, resources=resources)
        except Exception as e:
            raise RenderError(f"Could not render {src.label}: {one_line(e)}") from None
    if CONFIG_PLACEHOLDER in html:  # the notebook's own text: defuse it, the slot is ours
        html = html.replace(CONFIG_PLACEHOLDER, "<!-- jupyterspot-config -->")
    return html.replace(slot, CONFIG_PLACEHOLDER), sorted(set(notes))


# ---------------------------------------------------------------- render + cache


def render(source: str | os.PathLike | dict, *, title: str | None = None) -> RenderedNotebook:
    """Render a notebook (path or parsed dict) to the shared page; cached by content.

    ``title`` defaults to the file name without extension ("Notebook" for a dict).
    Raises :class:`RenderError` with a one-line message naming the notebook.
    """
    start = time.perf_counter()
    src = read_source(source, title=title)
    result = cached(src) or render_prepared(prepare(src))
    return replace(result, seconds=time.perf_counter() - start)


def cached(src: Source) -> RenderedNotebook | None:
    """The page of this content from the memory or disk cache, or None."""
    start = time.perf_counter()
    hit = _memory_get(src.content_hash) or _disk_get(src.content_hash)
    if hit is None:
        return None
    _memory_put(hit)
    return _fresh_copy(hit, start, cached=True)


def render_prepared(prepared: Prepared) -> RenderedNotebook:
    """The whole page of a prepared notebook (nbconvert, no cache lookup), remembered."""
    start = time.perf_counter()
    src = prepared.source
    html, notes = export_cells(prepared)
    warnings = prepared.warnings(notes)
    if cell_anchors(html) != prepared.cell_ids:  # user HTML imitating our anchors, say
        warnings.append("the page's cell anchors do not match the notebook's cells")
    cell_ids = list(prepared.cell_ids)
    result = RenderedNotebook(html, src.content_hash, cell_ids, src.title, warnings, 0.0, False)
    remember(result)
    return _fresh_copy(result, start, cached=False)


def remember(result: RenderedNotebook, *, disk_in_background: bool = False) -> None:
    """Keep a page in the memory cache and the disk cache (there from a thread if asked)."""
    _memory_put(result)
    if disk_in_background:
        threading.Thread(target=_disk_put, args=(result,), daemon=True).start()
    else:
        _disk_put(result)


def _fresh_copy(result: RenderedNotebook, start: float, *, cached: bool) -> RenderedNotebook:
    # The caller may change the lists; the cached entry must not change with them.
    return replace(
        result,
        cell_ids=list(result.cell_ids),
        warnings=list(result.warnings),
        seconds=time.perf_counter() - start,
        cached=cached,
    )


def _content_hash(raw: bytes, base_dir: str, title: str) -> str:
    h = hashlib.sha256()
    for part in (_renderer_fingerprint(), title, base_dir):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    h.update(raw)
    return h.hexdigest()


@functools.cache
def _renderer_fingerprint() -> str:
    """What else decides the page: our code and templates, and the libraries drawing it."""
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256(RENDERER_VERSION.encode())
    for dist in ("nbconvert", "mistune", "pygments"):
        with contextlib.suppress(PackageNotFoundError):
            h.update(f"{dist} {version(dist)}\n".encode())
    code = [Path(__file__), Path(libraries.__file__), Path(repair.__file__)]
    for path in sorted([*code, *TEMPLATES_DIR.rglob("*")]):
        if path.is_file():
            h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


_memory: OrderedDict[str, RenderedNotebook] = OrderedDict()
_memory_lock = threading.Lock()


def clear_memory_cache() -> None:
    """Forget in-memory renders (the disk cache stays)."""
    with _memory_lock:
        _memory.clear()


def from_disk(content_hash: str) -> RenderedNotebook | None:
    """A page from the disk cache only, not kept in memory (a stopped share's export), or None."""
    return _disk_get(content_hash)


def _memory_get(key: str) -> RenderedNotebook | None:
    with _memory_lock:
        hit = _memory.get(key)
        if hit is not None:
            _memory.move_to_end(key)
        return hit


def _memory_put(result: RenderedNotebook) -> None:
    with _memory_lock:
        _memory[result.content_hash] = result
        _memory.move_to_end(result.content_hash)
        while len(_memory) > 1 and (
            len(_memory) > _MEMORY_ENTRIES
            or sum(len(r.html) for r in _memory.values()) > _MEMORY_CHARS
        ):
            _memory.popitem(last=False)


def cache_dir() -> Path:
    """Where rendered pages are kept: ``$JUPYTERSPOT_CACHE_DIR/render`` or the user cache."""
    base = os.environ.get(CACHE_ENV)
    if not base:
        import platformdirs

        base = platformdirs.user_cache_dir("jupyterspot-magic")
    return Path(base) / "render"


def _disk_get(key: str) -> RenderedNotebook | None:
    try:
        folder = cache_dir()
        meta = json.loads((folder / f"{key}.json").read_text("utf-8"))
        page = folder / f"{key}.html"
        data = page.read_bytes()
        if meta.get("sha256") != hashlib.sha256(data).hexdigest():
            return None
        ids, title, warnings = meta["cell_ids"], meta["title"], meta["warnings"]
        if not all(isinstance(x, str) for x in [*ids, title, *warnings]):
            return None
        with contextlib.suppress(OSError):  # a read-only cache still serves hits
            os.utime(page)  # recently used: pruned last
        return RenderedNotebook(data.decode("utf-8"), key, ids, title, warnings, 0.0, True)
    except Exception as e:  # missing, half-written, garbage: render again
        log.debug("render cache miss for %s: %s", key, e)
        return None


def _disk_put(result: RenderedNotebook) -> None:
    try:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        data = result.html.encode("utf-8")
        meta = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "cell_ids": result.cell_ids,
            "title": result.title,
            "warnings": result.warnings,
        }
        _write_atomic(folder / f"{result.content_hash}.html", data)
        _write_atomic(folder / f"{result.content_hash}.json", json.dumps(meta).encode())
        _prune(folder)
    except Exception as e:  # read-only home, full disk...: the render itself succeeded
        log.debug("render cache not written: %s", e)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _prune(folder: Path) -> None:
    """Keep the most recently used pages, within a count and a size budget."""
    for tmp in folder.glob(".tmp-*"):  # left by a process killed mid-write
        if time.time() - tmp.stat().st_mtime > 3600:
            tmp.unlink(missing_ok=True)
    pages = sorted(folder.glob("*.html"), key=lambda p: p.stat().st_mtime, reverse=True)
    total = 0
    for n, page in enumerate(pages):
        total += page.stat().st_size
        if n and (n >= _DISK_ENTRIES or total > _DISK_BYTES):
            page.unlink(missing_ok=True)
            page.with_suffix(".json").unlink(missing_ok=True)
