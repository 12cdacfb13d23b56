"""The share's ASGI app: one port for the page, the viewer bundle, the share's routes and rooms.

    /s/{room}                        -> 307 to /s/{room}/ (only for a room that exists)
    /s/{room}/?token=T               the page for T's role (server/pages.py); on an encrypted
                                     share a loader that opens x/page (collab/seal.py)
    /s/{room}/x/page?token=T         an encrypted share's page, sealed
    /s/{room}/static/{name}          the viewer bundle (a fixed list of files)
    /s/{room}/lib/{name}             an output library (Plotly, Vega, BokehJS, the widget manager,
                                     Leaflet, require.js: content/libraries.py), no CDN
    /s/{room}/@jupyter-widgets/…/F.woff2  the widget manager's icon fonts (same files)
    /s/{room}/x/img/<sha256>.<ext>   an image cut out of the page (see `image` below)
    /s/{room}/x/cells?token=T&since=V   the cells a page at version V lacks (server/cells.py)
    /s/{room}/x/export?token=T[&format=json]  the annotated page or the board (export_route.py)
    /s/{room}/x/alive?token=T        204 while the share is open (the notebook widget's ping)
    /ws/{room}/{board|control}?token=T  the Yjs rooms (server/sockets.py)
    /favicon.ico, /s/{room}/favicon.ico  the tab's icon (an SVG; no token, the same for all)

Every HTTP response, errors included, passes through `SecurityHeaders`, the one place its
headers are set. Caching is each route's (server/caching.py: entity tags, 304s, Accept-Encoding).
Websockets bypass Starlette (see `build_app`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.websockets import WebSocket

from .caching import (
    BUNDLE_CACHE,
    IMMUTABLE_CACHE,
    PAGE_CACHE,
    Representation,
    choose_encoding,
    content_tag,
    respond,
)
from .cells import cells_response
from .pages import (
    SEALED,
    StaticCache,
    error_page,
    full_page,
    loader_page,
    starting_page,
)
from .shared import Registry, SharedNotebook
from .sockets import serve_socket

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",
}
ALIVE_HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
# The preflight of the widget's ping through the public link: it sends ngrok's
# `ngrok-skip-browser-warning` header (else ngrok's free plan answers with a warning page that
# has no CORS headers). Cached by the browser as long as it allows (Chromium: 2 h), so it adds
# at most one request per ping link and 2 hours.
ALIVE_PREFLIGHT_HEADERS = {
    **ALIVE_HEADERS,
    "Access-Control-Allow-Methods": "GET",
    "Access-Control-Allow-Headers": "ngrok-skip-browser-warning",
    "Access-Control-Max-Age": "7200",
}
# Cache-Control is each route's own choice (server/caching.py: a page private and revalidated,
# the bundle and plotly.js revalidated, an image immutable); an error that states none is never
# stored (a rotated link's 403 or a full meeting's 503 must not outlive the moment).
ERROR_CACHE_CONTROL = "no-store"
# An image is shown in the page through <img>, where SVG never runs script; opened directly (its
# URL in a tab) an SVG document would, on the share's origin: the policy forbids script and
# every fetch, and `sandbox` gives it an opaque origin besides. Same-origin embedding only.
IMAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src data:; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}

# The tab's icon, asked for by every browser (a 404 in each one's log before): the page names it
# beside itself (templates/jupyterspot/index.html.j2, so a path prefix keeps it on this server)
# and browsers ask the root when a page names none. Ours, the same for every share: no token.
FAVICON_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    b'<rect width="32" height="32" rx="7" fill="#1971c2"/>'
    b'<circle cx="16" cy="16" r="8" fill="#fff"/><circle cx="16" cy="16" r="4" fill="#f59f00"/>'
    b"</svg>"
)
FAVICON = Representation(FAVICON_SVG, "image/svg+xml", content_tag(FAVICON_SVG))
FAVICON_CACHE = "public, max-age=86400"


class SecurityHeaders:
    """ASGI middleware: SECURITY_HEADERS on every HTTP response (and no-store on errors).

    Wraps the whole Starlette app, outside its own error middleware, so its 500s get them too.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(SECURITY_HEADERS)
                if message["status"] >= 400 and "cache-control" not in headers:
                    headers["Cache-Control"] = ERROR_CACHE_CONTROL
            await send(message)

        await self.app(scope, receive, send_with_headers)


