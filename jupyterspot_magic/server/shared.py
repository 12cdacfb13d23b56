"""What one share publishes on the server (its rooms, its page) and the host's powers over it.

A SharedNotebook lives on the server thread: the kernel side builds it, registers it in the
server's Registry and then touches it only through `ServerThread.call` (server/thread.py).

For the share (session/): two optional parts answer routes of their own, attached after
construction by plain assignment (from the kernel thread is fine: a route reads the attribute
once per request, and None answers 404 as before the share attached it):
    shared.live = CellsView(...)    # content/live.py, sent by the kernel: GET .../x/cells?since=V
    shared.exporter = Exporter(shared, notebook)  # server/export_route.py: GET .../x/export
`notebook` is the notebook's path as a string (or None), written into the board JSON.
"""

from __future__ import annotations

import hmac
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from pycrdt import Map

from ..collab.close_codes import CLOSE_INVALID_TOKEN, CLOSE_REMOVED
from ..collab.crowd import Crowd
from ..collab.room import Room, RoomLimits
from ..collab.seal import RoomSeal, seal_blob
from ..content.live import CellsView
from ..content.render import RenderedNotebook
from .pages import ImageSealer, PageCache, build_page

if TYPE_CHECKING:
    from .export_route import Exporter

# Seats: guests share `max_people` per room (the user's --max-people, base/options.py); the host
# has HOST_SLOTS of its own on top, so a room filled by guests (or by someone holding the guest
# link) never locks the presenter out. Every page opens both rooms: one person is one seat in each.
MAX_PEOPLE = 500  # the default of ShareOptions.max_people
HOST_SLOTS = 16
CONTROL_MAX_MESSAGE = 64 * 1024  # the control room's messages (leader, view state) are small


