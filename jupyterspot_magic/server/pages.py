"""What the share serves over plain HTTP: its page per role, the viewer bundle, error pages.

Pages and bundle files are built and gzipped once, off the server loop where it costs (a page can
be 18 MB of base64 images); every request after that is a dictionary lookup. A page's large
inline images are cut out into separate content-addressed resources (content/images.py), kept
here beside the page that names them. Each answer is a `Representation` with its own entity tag
(server/caching.py); the routes and the headers common to every response are server/app.py's.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Callable
from urllib.parse import quote

from starlette.responses import HTMLResponse

from ..base.page_config import config_block, page_config
from ..base.paths import STATIC_DIR
from ..base.text import redact
from ..collab.seal import image_name, seal_image
from ..content import libraries
from ..content.images import MIN_BYTES, Image
from ..content.images import extract as extract_images
from ..content.render import CONFIG_PLACEHOLDER, RenderedNotebook
from .caching import Representation, content_tag
from .caching import gzipped as encode_gzip

STATIC_FILES = {
    "viewer.js": "text/javascript",
    "viewer.css": "text/css",
    "mathjax.js": "text/javascript",
    "e2e-loader.js": "text/javascript",  # opens an encrypted share's page (js/viewer/e2e/)
}
HTML = "text/html; charset=utf-8"
SEALED = "application/octet-stream"  # a seal blob (collab/seal.py): only the link's key opens it
# Where a page's cut-out images live, relative to the page (/s/{room}/): /s/{room}/x/img/<name>
# (server/app.py). Relative, like the bundle's URLs, so a proxy's path prefix needs nothing.
IMAGE_PREFIX = "x/img/"
MAX_FRAGMENTS = 4096  # cells answers' cut HTML kept (each at most one cell of it)
FRAGMENT_BYTES_MAX = 128 << 20  # bytes (HTML and images) the kept fragments may hold on to


def build_page(
    rendered: RenderedNotebook,
    room: str,
    role: str,
    secrets: tuple[str, ...],
    relay: str = "",
    e2e: bool = False,
    version: str | None = None,
    presenter: str = "",
) -> bytes:
    """The rendered notebook with its config block for `role`, every secret redacted; `relay`:
    the relay's websocket URL when the rooms are published there (--relay); `e2e`: the share
    is end-to-end encrypted (the page itself is then served sealed)."""
    config = page_config(
        room=room,
        role=role,
        ws_base=f"../../ws/{room}",
        version=version or rendered.content_hash,
        cells=len(rendered.cell_ids),
        title=rendered.title,
        relay=relay,
        e2e=e2e,
        presenter=presenter if role == "host" else "",  # the host's default name, theirs only
    )
    page = rendered.html.replace(CONFIG_PLACEHOLDER, config_block(config), 1)
    # Defense in depth: a host token must never reach a page (e.g. saved widget state).
    return redact(page, secrets).encode()


def gzip_level(page: bytes) -> int:
    """Text compresses well at 6; big pages are mostly base64 images that barely shrink."""
    return 6 if len(page) < 4_000_000 else 1


IMAGE_STORE_MAX = 256 << 20  # bytes of images held beyond two generations' worth at most


class ImageStore:
    """The images cut out of this share's pages and cells answers, by name; on the server loop.

    Bound: only the share's own rendered content is cut (the notebook's page and the cells of its
    live updates, never anything a guest sends), and only two generations are kept: the
    images of the content served now and of the one before it (a page not yet updated may still
    load those lazily). So the store holds at most the decoded images of two versions of the
    page, which are smaller than the pages themselves (base64 is 4/3 of the bytes), or, when
    updates come faster than a whole page is built, IMAGE_STORE_MAX. A
    generation ends only once the next one holds a whole page's images, so an image a page
    references is never missing in between; an image in both is kept once.
    """

    def __init__(self) -> None:
        self._current: dict[str, Image] = {}
        self._previous: dict[str, Image] = {}
        self._complete = False  # the current generation holds a whole page's images

    def add(self, found: dict[str, Image], whole_page: bool = False) -> None:
        """`found` becomes current, at the newest end (trimming drops the oldest first, and
        never what this batch holds: an answer names these now)."""
        for name, image in found.items():
            kept = self._current.pop(name, None) or self._previous.get(name, image)
            self._current[name] = kept
        self._complete = self._complete or whole_page
        if not self._complete and self.nbytes() > IMAGE_STORE_MAX:
            self._trim(keep=len(found))

    def _trim(self, keep: int = 1) -> None:
        """Live updates faster than any page build: the current generation never completes and
        would grow with every update. Past the budget the oldest images go first (a page still
        showing one gets it back with its next full page)."""
        self._previous = {}
        total = self.nbytes()
        # oldest first; the newest `keep` (the batch just added) always stay
        for name in list(self._current)[: -max(1, keep)]:
            if total <= IMAGE_STORE_MAX:
                break
            total -= len(self._current.pop(name).data)

    def next_generation(self) -> None:
        """The content changed: what is current becomes the previous generation."""
        if self._complete:
            self._previous, self._current, self._complete = self._current, {}, False

    def get(self, name: str) -> Image | None:
        return self._current.get(name) or self._previous.get(name)

    def names(self) -> set[str]:
        return set(self._current) | set(self._previous)

    def nbytes(self) -> int:
        return sum(len((self._current.get(n) or self._previous[n]).data) for n in self.names())


class PageCache:
    """One share's page per role and encoding, built once by `build(role)`, with its large inline
    images cut out into `images` (content/images.py); used on the server loop only.

    Building and compressing run in a worker thread (the 17.9 MB notebook's page is 18 MB of
    mostly base64 images to cut and hash); requests for the same representation wait for the
    same job, and a plain request never waits for gzip. A build that finishes after the content
    changed (`clear`) still answers its request but is not kept.
    """

    def __init__(self, build: Callable[[str], bytes]) -> None:
        self._build = build
        # None: images stay inline (the page as it was before images were cut; tests, bench)
        self.min_image_bytes: int | None = MIN_BYTES
        self.images = ImageStore()
        self._pages: dict[tuple[str, bool], Representation] = {}
        self._jobs: dict[tuple[str, bool], asyncio.Future] = {}
        self._generation = 0
        # cell HTML -> (the same with its images cut, those images): kept across content
        # versions (a live flush changes one cell; the others' fragments stay valid), dropped
        # on a rotation (an encrypted share's image names depend on the key)
        self._fragments: dict[str, tuple[str, dict[str, Image]]] = {}
        self._warming: asyncio.Task | None = None
        self._warm_later: asyncio.TimerHandle | None = None
        self._rotations = 0  # clears that dropped the fragments (cuts made before are stale)
        self._fragment_bytes = 0  # images the fragments hold
        # An encrypted share's (server/shared.py): seals a page as a blob of kind "page", and
        # its cut-out images each as a blob of their own (ImageSealer).
        self.seal: Callable[[bytes], bytes] | None = None
        self.sealer: ImageSealer | None = None

    def set_seal(self, seal: Callable[[bytes], bytes], sealer: ImageSealer) -> None:
        self.seal, self.sealer = seal, sealer
        self.clear()

    def _extract(self, html: str, limit: int) -> tuple[str, dict[str, Image]]:
        """Cut the images out of `html` (a worker thread); sealed on an encrypted share."""
        html, found = extract_images(html, IMAGE_PREFIX, limit)
        return self.sealer.apply(html, found) if self.sealer is not None else (html, found)

    def clear(self, keep_fragments: bool = False) -> None:
        """The content or a token changed: build again on the next request."""
        self._generation += 1
        self._pages.clear()
        self._jobs.clear()  # a job still running belongs to the old page
        if not keep_fragments:
            self._fragments.clear()
            self._fragment_bytes = 0
            self._rotations += 1
        self.images.next_generation()

    def forget_loop(self) -> None:
        """After a server restart: the running jobs died with the old loop."""
        self._jobs = {}
        self._warming = None
        self._warm_later = None

    def warm_up(self, role: str = "guest", delay: float = 0.0) -> None:
        """Build and compress the page in the background so the first visitor does not wait.
        `delay`: once the content has been still that long (live outputs change it up to ten
        times a second: building the whole page each time would hold the loop's lock for the
        page's size, every time; a visitor meanwhile has it built on demand)."""
        loop = asyncio.get_running_loop()
        if self._warm_later is not None:
            self._warm_later.cancel()
            self._warm_later = None
        if delay > 0:
            self._warm_later = loop.call_later(delay, self.warm_up, role)
            return
        self._warming = loop.create_task(self.get(role, True))

    async def get(self, role: str, gzipped: bool) -> bytes:
        return (await self.representation(role, gzipped)).body

    async def representation(self, role: str, gzipped: bool) -> Representation:
        """The page for a role, plain or gzip, with its entity tag."""
        key = (role, gzipped)
        done = self._pages.get(key)
        if done is not None:
            return done
        job = self._jobs.get(key)
        if job is None:
            generation = self._generation
            job = self._jobs[key] = asyncio.ensure_future(self._make(role, gzipped))
            job.add_done_callback(lambda j: self._keep(key, generation, j))
        return await asyncio.shield(job)  # a client leaving does not cancel the build

    async def _make(self, role: str, gzipped: bool) -> Representation:
        if gzipped and self.seal is not None:  # compressed inside the blob already
            return await self.representation(role, False)
        if gzipped:
            plain = await self.representation(role, False)
            return await asyncio.to_thread(encode_gzip, plain, gzip_level(plain.body))
        generation = self._generation
        rep, found = await asyncio.to_thread(self._cut_page, role)
        self.images.add(found, whole_page=generation == self._generation)
        return rep

    def _cut_page(self, role: str) -> tuple[Representation, dict[str, Image]]:
        """In a worker thread: the page with its images cut out, and those images."""
        page = self._build(role)
        found: dict[str, Image] = {}
        if self.min_image_bytes is not None:
            html, found = self._extract(page.decode(), self.min_image_bytes)
            page = html.encode()
        if self.seal is not None:
            blob = self.seal(page)
            return Representation(blob, SEALED, content_tag(blob)), found
        return Representation(page, HTML, content_tag(page)), found

    def _keep(self, key: tuple[str, bool], generation: int, job: asyncio.Future) -> None:
        """Cache a finished build, unless the content changed meanwhile."""
        if self._jobs.get(key) is job:
            del self._jobs[key]
        if generation == self._generation and not job.cancelled() and job.exception() is None:
            self._pages[key] = job.result()

    async def cut_cells(self, cells: list[dict]) -> None:
        """Cut the images out of a cells answer's HTML (in place), as out of the page: a live
        update's new figures travel as URLs too. Each cell's HTML is cut once per content."""
        if self.min_image_bytes is None:
            return
        todo = [c["html"] for c in cells if c.get("html") and c["html"] not in self._fragments]
        if todo:
            limit = self.min_image_bytes
            rotations = self._rotations
            done = await asyncio.to_thread(lambda: [self._extract(h, limit) for h in todo])
            if rotations != self._rotations:  # a rotation meanwhile: names of the old key
                done = [self._extract(h, limit) for h in todo]
            sizes = sum(_size(h, f) for h, f in zip(todo, done, strict=True))
            held = self._fragment_bytes + sizes
            if len(self._fragments) > MAX_FRAGMENTS or held > FRAGMENT_BYTES_MAX:
                self._fragments.clear()  # cut again when asked: a bound, not a loss
                held = sizes
            self._fragment_bytes = held
            for html, fragment in zip(todo, done, strict=True):
                self._fragments[html] = fragment
        named: dict[str, Image] = {}
        for cell in cells:
            fragment = self._fragments.get(cell.get("html") or "")
            if fragment is not None:
                cell["html"], found = fragment
                named.update(found)
        self.images.add(named)  # one batch: what this answer names is current and kept


def _size(html: str, fragment: tuple[str, dict[str, Image]]) -> int:
    """What keeping a fragment costs: its cell's HTML (the key), the cut HTML, the images."""
    return len(html) + len(fragment[0]) + sum(len(image.data) for image in fragment[1].values())


class ImageSealer:
    """An encrypted share's images: cut out as on a plain share (the sealed page stays small:
    the 17.9 MB notebook's 120 figures inline made it 13.6 MB), each sealed on its own under a
    keyed name (collab/seal.py), and marked `data-jsp-src` instead of `src`: the browser must
    not fetch ciphertext as a picture; the viewer opens them as they come into view
    (js/viewer/e2e/images.ts)."""

    def __init__(self, key: Callable[[], bytes], room: str) -> None:
        self.key = key  # read at each use: a rotation changes it
        self.room = room

    def apply(self, html: str, found: dict[str, Image]) -> tuple[str, dict[str, Image]]:
        key = self.key()
        names = {
            name: image_name(key, image.digest, name.rpartition(".")[2])
            for name, image in found.items()
        }

        def swap(m: re.Match[str]) -> str:
            public = names.get(m.group(1))
            return f' data-jsp-src="{IMAGE_PREFIX}{public}"' if public else m.group(0)

        html = _CUT_SRC.sub(swap, html)
        sealed = {
            public: Image(
                public.partition(".")[0],
                found[name].mime,
                seal_image(key, self.room, public, found[name].data),
            )
            for name, public in names.items()
        }
        return html, sealed


_CUT_SRC = re.compile(r' src="' + re.escape(IMAGE_PREFIX) + r'([0-9a-f]{64}\.[a-z]+)"')


class StaticCache:
    """The bundle files and the output libraries, read and gzipped once per process, in a worker
    thread: (plain, gzip) representations, each with its own entity tag."""

    def __init__(self) -> None:
        self._assets: dict[str, tuple[Representation, Representation]] = {}

    async def get(self, name: str) -> tuple[Representation, Representation] | None:
        """`name` from the bundle (STATIC_FILES)."""
        if name not in STATIC_FILES:
            return None
        path = STATIC_DIR / name
        return await self._cached(f"static/{name}", path.read_bytes, STATIC_FILES[name])

    async def library(self, name: str) -> tuple[Representation, Representation] | None:
        """`lib/<name>`: an output library (content/libraries.py), or None."""
        found = await asyncio.to_thread(libraries.find, name)
        if found is None:
            return None
        # keyed by what is served, never by the name asked: "plotly@4.1.1.js" and "plotly" share
        # one copy, and made-up versions of a stub cannot grow the cache
        key = f"lib/{found.path}" if found.path else f"lib-stub/{content_tag(found.read())}"
        return await self._cached(key, found.read, found.media)

    async def _cached(
        self, key: str, read: Callable[[], bytes], media: str
    ) -> tuple[Representation, Representation] | None:
        if key not in self._assets:
            asset = await asyncio.to_thread(self._load, read, media)
            if asset is None:
                return None
            self._assets[key] = asset
        return self._assets[key]

    @staticmethod
    def _load(
        read: Callable[[], bytes], media: str
    ) -> tuple[Representation, Representation] | None:
        try:
            raw = read()
        except OSError:
            return None
        plain = Representation(raw, media, content_tag(raw))
        return plain, encode_gzip(plain, 6)


def loader_page(room: str, token: str) -> HTMLResponse:
    """An encrypted share's page as the network sees it: no title, no content. Its script
    (js/viewer/e2e/loader.ts) takes the key from the link's fragment, fetches the sealed page
    (`blob`), opens it and writes it in place, so the notebook's own scripts run as usual."""
    # The token is the one this page was opened with (its own URL holds it already).
    data = json.dumps({"room": room, "blob": f"x/page?token={quote(token, safe='')}"})
    data = data.replace("<", "\\u003c")  # nothing in it can end the script element
    body = (
        "<!doctype html><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        "<title>Shared notebook</title>"
        "<body style='font:16px system-ui;max-width:36em;margin:15vh auto;padding:0 1em'>"
        "<p id=jupyterspot-e2e-status>Opening the encrypted notebook\u2026</p>"
        f"<script id=jupyterspot-e2e type=application/json>{data}"
        "</script><script src='static/e2e-loader.js'></script>"
    )
    return HTMLResponse(body, headers={"Cache-Control": "private, no-cache"})


def error_page(status: int, title: str, detail: str, head: str = "") -> HTMLResponse:
    body = (
        "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        f"{head}<title>{html.escape(title)}</title>"
        "<body style='font:16px system-ui;max-width:36em;margin:15vh auto;padding:0 1em'>"
        f"<h1 style='font-size:1.4em'>{html.escape(title)}</h1><p>{html.escape(detail)}</p>"
    )
    return HTMLResponse(body, status_code=status)


FULL_RETRY_AFTER = 10  # s: a seat frees when someone leaves; the full page asks again this often


def full_page() -> HTMLResponse:
    """503 for a guest when every guest seat is taken (the host is never refused).

    The page reloads itself after Retry-After: someone reloading a full meeting holds their own
    seat until their old page unloads, which is when this page shows, so the next try usually
    gets in; browsers do not act on Retry-After by themselves.
    """
    page = error_page(
        503,
        "This meeting is full",
        "Every seat is taken. This page tries again by itself every "
        f"{FULL_RETRY_AFTER} seconds, so keep it open; you join as soon as someone leaves.",
        head=f"<meta http-equiv=refresh content={FULL_RETRY_AFTER}>",
    )
    page.headers["Retry-After"] = str(FULL_RETRY_AFTER)
    return page


STARTING_RETRY_AFTER = 2  # s: a new or restarted server opens its rooms within moments


def starting_page() -> HTMLResponse:
    """503 while a new server, or one started again after a crash, opens its share
    (Registry.starting): the link may be right, the page reloads itself in a moment."""
    page = error_page(
        503,
        "The share is starting",
        "The presenter's share server is starting. This page reloads by itself in a moment.",
        head=f"<meta http-equiv=refresh content={STARTING_RETRY_AFTER}>",
    )
    page.headers["Retry-After"] = str(STARTING_RETRY_AFTER)
    return page
