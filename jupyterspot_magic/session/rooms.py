"""What a share does on the server thread to open, refresh and close its rooms.

Each function here runs on the server loop (the rooms' owner), reached through one
`ServerThread.call` from the kernel side.
"""

from __future__ import annotations

from pycrdt import Map

from ..collab.lead import Lead
from ..collab.schema import LIVE_FIELDS
from ..content.render import RenderedNotebook
from ..server.shared import SharedNotebook
from ..server.thread import ServerThread
from .mirror import MirrorSource


def open_rooms(server: ServerThread, shared: SharedNotebook, mirror: MirrorSource) -> Lead:
    """Register the share with its control document written, the people mirror listening and
    the lead started, in one step on the loop: no request can arrive in between (a page that
    connected before the lead existed would ask for the lead and never be heard)."""
    server.registry.register(shared)
    write_control(shared, shared.rendered)
    shared.warm_up()
    shared.board.on_awareness(mirror.on_awareness)
    mirror.watch_questions()
    return Lead(shared.board, shared.control, mirror.on_lead)


def close_rooms(server: ServerThread, shared: SharedNotebook) -> None:
    """Unregister the share and close its rooms: every page is told the share stopped."""
    server.registry.shares.pop(shared.room, None)
    shared.board.close_all()
    shared.control.close_all()


LIVE_WARM_DELAY = 1.5  # s: the newcomers' page is built once a stream has been still this long


def update_content(
    shared: SharedNotebook, rendered: RenderedNotebook, streamed: bool = False
) -> None:
    """New content, same rooms: pages see the new version in the control document. The
    newcomers' page is built now after a save, once the stream is still after a live flush."""
    shared.set_rendered(rendered)
    write_control(shared, rendered)
    shared.warm_up(LIVE_WARM_DELAY if streamed else 0.0)


def set_draw_policy(shared: SharedNotebook, view_only: bool) -> None:
    """Only the host may draw (enforced by the board room; the pages hide guests' tools)."""
    shared.set_view_only(view_only)
    control = shared.control.doc.get("control", type=Map)
    control["drawPolicy"] = "host" if view_only else "everyone"


def set_reactions(shared: SharedNotebook, on: bool) -> None:
    """The host's `reactions` switch (collab/reactions.py): off, the pages hide reactions,
    raised hands and cursor chat, and the board room strips them from presence."""
    control = shared.control.doc.get("control", type=Map)
    with shared.control.doc.transaction(origin="kernel"):
        control["reactions"] = on


def set_questions(shared: SharedNotebook, on: bool) -> None:
    """The host's `questions` switch: off, the pages hide the ask tool and the board room
    refuses new questions (server/shared.py `questions_open`)."""
    control = shared.control.doc.get("control", type=Map)
    with shared.control.doc.transaction(origin="kernel"):
        control["questions"] = on


def goto_question(shared: SharedNotebook, lead: Lead, shape_id: str) -> int | None:
    """ "Go there" from the widget: a presenter page leads, everyone follows again, and
    `control.goto` tells that page which pin to scroll to. None when no host page is open."""
    cid = lead.host_client()
    if cid is None:
        return None
    lead.set_leader(cid)
    lead.recall()
    control = shared.control.doc.get("control", type=Map)
    previous = str(control.get("goto") or "0").split(" ")[0]
    seq = int(previous) + 1 if previous.isdigit() else 1
    with shared.control.doc.transaction(origin="kernel"):
        control["goto"] = f"{seq} {shape_id}"[:200]
    return cid


def write_live(shared: SharedNotebook, values: dict) -> None:
    """The kernel's live state (session/stream.py) into the control document, as one update;
    only keys that changed (every page hears each write)."""
    control = shared.control.doc.get("control", type=Map)
    changed = {k: v for k, v in values.items() if k in LIVE_FIELDS and control.get(k) != v}
    if not changed:
        return
    with shared.control.doc.transaction(origin="kernel"):
        for key, value in changed.items():
            control[key] = value


def write_control(shared: SharedNotebook, rendered: RenderedNotebook) -> None:
    control = shared.control.doc.get("control", type=Map)
    with shared.control.doc.transaction(origin="kernel"):
        for key, default in (
            ("leader", None),
            ("leadPolicy", "anyone"),
            ("drawPolicy", "everyone"),
        ):
            if key not in control:
                control[key] = default
        control["version"] = shared.public_version(rendered.content_hash)
        control["title"] = rendered.title
