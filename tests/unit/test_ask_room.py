"""Questions (shapes of kind "ask") on a real board room, without a server or a browser: a
view-only guest may create questions and nothing else, a guest can never write `ans` (set,
overwrite or delete it: bad_frame), a host can, erasing a whole answered question is fine, and
the host's switch `control.questions` refuses new questions from everyone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from pycrdt import Doc, Map, merge_updates

from jupyterspot_magic.collab.asks import MAX_ROWS, OpenQuestions, answer
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


def test_a_view_only_guest_cannot_replace_a_shape_by_asking_under_its_id() -> None:
    """A root entry with an origin replaces the existing one: never "only a new question"."""

    async def scenario() -> None:
        room = Room("board", writers=frozenset({"host"}))
        host = Page(room, "host", 1)
        host.write(add("n1", {"t": "note", "text": "host's note"}))
        host.write(add("q0", {**ASK, "ans": 5.0}))
        guest = Page(room, "guest", 20)
        guest.write(add("n1", {**ASK, "text": "gone"}))
        guest.write(add("q0", {**ASK, "text": "reopened"}))
        assert shapes(room)["n1"] == {"t": "note", "text": "host's note"}
        assert shapes(room)["q0"]["ans"] == 5.0 and "text" not in shapes(room)["q0"]

    run(scenario)


@pytest.mark.parametrize("kind", ["pen", "ask"])
def test_a_view_only_guests_new_question_keeps_its_kind_and_ask_fields(kind: str) -> None:
    """One `t` item, "ask" (not overwritten in the same update), and only kinds.ask.writes."""

    async def scenario() -> None:
        room = Room("board", writers=frozenset({"host"}))
        guest = Page(room, "guest", 21)
        before = guest.doc.get_state()
        guest.shapes["p1"] = Map(ASK)
        first = guest.doc.get_update(before)
        middle = guest.doc.get_state()
        guest.shapes["p1"]["t"] = kind  # overwritten in the same update (even by "ask")
        update = merge_updates(first, guest.doc.get_update(middle))
        room.receive(guest.conn, sync_message(UPDATE, update))
        guest.write(add("p2", {**ASK, "w": 500.0, "h": 500.0}))  # fields an ask never has
        guest.write(add("p3", {**ASK, "pts": b"\0" * 8}))
        assert shapes(room) == {}

    run(scenario)


@pytest.mark.parametrize("view_only", [False, True])
def test_a_guests_reconnect_after_answers_were_overwritten_is_accepted(view_only: bool) -> None:
    """A sync step 2 carries the page's whole delete set, with the `ans` items the host's later
    writes replaced: deleting what is deleted already is no write of `ans`."""

    async def scenario() -> None:
        room = Room("board", writers=frozenset({"host"} if view_only else {"guest", "host"}))
        host = Page(room, "host", 1)
        host.write(add("q1", ASK))
        host.write(lambda m: m["q1"].__setitem__("ans", 1.0))
        host.write(lambda m: m["q1"].__setitem__("ans", 2.0))  # answered twice
        host.write(add("q2", ASK))
        host.write(lambda m: m["q2"].__setitem__("ans", 1.0))
        host.write(lambda m: m["q2"].pop("ans"))  # reopened
        guest = Page(room, "guest", 30 + view_only)  # its copy has those deletions
        guest.write(add("q3", ASK), step=STEP2)
        assert "q3" in shapes(room) and shapes(room)["q1"]["ans"] == 2.0
        with pytest.raises(ProtocolError, match="hosts only"):  # a live `ans` stays the host's
            Page(room, "guest", 40).write(lambda m: m["q1"].pop("ans"))

    run(scenario)


def test_answering_an_answered_question_writes_nothing() -> None:
    doc = Doc()
    doc.get("shapes", type=Map)["q1"] = Map({**ASK, "ans": 1.0})
    state = doc.get_state()
    assert answer(doc, "q1", 2.0)
    assert doc.get_state() == state and doc.get("shapes", type=Map)["q1"]["ans"] == 1.0


def test_a_question_sent_while_questions_are_off_does_not_wedge_the_page() -> None:
    """Taken and erased by the server (not dropped): the page's later writes build on it."""

    async def scenario() -> None:
        shared = SharedNotebook.__new__(SharedNotebook)
        shared.board = room = Room("board")
        shared.control = Room("control", writers=frozenset({"host"}))
        room.questions_open = shared.questions_open
        shared.control.doc.get("control", type=Map)["questions"] = False
        guest = Page(room, "guest", 41)

        def send(change: Callable[[Map], None]) -> None:  # as yjs does: only what is new
            before = guest.doc.get_state()
            change(guest.shapes)
            room.receive(guest.conn, sync_message(UPDATE, guest.doc.get_update(before)))

        send(add("q1", ASK))
        send(add("n1", {"t": "note", "text": "after"}))
        assert set(shapes(room)) == {"n1"}
        guest.sync()
        assert "q1" not in guest.shapes  # the page's question goes away too

    run(scenario)


def test_the_widgets_queue_is_bounded() -> None:
    doc = Doc()
    board = doc.get("shapes", type=Map)
    for i in range(MAX_ROWS + 7):
        board[f"q{i}"] = Map({**ASK, "at": float(i), "text": "x" * 5000})
    rows = OpenQuestions(doc, lambda: None).listed()
    assert len(rows) == MAX_ROWS and rows[0]["id"] == "q7" and rows[-1]["id"] == f"q{MAX_ROWS + 6}"
    assert all(r["open"] == MAX_ROWS + 7 and len(r["text"]) == 280 for r in rows)
