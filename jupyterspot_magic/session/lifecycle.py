"""How a share starts: locate -> render -> store -> rooms -> tunnel -> live, in that order.

`prepare` does what needs no server (and fails fast: an unavailable tunnel is refused before
anything is rendered); `start` opens the rest on a running server and returns the `Share`, or
closes what it opened and raises. What to do with a share already running (share it again, or
replace it) is the registry's decision (session/registry.py); `Share.stop` closes a share.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from ..base.options import ShareOptions
from ..base.options import same_share as same_options
from ..content.locate import Located, locate
from ..content.render import RenderedNotebook, render
from ..persist import keeper
from ..persist.keeper import BoardKeeper, notebook_key
from ..server.export_route import Exporter
from ..server.shared import SharedNotebook
from ..server.thread import ServerThread
from ..tunnel import Tunnel, check_reachable, make_tunnel, uses_process
from .events import Events
from .mirror import Mirror
from .rooms import close_rooms, open_rooms
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


def prepare(path: str | Path | None, options: ShareOptions, user_ns: dict | None) -> Prepared:
    t0 = time.perf_counter()
    # fails fast on an unknown or unavailable tunnel (no ngrok token, no cloudflared)
    tunnel = make_tunnel(options.tunnel, public_url=options.public_url)
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


def start(prepared: Prepared, options: ShareOptions, server: ServerThread) -> Share:
    """Open the share on `server`. On failure what was opened is closed (the server stays)."""
    located, rendered, tunnel = prepared.located, prepared.rendered, prepared.tunnel
    board_keeper = BoardKeeper.open(
        options.store, notebook_key(located.path, located.contents), options.fresh
    )
    known = board_keeper.identity() if board_keeper else None  # same links as last time
    shared = SharedNotebook(
        room=known.room if known else secrets.token_urlsafe(9),
        token=known.token if known else secrets.token_urlsafe(24),
        host_token=known.host_token if known else secrets.token_urlsafe(24),
        rendered=rendered,
    )
    if board_keeper is not None:  # the stored board is in place before anyone connects
        server.call(board_keeper.attach, shared)
    events = Events()
    mirror = Mirror(server, shared.board, events)
    lead = server.call(open_rooms, server, shared, mirror)
    try:
        base_url = tunnel.open(options.host, server.port)
    except BaseException:
        tunnel.close()
        server.call(close_rooms, server, shared)
        if board_keeper is not None:
            board_keeper.close(server)
        raise
    notes = [n for n in (located.note, tunnel.note) if n]
    health = None
    if tunnel.name != "none" and not tunnel.name.endswith(":none"):
        # Health: the page, fetched through the public URL, as a participant would.
        health = check_reachable(page_url(base_url, shared.room, shared.token), _timeout(tunnel))
        if health is not None:
            notes.append(
                f"The link did not answer through {base_url} ({health}); check the tunnel or proxy."
            )
    notes += rendered.warnings
    if board_keeper is not None:
        board_keeper.save(shared)  # remember the links
        notes += board_keeper.notes  # a repaired store or a partly restored board
    elif keeper.last_error:
        notes.append(keeper.last_error)
    server.on_restart(mirror.after_restart)
    share = Share(
        located=located,
        rendered=rendered,
        options=options,
        server=server,
        shared=shared,
        tunnel=tunnel,
        base_url=base_url,
        events=events,
        mirror=mirror,
        lead=lead,
        board_keeper=board_keeper,
        notes=notes,
        health=health,
        timings=prepared.timings(),
    )
    # The share's own routes (server/shared.py): changed cells, the page's Export download.
    shared.live = share.live.content
    shared.exporter = Exporter(shared, str(located.path) if located.path else None)
    return share


def _timeout(tunnel: Tunnel) -> float:
    """A fresh tunnel may take a moment to route; a proxy the user runs answers now or never."""
    return 15.0 if uses_process(tunnel) else 3.0
