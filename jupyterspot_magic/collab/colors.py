"""Presence colours by join order: which palette slot each connection (and so each present
client id it speaks for) holds.

The palette is `jupyterspot_magic/contracts/colors.json` (the viewer reads it too; the relay's
copy of this algorithm, relay/colors.mjs, is held equal by tests/unit/test_relay_awareness.py).
A slot belongs to a connection, not to a client id: one page is one socket, and a socket that
announces several client ids (at most room.MAX_IDS_PER_CONNECTION) still takes one slot, so three
sockets cannot take all twelve. Hosts (the presenter's pages) hold the presenter's slot; a guest
gets the lowest free guest slot when its first state with a `user` arrives, and once all eleven
guest slots are taken the least-held guest slot (a repeat, from the 13th person on). A guest never
gets the presenter's colour, open presenter page or not. A slot is free again when its socket's
last state goes; a client id that comes back on a new socket (a reconnect) gets its old slot again
if it is free, so a dropped socket does not change anyone's colour. Whoever holds a slot is decided
here, on the server thread, so people joining at the same moment still get different colours
(room.py rewrites a state whose colour is not its holder's slot).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Hashable

from ..base.paths import CONTRACTS_DIR

CONTRACT = CONTRACTS_DIR / "colors.json"
_SPEC = json.loads(CONTRACT.read_text(encoding="utf-8"))
PALETTE: tuple[str, ...] = tuple(_SPEC["palette"])
PRESENTER_SLOT: int = int(_SPEC["presenterSlot"])
GUEST_SLOTS = tuple(i for i in range(len(PALETTE)) if i != PRESENTER_SLOT)
_REMEMBERED = 10_000  # client ids whose last slot is kept for a return (like room.MAX_DEPARTED)


class ColorSlots:
    """Slot per connection (`owner`: any hashable, the room's Connection); one per board room."""

    def __init__(self) -> None:
        self.held: dict[int, int] = {}  # client id -> slot, present clients only
        self.count = [0] * len(PALETTE)  # connections per slot
        self._owners: dict[Hashable, tuple[int, set[int]]] = {}  # owner -> (slot, its ids)
        self._last: OrderedDict[int, int] = OrderedDict()  # client id -> slot it held last

    def color(self, owner: Hashable, client_id: int, role: str) -> str:
        """The colour `client_id` (spoken for by `owner`) must show: its owner's slot's,
        assigned now if the owner has none."""
        holding = self._owners.get(owner)
        if holding is None:
            slot = self._pick(client_id, role)
            holding = self._owners[owner] = (slot, set())
            self.count[slot] += 1
        slot, ids = holding
        if client_id not in ids:
            ids.add(client_id)
            self.held[client_id] = slot
            self._last.pop(client_id, None)
            self._last[client_id] = slot
            while len(self._last) > _REMEMBERED:
                self._last.popitem(last=False)
        return PALETTE[slot]

    def release(self, owner: Hashable, client_id: int) -> None:
        """`client_id`'s state is gone from `owner`: with its owner's last, the slot is free."""
        holding = self._owners.get(owner)
        if holding is None or client_id not in holding[1]:
            return
        slot, ids = holding
        ids.discard(client_id)
        self.held.pop(client_id, None)
        if not ids:
            del self._owners[owner]
            self.count[slot] -= 1

    def clear(self) -> None:
        self.held.clear()
        self._owners.clear()
        self.count = [0] * len(PALETTE)

    def _pick(self, client_id: int, role: str) -> int:
        if role == "host":
            return PRESENTER_SLOT
        before = self._last.get(client_id)
        if before is not None and before != PRESENTER_SLOT and self.count[before] == 0:
            return before
        return min(GUEST_SLOTS, key=lambda s: (self.count[s], s))
