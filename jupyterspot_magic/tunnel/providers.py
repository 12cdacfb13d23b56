"""Tunnels: how people outside this machine reach the share server.

Each provider turns the local server (`http://127.0.0.1:PORT`) into a public base URL (no trailing
slash; it may carry a path prefix: the page only uses relative URLs). Providers:

- `none`: the server's own address (loopback, or this machine's LAN address with `--host 0.0.0.0`);
- `url` (`--public-url URL`): a reverse proxy the user runs (jupyter-server-proxy, nginx, a
  company gateway); `{port}` in the URL is replaced by the server's port;
- `ngrok`: pyngrok, token from `NGROK_AUTHTOKEN` or the ngrok config file;
- `cloudflared`: a quick tunnel (no account) through a `cloudflared` binary;
- `auto`: ngrok when a token is there, else cloudflared when it starts, else `none` with a note.

A provider that runs a process reports `alive()`; `TunnelKeeper` watches it from a daemon thread
and reopens it when it dies, handing the new URL to the share (widget link and QR follow).
Nothing here may hang the kernel: every wait has a deadline, binary downloads included.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

PROVIDERS = ("auto", "none", "ngrok", "cloudflared")

NGROK_SIGNUP = "https://dashboard.ngrok.com/signup"
NGROK_TOKEN_PAGE = "https://dashboard.ngrok.com/get-started/your-authtoken"
CLOUDFLARED_INSTALL = (
    "https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/"
)

#: Seconds a missing ngrok binary may take to download before we give up (the kernel waits).
NGROK_DOWNLOAD_DEADLINE = 45.0
#: Seconds for one socket operation of that download: no network fails within this.
NGROK_DOWNLOAD_SOCKET_TIMEOUT = 5.0
#: Seconds for the ngrok agent to start and report its tunnel session.
NGROK_START_TIMEOUT = 15
#: Seconds for cloudflared to print its URL, then to register its first connection.
CLOUDFLARED_URL_TIMEOUT = 30.0
CLOUDFLARED_CONNECT_TIMEOUT = 15.0
#: Seconds the health check keeps trying the page through the public URL.
HEALTH_TIMEOUT = 15.0
#: Seconds between two liveness checks of a tunnel process, and between two reopen attempts.
KEEPER_INTERVAL = 1.0
KEEPER_RETRY = 5.0


class TunnelError(Exception):
    """A tunnel could not be opened: one line telling the user what to do."""


class Tunnel(Protocol):
    name: str
    note: str | None

    def open(self, host: str, port: int) -> str:
        """Start forwarding to the server and return the public base URL (no trailing slash)."""
        ...

    def alive(self) -> bool:
        """False once the tunnel is known to be down (its process exited)."""
        ...

    def close(self) -> None: ...


def local_target(host: str, port: int) -> str:
    """The address a tunnel forwards to: loopback by IP (not `localhost`: IPv6 vs IPv4)."""
    if host in ("0.0.0.0", "", "127.0.0.1", "localhost"):
        return f"http://127.0.0.1:{port}"
    if host == "::":
        return f"http://[::1]:{port}"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


# --- none ----------------------------------------------------------------------------------


@dataclass
class NoTunnel:
    """No tunnel: the server's own address; a wildcard bind is shown as this machine's LAN IP."""

    name: str = "none"
    note: str | None = None

    def open(self, host: str, port: int) -> str:
        if host in ("0.0.0.0", "::", ""):
            address = lan_address()
            if address is None:
                self.note = "No LAN address found; the link only works on this machine."
                address = "127.0.0.1"
            return f"http://{address}:{port}"
        if ":" in host:
            return f"http://[{host}]:{port}"
        return f"http://{host}:{port}"

    def alive(self) -> bool:
        return True

    def close(self) -> None:
        pass


def lan_address() -> str | None:
    """A non-loopback IPv4 address of this machine, without sending any packet."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return None
    for info in infos:
        address = str(info[4][0])
        if not address.startswith("127."):
            return address
    return None


# --- a reverse proxy the user runs ---------------------------------------------------------


@dataclass
class PublicUrl:
    """`--public-url URL`: the user's reverse proxy forwards URL (maybe a path prefix) to us."""

    url: str
    name: str = "url"
    note: str | None = None

    def __post_init__(self) -> None:
        if not re.match(r"^https?://[^/\s]+", self.url):
            raise TunnelError(
                f"--public-url must be an http(s) URL such as https://hub.example.org/user/ana/"
                f"proxy/{{port}}; got {self.url!r}"
            )

    def open(self, host: str, port: int) -> str:
        # `{{port}}` too: IPython's own {expr} expansion of a magic line may leave it doubled
        url = self.url.replace("{{port}}", "{port}").replace("{port}", str(port))
        # the page is under <base>/s/<room>/: drop a trailing slash and any query
        return url.split("?", 1)[0].split("#", 1)[0].rstrip("/")

    def alive(self) -> bool:
        return True

    def close(self) -> None:
        pass


