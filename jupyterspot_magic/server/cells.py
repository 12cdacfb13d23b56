"""The share's `cells` route: the cells a page at an older version needs (content/live.py)."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Callable
from typing import Any

from ..content.live import LiveContent


def cells_handler(live: LiveContent, shared: Any) -> Callable:
    """The `GET /s/{room}/x/cells?since=V` route (token checked by the server)."""
    from starlette.responses import Response

    from ..server.app import SECURITY_HEADERS

    async def handle(role: str, query: Any) -> Response:
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-store"}
        payload = live.cells_payload(query.get("since"))
        if payload is None:  # no per-cell view of the current content: the page reloads
            payload = {"version": shared.rendered.content_hash, "reload": True}
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        # Defense in depth, as for pages: the host token never reaches a page.
        text = text.replace(shared.host_token, "[redacted]")
        if role == "guest":
            text = text.replace(shared.token, "[redacted]")
        body = text.encode()
        if len(body) > 32_768:
            body = await asyncio.to_thread(gzip.compress, body, 6)
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type="application/json", headers=headers)

    return handle
