"""The cloudflared provider: a Cloudflare quick tunnel (no account) run as a child process."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from . import download
from .base import Progress, TunnelError, local_target, quiet

log = logging.getLogger(__name__)

CLOUDFLARED_INSTALL = download.INSTALL_PAGE
#: Seconds for cloudflared to print its URL, then to register its first connection.
CLOUDFLARED_URL_TIMEOUT = 30.0
CLOUDFLARED_CONNECT_TIMEOUT = 15.0

TRYCLOUDFLARE_URL = re.compile(r"https://[-a-z0-9]+\.trycloudflare\.com", re.IGNORECASE)
ANY_URL = re.compile(r"https?://[^\s|\"']+")


def cloudflared_binary() -> str | None:
    """JUPYTERSPOT_CLOUDFLARED (TunnelError when it is not an executable file: that, not a
    download, is what the user must hear), else `cloudflared` on PATH, else the verified copy
    we downloaded (tunnel/download.py). Never another package's copy (pycloudflared keeps one
    beside itself): nothing checked it against a pinned digest."""
    env = os.environ.get("JUPYTERSPOT_CLOUDFLARED")
    if env:
        if os.path.isfile(env) and os.access(env, os.X_OK):
            return env
        raise TunnelError(
            f"JUPYTERSPOT_CLOUDFLARED={env} is not an executable file"
            + (" (it does not exist)" if not os.path.exists(env) else "")
            + ": point it at cloudflared, or unset it (cloudflared is then found on PATH or "
            "downloaded)."
        )
    return shutil.which("cloudflared") or download.cached()


def no_cloudflared_message() -> str:
    return (
        "The cloudflared tunnel needs the `cloudflared` program, which is not installed (not on "
        f"PATH, JUPYTERSPOT_CLOUDFLARED not set). Install it ({CLOUDFLARED_INSTALL}), or use "
        "--tunnel ngrok with a free ngrok account, or --tunnel none."
    )


def did_not_answer(seconds: float, why: str) -> str:
    """A cloudflared that runs but gives no working tunnel: it is installed, say what hangs."""
    return f"cloudflared started but the tunnel did not answer within {seconds:.0f} s ({why})."


class QuickTunnelOutput:
    """Reads cloudflared's log: the quick-tunnel URL, the first registered connection, errors."""

    def __init__(self) -> None:
        self.lines: deque[str] = deque(maxlen=60)
        self.url: str | None = None
        self.registered = False
        self._in_banner = False

    def feed(self, line: str) -> None:
        line = line.rstrip()
        if not line:
            return
        self.lines.append(line)
        if self.url is None:
            m = TRYCLOUDFLARE_URL.search(line)
            if m:
                self.url = m.group(0)
            elif "quick tunnel has been created" in line.lower():
                self._in_banner = True
            elif self._in_banner:
                m = ANY_URL.search(line)
                if m:
                    self.url = m.group(0).rstrip("/")
        if "Registered tunnel connection" in line:
            self.registered = True

    def error(self) -> str:
        """The failure, in words a user can act on, from what cloudflared printed."""
        text = "\n".join(self.lines)
        if "429" in text or "1015" in text or "Too Many Requests" in text:
            return (
                "Cloudflare refused a new quick tunnel: too many requests from this network "
                "(rate limited, error 1015). Wait a few minutes and share again, or use "
                "--tunnel ngrok."
            )
        blocked = (
            "no such host",
            "dial tcp",
            "i/o timeout",
            "connection refused",
            "network is unreachable",
            "failed to request quick Tunnel",
            "TLS handshake",
        )
        if any(b in text for b in blocked):
            return (
                "cloudflared cannot reach Cloudflare from here (no internet, or a firewall/proxy "
                "blocks api.trycloudflare.com and port 7844). Use --tunnel ngrok, a "
                "--public-url behind your own proxy, or --tunnel none."
            )
        if "config" in text.lower() and "quick tunnel" in text.lower():
            return (
                "cloudflared refused a quick tunnel, likely because of a config.yml in "
                "~/.cloudflared; move it aside and share again."
            )
        return f"cloudflared could not open a quick tunnel ({self.last()})."

    def last(self) -> str:
        return " | ".join(list(self.lines)[-3:]) or "no output"

    def known_cause(self) -> bool:
        """Whether error() names a cause it recognised (not only cloudflared's last lines)."""
        return not self.error().startswith("cloudflared could not open")

    def stalled(self) -> str:
        """Why a running cloudflared gave no tunnel yet, from what it printed so far."""
        if self.known_cause():
            return self.error()
        if not self.lines:
            return "it printed nothing"
        if self.url is not None:
            return (
                f"Cloudflare gave {self.url} but no connection registered: a firewall may block "
                f"outbound port 7844; last output: {self.last()}"
            )
        return f"no quick-tunnel URL yet; last output: {self.last()}"


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, have the child get SIGTERM if the kernel dies abruptly (no orphans).

    PR_SET_PDEATHSIG follows the *thread* that started the child, not the process: the caller
    starts it from the thread that reads its output for its whole life (CloudflaredTunnel._run),
    so the signal comes when the process dies (kill -9), never while the tunnel is wanted."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None

    def preexec() -> None:
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return preexec