def not_found() -> Response:
    return Response("Not found", status_code=404)


def not_acceptable() -> Response:
    """Accept-Encoding refused both gzip and identity (`identity;q=0`, `*;q=0`)."""
    return Response("No acceptable content coding (gzip or identity)", status_code=406)


async def not_found_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 (no route) and 405 (wrong method): the same plain 404."""
    return not_found()


def build_app(registry: Registry) -> Any:
    """The ASGI app of one server: Starlette routes for HTTP, serve_socket for websockets."""
    static_cache = StaticCache()

    def share_for(request: Request) -> tuple[SharedNotebook | None, str | None]:
        """The share the request names and the role its token grants (None: none or wrong)."""
        shared = registry.shares.get(request.path_params["room"])
        role = shared.role_for(request.query_params.get("token")) if shared else None
        return shared, role

    def page_refusal(shared: SharedNotebook | None, role: str | None, room: str) -> Response:
        if shared is None and registry.starting(room):
            return starting_page()  # a new or restarted server: the share opens in a moment
        if shared is None:
            return error_page(404, "Nothing shared here", "This share has ended or never existed.")
        if role is None:
            return error_page(
                403,
                "This link is not valid",
                "The link is incomplete or no longer valid. Ask the presenter for a new one.",
            )
        return full_page()  # a host is never refused (HOST_SLOTS of their own)

    async def page(request: Request) -> Response:
        shared, role = share_for(request)
        if shared is None or role is None or (role == "guest" and shared.seats_left() <= 0):
            return page_refusal(shared, role, request.path_params["room"])
        if shared.encrypted:  # the page comes sealed from x/page, opened by the loader
            return loader_page(shared.room, request.query_params.get("token", ""))
        return await page_body(request, shared, role)

    async def sealed_page(request: Request) -> Response:
        shared, role = share_for(request)
        if shared is None or not shared.encrypted:
            return not_found()
        if role is None:
            return Response("Invalid token", status_code=403)
        return await page_body(request, shared, role)

    async def page_body(request: Request, shared: SharedNotebook, role: str) -> Response:
        coding = choose_encoding(request.headers.get("accept-encoding"))
        if coding is None:
            return not_acceptable()
        rep = await shared.pages.representation(role, coding == "gzip")
        return respond(request.headers, rep, PAGE_CACHE)

    async def page_redirect(request: Request) -> Response:
        room = request.path_params["room"]
        if room not in registry.shares:  # only real rooms: never an open redirect
            return error_page(404, "Nothing shared here", "This share has ended or never existed.")
        query = f"?{request.url.query}" if request.url.query else ""
        return Response(status_code=307, headers={"Location": f"{quote(room)}/{query}"})

    def bundle_file(request: Request, asset: tuple[Representation, Representation]) -> Response:
        coding = choose_encoding(request.headers.get("accept-encoding"))
        if coding is None:
            return not_acceptable()
        return respond(request.headers, asset[coding == "gzip"], BUNDLE_CACHE)

    async def static(request: Request) -> Response:
        asset = await static_cache.get(request.path_params["name"])
        return not_found() if asset is None else bundle_file(request, asset)

    async def library(request: Request) -> Response:
        """No token, like the bundle: public code, the same for every share. Only names the
        table knows (content/libraries.py `find`), never a path from the request."""
        asset = await static_cache.library(request.path_params["name"])
        return not_found() if asset is None else bundle_file(request, asset)

    async def widget_font(request: Request) -> Response:
        name = request.path_params["name"]
        return await library(request) if name.endswith(".woff2") else not_found()

    async def image(request: Request) -> Response:
        """An image cut out of the share's page or cells answers (server/pages.py ImageStore).

        No token: the URL is the capability. Its name is the SHA-256 of the image, 256 bits no
        one can guess, revealed only by the page (and cells answers), which need a valid token;
        and knowing the hash of an image means already having it. (On an encrypted share the
        name is keyed and the bytes sealed: server/pages.py ImageSealer.) Only images of the live
        room's current content (and the version before) are served, so a share that stopped or
        moved on serves nothing. A token in the URL would have to be written into the page,
        which never holds one (pages are redacted), would split the browser cache per role
        and be thrown away on every rotation. Referrer-Policy: no-referrer keeps the URLs
        out of other sites' logs, like the page's own.
        """
        shared = registry.shares.get(request.path_params["room"])
        found = shared.pages.images.get(request.path_params["name"]) if shared else None
        if found is None:
            return not_found()
        # an encrypted share's images are sealed (server/pages.py ImageSealer): bytes, not a type
        mime = SEALED if shared is not None and shared.encrypted else found.mime
        rep = Representation(found.data, mime, f'"{found.digest}"')
        return respond(request.headers, rep, IMMUTABLE_CACHE, vary=False, extra=IMAGE_HEADERS)

    # The share's own routes: 404 while the share has not attached the part that answers
    # (server/shared.py), then 403 for a wrong token, as for pages.

    async def cells(request: Request) -> Response:
        shared, role = share_for(request)
        if shared is None:
            return not_found()
        if role is None:
            return Response("Invalid token", status_code=403)
        coding = choose_encoding(request.headers.get("accept-encoding"))
        if coding is None:
            return not_acceptable()
        since = request.query_params.get("since")
        # shared.live is None until the kernel sent its per-cell view: "reload" meanwhile
        live = shared.live
        return await cells_response(shared, live, role, since, request.headers, coding == "gzip")

    async def export(request: Request) -> Response:
        shared, role = share_for(request)
        exporter = shared.exporter if shared else None
        if exporter is None:
            return not_found()
        if role is None:
            return Response("Invalid token", status_code=403)
        return await exporter.handle(role, request.query_params.get("format"))

    async def alive(request: Request) -> Response:
        """The notebook widget's ping (js/widget/index.ts `watchShare`): 204 while the share is
        open, 503 while a restarted server reopens it, else 404/403. Any origin may read the
        status (the widget runs on the notebook's origin, not the link's); it says nothing the
        link's holder does not know, and no cookie is involved."""
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=ALIVE_PREFLIGHT_HEADERS)
        shared, role = share_for(request)
        room = request.path_params["room"]
        status = 204 if role else 403 if shared else 503 if registry.starting(room) else 404
        return Response(status_code=status, headers=ALIVE_HEADERS)

    async def favicon(request: Request) -> Response:
        return respond(request.headers, FAVICON, FAVICON_CACHE, vary=False, extra=IMAGE_HEADERS)

    routes = [
        Route("/favicon.ico", favicon),
        Route("/s/{room}/favicon.ico", favicon),
        Route("/s/{room}", page_redirect),
        Route("/s/{room}/", page),
        Route("/s/{room}/static/{name}", static),
        Route("/s/{room}/lib/{name:path}", library),
        # the widget manager's icon fonts, asked for beside its modules' require.js URLs
        Route("/s/{room}/@jupyter-widgets/{name:path}", widget_font),
        Route("/s/{room}/x/img/{name}", image),
        Route("/s/{room}/x/page", sealed_page),
        Route("/s/{room}/x/cells", cells),
        Route("/s/{room}/x/export", export),
        Route("/s/{room}/x/alive", alive, methods=["GET", "HEAD", "OPTIONS"]),
    ]
    handlers = {404: not_found_handler, 405: not_found_handler}
    pages = SecurityHeaders(Starlette(routes=routes, exception_handlers=handlers))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        # Websockets skip Starlette's middleware so the room gets uvicorn's own `send` (and
        # with it the transport: see DirectFrames); everything else is a Starlette route.
        if scope["type"] == "websocket":
            await serve_socket(registry, WebSocket(scope, receive, send), send)
        else:
            await pages(scope, receive, send)

    return app
