"""A running share: its links, who is here, and the host's powers over it.

session/lifecycle.py starts a share and session/registry.py keeps the current one; this class is
the state in between. It tells the outside (the widget, the plain link, the terminal, the
registry) through `events` (session/events.py) and never calls a front-end.

Threads: the kernel thread calls the methods here; rooms and documents live on the server thread,
reached through `ServerThread.call` (one hop per operation, so a lookup and the action on it see
the same rooms). The server thread keeps `mirror` current (who is here, who leads), so
`participants` and `leader` read without waiting while a cell runs.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from ..base.options import ShareOptions
from ..collab.lead import Lead
from ..content.export import write as write_export
from ..content.locate import Located
from ..content.render import RenderedNotebook
from ..persist.keeper import BoardKeeper, delete_all_shapes
from ..server.shared import SharedNotebook
from ..server.thread import ServerThread
from ..tunnel import Tunnel, TunnelKeeper, uses_process
from . import participants
from .events import Events, LinkChanged, StatusMessage, Stopped
from .live import LiveUpdater
from .mirror import Mirror
from .rooms import close_rooms, set_draw_policy, update_content

T = TypeVar("T")

TUNNEL_REOPENED = "The tunnel dropped and was reopened: the link changed, send the new one."


def page_url(base: str, room: str, token: str) -> str:
    return f"{base}/s/{room}/?token={token}"


class Share:
    """A running share. Read `url`, `host_url`, `participants`; call `stop()`."""

    def __init__(
        self,
        *,
        located: Located,
        rendered: RenderedNotebook,
        options: ShareOptions,
        server: ServerThread,
        shared: SharedNotebook,
        tunnel: Tunnel,
        base_url: str,
        events: Events,
        mirror: Mirror,
        lead: Lead,
        board_keeper: BoardKeeper | None = None,
        notes: list[str] | None = None,
        health: str | None = None,
        timings: dict[str, float] | None = None,
    ) -> None:
        self.located = located
        self.rendered = rendered
        self.options = options
        self.server = server
        self.shared = shared
        self.tunnel = tunnel
        self.base_url = base_url
        self.events = events
        self.mirror = mirror
        self._lead = lead  # lives on the server thread: reached only through server.call
        self.board_keeper = board_keeper  # stores the board (None: persistence off)
        self.notes = notes or []
        self.health = health  # None: the page answered through the public URL; else why not
        self.timings = timings or {}
        self.status = "live"
        # The parts that follow the share: a tunnel whose process died is reopened (the links
        # follow it); saving the notebook updates every page.
        self.keeper: TunnelKeeper | None = None
        if uses_process(tunnel):
            self.keeper = TunnelKeeper(
                tunnel, options.host, server.port, self._on_tunnel_url, self._on_tunnel_down
            ).start()
        self.live = LiveUpdater(
            located, rendered, self.refresh, lambda: self.alive, watch=options.watch
        )

    # -- links --

    @property
    def room(self) -> str:
        return self.shared.room

    @property
    def token(self) -> str:
        return self.shared.token

    @property
    def host_token(self) -> str:
        return self.shared.host_token

    @property
    def url(self) -> str:
        return page_url(self.base_url, self.room, self.token)

    @property
    def host_url(self) -> str:
        url = page_url(self.base_url, self.room, self.host_token)
        return f"{url}&name={quote(self.options.name)}" if self.options.name else url

    @property
    def local_url(self) -> str:
        return page_url(f"http://{self._local_host()}:{self.server.port}", self.room, self.token)

    @property
    def ws_url(self) -> str:
        scheme_base = self.base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return f"{scheme_base}/ws/{self.room}"

    def _local_host(self) -> str:
        host = self.server.host
        if host in ("0.0.0.0", "", "::"):
            return "127.0.0.1"
        return f"[{host}]" if ":" in host else host

    def info(self) -> dict[str, str]:
        """The CLI's --json line, as README.md documents it."""
        return {
            "url": self.url,
            "host_url": self.host_url,
            "local_url": self.local_url,
            "ws_url": self.ws_url,
            "room": self.room,
            "token": self.token,
            "host_token": self.host_token,
        }

    # -- the tunnel (the keeper's thread) --

    def _on_tunnel_url(self, base_url: str) -> None:
        """The tunnel was reopened under a new URL: every link follows it."""
        self.base_url = base_url
        self.events.emit(LinkChanged(self.url, self.host_url, TUNNEL_REOPENED))

    def _on_tunnel_down(self, message: str) -> None:
        if self.status == "live":
            self.events.emit(StatusMessage(message))

    # -- people and the lead, as the server thread last published them --

    @property
    def participants(self) -> list[dict]:
        """Everyone connected: name, color, role, where they are. Safe while a cell runs."""
        return list(self.mirror.people)

    @property
    def leader(self) -> dict | None:
        """The participant who leads (a `participants` row), or None."""
        cid = self.mirror.lead.get("leader")
        row = next((p for p in self.mirror.people if p["client_id"] == cid), None)
        return row or ({"client_id": cid} if cid is not None else None)

    @property
    def lead_policy(self) -> str:
        """`"anyone"` (anyone may take the lead) or `"host"` (only the host gives it)."""
        return self.mirror.lead.get("leadPolicy", "anyone")

    @lead_policy.setter
    def lead_policy(self, policy: str) -> None:
        self._lead_call(lambda lead: lead.set_policy(policy))

    # -- scroll leadership (collab/lead.py, on the server thread) --

    def take_lead(self) -> int | None:
        """Make the presenter view (a host page) the leader; None when no host page is open."""

        def take(lead: Lead) -> int | None:
            cid = lead.host_client()
            if cid is not None:
                lead.set_leader(cid)
            return cid

        return self._lead_call(take)

    def release_lead(self) -> None:
        """Nobody leads any more; everyone stays where they are."""
        self._lead_call(lambda lead: lead.set_leader(None))

    def hand_lead(self, who: int | str) -> int:
        """Give the lead to a participant (client id or name, as `kick` finds them); returns
        its client id."""

        def hand(lead: Lead) -> int:
            cid = self._find(who)["client_id"]
            lead.set_leader(cid)
            return cid

        return self._lead_call(hand)

    def bring_everyone_back(self) -> None:
        """Everyone who broke away resumes following the leader."""
        self._lead_call(lambda lead: lead.recall())

    def _lead_call(self, fn: Callable[[Lead], T]) -> T:
        if not self.alive:
            raise RuntimeError("This share is not live")
        lead = self._lead

        def run() -> tuple[T, dict]:
            return fn(lead), lead.state()

        result, state = self.server.call(run)
        self.mirror.lead = state  # read-your-writes: the server's notification may still come
        return result

    # -- host powers (docs/security.md) --

    def _find(self, who: int | str) -> dict:
        """Server thread: the participant `who` means, among those connected right now."""
        return participants.find_participant(participants.rows(self.shared.board), who)

    def find_participant(self, who: int | str) -> dict:
        """A participant by client id (`123`, `"#123"`, `"123"`) or (case-insensitive) name;
        LookupError when nobody or several match (session/participants.py: the one rule)."""
        return self.server.call(self._find, who)

    def kick(self, who: int | str) -> str:
        """Remove a participant (client id or name); their browser stays out until
        `allow_everyone()`. Returns their (printable) name."""

        def kick() -> str:
            person = self._find(who)  # found and removed in one step: nobody moves in between
            self.shared.kick(person["client_id"])
            return person["name"]

        return self.server.call(kick)

    def allow_everyone(self) -> None:
        self.server.call(self.shared.allow_everyone)

    def rotate(self) -> str:
        """A new guest link: every old guest link stops working at once. Returns the new url."""
        self.server.call(self.shared.rotate, secrets.token_urlsafe(24))
        if self.board_keeper is not None:
            self.board_keeper.save(self.shared)  # sharing again gives the new link
        self.events.emit(LinkChanged(self.url, self.host_url))
        return self.url

    @property
    def view_only(self) -> bool:
        return "guest" not in self.shared.board.writers

    @view_only.setter
    def view_only(self, value: bool) -> None:
        """Only the host may draw (enforced by the server; the page hides guests' tools)."""
        self.server.call(set_draw_policy, self.shared, bool(value))

    # -- content: live updates, export, the stored board --

    def refresh(self, rendered: RenderedNotebook) -> None:
        """New content, same room, tokens, board and people (a save, `update()`)."""
        self.rendered = rendered
        self.live.adopt(rendered)
        self.server.call(update_content, self.shared, rendered)

    def reshare(
        self, rendered: RenderedNotebook, *, fresh: bool, timings: Callable[[], dict[str, float]]
    ) -> None:
        """The same notebook shared again: its new content; `fresh`: a clean board too.
        `timings()` measures the whole share-again, once it is done."""
        self.refresh(rendered)
        if fresh:
            self.clear()
        self.timings = timings()

    def update(self) -> bool:
        """Publish the notebook's current content now (saved file; Colab: live contents)."""
        if not self.alive:
            raise RuntimeError("This share is not live")
        return self.live.update()

    def export(self, path: str | Path) -> Path:
        """Write the share: `.json` = the board as JSON, else a standalone offline HTML page."""
        get_update = self.shared.board.doc.get_update
        update = self.server.call(get_update) if self.server.running else get_update()
        notebook = str(self.located.path) if self.located.path else None
        return write_export(
            path, self.rendered, update, notebook=notebook, secrets=(self.host_token, self.token)
        )

    def clear(self) -> int:
        """Empty the board for everyone (kept in the store's history); returns shapes removed."""
        if not self.alive:
            raise RuntimeError("This share is not live")
        if self.board_keeper is not None:
            return self.board_keeper.clear(self.server, self.shared)
        return self.server.call(delete_all_shapes, self.shared.board.doc)

    # -- life --

    @property
    def alive(self) -> bool:
        return self.status == "live" and self.server.running

    def stop(self) -> str | None:
        """Close the rooms (everyone sees 'stopped'), then the tunnel.

        Returns a one-line message when the board's last write failed (and where the drawings
        were saved instead), else None. Emits `Stopped`: the registry forgets the share (and
        stops an idle server), front-ends show it."""
        if self.status == "stopped":
            return None
        self.status = "stopped"
        self.mirror.live = False
        self.server.forget_restart_listener(self.mirror.after_restart)
        self.live.stop()
        if self.server.running:  # before the tunnel closes: guests get 'stopped', not a drop
            self.server.call(close_rooms, self.server, self.shared)
        problem = None
        if self.board_keeper is not None:
            problem = self.board_keeper.close(self.server)  # a last write: nothing drawn is lost
        if self.keeper is not None:
            self.keeper.stop()
        self.tunnel.close()
        self.events.emit(Stopped(problem))
        return problem

    def __repr__(self) -> str:
        return f"<Share {self.status} {self.url} participants={len(self.mirror.people)}>"
