"""A share: locate -> render -> serve -> tunnel -> widget, and its life until stopped.

The kernel thread builds the share and reads its state; the server thread owns the rooms and
publishes a participants snapshot (an immutable list swapped in whole) plus widget traits, so both
stay current while a cell is running.
"""

from __future__ import annotations

import atexit
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..content.locate import Located, locate
from ..content.render import RenderedNotebook, render
from ..persist.store import BoardKeeper, notebook_key
from ..server.shared import SharedNotebook
from ..server.thread import ServerThread
from ..tunnel.providers import Tunnel, TunnelKeeper, check_reachable, make_tunnel, uses_process
from .participants import _client_id_of, _label, participant_row, printable

PARTICIPANTS_DEBOUNCE = 0.1  # s: cursor storms must not rebuild the list hundreds of times a second


@dataclass(frozen=True)
class ShareOptions:
    tunnel: str = "auto"
    host: str = "127.0.0.1"
    port: int = 0
    name: str | None = None  # the presenter's display name in the host view
    public_url: str | None = None  # a reverse proxy's URL for the server (maybe a path prefix)


@dataclass
class Share:
    """A running share. Read `url`, `host_url`, `participants`; call `stop()`."""

    located: Located
    rendered: RenderedNotebook
    options: ShareOptions
    server: ServerThread
    shared: SharedNotebook
    tunnel: Tunnel
    base_url: str
    timings: dict[str, float] = field(default_factory=dict)
    status: str = "live"
    notes: list[str] = field(default_factory=list)
    widget: Any = None
    keeper: TunnelKeeper | None = None  # reopens a tunnel whose process died
    board_keeper: BoardKeeper | None = None  # stores the board (None: persistence off)
    live: Any = None  # watch.LiveUpdater: re-renders on save, serves changed cells
    link_display: Any = None  # the plain-link output's DisplayHandle (updated with the link)
    health: str | None = None  # None: the page answered through the public URL; else why not
    _participants: list[dict] = field(default_factory=list)
    _publish_scheduled: bool = False
    _lead: Any = None  # lead.Lead, lives on the server thread
    _lead_state: dict = field(default_factory=lambda: {"leader": None, "leadPolicy": "anyone"})

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

    def _page_url(self, base: str, token: str) -> str:
        return f"{base}/s/{self.room}/?token={token}"

    @property
    def url(self) -> str:
        return self._page_url(self.base_url, self.token)

    @property
    def host_url(self) -> str:
        url = self._page_url(self.base_url, self.host_token)
        return f"{url}&name={quote(self.options.name)}" if self.options.name else url

    @property
    def local_url(self) -> str:
        return self._page_url(f"http://{self._local_host()}:{self.server.port}", self.token)

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
        """The CLI's --json contract (DESIGN.md)."""
        return {
            "url": self.url,
            "host_url": self.host_url,
            "local_url": self.local_url,
            "ws_url": self.ws_url,
            "room": self.room,
            "token": self.token,
            "host_token": self.host_token,
        }

    # -- the tunnel --

    def _on_tunnel_url(self, base_url: str) -> None:
        """Keeper thread: the tunnel was reopened under a new URL; every link follows it."""
        self.base_url = base_url
        note = "The tunnel dropped and was reopened: the link changed, send the new one."
        if self.widget is not None:
            self.widget.set_link(self.url, self.host_url)
            self.widget.message = note
        if self.link_display is not None:
            from ..frontends.magic import update_link_display

            update_link_display(self)
        if self.widget is None:  # terminal / CLI: the printed link is all there is
            print(f"jupyterspot: {note}\n  link: {self.url}", flush=True)

    def _on_tunnel_down(self, message: str) -> None:
        if self.widget is not None and self.status == "live":
            self.widget.message = message

    # -- people --

    @property
    def participants(self) -> list[dict]:
        """Everyone connected: name, color, role, where they are. Safe while a cell runs."""
        return list(self._participants)

    def _on_awareness(self) -> None:
        """Server thread: coalesce a burst of awareness changes into one rebuild."""
        if self._publish_scheduled:
            return
        self._publish_scheduled = True
        self.server.call_later(PARTICIPANTS_DEBOUNCE, self._publish_participants)

    def _after_server_restart(self) -> None:
        """A rebuild scheduled on the crashed loop died with it: schedule one on the new loop."""
        self._publish_scheduled = False
        if self.status == "live":
            self._on_awareness()

    def _publish_participants(self) -> None:
        self._publish_scheduled = False
        people = [participant_row(cid, st, role) for cid, st, role in self.shared.board.states()]
        people.sort(key=lambda p: (p["role"] != "host", p["name"].lower(), p["client_id"]))
        if people != self._participants:
            self._participants = people
            if self.widget is not None:
                self.widget.participants = people

    # -- life --

    @property
    def alive(self) -> bool:
        return self.status == "live" and self.server.running

    def stop(self, *, release_server: bool = True) -> str | None:
        """Close the rooms (everyone sees 'stopped'), the tunnel, and the server if idle.

        Returns a one-line message when the board's last write failed (and where the drawings
        were saved instead), else None."""
        global _current
        if self.status == "stopped":
            return None
        self.status = "stopped"
        self.server.forget_restart_listener(self._after_server_restart)
        if self.live is not None:
            self.live.stop()
        if self.server.running:
            self.server.call(lambda: _unregister(self.server, self.shared))
        problem = None
        if self.board_keeper is not None:
            problem = self.board_keeper.close(self.server)  # a last write: nothing drawn is lost
        if self.keeper is not None:
            self.keeper.stop()
        self.tunnel.close()
        if self.widget is not None:
            self.widget.status = "stopped"
            done = "Sharing stopped. Run %jupyterspot share to share again."
            self.widget.message = f"{problem} {done}" if problem else done
        if _current is self:
            _current = None
        if release_server:
            _release_server_if_idle()
        return problem

    def refresh(self, rendered: RenderedNotebook) -> None:
        """Same notebook shared again: new content, same room, tokens, board and people."""
        self.rendered = rendered
        if self.live is not None:
            self.live.adopt(rendered)
        self.server.call(lambda: _update_content(self.shared, rendered))

    # -- live updates, export, the stored board (issue 6) --

    def update(self) -> bool:
        """Publish the notebook's current content now (saved file; Colab: live contents)."""
        if self.live is None or not self.alive:
            raise RuntimeError("This share is not live")
        return self.live.update()

    def export(self, path: str | Path) -> Path:
        """Write the share: `.json` = the board as JSON, else a standalone offline HTML page."""
        from ..content.export import write

        if self.server.running:
            update = self.server.call(_on_thread(self.shared.board.doc.get_update))
        else:
            update = self.shared.board.doc.get_update()
        notebook = str(self.located.path) if self.located.path else None
        return write(
            path, self.rendered, update, notebook=notebook, secrets=(self.host_token, self.token)
        )

    def clear(self) -> int:
        """Empty the board for everyone (kept in the store's history); returns shapes removed."""
        if not self.alive:
            raise RuntimeError("This share is not live")
        if self.board_keeper is not None:
            return self.board_keeper.clear(self.server, self.shared)
        from ..persist.store import _delete_all_shapes

        return self.server.call(_on_thread(lambda: _delete_all_shapes(self.shared.board.doc)))

    # -- scroll leadership (lead.py; state written by the server thread) --

    @property
    def leader(self) -> dict | None:
        """The participant who leads (a `participants` row), or None."""
        cid = self._lead_state.get("leader")
        row = next((p for p in self._participants if p["client_id"] == cid), None)
        return row or ({"client_id": cid} if cid is not None else None)

    @property
    def lead_policy(self) -> str:
        """`"anyone"` (anyone may take the lead) or `"host"` (only the host gives it)."""
        return self._lead_state.get("leadPolicy", "anyone")

    @lead_policy.setter
    def lead_policy(self, policy: str) -> None:
        self._lead_call(lambda lead: lead.set_policy(policy))

    def take_lead(self) -> int | None:
        """Make the presenter view (a host page) the leader; None when no host page is open."""

        def take(lead):
            cid = lead.host_client()
            if cid is not None:
                lead.set_leader(cid)
            return cid

        return self._lead_call(take)

    def release_lead(self) -> None:
        """Nobody leads any more; everyone stays where they are."""
        self._lead_call(lambda lead: lead.set_leader(None))

    def hand_lead(self, who: int | str) -> int:
        """Give the lead to a participant (client id or name); returns its client id."""
        return self._lead_call(lambda lead: lead.set_leader(lead.resolve(who)) or lead.leader)

    def bring_everyone_back(self) -> None:
        """Everyone who broke away resumes following the leader."""
        self._lead_call(lambda lead: lead.recall())

    def _lead_call(self, fn):
        if self._lead is None or not self.alive:
            raise RuntimeError("This share is not live")

        async def run():
            result = fn(self._lead)
            return result, self._lead.state()

        result, self._lead_state = self.server.call(run)  # read-your-writes on the kernel side
        return result

    def _on_lead_state(self, state: dict) -> None:
        """Server thread: the control document's lead state changed."""
        self._lead_state = state
        if self.widget is not None:
            with self.widget.hold_sync():
                self.widget.leader = state["leader"]
                self.widget.lead_policy = state["leadPolicy"]

    def connect_widget(self, widget: Any) -> None:
        """Let the widget's lead controls act on this share and show its lead state."""
        from ..frontends.widget import handle_lead_message

        widget.on_lead(lambda content: handle_lead_message(self, content))
        self._on_lead_state(self._lead_state)

    # -- host powers (docs/security.md) --

    def find_participant(self, who: int | str) -> dict:
        """A participant by client id (`123`, `"#123"`, `"123"`) or (case-insensitive) name.

        Names are chosen by guests, so two people can share one: then LookupError lists the
        matching client ids (see `%jupyterspot status`) and the caller picks one.
        """
        people = self._participants
        cid = _client_id_of(who)
        matches = [p for p in people if p["client_id"] == cid] if cid is not None else []
        if not matches and not (isinstance(who, int) or str(who).startswith("#")):
            wanted = printable(str(who)).casefold()  # names are stored cleaned (participant_row)
            matches = [p for p in people if p["name"].casefold() == wanted]
        if not matches:
            names = ", ".join(_label(p) for p in people) or "nobody"
            raise LookupError(f"No participant {printable(str(who))!r}; connected: {names}")
        if len(matches) > 1:
            ids = ", ".join(_label(p) for p in matches)
            raise LookupError(
                f"Several participants are called {matches[0]['name']!r}: {ids}; "
                "kick one by its id, e.g. %jupyterspot kick #" + str(matches[0]["client_id"])
            )
        return matches[0]

    def kick(self, who: int | str) -> str:
        """Remove a participant (client id or name); their browser stays out until
        `allow_everyone()`. Returns their (printable) name."""
        person = self.find_participant(who)
        self.server.call(_on_thread(lambda: self.shared.kick(person["client_id"])))
        return person["name"]

    def allow_everyone(self) -> None:
        self.server.call(_on_thread(self.shared.allow_everyone))

    def rotate(self) -> str:
        """A new guest link: every old guest link stops working at once. Returns the new url."""
        token = secrets.token_urlsafe(24)
        self.server.call(_on_thread(lambda: self.shared.rotate(token)))
        if self.board_keeper is not None:
            self.board_keeper.save(self.shared)  # sharing again gives the new link
        if self.widget is not None:
            self.widget.set_link(self.url, self.host_url)
        return self.url

    @property
    def view_only(self) -> bool:
        return "guest" not in self.shared.board.writers

    @view_only.setter
    def view_only(self, value: bool) -> None:
        """Only the host may draw (enforced by the server; the page hides guests' tools)."""

        def apply() -> None:
            self.shared.set_view_only(bool(value))
            control = self.shared.control.doc.get("control", type=_map_type())
            control["drawPolicy"] = "host" if value else "everyone"

        self.server.call(_on_thread(apply))

    def summary(self) -> str:
        who = ", ".join(p["name"] for p in self._participants) or "nobody yet"
        source = self.located.path or "live notebook contents"
        leader = self.leader
        leads = (leader.get("name") or f"client {leader['client_id']}") if leader else "nobody"
        drawing = "host only (view-only)" if self.view_only else "everyone"
        return (
            f"jupyterspot: {self.status} · {source}\n"
            f"  link:      {self.url}\n"
            f"  host link: {self.host_url}\n"
            f"  people:    {len(self._participants)} ({who})\n"
            f"  lead:      {leads} (policy: {self.lead_policy}) · drawing: {drawing}"
        )

    def __repr__(self) -> str:
        return f"<Share {self.status} {self.url} participants={len(self._participants)}>"


