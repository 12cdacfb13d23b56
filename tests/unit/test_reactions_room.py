"""Issue 18's presence fields (react, hand, chat) in the share server: the schema's bounds, and
the host's `reactions` switch (collab/reactions.py, read by collab/crowd.py from the control
document) stripping them from what the board room relays, also from states it already holds."""

from __future__ import annotations

import json
import time

import pytest
from pycrdt import Map

from jupyterspot_magic.collab.codec import SchemaError
from jupyterspot_magic.collab.crowd import Crowd
from jupyterspot_magic.collab.reactions import RATES
from jupyterspot_magic.collab.room import AwarenessEntry, Room, encode_awareness
from jupyterspot_magic.collab.schema import check_awareness

from .test_colours_room import Page, run, settle

REACT = {"n": "up", "seq": 1, "cell": "c-1", "x": 10, "y": 20}
REACT_AT = {"cell": "c-1", "x": 5, "y": 6}


@pytest.mark.parametrize(
    "state",
    [
        {"react": REACT, "hand": True, "chat": {"text": "a" * 60, "seq": 4}},
        {"react": None, "chat": None, "hand": False},
        {"chat": {"text": "<img src=x onerror=alert(1)>", "seq": 1}},
    ],
)
def test_the_schema_takes_the_documented_fields(state: dict) -> None:
    check_awareness(state)


@pytest.mark.parametrize(
    "state",
    [
        {"react": {**REACT, "n": "boo"}},
        {"react": {**REACT, "seq": -1}},
        {"react": {**REACT, "cell": "c" * 201}},
        {"react": {**REACT, "x": float("inf")}},
        {"react": {**REACT, "extra": 1}},
        {"hand": "up"},
        {"hand": None},
        {"chat": {"text": "a" * 61, "seq": 1}},
        {"chat": {"text": "hi"}},
        {"chat": "hi"},
    ],
)
def test_the_schema_refuses_anything_else(state: dict) -> None:
    with pytest.raises(SchemaError):
        check_awareness(state)


def _say(page: Page, **fields: object) -> None:
    page.clock += 1
    state = json.dumps({"user": {"name": "p"}, **fields})
    entry = AwarenessEntry(page.clock, state)
    page.room.receive(page.conn, encode_awareness([(page.client_id, entry)]))


def _last_heard(page: Page, client_id: int) -> dict:
    states = [json.loads(s) for cid, _clock, s in page.heard if cid == client_id and s != "null"]
    return states[-1]


def test_switch_off_strips_new_and_held_states_and_on_again_lets_them_through() -> None:
    async def scenario() -> None:
        board, control = Room("board"), Room("control", writers=frozenset({"host"}))
        Crowd(board, control, "off")
        switch = control.doc.get("control", type=Map)
        guest, other = Page(board, 10, "guest"), Page(board, 11, "guest")
        _say(guest, hand=True, react=REACT)
        await settle()
        assert _last_heard(other, 10)["hand"] is True  # on by default

        with control.doc.transaction(origin="kernel"):
            switch["reactions"] = False
        await settle()
        held = _last_heard(other, 10)
        assert "hand" not in held and "react" not in held and held["user"]["name"] == "p"
        assert _last_heard(guest, 10) == held  # its sender is told too (the next clock)
        guest.clock = max(c for cid, c, _s in guest.heard if cid == 10)  # y-protocols adopts it

        _say(guest, hand=True, chat={"text": "hi", "seq": 1}, cursor=None)
        await settle()
        new = _last_heard(other, 10)
        assert "hand" not in new and "chat" not in new and "cursor" in new
        assert all("hand" not in s for _c, s, _r in board.states())

        with control.doc.transaction(origin="kernel"):
            switch["reactions"] = True
        _say(guest, hand=True)
        await settle()
        assert _last_heard(other, 10)["hand"] is True

    run(scenario)


async def _flood(page: Page, ids: list[int], count: int, field: str) -> float:
    """`count` new reactions (or chat lines) from one connection over its client ids, as fast as
    it can, each flushed to the others (the room coalesces a loop turn's states); the seconds it
    took."""
    start = time.monotonic()
    clocks = dict.fromkeys(ids, 0)
    for seq in range(1, count + 1):
        cid = ids[seq % len(ids)]
        clocks[cid] += 1
        value = {**REACT, "seq": seq} if field == "react" else {"text": f"{seq}", "seq": seq}
        state = json.dumps({"user": {"name": "m"}, "cursor": None, field: value})
        page.room.receive(page.conn, encode_awareness([(cid, AwarenessEntry(clocks[cid], state))]))
        await settle()
    return time.monotonic() - start


def _relayed(page: Page, ids: list[int], field: str) -> set[tuple[int, int]]:
    """The distinct (client id, seq) of `field` this page was sent for `ids`."""
    states = [(cid, json.loads(s)) for cid, _c, s in page.heard if cid in ids and s != "null"]
    return {(cid, s[field]["seq"]) for cid, s in states if s.get(field)}


@pytest.mark.parametrize("field", ["react", "chat"])
def test_a_flood_of_new_reactions_from_one_connection_is_cut_to_its_rate(field: str) -> None:
    """/tmp/review18r/flood.py's attack: one page, four client ids (room.MAX_IDS_PER_CONNECTION),
    a new seq in every message. The room relays the states (the page is not closed: the messages
    are within its message rate) but without the reactions past the connection's budget."""
    rate, burst = RATES[field]

    async def scenario() -> None:
        room = Room("board")
        bad, other = Page(room, 10, "guest"), Page(room, 11, "guest")
        ids = [10, 20, 30, 40]
        took = await _flood(bad, ids, 600, field)
        await settle()
        shown = _relayed(other, ids, field)
        assert bad.closed is None and not bad.conn.closed
        assert 1 <= len(shown) <= burst + rate * took + 1, (len(shown), took)
        assert {cid for cid, _c, _s in other.heard} >= set(ids)  # the states themselves went

    run(scenario)


def test_a_repeated_seq_costs_nothing_and_a_cut_one_stays_cut() -> None:
    """A state that repeats its reaction (a cursor move while it shows, react null and back)
    is not a new one: the budget is spent on new seqs only, and the decision sticks."""
    _rate, burst = RATES["react"]

    async def scenario() -> None:
        room = Room("board")
        page, other = Page(room, 10, "guest"), Page(room, 11, "guest")
        for seq in range(1, int(burst) + 1):
            for repeat in range(5):
                _say(page, react={**REACT, "seq": seq}, cursor=None if repeat % 2 else REACT_AT)
                await settle()
                _say(page, react=None)
                await settle()
        await settle()
        assert len(_relayed(other, [10], "react")) == burst  # every new one, once each
        page.conn.gate.buckets["react"].tokens = 0.0  # spent (no wait for the clock)
        page.conn.gate.buckets["react"].rate = 0.0
        _say(page, react={**REACT, "seq": 99})
        await settle()
        _say(page, react={**REACT, "seq": 99}, cursor=REACT_AT)
        await settle()
        assert (10, 99) not in _relayed(other, [10], "react")
        assert _last_heard(other, 10)["cursor"] == REACT_AT  # the rest of the state goes on

    run(scenario)
