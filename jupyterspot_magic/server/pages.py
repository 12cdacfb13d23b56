"""What the share serves over plain HTTP: its page per role, the viewer bundle, error pages.

Pages and bundle files are built and gzipped once, off the server loop where it costs (a page can
be 18 MB of base64 images); every request after that is a dictionary lookup. Headers common to
every response (security, caching of errors) are added by server/app.py, not here.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import html
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.responses import HTMLResponse

from ..base.page_config import config_block, page_config
from ..base.paths import STATIC_DIR
from ..base.text import redact
from ..content.render import CONFIG_PLACEHOLDER, RenderedNotebook

STATIC_FILES = {
    "viewer.js": "text/javascript",
    "viewer.css": "text/css",
    "mathjax.js": "text/javascript",
}


def build_page(rendered: RenderedNotebook, room: str, role: str, secrets: tuple[str, ...]) -> bytes:
    """The rendered notebook with its config block for `role`, every secret redacted."""
    config = page_config(
        room=room,
        role=role,
        ws_base=f"../../ws/{room}",
        version=rendered.content_hash,
        cells=len(rendered.cell_ids),
        title=rendered.title,
    )
    page = rendered.html.replace(CONFIG_PLACEHOLDER, config_block(config), 1)
    # Defense in depth: a host token must never reach a page (e.g. saved widget state).
    return redact(page, secrets).encode()


def gzip_level(page: bytes) -> int:
    """Text compresses well at 6; big pages are mostly base64 images that barely shrink."""
    return 6 if len(page) < 4_000_000 else 1


class PageCache:
    """One share's page per role, built once by `build(role)`; only used on the server loop."""

    def __init__(self, build: Callable[[str], bytes]) -> None:
        self._build = build
        self._pages: dict[tuple[str, bool], bytes] = {}
        self._gzipping: dict[str, asyncio.Future] = {}
        self._warming: asyncio.Task | None = None

    def clear(self) -> None:
        """The content or a token changed: build again on the next request."""
        self._pages.clear()
        self._gzipping.clear()  # a compression still running belongs to the old page

    def forget_loop(self) -> None:
        """After a server restart: the running jobs died with the old loop."""
        self._gzipping = {}
        self._warming = None

    def warm_up(self, role: str = "guest") -> None:
        """Compress the page in the background so the first visitor does not wait."""
        self._warming = asyncio.get_running_loop().create_task(self.get(role, True))

    async def get(self, role: str, gzipped: bool) -> bytes:
        """The page for a role, built once. Gzip runs in a worker thread (a 18 MB page takes
        ~0.5 s) and only gzip requests wait for it; a plain request never does."""
        plain = self._pages.get((role, False))
        if plain is None:  # no await in between: atomic on the server loop
            plain = self._pages[(role, False)] = self._build(role)
        if not gzipped:
            return plain
        done = self._pages.get((role, True))
        if done is not None:
            return done
        job = self._gzipping.get(role)
        if job is None:
            level = gzip_level(plain)
            job = asyncio.ensure_future(asyncio.to_thread(gzip.compress, plain, level))
            self._gzipping[role] = job
            job.add_done_callback(lambda j: self._keep_gzip(role, plain, j))
        return await asyncio.shield(job)

    def _keep_gzip(self, role: str, plain: bytes, job: asyncio.Future) -> None:
        """Cache a finished compression, unless the page changed meanwhile."""
        if self._gzipping.get(role) is job:
            del self._gzipping[role]
            fresh = self._pages.get((role, False)) is plain
            if fresh and not job.cancelled() and job.exception() is None:
                self._pages[(role, True)] = job.result()


@dataclass(frozen=True)
class StaticAsset:
    raw: bytes
    gzipped: bytes
    etag: str


class StaticCache:
    """The bundle files, read and gzipped once per process (in a worker thread)."""

    def __init__(self) -> None:
        self._assets: dict[str, StaticAsset] = {}

    async def get(self, name: str) -> StaticAsset | None:
        if name not in self._assets:
            asset = await asyncio.to_thread(self._load, STATIC_DIR / name)
            if asset is None:
                return None
            self._assets[name] = asset
        return self._assets[name]

    @staticmethod
    def _load(path: Path) -> StaticAsset | None:
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        etag = '"' + hashlib.sha256(raw).hexdigest()[:20] + '"'
        return StaticAsset(raw, gzip.compress(raw, 6), etag)


def plotly_js_path() -> Path | None:
    """plotly.js from the kernel's own plotly package, when installed (no download needed)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


def error_page(status: int, title: str, detail: str) -> HTMLResponse:
    body = (
        "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        f"<title>{html.escape(title)}</title>"
        "<body style='font:16px system-ui;max-width:36em;margin:15vh auto;padding:0 1em'>"
        f"<h1 style='font-size:1.4em'>{html.escape(title)}</h1><p>{html.escape(detail)}</p>"
    )
    return HTMLResponse(body, status_code=status)
