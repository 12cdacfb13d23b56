"""A TCP forwarder on loopback: the local half of the tunnel stand-ins (fakes/ngrok, cloudflared).

Accepts on 127.0.0.1:<free port> and pipes each connection, both ways, to the upstream address.
Raw TCP, so HTTP and websocket upgrades pass through unchanged. Stdlib only.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


class Forwarder:
    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url if "://" in upstream_url else f"http://{upstream_url}")
        host = parts.hostname or "127.0.0.1"
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"stand-in refuses a non-loopback upstream: {host}")
        self.upstream = (host, parts.port or 80)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()

    def close(self) -> None:
        self.closed = True
        self.sock.close()
