"""The ngrok provider through pyngrok: token, agent binary (fetched within a deadline), tunnel."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from .base import Progress, TunnelError, local_target, quiet, redact

NGROK_SIGNUP = "https://dashboard.ngrok.com/signup"
NGROK_TOKEN_PAGE = "https://dashboard.ngrok.com/get-started/your-authtoken"

#: Seconds a missing ngrok binary may take to download before we give up (the kernel waits).
NGROK_DOWNLOAD_DEADLINE = 45.0
#: Seconds for one socket operation of that download: no network fails within this.
NGROK_DOWNLOAD_SOCKET_TIMEOUT = 5.0
#: Seconds for the ngrok agent to start and report its tunnel session.
NGROK_START_TIMEOUT = 15


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


TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_.-]{8,512}$")


def masked(token: str) -> str:
    """A token as it may be shown: its first and last 4 characters."""
    return f"{token[:4]}…{token[-4:]}" if len(token) > 12 else "…"


def save_token(token: str) -> Path:
    """Store the ngrok authtoken where the ngrok agent keeps it: its config file, mode 0600 (a
    symlinked config: the file it points to). A v2 file (`version: "2"`, or a top-level
    `authtoken`) gets the top-level `authtoken` its agent reads; otherwise the v3 layout
    (`agent: authtoken:`). Other keys are kept; this process's NGROK_AUTHTOKEN, if set,
    follows. Returns the file."""
    token = token.strip()
    if not TOKEN_SHAPE.match(token):
        raise TunnelError(
            "That does not look like an ngrok authtoken (letters, digits, _ . -; copy it from "
            f"{NGROK_TOKEN_PAGE})."
        )
    _, existing = ngrok_token()
    path = (existing or ngrok_config_paths()[0]).resolve()  # a dotfiles symlink stays a link
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    data = _read_config(path)
    if str(data.get("version", "")) == "2" or (
        "authtoken" in data and not isinstance(data.get("agent"), dict)
    ):
        wanted = {**data, "authtoken": token}  # a v2 file: where that agent reads it
    else:
        agent = data.get("agent") if isinstance(data.get("agent"), dict) else {}
        wanted = {"version": "3", **data, "agent": {**agent, "authtoken": token}}
    _write_private(path, _with_token(text, wanted, token))
    if "NGROK_AUTHTOKEN" in os.environ:  # else the old one would still win (ngrok_token)
        os.environ["NGROK_AUTHTOKEN"] = token
    return path


def _with_token(text: str, wanted: dict, token: str) -> str:
    """The config's text with the token set: its one `authtoken:` line edited (or one added),
    so the user's comments and layout stay, when the result reads back as `wanted`; else
    `wanted` written anew by yaml (which drops comments)."""
    import yaml

    line = f'authtoken: "{token}"'
    v2 = "agent" not in wanted or wanted.get("authtoken") == token
    lines = text.splitlines()
    if v2:
        found = [i for i, x in enumerate(lines) if re.match(r"authtoken\s*:", x)]
        if len(found) == 1:
            lines[found[0]] = line
        elif not found:
            lines.append(line)
    else:
        found = [i for i, x in enumerate(lines) if re.match(r"\s+authtoken\s*:", x)]
        agent = [i for i, x in enumerate(lines) if re.match(r"agent\s*:\s*(#.*)?$", x)]
        if len(found) == 1:
            indent = re.match(r"\s+", lines[found[0]]).group(0)  # type: ignore[union-attr]
            lines[found[0]] = indent + line
        elif len(agent) == 1:
            lines.insert(agent[0] + 1, "  " + line)
        else:
            lines += ['version: "3"'] * ("version" not in text) + ["agent:", "  " + line]
    edited = "\n".join(lines) + "\n"
    try:
        if yaml.safe_load(edited) == wanted:
            return edited
    except yaml.YAMLError:
        pass
    return yaml.safe_dump(wanted, default_flow_style=False, sort_keys=False)


def _read_config(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, yaml.YAMLError) as e:
        raise TunnelError(f"The ngrok config {path} cannot be read ({e}); fix or move it.") from e
    return data if isinstance(data, dict) else {}


def _write_private(path: Path, text: str) -> None:
    """Write the file atomically, never readable by others (it holds a secret)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".ngrok-", dir=path.parent)  # created 0600
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as e:
        raise TunnelError(f"The ngrok token could not be saved in {path}: {e}") from None


