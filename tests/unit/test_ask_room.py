"""Questions (shapes of kind "ask") on a real board room, without a server or a browser: a
view-only guest may create questions and nothing else, a guest can never write `ans` (set,
overwrite or delete it: bad_frame), a host can, erasing a whole answered question is fine, and
the host's switch `control.questions` refuses new questions from everyone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from pycrdt import Doc, Map

from jupyterspot_magic.collab.messages import STEP2, UPDATE, sync_message
from jupyterspot_magic.collab.room import Connection, ProtocolError, Room
from jupyterspot_magic.server.shared import SharedNotebook


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """A fresh event loop on its own thread (see tests/unit/test_lead.py for why)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result()


ASK = {"t": "ask", "cell": "c-1", "ci": 0, "x": 10.0, "y": 20.0, "c": "#e03131", "by": "Ana"}


class Page:
    """A browser's board document and socket: its writes go to the room as sync updates."""

    def __init__(self, room: Room, role: str, client_id: int) -> None:
        self.room = room
        self.doc = Doc(client_id=client_id)
        self.doc.apply_update(room.doc.get_update())
        self.shapes = self.doc.get("shapes", type=Map)
        self.conn = Connection(self._sent, self._closed, role, pid=f"p{client_id}")
        self.closed: tuple[int, str] | None = None
        assert room.join(self.conn)

    async def _sent(self, _data: bytes) -> None:
        pass

    async def _closed(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def write(self, change: Callable[[Map], None], step: int = UPDATE) -> None:
        """Make a change locally and send the room what it added (as yjs would)."""
        before = self.room.doc.get_state()
        change(self.shapes)
        self.room.receive(self.conn, sync_message(step, self.doc.get_update(before)))

    def sync(self) -> None:
        self.doc.apply_update(self.room.doc.get_update(self.doc.get_state()))


def shapes(room: Room) -> dict:
    return room.doc.get("shapes", type=Map).to_py()


def add(shape_id: str, fields: dict) -> Callable[[Map], None]:
    def change(m: Map) -> None:
        m[shape_id] = Map(fields)

    return change


def test_a_view_only_guest_may_ask_but_not_draw() -> None:
    async def scenario() -> None:
        room = Room("board", writers=frozenset({"host"}))
        guest = Page(room, "guest", 11)
        guest.write(add("q1", {**ASK, "text": "why?"}))
        assert shapes(room)["q1"]["text"] == "why?"
        guest.write(add("p1", {"t": "pen", "cell": "c-1"}))
        assert "p1" not in shapes(room)  # dropped, as view-only always did
        # a question and a drawing in one update: the whole update is dropped
        guest.write(lambda m: (add("q2", ASK)(m), add("p2", {"t": "rect"})(m)))
        assert "q2" not in shapes(room) and "p2" not in shapes(room)
        assert guest.closed is None

    run(scenario)


def test_a_view_only_guest_cannot_edit_or_delete_a_question() -> None:
    async def scenario() -> None:
        room = Room("board", writers=frozenset({"host"}))
        host = Page(room, "host", 1)
        host.write(add("q1", {**ASK, "text": "from the host"}))
        guest = Page(room, "guest", 12)
        guest.write(lambda m: m["q1"].__setitem__("text", "changed"))
        guest.write(lambda m: m.pop("q1"))
        assert shapes(room)["q1"]["text"] == "from the host"

    run(scenario)


def test_a_view_only_guests_reconnect_sync_keeps_others_deletions_out() -> None:
    """A sync step 2 carries the page's whole delete set: only its own question goes in."""

    async def scenario() -> None:
        room = Room("board", writers=frozenset({"host"}))
        host = Page(room, "host", 1)
        host.write(add("n1", {"t": "note", "text": "keep me"}))
        guest = Page(room, "guest", 13)
        # the guest's copy deletes the host's note (a forged delete set) and asks
        guest.shapes.pop("n1")
        guest.write(add("q1", ASK), step=STEP2)
        assert set(shapes(room)) == {"n1", "q1"}

    run(scenario)


@pytest.mark.parametrize("view_only", [False, True])
def test_a_guest_can_never_write_ans(view_only: bool) -> None:
    async def scenario() -> None:
        room = Room("board", writers=frozenset({"host"} if view_only else {"guest", "host"}))
        host = Page(room, "host", 1)
        host.write(add("q1", ASK))
        guest = Page(room, "guest", 14)
        for forged in (
            add("q2", {**ASK, "ans": 1.0}),
            lambda m: m["q1"].__setitem__("ans", 5.0),
        ):
            with pytest.raises(ProtocolError, match="hosts only"):
                guest.write(forged)
            guest.doc = Doc(client_id=guest.doc.client_id + 100)  # a fresh page
            guest.doc.apply_update(room.doc.get_update())
            guest.shapes = guest.doc.get("shapes", type=Map)
        assert "ans" not in shapes(room)["q1"] and "q2" not in shapes(room)

    run(scenario)


def test_hosts_answer_guests_may_not_reopen_but_may_erase_the_whole_question() -> None:
    async def scenario() -> None:
        room = Room("board")
        host = Page(room, "host", 1)
        guest = Page(room, "guest", 15)
        guest.write(add("q1", ASK))
        host.sync()
        host.write(lambda m: m["q1"].__setitem__("ans", 1_700_000_000_000.0))
        assert shapes(room)["q1"]["ans"] == 1_700_000_000_000
        guest.sync()
        with pytest.raises(ProtocolError, match="hosts only"):
            guest.write(lambda m: m["q1"].pop("ans"))  # reopening is the host's
        other = Page(room, "guest", 16)
        other.write(lambda m: m.pop("q1"))  # the eraser takes the whole shape
        assert "q1" not in shapes(room)

    run(scenario)


def test_questions_off_refuses_new_questions_from_everyone() -> None:
    async def scenario() -> None:
        shared = SharedNotebook.__new__(SharedNotebook)  # only its rooms are needed here
        shared.board = room = Room("board")
        shared.control = Room("control", writers=frozenset({"host"}))
        room.questions_open = shared.questions_open
        control = shared.control.doc.get("control", type=Map)
        control["questions"] = False
        host, guest = Page(room, "host", 1), Page(room, "guest", 17)
        host.write(add("q1", ASK))
        guest.write(add("q2", ASK))
        Page(room, "guest", 19).write(lambda m: m.__setitem__("n1", Map({"t": "note"})))
        assert set(shapes(room)) == {"n1"}  # drawing goes on
        control["questions"] = True
        Page(room, "guest", 18).write(add("q3", ASK))
        assert set(shapes(room)) == {"n1", "q3"}

    run(scenario)