def _on_thread(fn):
    """A plain function as the coroutine factory ServerThread.call expects."""

    async def run():
        return fn()

    return run


async def _register(server: ServerThread, shared: SharedNotebook) -> None:
    server.registry.shares[shared.room] = shared
    _write_control(shared, shared.rendered)
    shared.warm_up()


async def _start_lead(shared: SharedNotebook, on_change):
    from ..collab.lead import Lead

    return Lead(shared.board, shared.control, on_change)


async def _unregister(server: ServerThread, shared: SharedNotebook) -> None:
    server.registry.shares.pop(shared.room, None)
    shared.board.close_all()
    shared.control.close_all()


async def _update_content(shared: SharedNotebook, rendered: RenderedNotebook) -> None:
    shared.set_rendered(rendered)
    _write_control(shared, rendered)
    shared.warm_up()


def _write_control(shared: SharedNotebook, rendered: RenderedNotebook) -> None:
    control = shared.control.doc.get("control", type=_map_type())
    with shared.control.doc.transaction(origin="kernel"):
        for key, default in (
            ("leader", None),
            ("leadPolicy", "anyone"),
            ("drawPolicy", "everyone"),
        ):
            if key not in control:
                control[key] = default
        control["version"] = rendered.content_hash
        control["title"] = rendered.title


