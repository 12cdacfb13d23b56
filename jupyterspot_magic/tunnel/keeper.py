"""After a tunnel opened: is the page reachable through it, and reopening it when it dies."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

#: Seconds the health check keeps trying the page through the public URL.
HEALTH_TIMEOUT = 15.0
#: Seconds between two liveness checks of a tunnel process, and between two reopen attempts.
KEEPER_INTERVAL = 1.0
KEEPER_RETRY = 5.0


def check_reachable(url: str, timeout: float = HEALTH_TIMEOUT) -> str | None:
    """Fetch the page through its public URL; None when it answers 200, else why not.

    Retries until `timeout` (a fresh tunnel can take a moment to route). Sends ngrok's header that
    skips its browser warning, reads only the start of the page.
    """
    request = urllib.request.Request(
        url,
        headers={"ngrok-skip-browser-warning": "1", "User-Agent": "jupyterspot-health"},
    )
    deadline = time.monotonic() + timeout
    problem = "no answer"
    while True:
        left = deadline - time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=max(1.0, min(left, 5.0))) as response:
                response.read(1024)
                if response.status == 200:
                    return None
                problem = f"HTTP {response.status}"
        except urllib.error.HTTPError as e:
            problem = f"HTTP {e.code}"
        except (urllib.error.URLError, OSError) as e:
            problem = str(getattr(e, "reason", e))
        if time.monotonic() + 0.5 >= deadline:
            return problem
        time.sleep(0.5)


# --- keeping a tunnel up ---------------------------------------------------------------------


class TunnelKeeper:
    """Watches a tunnel process from a daemon thread; reopens it when it dies.

    `on_url(new_base_url)` is called (from this thread) after a reopen; `on_down(message)` while
    the tunnel is down and reopening fails (retried every KEEPER_RETRY s).
    """

    def __init__(
        self,
        tunnel: Any,
        host: str,
        port: int,
        on_url: Callable[[str], None],
        on_down: Callable[[str], None] | None = None,
        interval: float = KEEPER_INTERVAL,
    ) -> None:
        self.tunnel, self.host, self.port = tunnel, host, port
        self.on_url, self.on_down = on_url, on_down
        self.interval = interval
        self.reopened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jupyterspot-tunnel", daemon=True)

    def start(self) -> TunnelKeeper:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if self.tunnel.alive():
                continue
            log.warning("jupyterspot: the %s tunnel went down; reopening it", self.tunnel.name)
            if self.on_down:
                self._call(self.on_down, "The tunnel dropped; reopening it…")
            while not self._stop.is_set():
                try:
                    with contextlib.suppress(Exception):
                        self.tunnel.close()
                    url = self.tunnel.open(self.host, self.port)
                except Exception as e:
                    if self.on_down:
                        self._call(self.on_down, f"The tunnel is down and could not reopen: {e}")
                    if self._stop.wait(KEEPER_RETRY):
                        return
                    continue
                if self._stop.is_set():  # stopped while reopening: don't leave it open
                    self.tunnel.close()
                    return
                self.reopened += 1
                self._call(self.on_url, url)
                break

    @staticmethod
    def _call(fn: Callable[[str], None], arg: str) -> None:
        try:
            fn(arg)
        except Exception:
            log.exception("jupyterspot: tunnel callback failed")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
