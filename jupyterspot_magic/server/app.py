"""The share's ASGI app: one port for the page, the viewer bundle, the share's routes and rooms.

    /s/{room}                        -> 307 to /s/{room}/ (only for a room that exists)
    /s/{room}/?token=T               the page for T's role (server/pages.py)
    /s/{room}/static/{name}          the viewer bundle (a fixed list of files)
    /s/{room}/assets/plotly.min.js   plotly.js from the kernel's own plotly package
    /s/{room}/x/cells?token=T&since=V   the cells a page at version V lacks (server/cells.py)
    /s/{room}/x/export?token=T[&format=json]  the annotated page or the board (export_route.py)
    /ws/{room}/{board|control}?token=T  the Yjs rooms (server/sockets.py)

Every HTTP response, errors included, passes through `SecurityHeaders`, the one place its
headers are set. Websockets bypass Starlette (see `build_app`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket

from .cells import cells_response
from .pages import STATIC_FILES, StaticCache, error_page, plotly_js_path
from .shared import Registry, SharedNotebook
from .sockets import serve_socket

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",
}
# Cache-Control is each route's own choice (a page: no-store, the bundle: no-cache + ETag,
# plotly.js: left to the browser, which caches it by its Last-Modified); an error that states
# none is never stored (a rotated link's 403 must not outlive the rotation).
ERROR_CACHE_CONTROL = "no-store"


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

    async def page(request: Request) -> Response:
        shared, role = share_for(request)
        if shared is None:
            return error_page(404, "Nothing shared here", "This share has ended or never existed.")
        if role is None:
            return error_page(
                403,
                "This link is not valid",
                "The link is incomplete or no longer valid. Ask the presenter for a new one.",
            )
        gzipped = "gzip" in request.headers.get("accept-encoding", "")
        body = await shared.page(role, gzipped)
        headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding"}
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type="text/html; charset=utf-8", headers=headers)

    async def page_redirect(request: Request) -> Response:
        room = request.path_params["room"]
        if room not in registry.shares:  # only real rooms: never an open redirect
            return error_page(404, "Nothing shared here", "This share has ended or never existed.")
        query = f"?{request.url.query}" if request.url.query else ""
        return Response(status_code=307, headers={"Location": f"{quote(room)}/{query}"})

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        asset = await static_cache.get(name) if name in STATIC_FILES else None
        if asset is None:
            return not_found()
        headers = {"Cache-Control": "no-cache", "ETag": asset.etag, "Vary": "Accept-Encoding"}
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        body = asset.raw
        if "gzip" in request.headers.get("accept-encoding", ""):
            body, headers["Content-Encoding"] = asset.gzipped, "gzip"
        return Response(body, media_type=STATIC_FILES[name], headers=headers)

    async def plotly_asset(request: Request) -> Response:
        path = plotly_js_path()
        if path is None:
            return Response("plotly is not installed", status_code=404)
        return FileResponse(path, media_type="text/javascript")

    # The share's own routes: 404 while the share has not attached the part that answers
    # (server/shared.py), then 403 for a wrong token, as for pages.

    async def cells(request: Request) -> Response:
        shared, role = share_for(request)
        live = shared.live if shared else None
        if shared is None or live is None:
            return not_found()
        if role is None:
            return Response("Invalid token", status_code=403)
        return await cells_response(shared, live, role, request.query_params.get("since"))

    async def export(request: Request) -> Response:
        shared, role = share_for(request)
        exporter = shared.exporter if shared else None
        if exporter is None:
            return not_found()
        if role is None:
            return Response("Invalid token", status_code=403)
        return await exporter.handle(role, request.query_params.get("format"))

    routes = [
        Route("/s/{room}", page_redirect),
        Route("/s/{room}/", page),
        Route("/s/{room}/static/{name}", static),
        Route("/s/{room}/assets/plotly.min.js", plotly_asset),
        Route("/s/{room}/x/cells", cells),
        Route("/s/{room}/x/export", export),
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