def _map_type():
    from pycrdt import Map

    return Map


# --- the process-wide share and server -----------------------------------------------------

_lock = threading.RLock()
_current: Share | None = None
_server: ServerThread | None = None


def current() -> Share | None:
    return _current


def _ensure_server(host: str, port: int) -> ServerThread:
    """Reuse the running server when it fits (fast re-share), else start one."""
    global _server
    if _server is not None and _server.running:
        if _server.host == host and port in (0, _server.port):
            return _server
        _server.stop()
    _server = ServerThread(host, port).start()
    return _server


def _release_server_if_idle() -> None:
    global _server
    if _server is not None and not _server.registry.shares:
        _server.stop()
        _server = None


def share(
    path: str | Path | None = None,
    *,
    tunnel: str = "auto",
    host: str = "127.0.0.1",
    port: int = 0,
    name: str | None = None,
    user_ns: dict | None = None,
    public_url: str | None = None,
    store: str | Path | bool | None = None,
    fresh: bool = False,
    watch: bool = True,
) -> Share:
    """Share a notebook: returns a live `Share` (its `url` is the link to send).

    Sharing the same notebook again refreshes its content and keeps the link, the board and the
    people; sharing another notebook replaces the previous share.

    The board is stored as it changes (`store`: a database file or folder; default: the user data
    dir; `False`: off) and restored, with the same links, when the notebook is shared again;
    `fresh=True` starts a clean board (the old one stays in the store). With `watch`, saving the
    notebook updates every page within a second.
    """
    global _current
    options = ShareOptions(tunnel=tunnel, host=host, port=port, name=name, public_url=public_url)
    with _lock:
        t0 = time.perf_counter()
        # fails fast on an unknown or unavailable tunnel (no ngrok token, no cloudflared)
        provider = make_tunnel(tunnel, public_url=public_url)
        located = locate(path, user_ns=user_ns)
        t_located = time.perf_counter()
        title = located.path.stem if located.path else None
        rendered = render(
            located.contents if located.contents is not None else located.path, title=title
        )
        t_rendered = time.perf_counter()
        previous = _current
        if previous is not None and _same_share(previous, located, options):
            previous.refresh(rendered)
            if fresh:
                previous.clear()
            previous.timings = _timings(t0, t_located, t_rendered, time.perf_counter(), rendered)
            return previous
        if previous is not None:
            # Keep the server: the new share reuses it, so the old link answers 404, not
            # "connection refused", and no restart is paid.
            previous.stop(release_server=False)
        server = _ensure_server(host, port)
        key = notebook_key(located.path, located.contents)
        board_keeper = BoardKeeper.open(store, key, fresh)
        known = board_keeper.identity() if board_keeper else None  # same links as last time
        shared = SharedNotebook(
            room=known.room if known else secrets.token_urlsafe(9),
            token=known.token if known else secrets.token_urlsafe(24),
            host_token=known.host_token if known else secrets.token_urlsafe(24),
            rendered=rendered,
        )
        if board_keeper is not None:  # the stored board is in place before anyone connects
            server.call(lambda: board_keeper.attach(shared))
        server.call(lambda: _register(server, shared))
        try:
            base_url = provider.open(host, server.port)
        except BaseException:
            provider.close()
            server.call(lambda: _unregister(server, shared))
            if board_keeper is not None:
                board_keeper.close(server)
            _release_server_if_idle()
            raise
        result = Share(located, rendered, options, server, shared, provider, base_url)
        result.notes = [n for n in (located.note, getattr(provider, "note", None)) if n]
        if provider.name != "none" and not provider.name.endswith(":none"):
            # Health: the page, fetched through the public URL, as a participant would.
            result.health = check_reachable(result.url, timeout=_health_timeout(provider))
            if result.health is not None:
                result.notes.append(
                    f"The link did not answer through {base_url} ({result.health}); "
                    "check the tunnel or proxy."
                )
        if uses_process(provider):
            result.keeper = TunnelKeeper(
                provider, host, server.port, result._on_tunnel_url, result._on_tunnel_down
            ).start()
        result.notes += rendered.warnings
        _attach_extras(result, board_keeper, watch)
        server.call_soon(lambda: shared.board.on_awareness(result._on_awareness))
        server.on_restart(result._after_server_restart)
        result._lead = server.call(lambda: _start_lead(shared, result._on_lead_state))
        result.timings = _timings(t0, t_located, t_rendered, time.perf_counter(), rendered)
        _current = result
        return result


