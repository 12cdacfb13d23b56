"""The presenter's running count of reactions per cell over the last minute (issue 18), from the
people snapshots the kernel already mirrors (participants.py rows carry each person's `react`).

A reaction is a `seq` in someone's `react` higher than the last one seen from that client id
(js/viewer/reactions.ts). What counts is what a snapshot shows: one reaction per client id per
snapshot, at the cell and name it shows (snapshots are coalesced, mirror.py; a skipped seq's cell
and name are unknown, so it is not guessed onto the shown one). First sight of a client id is not
news (a newcomer's or a reconnecting page's old reaction), as on the pages; a react that goes
null and comes back with the same seq is not new. A person (one page's socket: the row's
`person`, however many client ids it speaks for) counts at most REACT_PER_SECOND a second with a
BURST, so a hostile page counts as an honest one at most. Memory is fixed whatever anyone sends:
BUCKETS counters per reaction name per cell, at most MAX_CELLS cells (the least recent go), and
the last seq and allowance only of the people present.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping

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
        self._seq: dict[int, int | None] = {}  # client id present -> its last seq (None: none)
        self._allowance: dict[str, float] = {}  # person present -> reactions it may still count
        self._last = clock()
        self._epoch = time.time() - clock()  # wall time at the clock's zero: slots' start times

    def observe(self, people: Iterable[dict]) -> bool:
        """Take in a people snapshot; True when a count changed."""
        now = self.clock()
        accrued = REACT_PER_SECOND * max(0.0, now - self._last)
        self._last = now
        seqs: dict[int, int | None] = {}
        allowances: dict[str, float] = {}
        changed = False
        for row in people:
            cid = row.get("client_id")
            if not isinstance(cid, int):
                continue
            person = str(row.get("person") or cid)
            if person not in allowances:
                allowances[person] = min(BURST, self._allowance.get(person, BURST) + accrued)
            first = cid not in self._seq
            before = self._seq.get(cid)
            react = _valid(row.get("react"))
            seq = react["seq"] if react else None
            seqs[cid] = before if seq is None or (before is not None and seq < before) else seq
            if first or react is None or (before is not None and seq <= before):
                continue  # first sight, no reaction, or none newer than the last seen
            if allowances[person] < 1:
                continue  # past what a page may send
            allowances[person] -= 1
            self._count(react["cell"][:200], NAMES.index(react["n"]), 1, now)
            changed = True
        self._seq = seqs  # only the present: the departed are forgotten
        self._allowance = allowances
        return changed

    def _count(self, cell: str, name: int, n: int, now: float) -> None:
        slots = self.cells.pop(cell, None) or {}
        self.cells[cell] = slots  # most recent last
        slot = int(now // BUCKET)
        for old in [s for s in slots if s <= slot - BUCKETS]:
            del slots[old]
        slots.setdefault(slot, [0] * len(NAMES))[name] += n
        while len(self.cells) > MAX_CELLS:
            self.cells.popitem(last=False)

    def counts(self, order: Mapping[str, int] | None = None) -> list[dict]:
        """Per cell with reactions in the last WINDOW: {"cell", "index" (its place in the
        notebook, from `order`: cell id -> index; None when not one of its cells), "counts":
        {name: n}, "slots": [[the slot's start, ms since the epoch, {name: n}], ...]}. The slots'
        times are fixed, so the result changes only when a count does or a slot leaves the
        minute (the widget ages them itself and is sent nothing in between)."""
        now = self.clock()
        slot_now = int(now // BUCKET)
        out = []
        for cell, slots in reversed(self.cells.items()):
            live = {s: c for s, c in slots.items() if s > slot_now - BUCKETS}
            if not live:
                continue
            total = [sum(c[i] for c in live.values()) for i in range(len(NAMES))]
            starts = [[self._epoch_ms(s), _named(c)] for s, c in sorted(live.items())]
            index = (order or {}).get(cell)
            out.append({"cell": cell, "index": index, "counts": _named(total), "slots": starts})
        return out

    def _epoch_ms(self, slot: int) -> int:
        return round((self._epoch + slot * BUCKET) * 1000)


def _named(counts: list[int]) -> dict[str, int]:
    return {NAMES[i]: n for i, n in enumerate(counts) if n}


def _valid(react: object) -> dict | None:
    if not isinstance(react, dict):
        return None
    seq, cell, name = react.get("seq"), react.get("cell"), react.get("n")
    ok = isinstance(seq, int) and isinstance(cell, str) and name in NAMES
    return react if ok else None