@dataclass
class CloudflaredTunnel:
    """A Cloudflare quick tunnel: `cloudflared tunnel --url http://127.0.0.1:PORT`, no account."""

    name: str = "cloudflared"
    note: str | None = None
    binary: str | None = None
    #: False (auto): a download that found no server a moment ago is not tried again.
    retry_download: bool = True
    proc: subprocess.Popen | None = None
    output: QuickTunnelOutput = field(default_factory=QuickTunnelOutput)
    _reader: threading.Thread | None = None

    def check(self) -> None:
        """Fail fast when cloudflared is neither installed nor downloadable for this machine."""
        self.binary = self.binary or cloudflared_binary()
        if not self.binary and not download.downloadable():
            raise TunnelError(download.no_build_message())

    def open(self, host: str, port: int, progress: Progress = quiet) -> str:
        self.check()
        if not self.binary:
            self.binary = download.ensure_cloudflared(progress, retry=self.retry_download)
        progress("starting cloudflared…")
        self.output = QuickTunnelOutput()
        lines: queue.Queue[str | None] = queue.Queue()
        cmd = [self.binary, "tunnel", "--no-autoupdate", "--url", local_target(host, port)]
        started: queue.Queue[subprocess.Popen | Exception] = queue.Queue()
        self._reader = threading.Thread(
            target=self._run,
            args=(cmd, started, lines),
            name="jupyterspot-cloudflared",
            daemon=True,
        )
        self._reader.start()
        proc = started.get()
        if isinstance(proc, Exception):  # OSError, or preexec's SubprocessError: one line
            self._reader = None
            raise TunnelError(f"cloudflared could not start ({self.binary}): {proc}") from None
        self.proc = proc
        progress("waiting for Cloudflare…")
        self._wait(lines, lambda: self.output.url is not None, CLOUDFLARED_URL_TIMEOUT)
        self._wait(lines, lambda: self.output.registered, CLOUDFLARED_CONNECT_TIMEOUT)
        assert self.output.url is not None
        return self.output.url.rstrip("/")

    def _run(
        self,
        cmd: list[str],
        started: queue.Queue[subprocess.Popen | Exception],
        lines: queue.Queue[str | None],
    ) -> None:
        """Start cloudflared here, then read its output until it ends: this thread lives as long
        as the process, which is what its parent-death signal is tied to (a reopen runs on the
        tunnel keeper's thread, which may end first)."""
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                preexec_fn=_parent_death_signal(),
            )
        except Exception as e:  # whatever Popen raises, open() is waiting for an answer
            started.put(e)
            return
        started.put(proc)
        self._read(proc, lines)

    def _read(self, proc: subprocess.Popen, lines: queue.Queue[str | None]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:  # drains the pipe for the process's whole life
            try:
                self.output.feed(line)
            except Exception:  # this thread must outlive the process (its parent-death signal)
                log.exception("jupyterspot: could not read a line of cloudflared's output")
            lines.put(line)
        lines.put(None)

    def _wait(
        self, lines: queue.Queue[str | None], done: Callable[[], bool], timeout: float
    ) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                raise TunnelError(did_not_answer(timeout, self.output.stalled()))
            try:
                line = lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line is None and not done():  # its output ended: cloudflared exited
                self.close()
                raise TunnelError(self.output.error())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(3)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(3)
            if proc.stdout is not None:
                with contextlib.suppress(OSError):
                    proc.stdout.close()
        reader, self._reader = self._reader, None
        if reader is not None and reader is not threading.current_thread():
            reader.join(3)
