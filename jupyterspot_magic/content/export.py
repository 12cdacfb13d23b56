"""Export a share: a standalone HTML file that opens offline, and the board as JSON.

The HTML is the shared page itself (the current rendered notebook) with the viewer's JS and CSS
inlined and the board's Yjs state embedded (``<script id="jupyterspot-board">``, base64). The
viewer sees ``"offline": true`` in its config, opens no connection, and draws every shape with
its own renderer at its cell (js/viewer/live.ts), all of them, not only those near the viewport.
MathJax is inlined too when the page has math, and so is every output library the page uses
(Plotly, Vega, BokehJS, the widget manager, Leaflet: content/inline.py), so its figures stay
interactive with no network at all. Both tokens are redacted: an export is meant to be
passed around.

The JSON holds every shape's fields (points decoded to numbers) and the board's Yjs update
(base64), enough to restore or analyze it.

Where the work runs (issue 11, row 7): decoding a 20,000-shape board is seconds of CPU, and
pycrdt holds the GIL for hundreds of milliseconds at a time (`apply_update`, `to_py`), so a worker
*thread* still freezes the server loop and slows the kernel's own code. The server loop therefore
only takes the snapshot (`doc.get_update()`, ~30 ms for 20,000 shapes); everything else runs in a
short-lived child process (`python -c ... _worker()`), which holds no lock the kernel needs and,
should a hostile board crash yrs, dies alone. Where no child process can start (a frozen app, a
sandbox) it falls back to a thread. One build at a time per share: a request arriving while a
build of the same board is running shares its result; at most `MAX_WAITING` more wait their turn,
anything beyond gets 429 with Retry-After (see `Exporter`).
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import math
import re
import struct
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..base.page_config import config_block, page_config
from ..base.paths import PACKAGE_DIR, STATIC_DIR
from ..base.text import redact
from .inline import inline_libraries

if TYPE_CHECKING:
    from .render import RenderedNotebook

_CSS_LINK = re.compile(r'<link[^>]*href="static/viewer\.css"[^>]*>')
_JS_TAG = '<script src="static/viewer.js"></script>'
_MATH_HINT = re.compile(r"\$|\\\(|\\\[|\\begin\{")
WORKER_TIMEOUT = 300.0  # s: a stuck child is killed, the request answers 500
MAX_WAITING = 2  # requests queued behind a running build of another board state; more get 429
_NO_WORKER = 3  # the child's exit code when it cannot import us: build in-process instead
_WORKER_CODE = (
    "import sys\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "try:\n"
    "    from jupyterspot_magic.content.export import _worker\n"
    "except ImportError:\n"
    f"    sys.exit({_NO_WORKER})\n"
    "_worker()\n"
)


class ExportError(RuntimeError):
    """The export could not be built."""


@dataclass(frozen=True)
class Job:
    """Everything one export needs, as plain data: it crosses a process boundary."""

    kind: str  # "html" | "json"
    update: bytes  # the board's Yjs state
    html: str  # the rendered page (with the config placeholder)
    content_hash: str
    cell_ids: list[str]
    title: str
    notebook: str | None
    secrets: tuple[str, ...]
    static_dir: str
    placeholder: str


def make_job(
    kind: str,
    rendered: RenderedNotebook,
    update: bytes,
    notebook: str | None = None,
    secrets: tuple[str, ...] = (),
) -> Job:
    from .render import CONFIG_PLACEHOLDER

    return Job(
        kind=kind,
        update=update,
        html=rendered.html,
        content_hash=rendered.content_hash,
        cell_ids=list(rendered.cell_ids),
        title=rendered.title,
        notebook=notebook,
        secrets=tuple(s for s in secrets if s),
        static_dir=str(STATIC_DIR),
        placeholder=CONFIG_PLACEHOLDER,
    )


# ------------------------------------------------------------------ building (any process)


def _inline_script(code: str) -> str:
    return "<script>" + code.replace("</script", "<\\/script") + "</script>"


def _page(job: Job) -> str:
    """The standalone page: notebook + viewer + board snapshot, nothing fetched from a server."""
    static = Path(job.static_dir)
    config = page_config(
        room="",
        role="guest",
        ws_base="",
        version=job.content_hash,
        cells=len(job.cell_ids),
        title=job.title,
        offline=True,
    )
    snapshot = json.dumps(base64.b64encode(job.update).decode())
    block = (
        f"{config_block(config)}\n"
        f'<script id="jupyterspot-board" type="application/json">{snapshot}</script>'
    )
    html = job.html.replace(job.placeholder, block, 1)
    css = (static / "viewer.css").read_text("utf-8").replace("</style", "<\\/style")
    html = _CSS_LINK.sub(lambda _m: f"<style>{css}</style>", html, count=1)
    js = (static / "viewer.js").read_text("utf-8")
    html = html.replace(_JS_TAG, _inline_script(js), 1)
    # MathJax when the notebook has math or an output asked for it (content/libraries.py
    # TRIGGERS): looked for in the cells, not in the page's head (its MathJax config is full of
    # "$") nor in the viewer just inlined, which made every export carry MathJax's 3 MB
    root = job.html[job.html.find('<main id="jupyterspot-root">') :]
    wants_math = _MATH_HINT.search(root) or "./lib/mathjax.js" in root
    if wants_math and '"static/mathjax.js"' in html:
        data = base64.b64encode((static / "mathjax.js").read_bytes()).decode()
        html = html.replace('"static/mathjax.js"', f'"data:text/javascript;base64,{data}"', 1)
    return redact(inline_libraries(html), job.secrets)


def _floats(data: bytes) -> list[float]:
    n = len(data) // 4
    return [round(v, 3) for v in struct.unpack(f"<{n}f", data[: n * 4])]


def _json_safe(value: Any) -> Any:
    """NaN/Infinity are not JSON: a hostile float must not make the file unreadable."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _field(key: str, value: Any) -> Any:
    # yrs writes bytes as a list of 0..255; the schema allows bytes only in `pts`
    if key == "pts" and isinstance(value, list):
        try:
            return _floats(bytes(value))
        except (TypeError, ValueError):
            return value
    return _json_safe(value)


