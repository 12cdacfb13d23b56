"""Tunnels: how people outside this machine reach the share server.

Each provider turns the local base URL (`http://127.0.0.1:PORT`) into a public base URL. Only
`none` is implemented so far (loopback, or the LAN address with `--host 0.0.0.0`); `ngrok` and
`cloudflared` plug into the same interface in a later release and say so clearly until then.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Protocol

PROVIDERS = ("auto", "none", "ngrok", "cloudflared")


class TunnelError(Exception):
    """A tunnel could not be opened: one line telling the user what to do."""


class Tunnel(Protocol):
    name: str

    def open(self, host: str, port: int) -> str:
        """Start forwarding to the server and return the public base URL (no trailing slash)."""
        ...

    def close(self) -> None: ...


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


def make_tunnel(kind: str) -> Tunnel:
    """The provider for `--tunnel KIND`; `auto` falls back to `none` with a note."""
    if kind not in PROVIDERS:
        raise TunnelError(f"Unknown tunnel {kind!r}; choose one of: {', '.join(PROVIDERS)}")
    if kind in ("ngrok", "cloudflared"):
        raise TunnelError(
            f"The {kind} tunnel is not available yet in this version of jupyterspot-magic; "
            "use --tunnel none (this machine or, with --host 0.0.0.0, your LAN)."
        )
    tunnel = NoTunnel()
    if kind == "auto":
        tunnel.note = (
            "No public tunnel yet: the link works on this machine "
            "(or your LAN with --host 0.0.0.0)."
        )
    return tunnel