def _attach_extras(result: Share, board_keeper: BoardKeeper | None, watch: bool) -> None:
    """Issue 6: remember the links, live updates on save, the page's export download."""
    from ..persist import store
    from ..server.export_route import Exporter
    from .live import LiveUpdater

    result.board_keeper = board_keeper
    if board_keeper is not None:
        board_keeper.save(result.shared)
        result.notes += board_keeper.notes  # a repaired store or a partly restored board
    elif store.last_error:
        result.notes.append(store.last_error)
    result.live = LiveUpdater(result, watch=watch)
    notebook = str(result.located.path) if result.located.path else None
    result.shared.exporter = Exporter(result.shared, notebook)


def _health_timeout(provider: Tunnel) -> float:
    """A fresh tunnel may take a moment to route; a proxy the user runs answers now or never."""
    return 15.0 if uses_process(provider) else 3.0


def _same_share(previous: Share, located: Located, options: ShareOptions) -> bool:
    return (
        previous.alive
        and previous.options == options
        and previous.located.path == located.path
        and previous.located.route == located.route
    )


def _timings(t0: float, located: float, rendered: float, ready: float, r: RenderedNotebook):
    return {
        "locate": located - t0,
        "render": rendered - located,
        "render_cached": float(r.cached),
        "serve": ready - rendered,
        "total": ready - t0,
    }


def stop() -> bool:
    """Stop the current share; False when nothing was shared. A failed last write of the board
    is printed (it says where the drawings were saved instead)."""
    with _lock:
        if _current is None:
            return False
        problem = _current.stop()
    if problem:
        print(f"jupyterspot: {problem}", flush=True)
    return True


@atexit.register
def _stop_at_exit() -> None:
    try:
        stop()
    finally:
        if _server is not None:
            _server.stop(timeout=1.0)