# --- ngrok (pyngrok) -------------------------------------------------------------------------


def ngrok_config_paths() -> list[Path]:
    """Where the ngrok agent keeps its config (v3 first, then the v2 location)."""
    home = Path.home()
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    paths = [Path(xdg) / "ngrok" / "ngrok.yml"]
    if sys.platform == "darwin":
        paths.insert(0, home / "Library" / "Application Support" / "ngrok" / "ngrok.yml")
    paths.append(home / ".ngrok2" / "ngrok.yml")
    return paths


def ngrok_token() -> tuple[str | None, Path | None]:
    """(token, config file) from NGROK_AUTHTOKEN or the first ngrok config that holds one."""
    env = os.environ.get("NGROK_AUTHTOKEN", "").strip()
    configs = [p for p in ngrok_config_paths() if p.is_file()]
    if env:
        return env, (configs[0] if configs else None)
    for path in configs:
        token = _token_in_config(path)
        if token:
            return token, path
    return None, None


def _token_in_config(path: Path) -> str | None:
    try:
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except Exception:
        return None
    if not isinstance(data, dict):
        return None
    agent = data.get("agent") if isinstance(data.get("agent"), dict) else {}
    token = agent.get("authtoken") or data.get("authtoken")
    return str(token) if token else None


def no_ngrok_token_message() -> str:
    return (
        "The ngrok tunnel needs an authtoken and none was found (NGROK_AUTHTOKEN or the ngrok "
        f"config file). A free ngrok account gives you one: sign up at {NGROK_SIGNUP}, copy the "
        f"token from {NGROK_TOKEN_PAGE}, then set NGROK_AUTHTOKEN=<token> (or run "
        "`ngrok config add-authtoken <token>`). Or use --tunnel cloudflared, which needs no "
        "account."
    )


def ngrok_binary() -> str:
    """PYNGROK_NGROK_PATH, else pyngrok's own copy, else an `ngrok` on PATH, else pyngrok's path
    (where pyngrok will download it)."""
    from pyngrok import conf

    env = os.environ.get("PYNGROK_NGROK_PATH")
    if env:
        return env
    if os.path.exists(conf.DEFAULT_NGROK_PATH):
        return conf.DEFAULT_NGROK_PATH
    return shutil.which("ngrok") or conf.DEFAULT_NGROK_PATH


