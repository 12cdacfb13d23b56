"""Choosing a provider: `--tunnel KIND` / `--public-url`, and `auto`'s fallbacks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..base.options import TUNNELS
from .base import Progress, Tunnel, TunnelError, quiet
from .cloudflared import CloudflaredTunnel, cloudflared_binary
from .direct import NoTunnel, PublicUrl
from .download import downloadable, no_build_message
from .ngrok import NgrokTunnel, ngrok_token

PROVIDERS = TUNNELS  # the --tunnel choices (base/options.py)


@dataclass
class AutoTunnel:
    """ngrok when a token is there, else cloudflared (downloaded when missing: tunnel/download.py),
    else none with a note and the one next step that gives a public link (`next_step`)."""

    chosen: Any = None
    note: str | None = None
    next_step: str | None = None

    @property
    def name(self) -> str:
        return f"auto:{self.chosen.name}" if self.chosen is not None else "auto"

    def open(self, host: str, port: int, progress: Progress = quiet) -> str:
        if self.chosen is not None:  # reopening: same provider again
            return self.chosen.open(host, port, progress)
        problems: list[str] = []
        for candidate in self._candidates(problems):
            try:
                url = candidate.open(host, port, progress)
            except TunnelError as e:
                problems.append(str(e) if candidate.name in str(e) else f"{candidate.name}: {e}")
                continue
            self.chosen = candidate
            self.note = candidate.note
            return url
        return self._fall_back(host, port, problems)

    @staticmethod
    def _candidates(problems: list[str]) -> list[Any]:
        candidates: list[Any] = []
        token, config = ngrok_token()
        try:
            import pyngrok  # noqa: F401

            has_pyngrok = True
        except ImportError:
            has_pyngrok = False
        if token and has_pyngrok:
            candidates.append(NgrokTunnel(token=token, config_path=config))
        try:
            found = cloudflared_binary()
        except TunnelError as e:  # a wrong JUPYTERSPOT_CLOUDFLARED: say so, download nothing
            problems.append(str(e))
            return candidates
        if found or downloadable():
            candidates.append(CloudflaredTunnel(binary=found, retry_download=False))
        else:
            problems.append(no_build_message())
        return candidates

    def _fall_back(self, host: str, port: int, problems: list[str]) -> str:
        self.chosen = NoTunnel()
        url = self.chosen.open(host, port)
        where = "your LAN" if host in ("0.0.0.0", "::", "") else "this machine"
        self.next_step = public_link_step(problems)
        self.note = f"No public tunnel: the link works on {where} only. " + " ".join(problems)
        if self.chosen.note:
            self.note += " " + self.chosen.note
        return url

    def alive(self) -> bool:
        return self.chosen is None or self.chosen.alive()

    def close(self) -> None:
        if self.chosen is not None:
            self.chosen.close()


def public_link_step(problems: list[str]) -> str:
    """The one thing to do for a public link, after auto found none (shown by the widget)."""
    if any("ngrok could not" in p for p in problems):
        return (
            "For a public link: check your ngrok token (`%jupyterspot token ngrok`), then share "
            "again."
        )
    return (
        "For a public link: run `%jupyterspot token ngrok` with a free ngrok token (CLI: "
        "`jupyterspot token ngrok`), or let this machine download cloudflared from GitHub, "
        "then share again."
    )


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