def no_ngrok_token_message() -> str:
    return (
        "The ngrok tunnel needs an authtoken and none was found (NGROK_AUTHTOKEN or the ngrok "
        f"config file). A free ngrok account gives you one: sign up at {NGROK_SIGNUP}, copy the "
        f"token from {NGROK_TOKEN_PAGE}, then run `%jupyterspot token ngrok` in the notebook "
        "(CLI: `jupyterspot token ngrok`; or set NGROK_AUTHTOKEN=<token>). Or use --tunnel "
        "cloudflared, which needs no account."
    )


def ngrok_binary() -> str:
    """PYNGROK_NGROK_PATH, else pyngrok's own copy, else a real ngrok agent on PATH, else
    pyngrok's path (where ensure_ngrok_binary downloads it).

    Not any `ngrok` on PATH: installing pyngrok puts a console script named `ngrok` in the
    environment's bin/ (a virtualenv's, once activated, comes first on PATH), and pyenv a shim
    for it. Started as the agent it fails ("The ngrok process was unable to start").
    """
    from pyngrok import conf

    env = os.environ.get("PYNGROK_NGROK_PATH")
    if env:
        return env
    if os.path.exists(conf.DEFAULT_NGROK_PATH) and not is_pyngrok_launcher(conf.DEFAULT_NGROK_PATH):
        return conf.DEFAULT_NGROK_PATH
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        found = shutil.which("ngrok", path=folder) if folder else None
        if found and not is_pyngrok_launcher(found):
            return found
    return conf.DEFAULT_NGROK_PATH


#: A launcher is a few hundred bytes (a script) or ~100 KB (Windows' .exe with its script
#: appended); the ngrok agent is tens of MB.
_LAUNCHER_MAX_BYTES = 2_000_000
_LAUNCHER_MARKS = (b"from pyngrok", b"import pyngrok", b"pyngrok.ngrok", b"PYENV_ROOT")


def is_pyngrok_launcher(path: str) -> bool:
    """`path` is pyngrok's `ngrok` console script (or its Windows .exe launcher, or a pyenv
    shim in front of it), not the ngrok agent."""
    try:
        with open(path, "rb") as f:
            head = f.read(_LAUNCHER_MAX_BYTES)
    except OSError:
        return False
    if len(head) >= _LAUNCHER_MAX_BYTES:
        return False  # as large as an agent: not a launcher
    if head.startswith(b"#!") or head.startswith(b"MZ"):
        return any(mark in head for mark in _LAUNCHER_MARKS)
    return False


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


def ensure_ngrok_binary(ngrok_path: str, progress: Progress = quiet) -> None:
    """Download the ngrok agent through pyngrok when missing, failing within seconds offline."""
    if os.path.exists(ngrok_path):
        return
    from pyngrok import installer

    progress("downloading the ngrok agent…")

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


def _children() -> set[int]:
    return {child.pid for child in psutil.Process().children()}


def _end_new_children(before: set[int]) -> None:
    """Kill the processes this one started since `before` (the agent pyngrok started and still
    waits on: its pid is pyngrok's own)."""
    for child in psutil.Process().children():
        if child.pid not in before:
            with contextlib.suppress(psutil.Error):
                child.kill()


def _ngrok_hint(text: str) -> str:
    if "ERR_NGROK_105" in text or "ERR_NGROK_107" in text or "authtoken" in text.lower():
        return f" Check your authtoken at {NGROK_TOKEN_PAGE}."
    if "ERR_NGROK_108" in text or "simultaneous" in text:
        return (
            " Your plan allows one ngrok agent at a time: stop the other one (or use cloudflared)."
        )
    return " Or use --tunnel cloudflared."


class _KeptLines(logging.Handler):
    """pyngrok's log, kept here (redacted) instead of printed: with no handler of its own,
    Python's last-resort handler wrote its ERROR lines, authtoken included ("Your authtoken:
    …"), to the user's stderr: into the notebook."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: deque[str] = deque(maxlen=50)

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.lines.append(redact(record.getMessage()))


PYNGROK_LOG = _KeptLines()


def keep_pyngrok_quiet() -> None:
    """pyngrok's logger writes to PYNGROK_LOG only (never to stderr, nor to the user's root
    logging, where a notebook's handlers would print it)."""
    logger = logging.getLogger("pyngrok")
    if PYNGROK_LOG not in logger.handlers:
        logger.addHandler(PYNGROK_LOG)
    logger.propagate = False


