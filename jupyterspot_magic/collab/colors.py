"""Presence colours by join order: which palette slot each present client id holds.

The palette is `jupyterspot_magic/contracts/colors.json` (the viewer reads it too). Hosts (the
presenter's pages) always hold the presenter's slot; a guest gets the lowest free guest slot when
its first state with a `user` arrives, then the presenter's slot while no host holds it, and only
when all twelve are taken the least-held guest slot (a repeat, from the 13th person on). A slot
is free again when its holder's state goes; a client id that comes back (a reconnect) gets its
old slot again if it is still free, so a dropped socket does not change anyone's colour.
Whoever holds a slot is decided here, on the server thread, so people joining at the same moment
still get different colours (room.py rewrites a state whose colour is not its holder's slot).
"""

from __future__ import annotations

import json
from collections import OrderedDict

from ..base.paths import CONTRACTS_DIR

CONTRACT = CONTRACTS_DIR / "colors.json"
_SPEC = json.loads(CONTRACT.read_text(encoding="utf-8"))
PALETTE: tuple[str, ...] = tuple(_SPEC["palette"])
PRESENTER_SLOT: int = int(_SPEC["presenterSlot"])
# The order a guest's free slot is looked for in: guest slots first, the presenter's last.
_GUEST_ORDER = tuple(i for i in range(len(PALETTE)) if i != PRESENTER_SLOT) + (PRESENTER_SLOT,)
_REMEMBERED = 10_000  # client ids whose last slot is kept for a return (like room.MAX_DEPARTED)


class ColorSlots:
    """Slot per present client id; one per board room."""

    def __init__(self) -> None:
        self.held: dict[int, int] = {}  # client id -> slot, present clients only
        self.count = [0] * len(PALETTE)  # holders per slot
        self._last: OrderedDict[int, int] = OrderedDict()  # client id -> slot it held last

    def color(self, client_id: int, role: str) -> str:
        """The colour `client_id` must show: its slot's, assigned now if it has none."""
        slot = self.held.get(client_id)
        if slot is None:
            slot = self._pick(client_id, role)
            self.held[client_id] = slot
            self.count[slot] += 1
            self._last.pop(client_id, None)
            self._last[client_id] = slot
            while len(self._last) > _REMEMBERED:
                self._last.popitem(last=False)
        return PALETTE[slot]

    def release(self, client_id: int) -> None:
        """`client_id`'s state is gone: its slot is free for the next person."""
        slot = self.held.pop(client_id, None)
        if slot is not None:
            self.count[slot] -= 1

    def clear(self) -> None:
        self.held.clear()
        self.count = [0] * len(PALETTE)

    def _pick(self, client_id: int, role: str) -> int:
        if role == "host":
            return PRESENTER_SLOT
        before = self._last.get(client_id)
        if before is not None and self.count[before] == 0:
            return before
        for slot in _GUEST_ORDER:
            if self.count[slot] == 0:
                return slot
        guests = _GUEST_ORDER[:-1]
        return min(guests, key=lambda s: (self.count[s], guests.index(s)))
