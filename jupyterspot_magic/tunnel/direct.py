"""Links without a tunnel process: the server's own address, or a reverse proxy the user runs."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from .base import Progress, TunnelError, quiet


@dataclass
class NoTunnel:
    """No tunnel: the server's own address; a wildcard bind is shown as this machine's LAN IP."""

    name: str = "none"
    note: str | None = None

    def open(self, host: str, port: int, progress: Progress = quiet) -> str:
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


Reach = Literal["public", "lan", "local"]


def reach(url: str) -> Reach:
    """Who can open `url`: "local" (loopback: this machine only), "lan" (a private, link-local
    or CGNAT/Tailscale address, a .local or single-label name: this network only) or "public"
    (any other address or a host name)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return "local"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # mDNS (.local) and single-label names resolve on this network only; others: a
        # tunnel's or a proxy's name
        return "lan" if host.endswith(".local") or "." not in host else "public"
    if address.is_loopback:
        return "local"
    if address.is_private or address.is_link_local or address in SHARED_SPACE:
        return "lan"
    return "public"


#: RFC 6598 shared address space: carrier-grade NAT, and Tailscale's addresses (neither
#: reachable from the internet; `is_private` is False for it).
SHARED_SPACE = ipaddress.ip_network("100.64.0.0/10")


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

    def open(self, host: str, port: int, progress: Progress = quiet) -> str:
        # `{{port}}` too: IPython's own {expr} expansion of a magic line may leave it doubled
        url = self.url.replace("{{port}}", "{port}").replace("{port}", str(port))
        # the page is under <base>/s/<room>/: drop a trailing slash and any query
        return url.split("?", 1)[0].split("#", 1)[0].rstrip("/")

    def alive(self) -> bool:
        return True

    def close(self) -> None:
        pass