def _first_line(text: str) -> str:
    """The first line of an ngrok error, whose line breaks pyngrok may keep as literal "\\n"."""
    return re.split(r"\r|\n|\\r|\\n", text.strip(), maxsplit=1)[0].strip()


def _error_code(text: str) -> str:
    found = re.search(r"ERR_NGROK_\d+", text)
    return f" ({found.group(0)})" if found else ""


@dataclass
class NgrokTunnel:
    """An ngrok tunnel through pyngrok (agent binary from PYNGROK_NGROK_PATH or pyngrok's dir)."""

    name: str = "ngrok"
    note: str | None = None
    token: str | None = field(default=None, repr=False)
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

    def open(self, host: str, port: int, progress: Progress = quiet) -> str:
        """Open the tunnel; whatever pyngrok raises becomes one TunnelError line (never a
        traceback: pyngrok's errors carry the agent's whole log)."""
        try:
            return self._open(host, port, progress)
        except TunnelError:
            raise
        except Exception as e:
            if self._started_agent:
                self._kill_agent()
            text = " ".join(
                str(x) for x in (e, getattr(e, "ngrok_error", ""), *getattr(e, "ngrok_logs", []))
            )
            detail = _first_line(getattr(e, "ngrok_error", None) or str(e)) or type(e).__name__
            raise TunnelError(
                f"ngrok could not open a tunnel: {detail.rstrip('.')}{_error_code(text)}."
                f"{_ngrok_hint(text)}",
                self.token,
            ) from None

    def _open(self, host: str, port: int, progress: Progress) -> str:
        from pyngrok import conf, ngrok, process

        keep_pyngrok_quiet()
        if self.token is None:
            self.check()
        config_path = self.config_path or ngrok_config_paths()[0]
        cfg = conf.PyngrokConfig(
            ngrok_path=ngrok_binary(),
            config_path=str(config_path),
            startup_timeout=NGROK_START_TIMEOUT,
            monitor_thread=True,  # drains the agent's log pipe so it never blocks
        )
        # Never `--authtoken TOKEN` on the agent's command line (any local user's `ps` shows
        # it; PyngrokConfig takes NGROK_AUTHTOKEN for it when not given): the agent reads the
        # token where ngrok_token() found it, NGROK_AUTHTOKEN in the environment it inherits or
        # the config file it is given.
        cfg.auth_token = None
        self._hand_over_token(cfg.config_path)
        if is_pyngrok_launcher(cfg.ngrok_path):
            raise TunnelError(
                f"{cfg.ngrok_path} is pyngrok's `ngrok` launcher script, not the ngrok agent: "
                "unset PYNGROK_NGROK_PATH (the agent is then downloaded) or point it at the agent."
            )
        ensure_ngrok_binary(cfg.ngrok_path, progress)
        self._config = cfg
        self._started_agent = not process.is_process_running(cfg.ngrok_path)
        progress("starting ngrok…")
        # pyngrok reads the agent's output with no timeout of its own: an agent that prints
        # nothing would hold the kernel forever
        before = _children()
        try:
            tunnel = run_with_deadline(
                lambda: ngrok.connect(local_target(host, port), pyngrok_config=cfg),
                NGROK_START_TIMEOUT + 5,
                "Starting the ngrok agent",
            )
        except TunnelError:
            _end_new_children(before)  # its silent agent: pyngrok holds its lock until it ends
            raise
        self._public_url = (tunnel.public_url or "").rstrip("/")
        self.note = (
            "ngrok's free plan shows visitors a one-time warning page; they click 'Visit Site' and "
            "the notebook opens (same origin, so the live connection works too)."
        )
        return self._public_url

    def _hand_over_token(self, config_path: str) -> None:
        """Make sure the agent finds our token in its environment or its config file."""
        if os.environ.get("NGROK_AUTHTOKEN", "").strip() == self.token:
            return
        if _token_in_config(Path(config_path)) != self.token:
            raise TunnelError(
                f"The ngrok token to use is neither in NGROK_AUTHTOKEN nor in {config_path}: "
                "run `%jupyterspot token ngrok` (CLI: `jupyterspot token ngrok`) to store it."
            )

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
