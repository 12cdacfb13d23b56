"""The share's `cells` route: the cells a page at an older version needs (content/live.py)."""

from __future__ import annotations

import asyncio
import gzip
import json

from starlette.responses import Response

from ..base.text import redact
from ..content.live import LiveContent
from .shared import SharedNotebook

GZIP_OVER = 32_768  # bytes: smaller answers go out as they are (compressing costs more)


async def cells_response(
    shared: SharedNotebook, live: LiveContent, role: str, since: str | None
) -> Response:
    """`GET /s/{room}/x/cells?since=V` (token checked by the route): the cells V lacks, or
    {"version", "reload": true} when there is no per-cell view of the current content."""
    payload = live.cells_payload(since)
    if payload is None:  # no per-cell view of the current content: the page reloads
        payload = {"version": shared.rendered.content_hash, "reload": True}
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    # Defense in depth, as for pages: the host token never reaches a page.
    body = redact(text, shared.secrets_for(role)).encode()
    headers = {"Cache-Control": "no-store"}
    if len(body) > GZIP_OVER:
        body = await asyncio.to_thread(gzip.compress, body, 6)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)