def run_with_deadline(fn: Callable[[], Any], deadline: float, what: str) -> Any:
    """Run fn in a daemon thread; a TunnelError when it is not done within `deadline` s."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:
            box["error"] = e

    thread = threading.Thread(target=target, name="jupyterspot-download", daemon=True)
    thread.start()
    thread.join(deadline)
    if thread.is_alive():
        raise TunnelError(f"{what} did not finish within {deadline:.0f} s; gave up.")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def ensure_ngrok_binary(ngrok_path: str) -> None:
    """Download the ngrok agent through pyngrok when missing, failing within seconds offline."""
    if os.path.exists(ngrok_path):
        return
    from pyngrok import installer

    def download() -> None:
        installer.install_ngrok(ngrok_path, timeout=NGROK_DOWNLOAD_SOCKET_TIMEOUT)

    hint = (
        "Put an ngrok binary there or point PYNGROK_NGROK_PATH at one "
        "(https://ngrok.com/download), or use --tunnel cloudflared / none."
    )
    try:
        run_with_deadline(download, NGROK_DOWNLOAD_DEADLINE, f"Downloading ngrok to {ngrok_path}")
    except TunnelError as e:
        raise TunnelError(f"{e} {hint}") from None
    except Exception as e:
        reason = str(e).split(": ", 1)[-1] if "download" in str(e).lower() else str(e)
        raise TunnelError(
            f"The ngrok agent is not installed at {ngrok_path} and could not be downloaded "
            f"({reason}). {hint}"
        ) from None


def _ngrok_hint(text: str) -> str:
    if "ERR_NGROK_105" in text or "ERR_NGROK_107" in text or "authtoken" in text.lower():
        return f" Check your authtoken at {NGROK_TOKEN_PAGE}."
    if "ERR_NGROK_108" in text or "simultaneous" in text:
        return (
            " Your plan allows one ngrok agent at a time: stop the other one (or use cloudflared)."
        )
    return " Or use --tunnel cloudflared."


@dataclass
class NgrokTunnel:
    """An ngrok tunnel through pyngrok (agent binary from PYNGROK_NGROK_PATH or pyngrok's dir)."""

    name: str = "ngrok"
    note: str | None = None
    token: str | None = None
    config_path: Path | None = None
    _config: Any = None
    _public_url: str | None = None
    _started_agent: bool = False

    def check(self) -> None:
        """Fail fast (before any rendering) when ngrok cannot work here."""
        try:
            import pyngrok  # noqa: F401
        except ImportError:
            raise TunnelError(
                "The ngrok tunnel needs pyngrok: pip install pyngrok (or use --tunnel cloudflared)."
            ) from None
        self.token, self.config_path = ngrok_token()
        if not self.token:
            raise TunnelError(no_ngrok_token_message())

    def open(self, host: str, port: int) -> str:
        from pyngrok import conf, ngrok, process
        from pyngrok.exception import PyngrokError

        if self.token is None:
            self.check()
        config_path = self.config_path or ngrok_config_paths()[0]
        cfg = conf.PyngrokConfig(
            ngrok_path=ngrok_binary(),
            config_path=str(config_path),
            auth_token=self.token,
            startup_timeout=NGROK_START_TIMEOUT,
            monitor_thread=True,  # drains the agent's log pipe so it never blocks
        )
        ensure_ngrok_binary(cfg.ngrok_path)
        self._config = cfg
        self._started_agent = not process.is_process_running(cfg.ngrok_path)
        try:
            tunnel = ngrok.connect(local_target(host, port), pyngrok_config=cfg)
        except PyngrokError as e:
            if self._started_agent:
                self._kill_agent()
            text = " ".join(
                str(x) for x in (e, getattr(e, "ngrok_error", ""), *getattr(e, "ngrok_logs", []))
            )
            detail = getattr(e, "ngrok_error", None) or str(e)
            raise TunnelError(
                f"ngrok could not open a tunnel: {detail}.{_ngrok_hint(text)}"
            ) from None
        self._public_url = (tunnel.public_url or "").rstrip("/")
        self.note = (
            "ngrok's free plan shows visitors a one-time warning page; they click 'Visit Site' and "
            "the notebook opens (same origin, so the live connection works too)."
        )
        return self._public_url

    def alive(self) -> bool:
        if self._config is None:
            return False
        from pyngrok import process

        return process.is_process_running(self._config.ngrok_path)

    def _kill_agent(self) -> None:
        from pyngrok import ngrok

        with contextlib.suppress(Exception):
            ngrok.kill(self._config)

    def close(self) -> None:
        if self._config is None:
            return
        from pyngrok import ngrok

        if self._started_agent:
            self._kill_agent()  # the agent (and its monitor thread) goes away with its tunnels
        elif self._public_url and self.alive():
            with contextlib.suppress(Exception):
                ngrok.disconnect(self._public_url, self._config)
        self._public_url = None


# --- cloudflared -----------------------------------------------------------------------------

TRYCLOUDFLARE_URL = re.compile(r"https://[-a-z0-9]+\.trycloudflare\.com", re.IGNORECASE)
ANY_URL = re.compile(r"https?://[^\s|\"']+")


def cloudflared_binary() -> str | None:
    """JUPYTERSPOT_CLOUDFLARED, else `cloudflared` on PATH, else pycloudflared's if downloaded."""
    env = os.environ.get("JUPYTERSPOT_CLOUDFLARED")
    if env:
        return env if os.path.isfile(env) and os.access(env, os.X_OK) else None
    found = shutil.which("cloudflared")
    if found:
        return found
    try:  # pycloudflared keeps its binary beside itself once it has downloaded one
        import pycloudflared  # type: ignore[import-not-found]

        for path in Path(pycloudflared.__file__).parent.glob("cloudflared*"):
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
    except ImportError:
        pass
    return None


def no_cloudflared_message() -> str:
    return (
        "The cloudflared tunnel needs the `cloudflared` program, which is not installed (not on "
        f"PATH, JUPYTERSPOT_CLOUDFLARED not set). Install it ({CLOUDFLARED_INSTALL}), or use "
        "--tunnel ngrok with a free ngrok account, or --tunnel none."
    )


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
        last = " | ".join(list(self.lines)[-3:]) or "no output"
        return f"cloudflared could not open a quick tunnel ({last})."


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, have the child get SIGTERM if the kernel dies abruptly (no orphans)."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not (
        threading.main_thread()
    ):
        return None  # PR_SET_PDEATHSIG follows the creating *thread*: only safe from main
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
    proc: subprocess.Popen | None = None
    output: QuickTunnelOutput = field(default_factory=QuickTunnelOutput)
    _reader: threading.Thread | None = None

    def check(self) -> None:
        self.binary = self.binary or cloudflared_binary()
        if not self.binary:
            raise TunnelError(no_cloudflared_message())

    def open(self, host: str, port: int) -> str:
        self.check()
        assert self.binary is not None
        self.output = QuickTunnelOutput()
        lines: queue.Queue[str | None] = queue.Queue()
        cmd = [self.binary, "tunnel", "--no-autoupdate", "--url", local_target(host, port)]
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                preexec_fn=_parent_death_signal(),
            )
        except OSError as e:
            raise TunnelError(f"cloudflared could not start ({self.binary}): {e}") from None
        self._reader = threading.Thread(
            target=self._read, args=(self.proc, lines), name="jupyterspot-cloudflared", daemon=True
        )
        self._reader.start()
        self._wait(lines, lambda: self.output.url is not None, CLOUDFLARED_URL_TIMEOUT, "its URL")
        self._wait(
            lines, lambda: self.output.registered, CLOUDFLARED_CONNECT_TIMEOUT, "a connection"
        )
        assert self.output.url is not None
        return self.output.url.rstrip("/")

    def _read(self, proc: subprocess.Popen, lines: queue.Queue[str | None]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:  # drains the pipe for the process's whole life
            self.output.feed(line)
            lines.put(line)
        lines.put(None)

    def _wait(
        self, lines: queue.Queue[str | None], done: Callable[[], bool], timeout: float, what: str
    ) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                raise TunnelError(
                    f"cloudflared gave no quick-tunnel {what} within {timeout:.0f} s: "
                    f"{self.output.error()}"
                )
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


# --- auto ----------------------------------------------------------------------------------


@dataclass
class AutoTunnel:
    """ngrok when a token is there, else cloudflared when it starts, else none with a note."""

    chosen: Any = None
    note: str | None = None

    @property
    def name(self) -> str:
        return f"auto:{self.chosen.name}" if self.chosen is not None else "auto"

    def open(self, host: str, port: int) -> str:
        problems: list[str] = []
        if self.chosen is not None:  # reopening: same provider again
            return self.chosen.open(host, port)
        candidates: list[Any] = []
        token, config = ngrok_token()
        try:
            import pyngrok  # noqa: F401

            has_pyngrok = True
        except ImportError:
            has_pyngrok = False
        if token and has_pyngrok:
            candidates.append(NgrokTunnel(token=token, config_path=config))
        else:
            problems.append("no ngrok authtoken" if has_pyngrok else "pyngrok not installed")
        if cloudflared_binary():
            candidates.append(CloudflaredTunnel())
        else:
            problems.append("no cloudflared program")
        for candidate in candidates:
            try:
                url = candidate.open(host, port)
            except TunnelError as e:
                problems.append(f"{candidate.name}: {e}")
                continue
            self.chosen = candidate
            self.note = candidate.note
            return url
        self.chosen = NoTunnel()
        url = self.chosen.open(host, port)
        where = "your LAN" if host in ("0.0.0.0", "::", "") else "this machine"
        self.note = (
            f"No public tunnel ({'; '.join(problems)}): the link works on {where} only. "
            "For a public link set NGROK_AUTHTOKEN (free ngrok account) or install cloudflared."
        )
        if self.chosen.note:
            self.note += " " + self.chosen.note
        return url

    def alive(self) -> bool:
        return self.chosen is None or self.chosen.alive()

    def close(self) -> None:
        if self.chosen is not None:
            self.chosen.close()


def make_tunnel(kind: str, public_url: str | None = None) -> Tunnel:
    """The provider for `--tunnel KIND` (or `--public-url`); fails fast when it cannot work."""
    if public_url:
        tunnel: Any = PublicUrl(public_url)
        if kind not in ("auto", "none"):
            tunnel.note = f"--public-url given: --tunnel {kind} is not used."
        return tunnel
    if kind not in PROVIDERS:
        raise TunnelError(f"Unknown tunnel {kind!r}; choose one of: {', '.join(PROVIDERS)}")
    if kind == "ngrok":
        tunnel = NgrokTunnel()
        tunnel.check()
        return tunnel
    if kind == "cloudflared":
        tunnel = CloudflaredTunnel()
        tunnel.check()
        return tunnel
    if kind == "auto":
        return AutoTunnel()
    return NoTunnel()


def uses_process(tunnel: Any) -> bool:
    """Whether the tunnel runs a process that can die (and so is worth watching)."""
    inner = tunnel.chosen if isinstance(tunnel, AutoTunnel) else tunnel
    return isinstance(inner, NgrokTunnel | CloudflaredTunnel)


# --- health ----------------------------------------------------------------------------------


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
