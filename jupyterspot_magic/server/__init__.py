"""Layer 3: the HTTP + websocket server on its own thread.

thread.py (ServerThread: the loop, uvicorn, `call`) runs app.py (the routes, one header
middleware); a share registers a shared.py SharedNotebook (rooms, page cache, host powers) whose
page comes from pages.py; sockets.py seats websockets in its rooms; guard.py bounds what uvicorn
holds below all that; cells.py and export_route.py answer the share's own routes.
"""
