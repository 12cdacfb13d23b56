"""How a share starts: locate -> render -> store -> rooms -> tunnel -> live, in that order.

`prepare` does what needs no server (and fails fast: an unavailable tunnel is refused before
anything is rendered), in the kernel: finding the notebook needs the kernel's namespace, and the
page is rendered here while the share server's process starts. `start` opens the rest on that
server (session/hosted.py, in its process) and returns the `Share`, or closes what it opened and
raises; `reopen` opens the same share on a server started again after a crash. What to do with
a share already running (share it again, or replace it) is the registry's decision
(session/registry.py); `Share.stop` closes a share.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..base.options import ShareOptions, presenter_name
from ..base.options import same_share as same_options
from ..content.locate import Located, locate
from ..content.render import RenderedNotebook, render
from ..persist.keeper import notebook_key, where
from ..server.host import Host
from ..server.relay import relay_settings
from ..tunnel import Progress, Tunnel, check_reachable, make_tunnel, quiet, uses_process
from . import hosted
from .events import Events
from .mirror import Mirror
from .share import Share, page_url


@dataclass(frozen=True)
class Prepared:
    """A notebook found and rendered, its tunnel chosen; nothing opened yet."""

    located: Located
    rendered: RenderedNotebook
    tunnel: Tunnel
    clock: tuple[float, float, float]  # perf_counter at the start, located, rendered

    def timings(self) -> dict[str, float]:
        t0, located, rendered = self.clock
        ready = time.perf_counter()
        return {
            "locate": located - t0,
            "render": rendered - located,
            "render_cached": float(self.rendered.cached),
            "serve": ready - rendered,
            "total": ready - t0,
        }


def prepare(
    path: str | Path | None,
    options: ShareOptions,
    user_ns: dict | None,
    progress: Progress = quiet,
) -> Prepared:
    t0 = time.perf_counter()
    if options.relay:
        relay_settings(options.relay)  # a bad URL or no secret: one line, before any work
    # fails fast on an unknown or unavailable tunnel (no ngrok token, no cloudflared)
    tunnel = make_tunnel(options.tunnel, public_url=options.public_url)
    progress("preparing the page…")
    located = locate(path, user_ns=user_ns)
    t_located = time.perf_counter()
    title = located.path.stem if located.path else None
    source = located.source
    rendered = render(source, title=title)
    return Prepared(located, rendered, tunnel, (t0, t_located, time.perf_counter()))


def same_share(previous: Share, prepared: Prepared, options: ShareOptions) -> bool:
    """`previous` can serve this request: same notebook, found the same way, same options."""
    return (
        previous.alive
        and same_options(previous.options, options)
        and previous.located.path == prepared.located.path
        and previous.located.route == prepared.located.route
    )


def start(
    prepared: Prepared, options: ShareOptions, host: Host, progress: Progress = quiet
) -> Share:
    """Open the share on `host`'s server. On failure what was opened is closed (the server
    stays). `progress` hears each step of the tunnel's opening (tunnel/base.py)."""
    located, rendered, tunnel = prepared.located, prepared.rendered, prepared.tunnel
    opened = host.call(hosted.open_share, open_spec(located, rendered, options))
    events = Events()
    mirror = Mirror(opened.room, events)
    host.subscribe(mirror.receive)  # now: people may join while the tunnel opens
    try:
        base_url = tunnel.open(options.host, host.port, progress)
    except BaseException:
        tunnel.close()
        host.call(hosted.close_share, opened.room)
        raise
    notes = [n for n in (located.note, tunnel.note) if n]
    if options.relay and options.e2e == "auto":  # said, since auto means "on" everywhere else
        notes.append("This share is not end-to-end encrypted: the relay must read what it relays.")
    health = None
    if tunnel.name != "none" and not tunnel.name.endswith(":none"):
        # Health: the page, fetched through the public URL, as a participant would.
        progress("checking the link from outside…")
        health = check_reachable(page_url(base_url, opened.room, opened.token), _timeout(tunnel))
        if health is not None:
            notes.append(
                f"The link did not answer through {base_url} ({health}); check the tunnel or proxy."
            )
    notes += rendered.warnings
    notes += opened.notes
    return Share(
        located=located,
        rendered=rendered,
        options=options,
        host=host,
        links=(opened.room, opened.token, opened.host_token, opened.key),
        tunnel=tunnel,
        base_url=base_url,
        events=events,
        mirror=mirror,
        notes=notes,
        health=health,
        timings=prepared.timings(),
    )


def open_spec(
    located: Located, rendered: RenderedNotebook, options: ShareOptions, again: Share | None = None
) -> hosted.OpenSpec:
    """What the server needs to open this share. `again`: the same share on a server started
    again after a crash: its links and host settings too, and never a fresh board."""
    return hosted.OpenSpec(
        rendered=rendered,
        key=notebook_key(located.path, located.contents),
        store=where(options.store),
        fresh=options.fresh and again is None,
        notebook=str(located.path) if located.path else None,
        max_people=options.max_people,
        audience=again.audience if again else options.audience,
        relay=relay_settings(options.relay) if options.relay else None,
        e2e=options.encrypted(),
        identity=(again.room, again.token, again.host_token, again.key) if again else None,
        view_only=again.view_only if again else False,
        lead_policy=again.lead_policy if again else "anyone",
        banned=again.banned if again else frozenset(),
        reactions=again.reactions if again else True,
        questions=again.questions_enabled if again else True,
        presenter=options.name or presenter_name(),
    )


def reopen(share: Share, host: Host) -> None:
    """The share's server died and `host` is a new one on the same port: open the same rooms
    there (same links; the board from the store), then hand the share its new server."""
    spec = open_spec(share.located, share.rendered, share.options, again=share)
    share.mirror.forget()  # the dead server's people and lead are not the new one's
    host.subscribe(share.mirror.receive)  # before the rooms open: nobody's arrival is missed
    opened = host.call(hosted.open_share, spec)
    share.reattach(host, opened.notes)
    if share.stream is None:
        share.refresh(share.rendered)  # the per-cell view too
    # (with a live stream, reattach's republish sends what the pages showed: the page and its
    # per-cell view from one thread, not a file render racing the stream's flush)


def _timeout(tunnel: Tunnel) -> float:
    """A fresh tunnel may take a moment to route; a proxy the user runs answers now or never."""
    return 15.0 if uses_process(tunnel) else 3.0
