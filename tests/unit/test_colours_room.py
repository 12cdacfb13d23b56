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
    a, b = slots.color("socket-1", 1, "guest"), slots.color("socket-2", 2, "guest")
    slots.release("socket-1", 1)
    slots.release("socket-2", 2)
    assert slots.color("socket-3", 2, "guest") == b  # back first on a new socket: its colour
    assert slots.color("socket-4", 1, "guest") == a
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


def test_one_slot_per_socket_and_never_the_presenters_colour_for_a_guest() -> None:
    """/tmp/review16a/exhaust.py: three sockets announcing four client ids each took all twelve
    colours, the presenter's too; now a socket takes one slot for all its ids, and a guest never
    gets slot 0 (the 13th person repeats the least-used guest colour)."""

    async def scenario() -> None:
        room = Room("board")
        hostile = [Page(room, 900 + k, "guest") for k in range(3)]
        for k, page in enumerate(hostile):
            for cid in range(100 + 4 * k, 104 + 4 * k):
                state = json.dumps({"user": {"name": "x", "color": PRESENTER}})
                room.receive(page.conn, encode_awareness([(cid, AwarenessEntry(1, state))]))
        await settle()
        colors = shown(room)
        assert len(set(colors.values())) == 3 and PRESENTER not in colors.values()
        assert {colors[100], colors[101], colors[102], colors[103]} == {GUEST_COLORS[0]}
        honest = Page(room, 5, "guest")
        honest.announce(color=PRESENTER)
        host = Page(room, 6, "host")
        host.announce()
        await settle()
        colors = shown(room)
        assert colors[5] == GUEST_COLORS[3] and colors[6] == PRESENTER
        assert [c for c in colors.values()].count(PRESENTER) == 1
        # Eleven guest sockets and no host page: the twelfth guest repeats a guest colour.
        room.leave(host.conn)
        more = [Page(room, 20 + i, "guest") for i in range(8)]
        for page in more:
            page.announce()
        await settle()
        colors = shown(room)
        assert PRESENTER not in colors.values()
        assert colors[27] == GUEST_COLORS[0]  # the least-used guest colour, the lowest first
        # A socket's slot is free only once its last client id is gone.
        room.receive(hostile[0].conn, encode_awareness([(100, AwarenessEntry(2, "null"))]))
        await settle()
        assert room.colors is not None and room.colors.count[1] == 2
        room.leave(hostile[0].conn)
        await settle()
        assert room.colors.count[1] == 1

    run(scenario)


def test_the_colour_reply_is_one_message_per_frame_and_within_the_presence_budget() -> None:
    """/tmp/review16a/exhaust.py: 2,000 wrong-colour entries in one frame got 2,000 replies
    (760 KB back, outside the presence budget); now one reply with the latest state."""

    async def scenario() -> None:
        room = Room("board")
        page = Page(room, 1, "guest")
        page.announce()
        await settle()
        big = json.dumps({"user": {"name": "n" * 100, "color": "#000000"}, "cursor": None})
        entries = [(1, AwarenessEntry(10 + k, big)) for k in range(2000)]
        before = len(page.heard)
        room.receive(page.conn, encode_awareness(entries))
        await settle()
        own = [(cid, clock) for cid, clock, _s in page.heard[before:] if cid == 1]
        assert own.count((1, 2010)) == 1  # the last entry's clock + 1
        assert [c for c in own if c[1] > 2009] == [(1, 2010)]
        # Over budget no reply at all: a drained budget does not grow it.
        assert page.conn.presence is not None
        page.conn.presence.tokens = 0
        page.conn.presence.rate = 0
        before = len(page.heard)
        room.receive(page.conn, encode_awareness([(1, AwarenessEntry(3000, big))]))
        await settle()
        assert [h for h in page.heard[before:] if h[0] == 1 and h[1] == 3001] == []

    run(scenario)
