"""The share's server thread: uvicorn on a pre-bound socket, with its own event loop.

The server runs in a daemon thread with its own asyncio loop, never on the kernel's loop: a cell
blocking the kernel would freeze every participant (measured: a 4.9 s stall during
time.sleep(5)), and the kernel's loop is not ours to run (ipykernel drives it, Colab patches it).
Rooms, documents and the registry belong to that loop and are not thread-safe, so the kernel
thread reaches them only through `ServerThread.call` / `call_soon` / `call_later`, which post work
onto it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from ..collab.room import RoomLimits
from ..collab.seal import OVERHEAD as SEAL_OVERHEAD
from .app import build_app
from .guard import MAX_HEAD_BYTES, ConnectionGuard, guarded_protocols
from .shared import Registry

log = logging.getLogger(__name__)

# A peer that vanished without closing is dropped after interval + timeout (~20 s). Not shorter:
# a ping waits behind whatever is queued (a big board's sync over a slow link takes seconds).
# Closed tabs and pagehide are seen at once; this is only for silent network loss.
PING_INTERVAL = 5.0
PING_TIMEOUT = 15.0


class ServeError(Exception):
    """The server could not start (port in use, bad host): one line for the user."""


class ServerTimeout(ServeError, TimeoutError):
    """ServerThread.call got no answer in time (a TimeoutError too, as before)."""


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (faster sockets and scheduling), else asyncio's own loop."""
    if os.environ.get("JUPYTERSPOT_UVLOOP", "1") != "0":
        try:
            import uvloop

            return uvloop.new_event_loop()
        except ImportError:
            pass
    return asyncio.new_event_loop()


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
    # IPPROTO_TCP, and without it Nagle + delayed ACK hold small frames 40 ms (measured: cursor
    # p95 40 ms -> see docs/benchmarks.md). NODELAY on the listener is inherited on Linux.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ServeError(f"Cannot listen on {host}:{port}: {e.strerror or e}") from None
    # A lecture's joins arrive in bursts (hundreds of pages open the link at once, two sockets
    # each): a short backlog drops SYNs and the browser waits a full second to retry.
    sock.listen(1024)
    sock.setblocking(False)
    return sock


