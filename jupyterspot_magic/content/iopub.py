"""Listen to the kernel's own IOPub channel, as a front-end does.

A SUB socket on the port in the kernel's connection file sees exactly what every front-end sees:
outputs from any thread or subprocess, `clear_output`, `update_display_data`, busy/idle. Hooking
ipykernel's objects instead would miss what other code sends on the socket directly, and differ
between ipykernel 5 (Colab) and 7. Messages are checked against the connection's key (the
kernel signs each one) and handed to `on_message` on this listener's thread.

pyzmq and jupyter_client come with every ipykernel; they are imported only here, when a kernel
is there to listen to.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

POLL_MS = 200  # how often the thread looks at its stop flag
# A bigger message is skipped, not parsed (JSON of that size would hold the kernel's lock for
# seconds). Not zmq's MAXMSGSIZE: that drops the connection, and the listener would hear nothing
# after it.
MAX_MESSAGE = 64 * 1024 * 1024


def connection_info() -> dict[str, Any] | None:
    """This kernel's connection info (ports, key), or None when not inside an ipykernel."""
    try:
        from ipykernel.connect import get_connection_info
    except ImportError:
        return None
    try:
        info = get_connection_info(unpack=True)
    except Exception:  # not in a kernel (a plain IPython, the CLI)
        return None
    return info if isinstance(info, dict) and info.get("iopub_port") else None


class IOPubListener:
    """A thread reading the kernel's IOPub; `on_message(msg)` for each message, in order."""

    def __init__(self, info: dict[str, Any], on_message: Callable[[dict], None]) -> None:
        import zmq
        from jupyter_client.session import Session

        address = _address(info, info["iopub_port"])  # before any socket: a bad info leaks none
        key = info.get("key") or b""
        self._session = Session(
            key=key.encode() if isinstance(key, str) else key,
            signature_scheme=info.get("signature_scheme") or "hmac-sha256",
        )
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.SUB)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.SUBSCRIBE, b"")
        self._sock.connect(address)
        self.on_message = on_message
        self._stop = threading.Event()
        self.received = 0
        self.skipped = 0  # messages over MAX_MESSAGE
        self._thread = threading.Thread(target=self._run, name="jupyterspot-iopub", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import zmq

        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                if not poller.poll(POLL_MS):
                    continue
                frames = self._sock.recv_multipart(copy=False)
                if sum(len(f.buffer) for f in frames) > MAX_MESSAGE:
                    self.skipped += 1
                    continue
                msg = self._parse(frames)
                if msg is None:
                    continue
                self.received += 1
                try:
                    self.on_message(msg)
                except Exception:
                    log.exception("jupyterspot: an IOPub message was not applied")
        except zmq.ZMQError:  # closed under us at stop
            pass
        finally:
            self._sock.close(0)
            self._ctx.term()

    def _parse(self, frames: list) -> dict | None:
        try:
            _idents, parts = self._session.feed_identities(frames, copy=False)
            return self._session.deserialize(parts, content=True, copy=False)
        except Exception:  # a welcome message, a bad signature: not an output
            return None

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(RuntimeError):
            self._thread.join(2)


def _address(info: dict[str, Any], port: int) -> str:
    transport = info.get("transport") or "tcp"
    ip = info.get("ip") or "127.0.0.1"
    if transport == "ipc":
        return f"ipc://{ip}-{port}"
    if ip in ("0.0.0.0", ""):  # the kernel listens everywhere: reach it on loopback
        ip = "127.0.0.1"
    return f"{transport}://{ip}:{port}"
