"""What every tunnel provider is: the interface, its error, and the address it forwards to."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

#: Told one short line at each step while a tunnel opens ("starting cloudflared…"): the widget
#: shows it in place, the CLI prints it. Called on the thread that opens the tunnel.
Progress = Callable[[str], None]


def quiet(_line: str) -> None:
    """The progress callback when nobody shows progress."""


#: A token-shaped word (with a digit: not "property") after "authtoken" and up to 12 characters
#: of separators: ngrok's "Your authtoken: 2ab…" (pyngrok keeps its "\\n" literal), a config
#: line "authtoken: 2ab…", an argv "--authtoken=2ab…".
_AFTER_AUTHTOKEN = re.compile(
    r"(?i)(authtoken(?:[\s:=\"'`]|\\[nrt]){1,12})(?=[A-Za-z0-9_.-]*\d)[A-Za-z0-9_.-]{8,}"
)
REDACTED = "<redacted>"


def redact(text: str, *secrets: str | None) -> str:
    """`text` without the given secrets nor any token-shaped word after "authtoken": every
    message we show may end up in a saved notebook, a log or a screen share."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return _AFTER_AUTHTOKEN.sub(lambda m: m.group(1) + REDACTED, text)


class TunnelError(Exception):
    """A tunnel could not be opened: one line telling the user what to do (redacted: a
    provider's own error may quote the ngrok authtoken)."""

    def __init__(self, message: str = "", *secrets: str | None) -> None:
        super().__init__(redact(str(message), *secrets))


class Tunnel(Protocol):
    name: str
    note: str | None

    def open(self, host: str, port: int, progress: Progress = quiet) -> str:
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
