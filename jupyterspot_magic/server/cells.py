"""The share's `cells` route: the cells a page at an older version needs (content/live.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

from starlette.responses import Response

from ..base.text import redact
from ..content.live import CellsView
from .caching import PAGE_CACHE, Representation, content_tag, gzipped, respond
from .pages import SEALED
from .shared import SharedNotebook

GZIP_OVER = 32_768  # bytes: smaller answers go out as they are (compressing costs more)
ANSWERS_KEPT = 16  # answers remembered per share (pages a version or two behind, each role)


async def cells_response(
    shared: SharedNotebook,
    live: CellsView | None,
    role: str,
    since: str | None,
    request_headers: Mapping[str, str],
    gzip_ok: bool,
) -> Response:
    """`GET /s/{room}/x/cells?since=V` (token and Accept-Encoding checked by the route): the
    cells V lacks, or {"version", "reload": true} when there is no per-cell view of the current
    content. Large images in the cells' HTML go out as URLs, as in the page (server/pages.py).

    Cached like the page (private, revalidated, an entity tag per encoding): the answer depends
    on the role, `since` (in the URL) and the current content, which the tag covers."""
    if live is None:
        rep = await _representation(shared, None, role, since, gzip_ok)
    else:  # a page that leaves does not cancel the others' answer
        rep = await asyncio.shield(_job(shared, live, role, since, gzip_ok))
    return respond(request_headers, rep, PAGE_CACHE)


def _job(
    shared: SharedNotebook, live: CellsView, role: str, since: str | None, gzip_ok: bool
) -> asyncio.Future[Representation]:
    """One job per question: the pages asking at once (a live flush) all wait for it."""
    version = shared.public_version(live.snapshot.version)
    key = (version, since, role, gzip_ok and not shared.encrypted)
    job = shared.cells_answers.get(key)
    if (
        job is None
        or job.get_loop() is not asyncio.get_running_loop()  # a restarted server loop
        or (job.done() and (job.cancelled() or job.exception() is not None))
    ):
        job = asyncio.ensure_future(_representation(shared, live, role, since, gzip_ok))
        shared.cells_answers[key] = job
        while len(shared.cells_answers) > ANSWERS_KEPT:
            shared.cells_answers.popitem(last=False)
    return job


async def _representation(
    shared: SharedNotebook, live: CellsView | None, role: str, since: str | None, gzip_ok: bool
) -> Representation:
    payload = live.cells_payload(own_version(shared, live, since)) if live is not None else None
    if payload is None:  # no per-cell view of the current content: the page reloads
        payload = {"version": shared.rendered.content_hash, "reload": True}
    else:
        await shared.pages.cut_cells(payload["cells"])  # sealed on an encrypted share
    payload["version"] = shared.public_version(payload["version"])
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    # Defense in depth, as for pages: the host token never reaches a page.
    body = redact(text, shared.secrets_for(role)).encode()
    if shared.encrypted:  # a blob, compressed inside (collab/seal.py)
        blob = await asyncio.to_thread(shared.seal, "cells", body)
        return Representation(blob, SEALED, content_tag(blob))
    rep = Representation(body, "application/json", content_tag(body))
    if gzip_ok and len(body) > GZIP_OVER:
        rep = await asyncio.to_thread(gzipped, rep, 6)
    return rep


def own_version(shared: SharedNotebook, live: CellsView, since: str | None) -> str | None:
    """The content version a page's `since` names (pages see SharedNotebook.public_version)."""
    if since is None or not shared.encrypted:
        return since
    return next((v for v in live.versions if shared.public_version(v) == since), None)
