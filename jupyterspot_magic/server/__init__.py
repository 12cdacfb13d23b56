"""Layer 3: the HTTP + websocket server on its own thread."""