def checked_max_people(value: object) -> int:
    """`max_people` as given, or a one-line error (ValueError)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_people must be a whole number of at least 1, not {value!r}")
    return value


@dataclass
class SharedNotebook:
    """One share's page and rooms, registered on the server under its room id."""

    room: str
    token: str
    host_token: str
    rendered: RenderedNotebook
    max_people: int = MAX_PEOPLE  # guest seats per room; hosts have HOST_SLOTS more
    audience: str = "auto"  # audience mode: "auto", "on", "off" (collab/audience.py)
    relay: str = ""  # --relay: the relay's websocket URL pages connect to ("" = this server)
    # End-to-end encryption (collab/seal.py): the share key the links' fragment carries, or
    # None for a plain share. Every content-carrying response and frame is sealed with it.
    key: bytes | None = None
    presenter: str = ""  # the presenter's default name, on the host's page (base/page_config.py)
    board: Room = field(init=False)
    control: Room = field(init=False)
    crowd: Crowd = field(init=False)  # audience mode, the floor, the head count
    pages: PageCache = field(init=False)
    banned: set[str] = field(default_factory=set, init=False)
    live: CellsView | None = field(default=None, init=False)  # the `x/cells` route's content
    # server/cells.py: answers (their jobs) by (version, since, role, gzip): a live flush sends
    # every page the same question at once, so one answer serves them all
    cells_answers: OrderedDict = field(default_factory=OrderedDict, init=False)
    exporter: Exporter | None = field(default=None, init=False)  # the `x/export` route

    def __post_init__(self) -> None:
        self.board = Room("board")
        self.control = Room(
            "control",
            writers=frozenset({"host"}),
            limits=RoomLimits(max_message=CONTROL_MAX_MESSAGE),
        )
        self.set_max_people(self.max_people)
        self.board.questions_open = self.questions_open
        self._seal_rooms()
        self.crowd = Crowd(self.board, self.control, self.audience)
        self.pages = PageCache(self._build_page)
        if self.key is not None:
            self.pages.set_seal(
                lambda page: self.seal("page", page), ImageSealer(lambda: self.key, self.room)
            )

    def set_max_people(self, max_people: int) -> None:
        """Guest seats per room (server thread). Lowering it closes nobody: it refuses newcomers
        until enough people left."""
        self.max_people = checked_max_people(max_people)
        # Room.join's own cap is the last resort; serve_socket enforces the guest cap first.
        for room in (self.board, self.control):
            room.limits.max_connections = self.max_people + HOST_SLOTS

    def _seal_rooms(self) -> None:
        for room in (self.board, self.control):
            room.seal = RoomSeal(self.key, self.room, room.name) if self.key is not None else None

    def role_for(self, token: str | None) -> str | None:
        if not token:
            return None
        if hmac.compare_digest(token.encode(), self.host_token.encode()):
            return "host"
        if hmac.compare_digest(token.encode(), self.token.encode()):
            return "guest"
        return None

    def secrets_for(self, role: str) -> tuple[str, ...]:
        """The tokens a response for `role` must not contain: a guest's holds neither, a host's
        never the host token (its page takes it from its own URL)."""
        return (self.host_token, self.token) if role == "guest" else (self.host_token,)

    def seats_left(self) -> int:
        """Guest seats still free: a page needs one in each room, so the fuller room counts."""
        taken = max(self.guests_in(self.board), self.guests_in(self.control))
        return max(0, self.max_people - taken)

    @staticmethod
    def guests_in(room: Room) -> int:
        return sum(1 for conn in room.connections if conn.role == "guest")

    def room_named(self, name: str) -> Room | None:
        return {"board": self.board, "control": self.control}.get(name)

    def forget_connections(self) -> None:
        """After a server restart: drop per-loop state, keep the documents."""
        self.board.forget_connections()
        self.control.forget_connections()
        self.crowd.forget_loop()
        self.pages.forget_loop()
        self.cells_answers.clear()  # their jobs belonged to the old loop

    # -- the page --

    def set_rendered(self, rendered: RenderedNotebook) -> None:
        self.rendered = rendered
        self.pages.clear(keep_fragments=True)
        self.cells_answers.clear()

    def warm_up(self, delay: float = 0.0) -> None:
        """Compress the guest page in the background so the first visitor does not wait
        (`delay`: once the content has been still that long)."""
        self.pages.warm_up("guest", delay)

    async def page(self, role: str, gzipped: bool) -> bytes:
        return await self.pages.get(role, gzipped)

    def full_rendered(self) -> RenderedNotebook:
        """The current content with its page: a live flush's (session/hosted.py `patch`) is
        joined from its cells only now, when a page or an export needs it."""
        rendered, live = self.rendered, self.live  # once each: a flush may swap them meanwhile
        if rendered.html or live is None or live.snapshot.version != rendered.content_hash:
            return rendered
        return replace(rendered, html=live.snapshot.page())

    def _build_page(self, role: str) -> bytes:
        secrets = self.secrets_for(role)
        rendered = self.full_rendered()  # once: a live flush may swap it while this builds
        return build_page(
            rendered,
            self.room,
            role,
            secrets,
            self.relay,
            self.encrypted,
            self.public_version(rendered.content_hash),
            self.presenter,
        )

    @property
    def encrypted(self) -> bool:
        return self.key is not None

    def public_version(self, version: str) -> str:
        """The content version as pages see it. It travels in the clear in the cells route's
        URL (`since=`); a plain content hash would let the tunnel confirm a guessed notebook,
        so an encrypted share's is keyed (the key changes with a rotation: pages reload)."""
        if self.key is None:
            return version
        return hmac.new(self.key, version.encode(), "sha256").hexdigest()[:32]

    def seal(self, kind: str, body: bytes) -> bytes:
        """A response body of this encrypted share as a blob (collab/seal.py)."""
        assert self.key is not None
        return seal_blob(self.key, self.room, kind, body)

    # -- host powers (server thread) --

    def kick(self, client_id: int) -> bool:
        """Disconnect a participant and keep their browser out until `allow`ed."""
        owner = self.board.owners.get(client_id)
        if owner is None:
            return False
        if owner.pid is not None:
            self.banned.add(owner.pid)
        for room in (self.board, self.control):
            room.close_where(
                lambda c: c is owner or (owner.pid is not None and c.pid == owner.pid),
                CLOSE_REMOVED,
                "removed by the host",
            )
        return True

    def set_audience(self, mode: str) -> None:
        """Audience mode "auto", "on" or "off" (server thread), applied at once: states the
        pages may no longer see are removed, those they may see again are sent."""
        self.board.set_audience_mode(mode)
        self.audience = mode

    def give_floor(self, client_id: int) -> bool:
        """In audience mode, this participant's presence goes to everyone again (and they see
        everyone's). False when nobody with that id is here or 16 people have the floor."""
        return self.crowd.give_floor(client_id)

    def take_floor(self, client_id: int) -> bool:
        """Back to the audience; False when they did not have the floor."""
        return self.crowd.take_floor(client_id)

    def allow_everyone(self) -> None:
        self.banned.clear()

    def rotate(self, token: str, key: bytes | None = None) -> None:
        """A new guest token: every old guest link stops working at once. On an encrypted share
        a new key too (old links can neither connect nor read): the host pages, whose key is
        the old one as well, are closed with the guests and need the new host link."""
        self.token = token
        self.pages.clear()
        self.cells_answers.clear()
        rekeyed = key is not None and self.key is not None
        for room in (self.board, self.control):
            room.close_where(
                lambda c: rekeyed or c.role == "guest", CLOSE_INVALID_TOKEN, "link rotated"
            )
        if rekeyed:
            self.key = key
            self._seal_rooms()
            # The version pages see is keyed: the control room must name the new key's, or
            # every page opened after the rotation waits for a version that never comes.
            control = self.control.doc.get("control", type=Map)
            with self.control.doc.transaction(origin="kernel"):
                control["version"] = self.public_version(self.rendered.content_hash)

    def questions_open(self) -> bool:
        """The host's switch `control.questions` (absent = on): new questions are taken."""
        return self.control.doc.get("control", type=Map).get("questions") is not False

    def set_view_only(self, view_only: bool) -> None:
        """Guests keep watching; the server drops their drawing (not just the UI).

        A dropped update leaves that client's later ones waiting on it forever, so when drawing
        opens again everyone is asked to resync: what they drew meanwhile merges, nothing is
        stuck or lost.
        """
        self.board.writers = frozenset({"host"}) if view_only else frozenset({"guest", "host"})
        if not view_only:
            self.board.resync()


class Registry:
    """Room id -> SharedNotebook; only touched on the server thread."""

    def __init__(self) -> None:
        self.shares: dict[str, SharedNotebook] = {}
        # Rooms a server started again after a crash is about to open: pages reconnecting in
        # that moment are told "try again", not "no such room" (which they never retry).
        self.expected: set[str] = set()
        # A server that has opened no share yet cannot tell a gone room from one about to open:
        # a new kernel sharing again on a fixed port starts its server while it renders, and a
        # page left open that retried in that moment was told "no such room" and gave up. Until
        # the first share opens, every room is "try again".
        self.opened_any = False

    def register(self, shared: SharedNotebook) -> None:
        """The share's rooms answer from now on (on the server thread)."""
        self.shares[shared.room] = shared
        self.expected.discard(shared.room)
        self.opened_any = True

    def starting(self, room: str) -> bool:
        """Pages of this room are told "try again" (it may open in a moment), not "no such room"."""
        return room in self.expected or not self.opened_any

    def seats(self) -> int:
        """Sockets the registered shares may hold at once: each person (guest seats plus the
        hosts') has one in each room. The connection guard sizes its cap from this."""
        return sum(2 * (shared.max_people + HOST_SLOTS) for shared in self.shares.values())
