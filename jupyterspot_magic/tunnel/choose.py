"""Choosing a provider: `--tunnel KIND` / `--public-url`, and `auto`'s fallbacks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..base.options import TUNNELS
from .base import Tunnel, TunnelError
from .cloudflared import CloudflaredTunnel, cloudflared_binary
from .direct import NoTunnel, PublicUrl
from .ngrok import NgrokTunnel, ngrok_token

PROVIDERS = TUNNELS  # the --tunnel choices (base/options.py)


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
