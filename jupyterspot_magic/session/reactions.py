"""The presenter's running count of reactions per cell over the last minute (issue 18), from the
people snapshots the kernel already mirrors (participants.py rows carry each person's `react`).

A reaction is a new `seq` in someone's `react` (js/viewer/reactions.ts). Snapshots are coalesced
(mirror.py), so a seq may move by more than one between two: the difference counts, but never
more than a page may send in that time (REACT_PER_SECOND, a bucket of BURST per person), so a
hostile page sending as fast as the server lets it counts as an honest one at most. Memory is
fixed whatever anyone sends: BUCKETS counters per reaction name per cell, at most MAX_CELLS cells
(the least recent go), and the last seq only of the people present.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Iterable

WINDOW = 60.0  # s: "the last minute"
BUCKET = 5.0  # s per counter
BUCKETS = int(WINDOW / BUCKET)
MAX_CELLS = 256  # cells counted at once; a notebook's reactions land on the cells in view
REACT_PER_SECOND = 4  # js/viewer/reactions.ts REACT_PER_SECOND
BURST = 4.0  # one second's worth
NAMES = ("up", "what", "look", "yay", "hand")  # collab/schema.py REACTIONS


class ReactionTally:
    """Per cell, per reaction name, counts in BUCKET-second slots of the last WINDOW."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self.cells: OrderedDict[str, dict[int, list[int]]] = OrderedDict()  # cell -> slot -> n
        self.index: dict[str, int] = {}  # cell -> its index, when someone scrolled to it
        self._seq: dict[int, tuple[int, float]] = {}  # client id -> last seq, its allowance
        self._last = clock()

    def observe(self, people: Iterable[dict]) -> bool:
        """Take in a people snapshot; True when a count changed."""
        now = self.clock()
        accrued = REACT_PER_SECOND * max(0.0, now - self._last)
        self._last = now
        seqs: dict[int, tuple[int, float]] = {}
        changed = False
        for row in people:
            react = row.get("react")
            cid = row.get("client_id")
            if not isinstance(react, dict) or not isinstance(cid, int):
                continue
            seq, cell, name = react.get("seq"), react.get("cell"), react.get("n")
            if not isinstance(seq, int) or not isinstance(cell, str) or name not in NAMES:
                continue
            before, allowance = self._seq.get(cid, (None, BURST))
            allowance = min(BURST, allowance + accrued)
            new = min(1 if before is None else seq - before, math.floor(allowance))
            seqs[cid] = (seq, allowance - max(0, new))
            if new > 0:
                self._count(cell[:200], NAMES.index(name), new, now)
                if isinstance(row.get("cell_index"), int) and row.get("cell") == cell:
                    self.index[cell[:200]] = row["cell_index"]
                changed = True
        self._seq = seqs  # only the present: the departed are forgotten
        return changed

    def _count(self, cell: str, name: int, n: int, now: float) -> None:
        slots = self.cells.pop(cell, None) or {}
        self.cells[cell] = slots  # most recent last
        slot = int(now // BUCKET)
        for old in [s for s in slots if s <= slot - BUCKETS]:
            del slots[old]
        slots.setdefault(slot, [0] * len(NAMES))[name] += n
        while len(self.cells) > MAX_CELLS:
            gone, _ = self.cells.popitem(last=False)
            self.index.pop(gone, None)

    def counts(self) -> list[dict]:
        """Per cell with reactions in the last WINDOW: {"cell", "index", "counts": {name: n},
        "ages": [[seconds since the slot began, {name: n}], ...]} (the widget ages them)."""
        now = self.clock()
        slot_now = int(now // BUCKET)
        out = []
        for cell, slots in reversed(self.cells.items()):
            live = {s: c for s, c in slots.items() if s > slot_now - BUCKETS}
            if not live:
                continue
            total = [sum(c[i] for c in live.values()) for i in range(len(NAMES))]
            ages = [[round(now - s * BUCKET, 1), _named(c)] for s, c in sorted(live.items())]
            out.append(
                {"cell": cell, "index": self.index.get(cell), "counts": _named(total), "ages": ages}
            )
        return out


def _named(counts: list[int]) -> dict[str, int]:
    return {NAMES[i]: n for i, n in enumerate(counts) if n}
