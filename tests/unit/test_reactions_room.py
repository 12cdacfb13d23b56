"""Issue 18's presence fields (react, hand, chat) in the share server: the schema's bounds, and
the host's `reactions` switch (collab/reactions.py, read by collab/crowd.py from the control
document) stripping them from what the board room relays, also from states it already holds."""

from __future__ import annotations

import json

import pytest
from pycrdt import Map

from jupyterspot_magic.collab.codec import SchemaError
from jupyterspot_magic.collab.crowd import Crowd
from jupyterspot_magic.collab.room import AwarenessEntry, Room, encode_awareness
from jupyterspot_magic.collab.schema import check_awareness

from .test_colours_room import Page, run, settle

REACT = {"n": "up", "seq": 1, "cell": "c-1", "x": 10, "y": 20}


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
