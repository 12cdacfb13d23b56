"""The share server's own process: `python -m jupyterspot_magic.server.child FD`.

Started by server/host.py `ChildHost.spawn` with one end of a socketpair as FD. It binds the port
the kernel asked for, says "ready", then runs each call the kernel sends, `fn(server, *args)`, on
a worker thread (a slow call, a big board's snapshot, must not hold up a kick), and sends back the
result or the exception. What the server code gives `server.notify` goes to the kernel as an
event. When the channel ends (the kernel asked to stop, exited, or was killed), it runs the
shares' stop hooks (the boards' last writes) and exits: a share server never outlives its kernel.

Messages (pickled, both ways, framed by multiprocessing.connection):
    kernel -> child: ("hello", host, port, import paths, rooms about to open) once,
                     ("call", id, pickle of (fn, args)), ("stop",)
    child -> kernel: ("ready", port) | ("failed", one line), ("result", id, ok, pickle of value),
                     ("event", message)
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection

from .host import run_stop_hooks
from .thread import ServeError, ServerThread

log = logging.getLogger("jupyterspot_magic.server.child")

PARENT_CHECK = 1.0  # s between two looks at who our parent is
WORKERS = 8  # calls that may run at once (each is one host operation: kick, refresh, export)


class Channel:
    """The child's end: sends from any thread, one message at a time."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    def send(self, message: tuple) -> None:
        try:
            with self._lock:
                self.conn.send(message)
        except (OSError, ValueError):
            pass  # the kernel is gone: the reader sees the end and stops us


def run_call(channel: Channel, server: ServerThread, cid: int, payload: bytes) -> None:
    """One call, on a worker thread. The call arrives and its answer leaves as pickled bytes of
    their own: a function this process cannot import, or a value that does not pickle, fails
    that call with one line instead of breaking the channel."""
    try:
        fn, args = pickle.loads(payload)
        value, ok = fn(server, *args), True
    except BaseException as e:  # the caller's exception, raised again in the kernel
        value, ok = e, False
    try:
        answer = pickle.dumps(value)
    except Exception as e:
        ok, answer = False, pickle.dumps(RuntimeError(f"{type(e).__name__}: {e}"))
    channel.send(("result", cid, ok, answer))


def watch_parent(conn: Connection) -> None:
    """End the channel when the kernel is gone even if the channel stays open: a process the
    kernel forked (a multiprocessing pool) inherits its end of the socketpair and may outlive it.
    Reparenting (a new parent id) is the sign, checked every PARENT_CHECK seconds."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK)
        log.warning("the kernel is gone: stopping")
        # Shut the channel down for everyone holding it: the main loop then sees its end and
        # stops as for any other end (the boards' last writes first).
        with contextlib.suppress(OSError):
            end = socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM)
            end.shutdown(socket.SHUT_RDWR)
            end.close()

    threading.Thread(target=watch, name="jupyterspot-parent", daemon=True).start()


def serve(conn: Connection) -> int:
    channel = Channel(conn)
    try:
        _, host, port, paths, expected = conn.recv()
    except (EOFError, OSError):
        return 0
    sys.path.extend(p for p in paths if p not in sys.path)  # after ours: never shadowing
    try:
        server = ServerThread(host, port)
        server.registry.expected.update(expected)  # before the first connection is accepted
        server.start()
    except ServeError as e:
        channel.send(("failed", str(e)))
        return 2
    server.notify = lambda message: channel.send(("event", message))
    watch_parent(conn)
    channel.send(("ready", server.port))
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="jupyterspot-call") as pool:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break  # the kernel exited or was killed
            if message[0] == "stop":
                break
            _, cid, payload = message
            pool.submit(run_call, channel, server, cid, payload)
        run_stop_hooks(server)
    server.stop(timeout=2.0)
    return 0


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the kernel's Ctrl-C / interrupt is not ours
    logging.basicConfig(level=logging.WARNING, format="jupyterspot server: %(message)s")
    conn = Connection(int(sys.argv[1]))
    try:
        return serve(conn)
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
