"""Export a share: a standalone HTML file that opens offline, and the board as JSON.

The HTML is the shared page itself (the current rendered notebook) with the viewer's JS and CSS
inlined and the board's Yjs state embedded (``<script id="jupyterspot-board">``, base64). The
viewer sees ``"offline": true`` in its config, opens no connection, and draws every shape with
its own renderer at its cell (js/viewer/live.ts), all of them, not only those near the viewport.
MathJax is inlined too when the page has math. Both tokens are redacted: an export is meant to be
passed around.

The JSON holds every shape's fields (points decoded to numbers) and the board's Yjs update
(base64), enough to restore or analyze it.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import re
import struct
from pathlib import Path
from typing import Any

from .render import CONFIG_PLACEHOLDER, RenderedNotebook
from .serve import REF_WIDTH, STATIC_DIR

_CSS_LINK = re.compile(r'<link[^>]*href="static/viewer\.css"[^>]*>')
_JS_TAG = '<script src="static/viewer.js"></script>'
_MATH_HINT = re.compile(r"\$|\\\(|\\\[|\\begin\{")


def _inline_script(code: str) -> str:
    return "<script>" + code.replace("</script", "<\\/script") + "</script>"


def page_html(
    rendered: RenderedNotebook, board_update: bytes, secrets: tuple[str, ...] = ()
) -> str:
    """The standalone page: notebook + viewer + board snapshot, nothing fetched from a server."""
    config = {
        "room": "",
        "role": "guest",
        "wsBase": "",
        "refWidth": REF_WIDTH,
        "version": rendered.content_hash,
        "cells": len(rendered.cell_ids),
        "title": rendered.title,
        "offline": True,
    }
    text = json.dumps(config).replace("<", "\\u003c")
    snapshot = json.dumps(base64.b64encode(board_update).decode())
    block = (
        f'<script id="jupyterspot-config" type="application/json">{text}</script>\n'
        f'<script id="jupyterspot-board" type="application/json">{snapshot}</script>'
    )
    html = rendered.html.replace(CONFIG_PLACEHOLDER, block, 1)
    css = (STATIC_DIR / "viewer.css").read_text("utf-8").replace("</style", "<\\/style")
    html = _CSS_LINK.sub(lambda _m: f"<style>{css}</style>", html, count=1)
    js = (STATIC_DIR / "viewer.js").read_text("utf-8")
    html = html.replace(_JS_TAG, _inline_script(js), 1)
    if _MATH_HINT.search(html) and '"static/mathjax.js"' in html:
        data = base64.b64encode((STATIC_DIR / "mathjax.js").read_bytes()).decode()
        html = html.replace('"static/mathjax.js"', f'"data:text/javascript;base64,{data}"', 1)
    for secret in secrets:
        if secret:
            html = html.replace(secret, "[redacted]")
    return html


def _floats(data: bytes) -> list[float]:
    n = len(data) // 4
    return [round(v, 3) for v in struct.unpack(f"<{n}f", data[: n * 4])]


def board_json(board_update: bytes, rendered: RenderedNotebook, notebook: str | None) -> dict:
    """Every shape (points as numbers), where it is anchored, and the raw Yjs state."""
    from pycrdt import Doc, Map

    doc = Doc()
    doc.apply_update(board_update)
    shapes: dict[str, Any] = {}
    cells = set(rendered.cell_ids)
    for sid, value in doc.get("shapes", type=Map).items():
        fields = value.to_py() if hasattr(value, "to_py") else value
        if not isinstance(fields, dict):
            continue
        out = {}
        for k, v in fields.items():
            out[k] = _floats(bytes(v)) if isinstance(v, bytes | bytearray) else v
        out["detached"] = out.get("cell") not in cells
        shapes[sid] = out
    return {
        "format": "jupyterspot-board/1",
        "notebook": notebook,
        "title": rendered.title,
        "version": rendered.content_hash,
        "cells": rendered.cell_ids,
        "exported": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "count": len(shapes),
        "shapes": shapes,
        "update": base64.b64encode(board_update).decode(),
    }


def write(path: str | Path, rendered: RenderedNotebook, board_update: bytes, **kw) -> Path:
    """Write `.json` as board JSON, anything else as the standalone HTML page."""
    path = Path(path).expanduser()
    if path.suffix.lower() == ".json":
        data = board_json(board_update, rendered, kw.get("notebook"))
        text = json.dumps(data, ensure_ascii=False, indent=1)
    else:
        text = page_html(rendered, board_update, kw.get("secrets", ()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path.resolve()


def export_handler(shared: Any, notebook: str | None) -> Any:
    """`GET /s/{room}/x/export?token=T[&format=json]`: the export as a download."""
    import asyncio
    from urllib.parse import quote

    from starlette.responses import Response

    from .serve import SECURITY_HEADERS

    building = asyncio.Lock()  # one export at a time per share: a page is megabytes of work

    async def handle(role: str, query: Any) -> Response:
        async with building:
            return await build(query)

    async def build(query: Any) -> Response:
        update = shared.board.doc.get_update()
        rendered = shared.rendered
        secrets = (shared.host_token, shared.token)
        if query.get("format") == "json":
            data = board_json(update, rendered, notebook)
            body = json.dumps(data, ensure_ascii=False).encode()
            media, ext = "application/json", "json"
        else:
            text = await asyncio.to_thread(page_html, rendered, update, secrets)
            body, media, ext = text.encode(), "text/html; charset=utf-8", "html"
        name = f"{rendered.title or 'notebook'}-notes.{ext}"
        headers = {
            **SECURITY_HEADERS,
            "Cache-Control": "no-store",
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        }
        return Response(body, media_type=media, headers=headers)

    return handle