class ServerThread:
    """uvicorn on a pre-bound socket, in a daemon thread with its own event loop.

    If the loop dies while sharing (a bug, a stray exception), the thread logs it, rebinds the
    same port and serves the same rooms again: documents live on, clients reconnect and resync.
    """

    MAX_RESTARTS = 5

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.registry = Registry()
        self._sock = bind_socket(host, port)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self._app = build_app(self.registry)
        self._server = self._make_server()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        # Set while a loop serves; clear from a crash until its replacement serves, so call()
        # waits for the new loop instead of reaching the closed one (server/thread.py _run).
        self._live = threading.Event()
        self._error: BaseException | None = None
        self._stopping = False
        self.restarts = 0
        self._restart_listeners: list[Callable[[], None]] = []
        # Where the server's news for the kernel goes (people, lead): server/host.py sets it;
        # in a child process it crosses the channel, in-process it is called directly.
        self.notify: Callable[[tuple], None] = lambda _message: None
        # Run (from any thread but this one) before the server stops for good: the shares'
        # last words, such as the boards' last writes (server/host.py run_stop_hooks).
        self.stop_hooks: list[Callable[[], None]] = []
        self._thread = threading.Thread(target=self._run, name="jupyterspot-server", daemon=True)

    def _make_server(self):
        import uvicorn

        self.guard = ConnectionGuard(seats=self.registry.seats)  # cap follows max_people
        http, ws = guarded_protocols(self.guard)
        ws_impl = os.environ.get("JUPYTERSPOT_WS_IMPL", "websockets-sansio")
        config = uvicorn.Config(
            self._app,
            http=http,  # h11, explicitly: the guard hooks into it
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            # other implementations (for comparisons) run without the message budget
            ws=ws if ws_impl == "websockets-sansio" else ws_impl,
            ws_ping_interval=PING_INTERVAL,
            ws_ping_timeout=PING_TIMEOUT,
            ws_per_message_deflate=False,  # small frames: deflate costs CPU per recipient
            # the board's (plus a sealed frame's overhead); control's is set per socket
            ws_max_size=RoomLimits().max_message + SEAL_OVERHEAD,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            timeout_graceful_shutdown=1,
        )
        return uvicorn.Server(config)

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise ServeError("The share server did not start within 10 s")
        if self._error is not None:
            raise ServeError(f"The share server failed to start: {self._error}")
        return self

    def _run(self) -> None:
        while True:
            crashed = self._serve_once()
            if crashed is None or self._stopping or not self._ready.is_set():
                self._error = crashed
                self._ready.set()
                return
            if self.restarts >= self.MAX_RESTARTS:
                log.error("share server crashed %d times; giving up", self.restarts + 1)
                self._error = crashed
                return
            self.restarts += 1
            log.error("share server crashed (%r); restarting on port %d", crashed, self.port)
            if not self._rebind():
                self._error = crashed
                return

    def _serve_once(self) -> BaseException | None:
        loop = new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
            return None
        except BaseException as e:
            self._live.clear()
            self._drop_clients(loop)
            return e
        finally:
            self._live.clear()
            with contextlib.suppress(Exception):
                loop.close()

    def _drop_clients(self, loop: asyncio.AbstractEventLoop) -> None:
        """Reset every client socket of a dead loop so browsers reconnect now, not in 30 s."""
        for protocol in list(self._server.server_state.connections):
            transport = getattr(protocol, "transport", None)
            if transport is not None:
                with contextlib.suppress(Exception):
                    transport.abort()
        with contextlib.suppress(BaseException):
            loop.run_until_complete(asyncio.sleep(0.05))  # lets the aborts reach the sockets

    def _rebind(self) -> bool:
        for shared in self.registry.shares.values():
            shared.forget_connections()  # their sockets died with the old loop
        with contextlib.suppress(OSError):
            self._sock.close()
        try:
            self._sock = bind_socket(self.host, self.port)
        except ServeError:
            log.exception("could not listen again on port %d", self.port)
            return False
        self._server = self._make_server()
        return True

    async def _serve(self) -> None:
        # uvicorn calls config.load() and binds nothing: we pass our socket
        serve_task = asyncio.ensure_future(self._server.serve(sockets=[self._sock]))
        while not self._server.started and not serve_task.done():
            await asyncio.sleep(0.005)
        self._live.set()
        self._ready.set()
        if self.restarts:
            for listener in self._restart_listeners:  # on the new loop: they may schedule work
                listener()
        await serve_task

    def on_restart(self, listener: Callable[[], None]) -> None:
        """Called on the server thread once a crashed loop has been replaced."""
        self._restart_listeners.append(listener)

    def forget_restart_listener(self, listener: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):
            self._restart_listeners.remove(listener)

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and self._error is None

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 10.0) -> Any:
        """Run `fn(*args)` on the server loop and return its result (from any other thread).

        `fn` may be a plain callable or a coroutine function: whatever it returns is awaited
        there when it is awaitable, so `call(room.kick, 3)`, `call(async_fn)` and
        `call(lambda: coro())` all work. Rooms, documents and the registry live on the server
        loop and are not thread-safe, so the kernel reaches them only through here. An exception
        raised by `fn` propagates to the caller; no answer within `timeout` raises
        ServerTimeout (fn keeps running: the server may only be busy).
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError("ServerThread.call from the server thread would wait on itself")
        deadline = time.monotonic() + timeout  # one budget for finding the loop and the answer
        loop = self._serving_loop(timeout)

        async def run() -> Any:
            result = fn(*args)
            if inspect.isawaitable(result):
                result = await result
            return result

        try:
            future = asyncio.run_coroutine_threadsafe(run(), loop)
        except RuntimeError:  # the loop closed just now (a crash): fn never ran
            raise ServeError("The share server is restarting; try again") from None
        return self._answer(future, loop, deadline, timeout)

    def _answer(
        self,
        future: concurrent.futures.Future,
        loop: asyncio.AbstractEventLoop,
        deadline: float,
        timeout: float,
    ) -> Any:
        """`future`'s result by `deadline`, watched in slices: a loop that crashes meanwhile
        will never answer, and the caller hears so at once instead of at the deadline."""
        while True:
            left = deadline - time.monotonic()
            try:
                return future.result(max(0.0, min(0.1, left)))
            except concurrent.futures.TimeoutError:
                # Since Python 3.11 this is the built-in TimeoutError, which `fn` itself may
                # raise: that one is fn's answer and propagates as it is.
                if future.done():
                    raise
            if loop.is_closed() or self._loop is not loop:
                future.cancel()
                raise ServeError("The share server restarted during the call; try again")
            if left <= 0:
                raise ServerTimeout(f"The share server did not answer within {timeout:g} s")

    def _serving_loop(self, timeout: float) -> asyncio.AbstractEventLoop:
        """The loop that serves now; during a restart, the new one once it serves (within
        `timeout`)."""
        deadline = time.monotonic() + timeout
        while self.running:
            loop = self._loop
            if self._live.is_set() and loop is not None and not loop.is_closed():
                return loop
            left = deadline - time.monotonic()
            if left <= 0:
                raise ServerTimeout(f"The share server did not come back within {timeout:g} s")
            if self._live.is_set():
                time.sleep(0.005)  # the flag is about to drop with the closing loop
            else:
                self._live.wait(min(0.05, left))
        raise ServeError("The share server is not running")

    def call_soon(self, fn: Callable[[], Any]) -> None:
        """Schedule `fn()` on the server loop (from any thread); nothing when not running."""
        loop = self._loop
        if loop is not None and self.running:
            with contextlib.suppress(RuntimeError):  # closed by a crash: its clients are gone too
                loop.call_soon_threadsafe(fn)

    def call_later(self, delay: float, fn: Callable[[], Any]) -> None:
        """Schedule `fn()` on the server loop after `delay` s (from any thread)."""
        loop = self._loop
        if loop is not None and self.running:
            with contextlib.suppress(RuntimeError):  # closed by a crash (see call_soon)
                loop.call_soon_threadsafe(loop.call_later, delay, fn)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        if self._thread.is_alive():
            self._server.should_exit = True
            self._thread.join(timeout)
        self._sock.close()
