"""The host's `reactions` switch (control document): when it is off, presence carries no
reaction, raised hand or cursor chat.

The pages hide the tools when they read the switch, but a page may ignore it, so the board room
strips the three fields from every state it relays while the switch is off (room.py, as it
rewrites a colour: colors.py), and on the switch going off rewrites the states it already holds.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

FIELDS = ("react", "hand", "chat")  # schema.py AWARENESS_FIELDS, covered by the switch
SWITCH = "reactions"  # the control document's key (schema.py CONTROL_FIELDS)


def switched_on(control: Any) -> bool:
    """The switch as the control map has it: on unless the host wrote False."""
    return control.get(SWITCH) is not False


def carries(parsed: dict) -> bool:
    return any(key in parsed for key in FIELDS)


def stripped(state: str) -> str:
    """`state` (valid JSON of an object, room.checked_state's result) without the fields;
    the same object when it has none of them."""
    parsed = json.loads(state)
    if not isinstance(parsed, dict) or not carries(parsed):
        return state
    for key in FIELDS:
        parsed.pop(key, None)
    return json.dumps(parsed, separators=(",", ":"))


# Per connection, how many new reactions / chat lines a second (and the burst) the room relays.
# A page sends at most 4 reactions and 1 chat line a second (js/viewer/reactions.ts); the bursts
# leave room for network jitter bunching an honest page's messages. Over them the field is
# stripped from the relayed state: the page stays connected (a person who taps fast is not a
# script) and everyone else is spared a node per reaction (a flood made 1,292 in 2.35 s).
RATES = {"react": (4.0, 8.0), "chat": (1.0, 3.0)}


class Bucket(Protocol):
    def take(self, amount: float = 1.0) -> bool: ...


class Gate:
    """One connection's budget for new reactions and chat lines (a new `seq` is a new one),
    shared by every client id it speaks for (room.MAX_IDS_PER_CONNECTION: four ids do not get
    four budgets). A `seq` seen before keeps the decision it got, so a state that repeats it
    (a cursor move while a reaction shows, a field toggled null and back) costs nothing and a
    stripped one stays stripped. Memory: one entry per field per client id the connection ever
    announced (room.MAX_IDS_PER_CONNECTION_LIFETIME)."""

    def __init__(self, buckets: dict[str, Bucket]) -> None:
        self.buckets = buckets
        self.seen: dict[tuple[int, str], tuple[int, bool]] = {}  # (id, field) -> (seq, relayed)

    def admit(self, client_id: int, state: str) -> str:
        """`state` (room.checked_state's result) with any react/chat over budget taken out;
        the same object when nothing is."""
        if '"react"' not in state and '"chat"' not in state and "\\u" not in state:
            return state  # the common case (cursor moves): no parse (a key may be escaped)
        parsed = json.loads(state)
        over = [f for f in self.buckets if not self._allowed(client_id, f, parsed.get(f))]
        if not over:
            return state
        for key in over:
            parsed.pop(key)
        return json.dumps(parsed, separators=(",", ":"))

    def _allowed(self, client_id: int, field: str, value: Any) -> bool:
        if not isinstance(value, dict):
            return True  # absent or null: nothing shown
        seq = value["seq"]
        known = self.seen.get((client_id, field))
        if known is not None and known[0] == seq:
            return known[1]
        relayed = self.buckets[field].take()
        self.seen[(client_id, field)] = (seq, relayed)
        return relayed
