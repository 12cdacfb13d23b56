"""The ngrok provider through pyngrok: token, agent binary (fetched within a deadline), tunnel."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import TunnelError, local_target

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
