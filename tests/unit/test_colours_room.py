"""Presence colours by join order (collab/colors.py, routed in collab/room.py), on real rooms
without a server or a browser: slots in join order, no repeat before twelve people, the
presenter's slot, a freed slot reused, a reconnect keeping its colour, a claimed colour
rewritten for everyone and sent back to its sender with the next clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jupyterspot_magic.collab.colors import PALETTE, PRESENTER_SLOT, ColorSlots
from jupyterspot_magic.collab.messages import AWARENESS, decode_awareness, read_var_bytes
from jupyterspot_magic.collab.room import AwarenessEntry, Connection, Room, encode_awareness

PRESENTER = PALETTE[PRESENTER_SLOT]
GUEST_COLORS = [c for i, c in enumerate(PALETTE) if i != PRESENTER_SLOT]


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """A fresh event loop on its own thread (see tests/unit/test_lead.py for why)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result()


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


class Page:
    """One browser's socket: what the room sends it, decoded (awareness only)."""

    def __init__(self, room: Room, client_id: int, role: str) -> None:
        self.room, self.client_id, self.clock = room, client_id, 0
        self.heard: list[tuple[int, int, str]] = []
        self.conn = Connection(self._sent, self._closed, role, pid=f"browser-{client_id}")
        self.closed: tuple[int, str] | None = None
        assert room.join(self.conn)

    async def _sent(self, data: bytes) -> None:
        if data and data[0] == AWARENESS:
            self.heard += decode_awareness(read_var_bytes(data, 1)[0])

    async def _closed(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def announce(self, **user: Any) -> None:
        self.clock += 1
        state = json.dumps({"user": {"name": f"p{self.client_id}", **user}, "cursor": None})
        entry = AwarenessEntry(self.clock, state)
        self.room.receive(self.conn, encode_awareness([(self.client_id, entry)]))


def shown(room: Room) -> dict[int, str]:
    """The colour every other page is sent for each present client."""
    return {cid: state["user"]["color"] for cid, state, _role in room.states()}


def test_twelve_people_get_twelve_colours_in_join_order() -> None:
    async def scenario() -> None:
        room = Room("board")
        host = Page(room, 1000, "host")
        host.announce(color="#000000")
        guests = [Page(room, 10 + i, "guest") for i in range(11)]
        for g in guests:
            g.announce(color=PRESENTER)  # everyone claims the presenter's colour
        await settle()
        colors = shown(room)
        assert colors[1000] == PRESENTER
        assert [colors[g.client_id] for g in guests] == GUEST_COLORS
        assert len(set(colors.values())) == 12
        # The 13th person repeats a colour; the first guest to leave frees theirs for the next.
        extra = Page(room, 99, "guest")
        extra.announce(color="#123456")
        room.leave(guests[3].conn)
        late = Page(room, 77, "guest")
        late.announce(color="#123456")
        await settle()
        assert shown(room)[77] == GUEST_COLORS[3]

    run(scenario)


def test_a_claimed_colour_is_rewritten_and_sent_back_with_the_next_clock() -> None:
    async def scenario() -> None:
        room = Room("board")
        first, second = Page(room, 1, "guest"), Page(room, 2, "guest")
        first.announce(color=GUEST_COLORS[0])
        second.announce(color=GUEST_COLORS[0])  # same colour as the first: not its slot
        await settle()
        assert shown(room) == {1: GUEST_COLORS[0], 2: GUEST_COLORS[1]}
        # What the first page was told about the second: the assigned colour, never the claim.
        about_2 = [json.loads(s)["user"]["color"] for cid, _clock, s in first.heard if cid == 2]
        assert about_2 and set(about_2) == {GUEST_COLORS[1]}
        # The second page gets its own state back, one clock ahead, with its slot's colour.
        own = [(clock, json.loads(s)) for cid, clock, s in second.heard if cid == 2]
        assert (2, GUEST_COLORS[1]) in [(c, s["user"]["color"]) for c, s in own]
        # A page that shows its slot's colour is relayed verbatim and gets nothing back.
        before = len(second.heard)
        second.announce(color=GUEST_COLORS[1])
        await settle()
        assert [h for h in second.heard[before:] if h[1] > second.clock] == []
        assert first.closed is None and second.closed is None

    run(scenario)


def test_the_presenter_keeps_the_presenters_colour() -> None:
    async def scenario() -> None:
        room = Room("board")
        guest = Page(room, 5, "guest")
        guest.announce(color=PRESENTER)
        host = Page(room, 6, "host")
        host.announce(color=GUEST_COLORS[0])
        second_tab = Page(room, 7, "host")
        second_tab.announce(color=PRESENTER)
        await settle()
        assert shown(room) == {5: GUEST_COLORS[0], 6: PRESENTER, 7: PRESENTER}

    run(scenario)


def test_a_reconnect_keeps_its_colour_and_control_has_none() -> None:
    slots = ColorSlots()
    a, b = slots.color(1, "guest"), slots.color(2, "guest")
    slots.release(1)
    slots.release(2)
    assert slots.color(2, "guest") == b  # back first, still its own colour
    assert slots.color(1, "guest") == a
    assert Room("control", writers=frozenset({"host"})).colors is None


def test_two_tabs_of_one_browser_leave_no_ghost_and_free_their_colours() -> None:
    """/tmp/review16a/tabs.py: y-websocket in tab B re-announces tab A's state with its original
    clock. That echo must not hand A's client id to B's socket (B never lists it, so closing
    both tabs left A's state and its colour behind for good)."""

    async def scenario() -> None:
        room = Room("board")
        a, b = Page(room, 1, "guest"), Page(room, 2, "guest")
        a.conn.pid = b.conn.pid = "browser-X"  # two tabs of one browser: one participant key
        a.announce()
        await settle()
        b.announce()
        await settle()
        echoes = [(cid, clock, s) for cid, clock, s in b.heard if cid == 1]
        assert echoes
        for cid, clock, state in echoes:
            room.receive(b.conn, encode_awareness([(cid, AwarenessEntry(clock, state))]))
        await settle()
        assert room.owners[1] is a.conn and 1 in a.conn.client_ids
        room.leave(a.conn)
        await settle()
        assert set(shown(room)) == {2}
        room.leave(b.conn)
        await settle()
        assert shown(room) == {} and room.colors is not None and room.colors.held == {}
        c = Page(room, 3, "guest")
        c.announce()
        await settle()
        assert shown(room)[3] == GUEST_COLORS[0]  # the first guest colour is free again

    run(scenario)
