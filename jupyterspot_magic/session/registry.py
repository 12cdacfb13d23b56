"""The process's one share and the server it runs on: `share()`, `current()`, `stop()`.

Only the functions here change which share is current. A share that stops by itself (its
`stop()`, the widget's Stop button) says so with a `Stopped` event, and the registry forgets it.
The lock makes sharing and stopping from several threads take turns.
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path
from typing import Any

from ..base.options import ShareOptions
from ..server.thread import ServerThread
from . import lifecycle
from .events import Stopped
from .share import Share

__all__ = ["Share", "current", "share", "stop"]

_lock = threading.RLock()
_current: Share | None = None
_server: ServerThread | None = None


def current() -> Share | None:
    return _current


def share(path: str | Path | None = None, *, user_ns: dict | None = None, **options: Any) -> Share:
    """Share a notebook: returns a live `Share` (its `url` is the link to send).

    `options` are those of base/options.py (`tunnel`, `host`, `port`, `name`, `public_url`,
    `store`, `fresh`, `watch`); `user_ns` helps find the notebook this kernel runs.

    Sharing the same notebook again with the same options refreshes its content and keeps the
    link, the board and the people; sharing another notebook, or with other options, replaces
    the previous share.

    The board is stored as it changes (`store`: a database file or folder; default: the user data
    dir; `False`: off) and restored, with the same links, when the notebook is shared again;
    `fresh=True` starts a clean board (the old one stays in the store). With `watch`, saving the
    notebook updates every page within a second.
    """
    global _current
    wanted = ShareOptions(**options)
    with _lock:
        prepared = lifecycle.prepare(path, wanted, user_ns)
        previous = _current
        if previous is not None and lifecycle.same_share(previous, prepared, wanted):
            previous.reshare(prepared.rendered, fresh=wanted.fresh, timings=prepared.timings)
            return previous
        if previous is not None:
            # Keep the server: the new share reuses it, so the old link answers 404, not
            # "connection refused", and no restart is paid.
            _current = None
            try:
                previous.stop()
            except BaseException:
                _current = previous  # not stopped: it stays reachable (status, stop, kick)
                raise
        server = _ensure_server(wanted.host, wanted.port)
        try:
            result = lifecycle.start(prepared, wanted, server)
        except BaseException:
            _release_server_if_idle()
            raise
        result.events.on(Stopped, lambda _stopped: _forget(result))
        _current = result
        return result


def stop() -> bool:
    """Stop the current share; False when nothing was shared. A failed last write of the board
    is printed (it says where the drawings were saved instead)."""
    with _lock:
        if _current is None:
            return False
        problem = _current.stop()
    if problem:
        print(f"jupyterspot: {problem}", flush=True)
    return True


def _forget(stopped: Share) -> None:
    """The share stopped: no longer current, and its server goes when nothing else uses it."""
    global _current
    with _lock:
        if _current is stopped:
            _current = None
            _release_server_if_idle()


def _ensure_server(host: str, port: int) -> ServerThread:
    """Reuse the running server when it fits (fast re-share), else start one."""
    global _server
    if _server is not None and _server.running:
        if _server.host == host and port in (0, _server.port):
            return _server
        _server.stop()
    _server = ServerThread(host, port).start()
    return _server


def _release_server_if_idle() -> None:
    global _server
    if _server is not None and not _server.registry.shares:
        _server.stop()
        _server = None


@atexit.register
def _stop_at_exit() -> None:
    try:
        stop()
    finally:
        if _server is not None:
            _server.stop(timeout=1.0)
