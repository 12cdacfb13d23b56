"""The share's Export route: builds of the annotated page, one at a time, off the server loop."""

from __future__ import annotations

import asyncio
import math
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.responses import Response

from ..content.export import MAX_WAITING, ExportError, make_job, run_job

if TYPE_CHECKING:
    from .shared import SharedNotebook

NO_STORE = {"Cache-Control": "no-store"}


class Exporter:
    """`GET /s/{room}/x/export?token=T[&format=json]` for one share, on the server loop.

    One build at a time. A request for the same kind of export of the same content and board
    state as the build running now shares its result (everyone pressing Export together costs
    one build). Up to MAX_WAITING others wait their turn: a person's click should get the file,
    not an error. Beyond that, 429 with Retry-After: a queue without a bound would let one guest
    pile up minutes of CPU work and hold open sockets while it waits.

    The share attaches one as `shared.exporter = Exporter(shared, notebook)` (server/shared.py).
    """

    def __init__(self, shared: SharedNotebook, notebook: str | None) -> None:
        self.shared = shared
        self.notebook = notebook  # the notebook's path, written into the board JSON
        self.lock = asyncio.Lock()  # binds to the server loop on first use
        self.waiting = 0
        self.running: dict[tuple, asyncio.Future] = {}  # key -> the future of the build
        self.last_seconds = 1.0

    def _key(self, kind: str) -> tuple:
        board = self.shared.board.doc
        return (kind, self.shared.rendered.content_hash, bytes(board.get_state()))

    async def handle(self, role: str, fmt: str | None) -> Response:
        """The export for a participant of `role`; `fmt` "json" for the board, else the page."""
        kind = "json" if fmt == "json" else "html"
        future = self.running.get(self._key(kind))
        if future is None:
            if self.lock.locked() and self.waiting >= MAX_WAITING:
                return self._busy()
            future = await self._start(kind)
        try:
            body = await asyncio.shield(future)  # a client leaving does not cancel the build
        except ExportError as e:
            # the reason may quote the notebook (a worker's last line): never in clear
            text = "Export failed." if self.shared.encrypted else f"Export failed: {e}"
            return Response(text, 500, headers=NO_STORE)
        if self.shared.encrypted:  # no file name either: it would say the notebook's title
            blob = await asyncio.to_thread(self.shared.seal, "export", body)
            return Response(blob, media_type="application/octet-stream", headers=NO_STORE)
        return self._response(kind, body)

    async def _start(self, kind: str) -> asyncio.Future:
        """Wait for the lock, snapshot the board (cheap, on the loop), build off the loop."""
        self.waiting += 1
        try:
            await self.lock.acquire()
        finally:
            self.waiting -= 1
        key = self._key(kind)
        secrets = (self.shared.host_token, self.shared.token)  # an export is passed around
        update = self.shared.board.doc.get_update()
        job = make_job(kind, self.shared.full_rendered(), update, self.notebook, secrets)
        started = time.monotonic()
        future = asyncio.ensure_future(asyncio.to_thread(run_job, job))
        self.running[key] = future

        def done(_f: Any) -> None:
            self.running.pop(key, None)
            self.last_seconds = time.monotonic() - started
            self.lock.release()

        future.add_done_callback(done)
        return future

    def _busy(self) -> Response:
        wait = max(1, math.ceil(self.last_seconds * (MAX_WAITING + 1)))
        headers = {**NO_STORE, "Retry-After": str(wait)}
        return Response("An export is being built; try again shortly.", 429, headers=headers)

    def _response(self, kind: str, body: bytes) -> Response:
        ext = "json" if kind == "json" else "html"
        media = "application/json" if kind == "json" else "text/html; charset=utf-8"
        name = f"{self.shared.rendered.title or 'notebook'}-notes.{ext}"
        headers = {**NO_STORE, "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"}
        return Response(body, media_type=media, headers=headers)
