"""A share's side in the server's process: its rooms, lead and board keeper, and every operation
the kernel asks of them.

Each public function here is called from the kernel as `host.call(fn, room, ...)`
(server/host.py): it runs in the process that owns the share server (its child process, or this
one), on a worker thread there, with the ServerThread first and the share's room id second. It
reaches the rooms with `server.call` (one hop per operation, so a lookup and the action on it see
the same rooms). Arguments and results cross a process boundary: plain data only (the rendered
page, strings, dicts, bytes), never a room or a document.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..collab import asks
from ..collab.lead import KERNEL_LEADER, Lead
from ..collab.seal import key_from_text, new_key
from ..content.live import CellsDelta, CellsView
from ..content.render import RenderedNotebook
from ..persist import keeper as persist
from ..persist.keeper import BoardKeeper, delete_all_shapes
from ..persist.sqlite import ShareRecord
from ..server.export_route import Exporter
from ..server.pages import IMAGE_PREFIX
from ..server.relay import RelayLink
from ..server.shared import SharedNotebook
from ..server.thread import ServerThread
from . import participants, rooms
from .mirror import MirrorSource
from .rooms import close_rooms, open_rooms, set_draw_policy, update_content, write_live
from .rooms import set_reactions as write_reactions

T = TypeVar("T")
WEIGH_TIMEOUT = 120.0  # s: building and compressing a page of hundreds of MB (page_weight)
_IMAGE_URL = re.compile(rb'src="' + re.escape(IMAGE_PREFIX.encode()) + rb'([0-9a-f]{64}\.[a-z]+)"')


@dataclass(frozen=True)
class OpenSpec:
    """What the server needs to open a share (all of it crosses to the server's process)."""

    rendered: RenderedNotebook
    key: str  # the notebook's key in the store (persist/keeper.py notebook_key)
    store: str | Path | bool | None
    fresh: bool
    notebook: str | None  # the notebook's path, written into the board JSON export
    max_people: int = 500  # guest seats (base/options.py; the host is never refused)
    audience: str = "auto"  # audience mode (collab/audience.py)
    relay: tuple[str, str] | None = None  # (URL, secret): the rooms published there too
    e2e: bool = False  # end-to-end encrypted (collab/seal.py): a key, stored with the links
    # A server started again after a crash: the same links, the same host settings.
    identity: tuple[str, str, str, bytes | None] | None = None  # (room, token, host_token, key)
    view_only: bool = False
    lead_policy: str = "anyone"
    banned: frozenset[str] = frozenset()  # browser keys the host removed
    presenter: str = ""  # the presenter's default name (base/options.py presenter_name)
    reactions: bool = True  # the host's switches (control `reactions`, `questions`)
    questions: bool = True


@dataclass(frozen=True)
class Opened:
    room: str
    token: str
    host_token: str
    key: bytes | None  # the share key the links' fragment carries (None: plain)
    notes: list[str]


@dataclass
class Hosted:
    """One open share in the server's process."""

    shared: SharedNotebook
    lead: Lead
    keeper: BoardKeeper | None
    source: MirrorSource
    relay: RelayLink | None = None  # the rooms' outbound link to the user's relay
    stop_hook: Callable[[], None] = field(default=lambda: None)


_hosted: dict[str, Hosted] = {}  # room -> share, in this process (one server per process)


def get(room: str) -> Hosted:
    hosted = _hosted.get(room)
    if hosted is None:
        raise RuntimeError("This share is not live")
    return hosted


# -- open and close --


def open_share(server: ServerThread, spec: OpenSpec) -> Opened:
    """The store read, the stored board restored, the rooms registered: ready for pages."""
    keeper = BoardKeeper.open(spec.store, spec.key, spec.fresh)
    try:
        return _open(server, spec, keeper)
    except BaseException:
        if keeper is not None:  # nothing half-open stays behind: no rooms, no store writer
            keeper.close(server)
        raise


def _open(server: ServerThread, spec: OpenSpec, keeper: BoardKeeper | None) -> Opened:
    known = keeper.identity() if keeper else None
    room, token, host_token, key = spec.identity or (
        (known.room, known.token, known.host_token, stored_key(known))
        if known
        else (secrets.token_urlsafe(9), secrets.token_urlsafe(24), secrets.token_urlsafe(24), None)
    )
    if spec.e2e and key is None:
        key = new_key()
    shared = SharedNotebook(
        room=room,
        token=token,
        host_token=host_token,
        rendered=spec.rendered,
        max_people=spec.max_people,
        audience=spec.audience,
        relay=spec.relay[0] if spec.relay else "",
        key=key if spec.e2e else None,
        presenter=spec.presenter,
    )
    if keeper is not None:  # the stored board is in place before anyone connects
        server.call(keeper.attach, shared)
    shared.banned |= spec.banned
    source = MirrorSource(server, room, shared.board)
    lead = server.call(open_rooms, server, shared, source)
    try:
        return _finish_open(server, spec, keeper, shared, source, lead)
    except BaseException:
        source.live = False
        server.call(close_rooms, server, shared)
        raise


def _finish_open(
    server: ServerThread,
    spec: OpenSpec,
    keeper: BoardKeeper | None,
    shared: SharedNotebook,
    source: MirrorSource,
    lead: Lead,
) -> Opened:
    room = shared.room
    if spec.view_only:
        server.call(set_draw_policy, shared, True)
    if spec.lead_policy != "anyone":
        server.call(lead.set_policy, spec.lead_policy)
    if not spec.reactions:
        server.call(write_reactions, shared, False)
    if not spec.questions:
        server.call(rooms.set_questions, shared, False)
    server.call(source.watch_switches, shared.control)  # the kernel's copy follows them
    relay = None
    if spec.relay is not None:  # after the lead exists: relay pages' requests reach it
        relay = RelayLink(shared, *spec.relay)
        server.call(relay.start)
        server.on_restart(relay.start)  # its task died with a crashed loop: a new one
    shared.exporter = Exporter(shared, spec.notebook)
    notes: list[str] = []
    if keeper is not None:
        keeper.save(shared)  # remember the links
        notes += keeper.notes  # a repaired store or a partly restored board
    elif persist.last_error:
        notes.append(persist.last_error)
    hosted = Hosted(shared, lead, keeper, source, relay)
    hosted.stop_hook = lambda: _last_write(server, room)
    server.stop_hooks.append(hosted.stop_hook)
    server.on_restart(source.after_restart)
    _hosted[room] = hosted
    return Opened(room, shared.token, shared.host_token, shared.key, notes)


def close_share(server: ServerThread, room: str) -> tuple[str | None, bytes | None]:
    """Close the rooms (every page is told the share stopped), make the board's last write.

    Returns (a one-line problem with that write or None, the board's final state) so the kernel
    can still export a share that stopped."""
    hosted = _hosted.pop(room, None)
    if hosted is None:
        return None, None
    hosted.source.live = False
    server.forget_restart_listener(hosted.source.after_restart)
    if hosted.stop_hook in server.stop_hooks:
        server.stop_hooks.remove(hosted.stop_hook)
    final = None
    if server.running:
        if hosted.relay is not None:  # before the rooms close: the relay's pages are told too
            server.forget_restart_listener(hosted.relay.start)
            server.call(hosted.relay.stop)
        final = server.call(hosted.shared.board.doc.get_update)
        server.call(close_rooms, server, hosted.shared)
    problem = hosted.keeper.close(server) if hosted.keeper is not None else None
    return problem, final


def _last_write(server: ServerThread, room: str) -> None:
    """The server is going (the kernel exited or was killed): store what was drawn."""
    hosted = _hosted.pop(room, None)
    if hosted is not None and hosted.keeper is not None:
        hosted.keeper.close(server)


def shares(server: ServerThread) -> int:
    """How many shares this server holds (the registry stops an idle one)."""
    return len(server.registry.shares)


# -- content --


def refresh(
    server: ServerThread,
    room: str,
    rendered: RenderedNotebook,
    cells: CellsView | None,
    streamed: bool = False,
) -> None:
    """New content, same rooms: pages see the new version and fetch the changed cells.
    `streamed`: a live flush (session/stream.py), more will follow."""
    hosted = get(room)
    # None too: this content has no per-cell view, and an older view would not match the page
    # (pages asking get "reload")
    hosted.shared.live = cells
    server.call(update_content, hosted.shared, rendered, streamed)


def patch(server: ServerThread, room: str, delta: CellsDelta, title: str) -> bool:
    """A live flush as a difference from the view the server has (content/live.py
    `CellsDelta`). The page is not joined here: a flush may come ten times a second and the
    page may be 18 MB; it is joined when a page or an export needs it (`SharedNotebook.
    full_rendered`). False: the server has another version (restarted, or a full refresh
    crossed it): the kernel sends it all."""
    hosted = get(room)
    current = hosted.shared.live
    if current is None or current.snapshot.version != delta.base:
        return False
    view = delta.apply(current.snapshot)
    hosted.shared.live = view
    server.call(update_content, hosted.shared, view.snapshot.rendered(title, page=False), True)
    return True


def page_weight(server: ServerThread, room: str) -> tuple[int, int]:
    """What a guest downloads: (the guest page's gzip bytes, the bytes of the images it names).
    Waits for the page the server builds and compresses anyway (server/pages.py PageCache):
    nothing is compressed twice. An encrypted page is a sealed blob: its images are those the
    store holds."""
    pages = server.call(lambda: get(room).shared.pages)
    packed = server.call(pages.representation, "guest", True, timeout=WEIGH_TIMEOUT)
    if get(room).shared.encrypted:
        return len(packed.body), server.call(pages.images.nbytes)
    plain = server.call(pages.representation, "guest", False, timeout=WEIGH_TIMEOUT)
    names = {m.decode() for m in _IMAGE_URL.findall(plain.body)}  # here, off the server loop

    def images() -> int:
        found = (pages.images.get(name) for name in names)
        return sum(len(image.data) for image in found if image is not None)

    return len(packed.body), server.call(images)


def set_live(server: ServerThread, room: str, values: dict) -> None:
    """The kernel's live state (running cell, busy, paused, follow running) for every page."""
    server.call(write_live, get(room).shared, values)


def set_cells(server: ServerThread, room: str, cells: CellsView) -> bool:
    """The per-cell view of the current content, once the kernel has learnt it (in the
    background). A view of another version is refused: a live flush got there first, and its
    view is the one that matches the page."""
    shared = get(room).shared
    if cells.snapshot.version != shared.rendered.content_hash:
        return False
    shared.live = cells
    return True


def board_update(server: ServerThread, room: str) -> bytes:
    """The board document's whole state, as one Yjs update (export, tests)."""
    return server.call(get(room).shared.board.doc.get_update)


def clear(server: ServerThread, room: str) -> int:
    """Empty the board for everyone (kept in the store's history); returns shapes removed."""
    hosted = get(room)
    if hosted.keeper is not None:
        return hosted.keeper.clear(server, hosted.shared)
    return server.call(delete_all_shapes, hosted.shared.board.doc)


def flush(server: ServerThread, room: str) -> None:
    """Write what the store holds back now (tests, before reading the file)."""
    keeper = get(room).keeper
    if keeper is not None:
        keeper.flush()


# -- people and host powers (docs/security.md) --


def _find(hosted: Hosted, who: int | str) -> dict:
    """Server thread: the participant `who` means, among those connected right now."""
    return participants.find_participant(participants.rows(hosted.shared.board), who)


def find_participant(server: ServerThread, room: str, who: int | str) -> dict:
    hosted = get(room)
    return server.call(_find, hosted, who)


def kick(server: ServerThread, room: str, who: int | str) -> tuple[str, frozenset[str]]:
    """Returns the (printable) name, and every banned browser key (the kernel keeps them: a
    server started again after a crash must keep those people out)."""
    hosted = get(room)

    def kick() -> tuple[str, frozenset[str]]:
        person = _find(hosted, who)  # found and removed in one step: nobody moves in between
        hosted.shared.kick(person["client_id"])
        return person["name"], frozenset(hosted.shared.banned)

    return server.call(kick)


def allow_everyone(server: ServerThread, room: str) -> None:
    server.call(get(room).shared.allow_everyone)


def rotate(server: ServerThread, room: str) -> tuple[str, bytes | None]:
    """A new guest token (and on an encrypted share a new key): every old guest link stops
    working at once. Returns (token, key)."""
    hosted = get(room)
    token = secrets.token_urlsafe(24)
    key = new_key() if hosted.shared.encrypted else None
    server.call(hosted.shared.rotate, token, key)
    if hosted.keeper is not None:
        hosted.keeper.save(hosted.shared, rotated=True)  # sharing again gives the new link
    return token, hosted.shared.key


def stored_key(record: ShareRecord) -> bytes | None:
    """The key a store record holds; a damaged one counts as none (new links: one line)."""
    try:
        return key_from_text(record.share_key) if record.share_key else None
    except ValueError:
        return None


def set_view_only(server: ServerThread, room: str, value: bool) -> None:
    server.call(set_draw_policy, get(room).shared, value)


def set_reactions(server: ServerThread, room: str, on: bool) -> None:
    server.call(write_reactions, get(room).shared, on)


def set_questions(server: ServerThread, room: str, on: bool) -> None:
    server.call(rooms.set_questions, get(room).shared, on)


def questions_open(server: ServerThread, room: str) -> bool:
    return server.call(get(room).shared.questions_open)


def answer_question(server: ServerThread, room: str, shape_id: str) -> bool:
    """Mark a question answered (its pin clears everywhere); False: no such question."""
    return server.call(asks.answer, get(room).shared.board.doc, shape_id, time.time() * 1000)


def goto_question(server: ServerThread, room: str, shape_id: str) -> tuple[int | None, dict]:
    hosted = get(room)
    return _lead(server, room, lambda lead: rooms.goto_question(hosted.shared, lead, shape_id))


def reactions(server: ServerThread, room: str) -> bool:
    return get(room).shared.board.reactions


def view_only(server: ServerThread, room: str) -> bool:
    return "guest" not in get(room).shared.board.writers


def give_floor(server: ServerThread, room: str, who: int | str) -> str:
    """In audience mode, `who`'s presence goes to everyone again. Returns their name."""
    hosted = get(room)

    def give() -> str:
        person = _find(hosted, who)
        if not hosted.shared.give_floor(person["client_id"]):
            raise LookupError(f"{person['name']} cannot have the floor (16 people have it)")
        return person["name"]

    return server.call(give)


def take_floor(server: ServerThread, room: str, who: int | str) -> str:
    hosted = get(room)

    def take() -> str:
        person = _find(hosted, who)
        hosted.shared.take_floor(person["client_id"])
        return person["name"]

    return server.call(take)


def set_audience(server: ServerThread, room: str, mode: str) -> None:
    server.call(get(room).shared.set_audience, mode)


# -- scroll leadership (collab/lead.py, on the server thread) --


def _lead(server: ServerThread, room: str, fn: Callable[[Lead], T]) -> tuple[T, dict[str, Any]]:
    lead = get(room).lead

    def run() -> tuple[T, dict]:
        return fn(lead), lead.state()

    return server.call(run)


def take_lead(server: ServerThread, room: str) -> tuple[int | None, dict]:
    """Make the presenter view (a host page) the leader; None when no host page is open."""

    def take(lead: Lead) -> int | None:
        cid = lead.host_client()
        if cid is not None:
            lead.set_leader(cid)
        return cid

    return _lead(server, room, take)


def running_cell_leads(server: ServerThread, room: str, on: bool) -> tuple[bool, dict]:
    """ "Follow the running cell": with nobody leading, the running cell leads (KERNEL_LEADER:
    pages follow it, break away and come back as from a person); off: it stops leading. A
    person who leads keeps the lead (their pages then go to the running cell while it runs).
    True when the running cell leads afterwards."""

    def apply(lead: Lead) -> bool:
        if on and lead.leader is None:
            lead.set_leader(KERNEL_LEADER)
        elif not on and lead.leader == KERNEL_LEADER:
            lead.set_leader(None)
        return lead.leader == KERNEL_LEADER

    return _lead(server, room, apply)


def release_lead(server: ServerThread, room: str) -> tuple[None, dict]:
    return _lead(server, room, lambda lead: lead.set_leader(None))


def hand_lead(server: ServerThread, room: str, who: int | str) -> tuple[int, dict]:
    hosted = get(room)

    def hand(lead: Lead) -> int:
        cid = _find(hosted, who)["client_id"]
        lead.set_leader(cid)
        return cid

    return _lead(server, room, hand)


def bring_everyone_back(server: ServerThread, room: str) -> tuple[int, dict]:
    return _lead(server, room, lambda lead: lead.recall())


def set_lead_policy(server: ServerThread, room: str, policy: str) -> tuple[None, dict]:
    return _lead(server, room, lambda lead: lead.set_policy(policy))