def _board(job: Job) -> dict:
    """Every shape (points as numbers), where it is anchored, and the raw Yjs state."""
    from pycrdt import Doc, Map

    doc = Doc()  # a fresh document: the live one belongs to the server thread
    doc.apply_update(job.update)
    # yrs' own JSON of the whole map: ~15x faster than walking it with to_py()
    raw = json.loads(str(doc.get("shapes", type=Map)))
    shapes: dict[str, Any] = {}
    cells = set(job.cell_ids)
    for sid, fields in raw.items():
        if not isinstance(fields, dict):
            continue
        out = {k: _field(k, v) for k, v in fields.items()}
        out["detached"] = out.get("cell") not in cells
        shapes[sid] = out
    return {
        "format": "jupyterspot-board/1",
        "notebook": job.notebook,
        "title": job.title,
        "version": job.content_hash,
        "cells": job.cell_ids,
        "exported": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "count": len(shapes),
        "shapes": shapes,
        "update": base64.b64encode(job.update).decode(),
    }


def build(job: Job) -> bytes:
    """The export's bytes (UTF-8): the page, or the board JSON."""
    if job.kind == "json":
        return json.dumps(_board(job), ensure_ascii=False, indent=1).encode()
    return _page(job).encode()


def page_html(
    rendered: RenderedNotebook, board_update: bytes, secrets: tuple[str, ...] = ()
) -> str:
    """The standalone page, built in this process (see `run_job` for the off-process way)."""
    return _page(make_job("html", rendered, board_update, secrets=secrets))


def board_json(board_update: bytes, rendered: RenderedNotebook, notebook: str | None) -> dict:
    """The board as a dict, built in this process."""
    return _board(make_job("json", rendered, board_update, notebook))


# ------------------------------------------------------------------ the worker process


def _pack(job: Job) -> bytes:
    fields = asdict(job)
    update, html = fields.pop("update"), fields.pop("html").encode()
    header = json.dumps({**fields, "update_len": len(update)}).encode()
    return struct.pack(">I", len(header)) + header + update + html


def _unpack(data: bytes) -> Job:
    (n,) = struct.unpack(">I", data[:4])
    fields = json.loads(data[4 : 4 + n])
    start = 4 + n
    end = start + fields.pop("update_len")
    fields["secrets"] = tuple(fields["secrets"])
    return Job(update=data[start:end], html=data[end:].decode(), **fields)


def _worker() -> None:
    """Child process: a packed job on stdin, the export's bytes on stdout."""
    job = _unpack(sys.stdin.buffer.read())
    sys.stdout.buffer.write(build(job))
    sys.stdout.buffer.flush()


def _in_child(job: Job) -> bytes | None:
    """Build in a child process; None when no child can run here (then build in-process)."""
    package_parent = str(PACKAGE_DIR.parent)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _WORKER_CODE, package_parent],
            input=_pack(job),
            capture_output=True,
            timeout=WORKER_TIMEOUT,
            cwd=package_parent,  # no notebook-folder module can shadow ours or the stdlib
        )
    except OSError:
        return None
    except subprocess.TimeoutExpired as e:
        raise ExportError(f"the export took over {WORKER_TIMEOUT:.0f} s") from e
    if proc.returncode == _NO_WORKER:
        return None
    if proc.returncode != 0:
        last = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise ExportError(f"the export worker failed ({proc.returncode}): {last[0]}")
    return proc.stdout


def run_job(job: Job) -> bytes:
    """Build the export off this process when possible (blocking: call from a thread)."""
    body = _in_child(job)
    return build(job) if body is None else body


def write(path: str | Path, rendered: RenderedNotebook, board_update: bytes, **kw) -> Path:
    """Write `.json` as board JSON, anything else as the standalone HTML page."""
    path = Path(path).expanduser()
    kind = "json" if path.suffix.lower() == ".json" else "html"
    job = make_job(kind, rendered, board_update, kw.get("notebook"), kw.get("secrets", ()))
    body = run_job(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path.resolve()
