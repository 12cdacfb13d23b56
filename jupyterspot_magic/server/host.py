"""Where the share server runs: in a child process (the default), or in this process.

A kernel that serves the share on a thread of its own shares the interpreter lock with the
user's cells (measured: N=100 people moving at 10 Hz, p95 4.5 ms idle -> 213 ms while a cell runs a
pure-Python loop; see docs/benchmarks.md), its memory, and its fate: anything native that fails in
the rooms (a yrs crash on hostile input) takes the kernel and all its state down. So the server
runs in a child process (server/child.py) with its own interpreter, lock and memory; the kernel
reaches it over a private channel (a socketpair: nothing listens, nothing else can connect).

Both hosts answer the same calls, so the share's code (session/) is written once:
    host.call(fn, *args) -> fn(server, *args)
runs `fn` in the process that owns the ServerThread `server`, on a worker thread there (not on
the server loop: `fn` hops onto the loop with `server.call`, as the kernel thread did before).
`fn` must be a module-level function (the child finds it by name) and its arguments and result
picklable. What the server has to say without being asked (people, lead) comes through
`subscribe(listener)`: `listener(message)` with the tuples the server code gave `server.notify`.

The child dies with its parent: it reads the channel, and the end of it (the kernel exited, was
killed with -9, or the CLI was interrupted) makes it write the boards' last state and exit. A
child that dies by itself is seen at once (the channel closes): `on_crash` tells the share,
which can start a new one on the same port with the same rooms (session/lifecycle.py).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from .thread import ServeError, ServerThread, ServerTimeout

log = logging.getLogger(__name__)

START_TIMEOUT = 20.0  # s: a cold interpreter importing the server stack on a busy machine
CALL_TIMEOUT = 30.0  # s: a call that waits on the store or a big board's snapshot
STOP_TIMEOUT = 10.0  # s: the boards' last writes, then the child is killed
# `JUPYTERSPOT_SERVER=thread` keeps the server in this process (tests of the server's inside,
# platforms without fork/pass_fds). The default is the child process.
MODE_ENV = "JUPYTERSPOT_SERVER"
PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])  # holds jupyterspot_magic/

Listener = Callable[[tuple], None]


class Host(Protocol):
    """What the share needs from wherever its server runs."""

    host: str
    port: int

    @property
    def running(self) -> bool: ...

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = CALL_TIMEOUT) -> Any: ...

    def subscribe(self, listener: Listener) -> None: ...

    def unsubscribe(self, listener: Listener) -> None: ...

    def on_crash(self, callback: Callable[[str], None]) -> None: ...

    def stop(self, timeout: float = STOP_TIMEOUT) -> None: ...


def wants_child() -> bool:
    """The child process, unless MODE_ENV says thread or the platform cannot pass it the
    channel (pass_fds is POSIX only)."""
    return os.environ.get(MODE_ENV, "process") != "thread" and os.name == "posix"


def start_host(host: str, port: int, expect: tuple[str, ...] = ()) -> Host:
    """A running server, in a child process when `wants_child()`; ServeError if it cannot."""
    if not wants_child():
        return InProcessHost(ServerThread(host, port).start())
    return ChildHost.spawn(host, port, expect).wait_ready()


class InProcessHost:
    """The server on a thread of this process (the layout before the child process)."""

    def __init__(self, server: ServerThread) -> None:
        self.server = server
        self.host = server.host
        self.port = server.port
        self._listeners: list[Listener] = []
        server.notify = self._dispatch

    @property
    def running(self) -> bool:
        return self.server.running

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = CALL_TIMEOUT) -> Any:
        return fn(self.server, *args)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _dispatch(self, message: tuple) -> None:
        for listener in list(self._listeners):
            listener(message)

    def on_crash(self, callback: Callable[[str], None]) -> None:
        """A thread cannot crash alone: the ServerThread restarts its own loop."""

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        run_stop_hooks(self.server)
        self.server.stop(timeout)


def run_stop_hooks(server: ServerThread) -> None:
    """The shares' last words before their server goes (the boards' last writes)."""
    for hook in list(server.stop_hooks):
        try:
            hook()
        except Exception:
            log.exception("jupyterspot: a stop hook failed")


class ChildHost:
    """The server in a child process, reached over a socketpair (see the module docstring)."""

    def __init__(self, proc: subprocess.Popen, conn: Connection, host: str, port: int) -> None:
        self.proc = proc
        self.host = host
        self.port = port  # the port asked for until the child says which one it bound
        self._conn = conn
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, Future] = {}
        self._pending_lock = threading.Lock()
        self._ready: Future = Future()
        self._listeners: list[Listener] = []
        self._crash_callbacks: list[Callable[[str], None]] = []
        self._stopping = False
        self._alive = True
        self._reader = threading.Thread(target=self._read, name="jupyterspot-channel", daemon=True)
        self._reader.start()

    @classmethod
    def spawn(cls, host: str, port: int, expect: tuple[str, ...] = ()) -> ChildHost:
        """Start the child now and return at once; `wait_ready()` waits for its server.

        The child imports the server stack (~0.3 s) while the kernel renders the notebook."""
        ours, theirs = socket.socketpair()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterspot_magic.server.child", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # the channel is the only way out; logs go to stderr
                # Its own session: interrupting the kernel (SIGINT to its process group) must not
                # interrupt the server; the channel still ends it when the kernel goes.
                start_new_session=True,
                # Not the kernel's folder: `-m` puts the working folder first on sys.path, and a
                # notebook's folder may hold a secrets.py or random.py that would shadow the
                # standard library in the server (the kernel's own paths come after, see hello).
                cwd=PACKAGE_PARENT,
            )
        except OSError as e:
            ours.close()
            raise ServeError(f"Cannot start the share server process: {e}") from None
        finally:
            theirs.close()
        conn = Connection(ours.detach())
        child = cls(proc, conn, host, port)
        # The kernel's import paths, appended after the child's own: a function the kernel
        # calls there (`host.call`) must import in the child too (tests, user modules).
        # `expect`: rooms it will open at once (a restart after a crash): until then their pages
        # are told "try again", not "no such room".
        child._send(("hello", host, port, [p for p in sys.path if p], list(expect)))
        return child

    def wait_ready(self, timeout: float = START_TIMEOUT) -> ChildHost:
        try:
            self.port = self._ready.result(timeout)
        except TimeoutError:
            self.kill()
            raise ServeError(f"The share server did not start within {timeout:g} s") from None
        return self

    # -- calls --

    @property
    def running(self) -> bool:
        return self._alive and self._ready.done() and self._ready.exception() is None

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = CALL_TIMEOUT) -> Any:
        if not self.running:
            raise ServeError("The share server is not running")
        cid = next(self._ids)
        future: Future = Future()
        with self._pending_lock:
            self._pending[cid] = future
        try:
            # pickled here, so a value that cannot cross raises in the caller
            self._send(("call", cid, pickle.dumps((fn, args))))
            return future.result(timeout)
        except TimeoutError:
            if future.done():
                raise  # fn's own TimeoutError
            raise ServerTimeout(f"The share server did not answer within {timeout:g} s") from None
        finally:
            with self._pending_lock:
                self._pending.pop(cid, None)

    def _send(self, message: tuple) -> None:
        try:
            with self._send_lock:
                self._conn.send(message)
        except (OSError, ValueError):
            raise ServeError("The share server is not running") from None

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def on_crash(self, callback: Callable[[str], None]) -> None:
        self._crash_callbacks.append(callback)

    # -- the channel's reader (its own thread) --

    def _read(self) -> None:
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                break
            except Exception:  # a result that does not unpickle here: that call fails
                log.exception("jupyterspot: unreadable message from the share server")
                continue
            self._handle(message)
        self._ended()

    def _handle(self, message: tuple) -> None:
        kind = message[0]
        if kind == "result":
            _, cid, ok, answer = message
            with self._pending_lock:
                future = self._pending.get(cid)
            if future is not None:
                try:
                    value = pickle.loads(answer)
                except Exception as e:  # e.g. an exception class this process lacks
                    ok, value = False, RuntimeError(f"unreadable answer: {e}")
                (future.set_result if ok else future.set_exception)(value)
        elif kind == "event":
            for listener in list(self._listeners):
                try:
                    listener(message[1])
                except Exception:
                    log.exception("jupyterspot: a server event listener failed")
        elif kind == "ready":
            self._ready.set_result(message[1])
        elif kind == "failed":
            self._ready.set_exception(ServeError(message[1]))

    def _ended(self) -> None:
        """The channel closed: the child stopped (asked to, or by itself)."""
        self._alive = False
        gone = ServeError("The share server stopped")
        with self._pending_lock:
            pending, self._pending = list(self._pending.values()), {}
        for future in pending:
            if not future.done():
                future.set_exception(gone)
        if not self._ready.done():
            self._ready.set_exception(ServeError(self._exit_reason("did not start")))
            return
        if self._stopping or self._ready.exception() is not None:
            return  # asked to stop, or it never started (its "failed" line said why)
        reason = self._exit_reason("stopped")
        log.error("jupyterspot: %s", reason)
        for callback in list(self._crash_callbacks):
            try:
                callback(reason)
            except Exception:
                log.exception("jupyterspot: a crash callback failed")

    def _exit_reason(self, what: str) -> str:
        try:
            code = self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.wait()
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"The share server process {what}: killed by {signal.Signals(-code).name}"
        return f"The share server process {what} (exit code {code})"

    # -- stop --

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask the child to write the boards' last state and exit; killed after `timeout`."""
        self._stopping = True
        with contextlib.suppress(ServeError):
            self._send(("stop",))
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        with contextlib.suppress(OSError):
            self._conn.close()
        self._reader.join(2)

    def kill(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
