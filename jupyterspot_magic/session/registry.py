"""The process's one share and the server it runs on: `share()`, `current()`, `stop()`.

Only the functions here change which share is current. A share that stops by itself (its
`stop()`, the widget's Stop button) says so with a `Stopped` event, and the registry forgets it.
The lock makes sharing and stopping from several threads take turns.

The server is a child process (server/host.py). The first share starts it before rendering, so
its start-up overlaps the render; later shares reuse it. When it dies by itself (a crash), the
registry starts a new one on the same port and opens the current share there again: the links
stay, the board comes back from the store, and the user is told both times (StatusMessage).
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from pathlib import Path
from typing import Any

from ..base.options import ShareOptions
from ..base.text import plural
from ..persist.keeper import where
from ..server.host import ChildHost, Host, start_host, wants_child
from ..server.thread import ServeError
from ..tunnel import Progress, quiet, save_token
from . import hosted, lifecycle
from .events import StatusMessage, Stopped
from .share import Share

__all__ = ["Share", "current", "share", "stop"]

MAX_SERVER_RESTARTS = 5  # per share: a server that keeps dying is not started forever

_lock = threading.RLock()
_current: Share | None = None
_stopped: Share | None = None  # the last share that stopped (`latest`)
_host: Host | None = None
_spare: ChildHost | None = None  # started by prestart(), not used by a share yet
DEFAULT = ShareOptions()


def current() -> Share | None:
    return _current


def latest() -> Share | None:
    """The current share, else the last one stopped in this kernel (its board is kept: the
    notes and the export are still asked for after the meeting ends)."""
    return _current or _stopped


def share(
    path: str | Path | None = None,
    *,
    user_ns: dict | None = None,
    progress: Progress = quiet,
    ngrok_token: str | None = None,
    **options: Any,
) -> Share:
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

    `progress(line)` hears each step while the share starts ("starting cloudflared…"); with
    `ngrok_token`, that token is stored where ngrok keeps it (tunnel/ngrok.py `save_token`) and
    used from this share on.
    """
    global _current
    wanted = ShareOptions(**options)
    if ngrok_token:
        save_token(ngrok_token)
    with _lock:
        starting = _start_early(wanted)  # the server's process starts while the page renders
        try:
            prepared = lifecycle.prepare(path, wanted, user_ns, progress)
        except BaseException:
            if starting is not None:
                starting.kill()
            raise
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
        host = _ensure_host(wanted.host, wanted.port, starting)
        try:
            result = lifecycle.start(prepared, wanted, host, progress)
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
    global _current, _stopped
    with _lock:
        _stopped = stopped
        if _current is stopped:
            _current = None
            _release_server_if_idle()


def _fits(running: Host | None, host: str, port: int) -> bool:
    """The running server can serve a share on host:port (and runs where the mode says)."""
    return (
        running is not None
        and running.running
        and running.host == host
        and port in (0, running.port)
        and isinstance(running, ChildHost) == wants_child()
    )


def prestart() -> None:
    """Start the share server's process now, in the background, for a share with the default
    host and port: `%load_ext` calls this, so a first share in a later cell (or the same one,
    while it finds and renders the notebook) does not wait ~0.3 s for a new interpreter."""
    global _spare
    with _lock:
        if _spare is None and _host is None and wants_child():
            # if it cannot start, the first share starts one itself and says why it cannot
            with contextlib.suppress(ServeError):
                _spare = ChildHost.spawn(DEFAULT.host, DEFAULT.port)


def _start_early(wanted: ShareOptions) -> ChildHost | None:
    """A new server process, started now, when this share will need one (none is running):
    the prestarted one when it fits, else a new one."""
    global _spare
    if _host is not None and _host.running:
        return None
    spare, _spare = _spare, None
    if spare is not None and (wanted.host, wanted.port) == (DEFAULT.host, DEFAULT.port):
        return spare
    if spare is not None:
        spare.kill()
    return ChildHost.spawn(wanted.host, wanted.port) if wants_child() else None


def _ensure_host(host: str, port: int, starting: ChildHost | None) -> Host:
    """The server started early, or the running one when it fits (fast re-share), or a new one."""
    global _host
    if starting is not None:
        _host = starting.wait_ready()
    elif _fits(_host, host, port):
        return _host  # type: ignore[return-value]
    else:
        if _host is not None:
            _host.stop()
        _host = start_host(host, port)
    watched = _host
    watched.on_crash(lambda reason: _on_crash(watched, reason))
    return watched


def _on_crash(dead: Host, reason: str) -> None:
    """The server process died by itself (channel thread): start it again for the share."""
    global _host
    with _lock:
        if _host is not dead:
            return
        _host = None
        share = _current
        if share is None or share.status != "live":
            return
        if share.server_restarts >= MAX_SERVER_RESTARTS:
            times = plural(MAX_SERVER_RESTARTS, "time")
            share.events.emit(StatusMessage(f"{reason}; it stopped {times} already: not again."))
            share.stop()
            return
        share.events.emit(StatusMessage(f"{reason}. Starting it again on port {dead.port}..."))
        new: Host | None = None
        try:
            new = start_host(dead.host, dead.port, expect=(share.room,))
            lifecycle.reopen(share, new)
        except Exception as e:
            if new is not None:  # started but not serving this share: it must not linger
                new.stop()
            if share.status == "live":
                share.events.emit(StatusMessage(f"The share server could not start again: {e}"))
                share.stop()
            return
        _host = new
        new.on_crash(lambda why: _on_crash(new, why))
        stored = where(share.options.store) is not False
        board = "restored from the store" if stored else "not stored: it starts empty"
        share.events.emit(StatusMessage(f"The share server is back: same link; the board {board}."))


def _release_server_if_idle() -> None:
    """No share uses the server: its process goes now (Stop frees the port, the process and
    the channel's thread; sharing again starts a new one, ~0.3 s)."""
    global _host
    if _host is None:
        return
    try:
        idle = not _host.running or _host.call(hosted.shares) == 0
    except Exception:
        idle = True
    if idle:
        _host.stop()
        _host = None


@atexit.register
def _stop_at_exit() -> None:
    try:
        stop()
    finally:
        if _host is not None:
            _host.stop(timeout=2.0)
        if _spare is not None:
            _spare.kill()
