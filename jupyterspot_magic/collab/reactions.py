"""The host's `reactions` switch (control document): when it is off, presence carries no
reaction, raised hand or cursor chat.

The pages hide the tools when they read the switch, but a page may ignore it, so the board room
strips the three fields from every state it relays while the switch is off (room.py, as it
rewrites a colour: colors.py), and on the switch going off rewrites the states it already holds.
"""

from __future__ import annotations

import json
from typing import Any

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
