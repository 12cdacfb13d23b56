"""A running share: its links, who is here, and the host's powers over it.

session/lifecycle.py starts a share and session/registry.py keeps the current one; this class is
the state in between. It tells the outside (the widget, the plain link, the terminal, the
registry) through `events` (session/events.py) and never calls a front-end.

Threads and processes: the kernel thread calls the methods here. Rooms, documents and the
store live with the share server, in its own process (server/host.py, server/child.py); each
host power is one `host.call` of a function in session/hosted.py (one hop per operation, so a
lookup and the action on it see the same rooms). The server keeps `mirror` current (who is here,
who leads), so `participants` and `leader` read without waiting while a cell runs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..base.options import ShareOptions
from ..base.page_config import KERNEL_LEADER
from ..collab.seal import fragment, key_text
from ..content import render as R
from ..content.export import make_job, run_job
from ..content.export import write as write_export
from ..content.live import CellsView, LiveContent, Snapshot
from ..content.locate import Located
from ..content.notes import write_notes
from ..content.render import RenderedNotebook
from ..server.host import Host
from ..server.thread import ServeError
from ..tunnel import Tunnel, TunnelKeeper, uses_process
from . import footprint, hosted
from .events import Events, LinkChanged, LiveChanged, StatusMessage, Stopped
from .live import LiveUpdater
from .mirror import Mirror
from .stream import LiveStream, start_stream

EMPTY_UPDATE = b"\x00\x00"  # a Yjs update holding nothing (no structs, no deletions)
#: The host's switches (session/mirror.py SWITCHES) and the Share property that sets each: the
#: magic's `%jupyterspot reactions|questions on|off` and the widget's toggles go through it.
SWITCH_PROPERTIES = {"reactions": "reactions", "questions": "questions_enabled"}
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
        host: Host,
        links: tuple[str, str, str, bytes | None],
        tunnel: Tunnel,
        base_url: str,
        events: Events,
        mirror: Mirror,
        notes: list[str] | None = None,
        health: str | None = None,
        timings: dict[str, float] | None = None,
    ) -> None:
        self.located = located
        self.rendered = rendered
        self.options = options
        self.host = host  # where the rooms live: reached only through host.call
        # key: the end-to-end key every link's fragment carries (collab/seal.py), or None
        self.room, self.token, self.host_token, self.key = links
        self.tunnel = tunnel
        self.base_url = base_url
        self.events = events
        self.mirror = mirror
        self.notes = notes or []
        self.health = health  # None: the page answered through the public URL; else why not
        self.timings = timings or {}
        self.status = "live"
        self.server_restarts = 0
        self._view_only = False  # the kernel's copies: a restarted server is told again
        self.banned: frozenset[str] = frozenset()  # browser keys the host removed
        self._audience = options.audience
        self._final_board: bytes | None = None  # the board as it was at stop (export after it)
        self._size_note: str | None = None  # a huge notebook's note ("": being weighed)
        # `notes` and the size note change on the kernel's, the watcher's, the flusher's and a
        # weigh thread's: one lock; `_weighing` counts crossings (only the latest one's weigh
        # adds its note: a shrink and grow while one is weighed would add two).
        self._notes_lock = threading.Lock()
        self._weighing = 0
        self._tell_size = False  # after __init__: a size note is also told (StatusMessage)
        self._on_disk = True  # the page is in the render cache on disk (a live flush's is not)
        # The parts that follow the share: a tunnel whose process died is reopened (the links
        # follow it); saving the notebook updates every page.
        self.keeper: TunnelKeeper | None = None
        if uses_process(tunnel):
            self.keeper = TunnelKeeper(
                tunnel, options.host, host.port, self._on_tunnel_url, self._on_tunnel_down
            ).start()
        self.updater = LiveUpdater(
            located,
            rendered,
            self.refresh,
            lambda: self.alive,
            watch=options.watch,
            on_cells=self._send_cells,
        )
        # What the kernel runs, on every page without a save (session/stream.py).
        self.stream: LiveStream | None = None
        self._server_cells: Snapshot | None = None  # the per-cell view the server has (deltas)
        self._follow_running = False
        if options.live:
            self.stream, why_not = start_stream(self.updater, self._push_running)
            if why_not:
                self.notes.append(why_not)
            elif located.note in self.notes:  # "the last saved version": no longer so
                self.notes.remove(located.note)
        weighing = self._check_size(rendered)
        if weighing is not None:  # the note in `notes` when the magic shows them, if in time
            weighing.join(footprint.START_WAIT)
        with self._notes_lock:
            self._tell_size = True
        self._write_live()

    # -- links --

    @property
    def url(self) -> str:
        return page_url(self.base_url, self.room, self.token) + fragment(self.key)

    @property
    def host_url(self) -> str:
        url = page_url(self.base_url, self.room, self.host_token)
        name = f"&name={quote(self.options.name)}" if self.options.name else ""
        if self.key is None:
            return url + name
        # Encrypted: the name goes after the key, in the fragment, which never leaves the
        # browser (js/viewer/config.ts linkParam reads it there).
        return url + fragment(self.key) + name

    @property
    def local_url(self) -> str:
        base = f"http://{self._local_host()}:{self.host.port}"
        return page_url(base, self.room, self.token) + fragment(self.key)

    @property
    def ws_url(self) -> str:
        scheme_base = self.base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return f"{scheme_base}/ws/{self.room}"

    def _local_host(self) -> str:
        host = self.host.host
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
            "key": key_text(self.key) if self.key is not None else "",
        }

    # -- the tunnel (the keeper's thread) --

    def _on_tunnel_url(self, base_url: str) -> None:
        """The tunnel was reopened under a new URL: every link follows it."""
        self.base_url = base_url
        self.events.emit(LinkChanged(self.url, self.host_url, TUNNEL_REOPENED))

    def _on_tunnel_down(self, message: str) -> None:
        if self.status == "live":
            self.events.emit(StatusMessage(message))

    # -- people and the lead, as the server last published them --

    @property
    def participants(self) -> list[dict]:
        """Everyone connected: name, color, role, where they are. Safe while a cell runs."""
        return list(self.mirror.people)

    @property
    def leader(self) -> dict | None:
        """The participant who leads (a `participants` row), or None; while the running cell
        leads (`follow_running`), `{"client_id": KERNEL_LEADER, "name": "the running cell"}`."""
        cid = self.mirror.lead.get("leader")
        if cid == KERNEL_LEADER:
            return {"client_id": cid, "name": "the running cell"}
        row = next((p for p in self.mirror.people if p["client_id"] == cid), None)
        return row or ({"client_id": cid} if cid is not None else None)

    @property
    def lead_policy(self) -> str:
        """`"anyone"` (anyone may take the lead) or `"host"` (only the host gives it)."""
        return self.mirror.lead.get("leadPolicy", "anyone")

    @lead_policy.setter
    def lead_policy(self, policy: str) -> None:
        self._lead_call(hosted.set_lead_policy, policy)

    # -- scroll leadership (collab/lead.py, in the server's process) --

    def take_lead(self) -> int | None:
        """Make the presenter view (a host page) the leader; None when no host page is open."""
        return self._lead_call(hosted.take_lead)

    def release_lead(self) -> None:
        """Nobody leads any more; everyone stays where they are."""
        self._lead_call(hosted.release_lead)

    def hand_lead(self, who: int | str) -> int:
        """Give the lead to a participant (client id or name, as `kick` finds them); returns
        its client id."""
        return self._lead_call(hosted.hand_lead, who)

    def bring_everyone_back(self) -> None:
        """Everyone who broke away resumes following the leader."""
        self._lead_call(hosted.bring_everyone_back)

    def _lead_call(self, fn: Callable[..., tuple[Any, dict]], *args: Any) -> Any:
        result, state = self._call(fn, *args)
        self.mirror.lead = state  # read-your-writes: the server's notification may still come
        return result

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """One operation on this share's rooms, in the server's process (session/hosted.py)."""
        if self.status != "live":
            raise RuntimeError("This share is not live")
        if not self.host.running:  # a crash: the registry is starting a new server
            raise ServeError("The share server is restarting; try again in a moment")
        return self.host.call(fn, self.room, *args)

    # -- host powers (docs/security.md) --

    def find_participant(self, who: int | str) -> dict:
        """A participant by client id (`123`, `"#123"`, `"123"`) or (case-insensitive) name;
        LookupError when nobody or several match (session/participants.py: the one rule)."""
        return self._call(hosted.find_participant, who)

    def kick(self, who: int | str) -> str:
        """Remove a participant (client id or name); their browser stays out until
        `allow_everyone()`. Returns their (printable) name."""
        name, self.banned = self._call(hosted.kick, who)
        return name

    def allow_everyone(self) -> None:
        self._call(hosted.allow_everyone)
        self.banned = frozenset()

    def rotate(self) -> str:
        """A new guest link: every old guest link stops working at once. Returns the new url.
        An encrypted share gets a new key as well, so the host link changes too."""
        self.token, self.key = self._call(hosted.rotate)
        self.events.emit(LinkChanged(self.url, self.host_url))
        return self.url

    @property
    def view_only(self) -> bool:
        return self._view_only

    @view_only.setter
    def view_only(self, value: bool) -> None:
        """Only the host may draw (enforced by the server; the page hides guests' tools)."""
        self._call(hosted.set_view_only, bool(value))
        self._view_only = bool(value)

    @property
    def reactions(self) -> bool:
        """Whether guests may react, raise a hand and chat by their cursor (issue 18). The
        kernel's copy (the server tells it every change, a host page's too): readable while
        the server restarts and after stop."""
        return self.mirror.switches["reactions"]

    @reactions.setter
    def reactions(self, on: bool) -> None:
        """Off: the pages hide them and the server strips them from presence."""
        self._call(hosted.set_reactions, bool(on))
        self.mirror.set_switches({"reactions": bool(on)})  # read your write

    # -- questions (issue 18: shapes of kind "ask" on the board) --

    @property
    def questions(self) -> list[dict]:
        """The open questions, oldest first: `{"id", "text", "by", "cell", "cell_index", "at"}`.
        Safe while a cell runs (kept current by the server, like `participants`)."""
        return list(self.mirror.questions)

    @property
    def questions_enabled(self) -> bool:
        """Whether participants may ask (the host's switch; on by default). The kernel's copy,
        like `reactions`."""
        return self.mirror.switches["questions"]

    @questions_enabled.setter
    def questions_enabled(self, on: bool) -> None:
        """Off: the pages hide the ask tool and the server refuses new questions."""
        self._call(hosted.set_questions, bool(on))
        self.mirror.set_switches({"questions": bool(on)})  # read your write

    def answer_question(self, question_id: str) -> bool:
        """Mark a question answered: its pin clears on every page. False: no such question."""
        return bool(self._call(hosted.answer_question, str(question_id)))

    def goto_question(self, question_id: str) -> int | None:
        """The presenter view leads and scrolls to the question; everyone follows. Returns the
        leading page's client id, None when no presenter view is open."""
        return self._lead_call(hosted.goto_question, str(question_id))

    # -- audience mode (collab/audience.py): a lecture's presence goes to the host and speakers --

    @property
    def audience(self) -> str:
        """`"auto"` (on above a head count), `"on"` or `"off"`."""
        return self._audience

    @audience.setter
    def audience(self, mode: str) -> None:
        if mode not in ("auto", "on", "off"):
            raise ValueError(f"audience must be auto, on or off, not {mode!r}")
        self._call(hosted.set_audience, mode)
        self._audience = mode

    def give_floor(self, who: int | str) -> str:
        """In audience mode, let a participant (client id or name) be seen by everyone, like
        the host; returns their name."""
        return self._call(hosted.give_floor, who)

    def take_floor(self, who: int | str) -> str:
        """Back to the audience: their presence goes to the host and speakers only."""
        return self._call(hosted.take_floor, who)

    # -- live outputs (session/stream.py) --

    @property
    def live(self) -> bool:
        """True while what the kernel runs streams to every page; set False to pause (saves
        still publish), True to resume (what ran meanwhile shows at once)."""
        return self.stream is not None and not self.stream.paused

    @live.setter
    def live(self, on: bool) -> None:
        if self.stream is None:
            if on:
                raise RuntimeError(
                    "This share has no live outputs (started with --no-live, or not in a "
                    "Jupyter kernel): share again without --no-live"
                )
            return
        self.stream.set_paused(not on)
        self._write_live()

    @property
    def follow_running(self) -> bool:
        """True: pages that follow are brought to the running cell's output as it appears."""
        return self._follow_running

    @follow_running.setter
    def follow_running(self, on: bool) -> None:
        """On: with nobody leading, the running cell leads (pages follow it, break away and
        come back as from a person); someone who leads keeps the lead and their followers are
        brought to the running cell while it runs. Off: the running cell stops leading."""
        self._follow_running = bool(on)
        self._write_live()
        self._lead_call(hosted.running_cell_leads, self._follow_running)

    def _write_live(self) -> None:
        state = "off" if self.stream is None else ("paused" if self.stream.paused else "on")
        self._call(hosted.set_live, {"live": state, "followRunning": self._follow_running})
        self.events.emit(LiveChanged(self.live, self._follow_running))

    def _push_running(self, state: dict) -> None:
        """The stream's thread: which cell runs, and since when."""
        if self.alive:
            self._call(hosted.set_live, state)

    # -- content: live updates, export, the stored board --

    def refresh(self, rendered: RenderedNotebook, *, streamed: bool = False) -> None:
        """New content, same room, tokens, board and people (a save, `update()`). `rendered`
        changes once the server has it (or could not take it: a restarted server opens what
        `rendered` names): whoever sees the new version here can fetch it there.
        A stopped share takes nothing: a save or flush that raced `stop()` would put its page
        and cells back in memory (a server restarting still gets `rendered`, as above)."""
        if self.status != "live":
            return
        self.updater.adopt(rendered)
        view = self.updater.content.view()
        try:
            base = self._server_cells
            delta = streamed and view is not None and base is not None
            if not (delta and self._send_delta(view, base, rendered.title)):  # type: ignore[arg-type]
                self._call(hosted.refresh, rendered, view, streamed)
            self._server_cells = view.snapshot if view is not None else None
        finally:
            if self.status == "live":  # stopped meanwhile: `_release` dropped the page
                self.rendered = rendered
                self._on_disk = not streamed
        self._check_size(rendered)

    def _check_size(self, rendered: RenderedNotebook) -> threading.Thread | None:
        """A huge notebook's note (session/footprint.py), once it crosses the threshold, weighed
        on a thread of its own (weighing waits for the server's page): in `notes`, and once the
        share has started also told (`StatusMessage`). Gone again once the notebook is smaller.
        Returns the weighing thread, if one started."""
        total = footprint.size(rendered, self.located.path)
        with self._notes_lock:
            if total < footprint.HUGE_BYTES:
                if self._size_note in self.notes:
                    self.notes.remove(self._size_note)
                self._size_note = None
                return None
            if self._size_note is not None:
                return None
            self._size_note = ""
            self._weighing += 1
            crossing = self._weighing
        thread = threading.Thread(target=self._weigh, args=(total, crossing), daemon=True)
        thread.start()
        return thread

    def _weigh(self, total: int, crossing: int) -> None:
        text = footprint.note(total, lambda: self._call(hosted.page_weight))
        with self._notes_lock:
            # smaller again meanwhile (or grown again: that crossing's weigh adds it), or stopped
            if crossing != self._weighing or self._size_note != "" or not self.alive:
                return
            self._size_note = text
            self.notes.append(text)
            tell = self._tell_size
        if tell:
            self.events.emit(StatusMessage(text))

    def _send_delta(self, view: CellsView, base: Snapshot, title: str) -> bool:
        """A live flush: only what the server's version lacks (False: it has another one)."""
        return self._call(hosted.patch, view.delta(base), title)

    def _send_cells(self, content: LiveContent) -> None:
        """The per-cell view was learnt in the background: the server answers `x/cells`. The
        seed may finish before __init__ has set `self.updater` (a render cache hit): the view
        then used to be dropped and every page reloaded on the first update."""
        view = content.view()
        if view is not None and self.alive and self._call(hosted.set_cells, view):
            self._server_cells = view.snapshot

    def reshare(
        self, rendered: RenderedNotebook, *, fresh: bool, timings: Callable[[], dict[str, float]]
    ) -> None:
        """The same notebook shared again: its new content; `fresh`: a clean board too.
        `timings()` measures the whole share-again, once it is done."""
        stream = self.stream
        if stream is not None and not stream.paused:
            # The file, merged with what ran after its save: the file alone would take the
            # live edits off every page until the next flush.
            stream.on_saved(wake=False)
            stream.republish()
            stream.flush()
        else:
            self.refresh(rendered)
        if fresh:
            self.clear()
        self.timings = timings()

    def update(self) -> bool:
        """Publish the notebook's current content now (saved file; Colab: live contents)."""
        if not self.alive:
            raise RuntimeError("This share is not live")
        stream = self.stream
        if stream is None or stream.paused:
            return self.updater.update()
        before = self.rendered
        stream.on_saved(wake=False)  # the file, merged with what ran after it was saved
        stream.flush()  # (or waits for the flusher's flush, which may have sent it)
        return self.rendered is not before and self.rendered.html != before.html

    def board_update(self) -> bytes:
        """The board's whole state as one Yjs update (after `stop()`: as it was then)."""
        if self.status == "stopped":
            return self._final_board or EMPTY_UPDATE
        return self._call(hosted.board_update)

    def export(self, path: str | Path) -> Path:
        """Write the share: `.json` = the board as JSON, else a standalone offline HTML page."""
        notebook = str(self.located.path) if self.located.path else None
        return write_export(
            path,
            self._page(),
            self.board_update(),
            notebook=notebook,
            secrets=(self.host_token, self.token),
        )

    def keep_notes(self, path: str | Path | None = None) -> tuple[Path, dict[str, int]]:
        """Write the meeting's notes notebook (content/notes.py) beside the original:
        its cells as the pages show them, each followed by what was written on it."""
        job = make_job("json", self.rendered, self.board_update(), secrets=self._secrets())
        board = json.loads(run_job(job))  # decoding a big board is seconds: off this process
        nb = R.normalize(self._notebook_shown(), self.rendered.title)
        R.strip_own_share(nb)  # the widget's state holds the host link
        original = self.located.path or Path.cwd() / f"{self.rendered.title or 'notebook'}.ipynb"
        target = Path(path).expanduser() if path else None
        return write_notes(nb, board, original, target, self._secrets())

    def _notebook_shown(self) -> dict:
        """What the pages show: the notebook as the kernel runs it when streaming, else the
        file (or Colab's live contents)."""
        stream = self.stream
        if stream is not None and self.status != "stopped":
            return stream.notebook.to_dict()
        source = self.located.source
        if source is None:  # Colab after stop: its live contents were let go
            raise RuntimeError("the notebook's contents are gone since the share stopped")
        return source if isinstance(source, dict) else R.load_notebook(source)

    def _secrets(self) -> tuple[str, ...]:
        return (self.host_token, self.token)

    def _page(self) -> RenderedNotebook:
        """The shared page; after `stop()` read back from the render cache on disk (stop keeps
        no page in memory), else the notebook rendered again."""
        if self.rendered.html:
            return self.rendered
        page = R.from_disk(self.rendered.content_hash)
        if page is None and self.located.source is not None:
            page = R.render(self.located.source, title=self.rendered.title)
        if page is None:
            raise RuntimeError("The stopped share's page is no longer in the render cache")
        return page

    def clear(self) -> int:
        """Empty the board for everyone (kept in the store's history); returns shapes removed."""
        return self._call(hosted.clear)

    # -- life --

    @property
    def alive(self) -> bool:
        return self.status == "live" and self.host.running

    def reattach(self, host: Host, opened_notes: list[str]) -> None:
        """The share server was started again (after a crash) on the same port, with the same
        rooms: the links stay; the board came back from the store. (`lifecycle.reopen`
        subscribed the mirror to `host` before the rooms opened there.)"""
        self.host = host
        self._server_cells = None  # the new server has the page, not our per-cell view
        self.server_restarts += 1
        with self._notes_lock:
            self.notes += opened_notes
        self._write_live()  # the new server's control document has none of it
        if self.stream is not None:
            self.stream.republish()

    def stop(self) -> str | None:
        """Close the rooms (everyone sees 'stopped'), then the tunnel.

        Returns a one-line message when the board's last write failed (and where the drawings
        were saved instead), else None. Emits `Stopped`: the registry forgets the share (and
        stops an idle server), front-ends show it."""
        if self.status == "stopped":
            return None
        self.status = "stopped"
        if self.stream is not None:
            self.stream.stop()
        self.updater.stop()
        problem = None
        if self.host.running:  # before the tunnel closes: guests get 'stopped', not a drop
            try:
                problem, self._final_board = self.host.call(hosted.close_share, self.room)
            except Exception as e:  # the server went meanwhile: the store has what it wrote
                problem = f"The share server did not close the board cleanly: {e}"
        self.host.unsubscribe(self.mirror.receive)
        if self.keeper is not None:
            self.keeper.stop()
        self.tunnel.close()
        self.events.emit(Stopped(problem))
        self._release()
        return problem

    def _release(self) -> None:
        """Let go of what only a live share needs: its page (an export after the stop reads it
        back from the render cache on disk: a live flush's page is written there now), its
        cells, the live notebook, the render cache's memory; then give the memory back
        (session/footprint.py). The kernel's memory returns to what it was before the share."""
        if not self._on_disk and self.rendered.html:
            R.remember(self.rendered)
        self.rendered = replace(self.rendered, html="")
        self.located = self.updater.located = replace(self.located, contents=None)
        self._server_cells = None
        self.updater.release()
        if self.stream is not None:
            self.stream.release()
        R.clear_memory_cache()
        footprint.give_back()

    def __repr__(self) -> str:
        return f"<Share {self.status} {self.url} participants={len(self.mirror.people)}>"
