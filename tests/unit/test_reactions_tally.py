"""The presenter's per-cell count of reactions in the last minute (session/reactions.py), from
people snapshots: an honest page's every reaction counts, a hostile page's flood counts no more
than the 4 a second a page may send, old slots drop out of the minute, and memory stays fixed
whatever arrives (cells, names, clients)."""

from __future__ import annotations

from jupyterspot_magic.session.participants import participant_row
from jupyterspot_magic.session.reactions import BUCKETS, MAX_CELLS, NAMES, ReactionTally


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def row(cid: int, n: str, seq: int, cell: str) -> dict:
    return participant_row(
        cid, {"react": {"n": n, "seq": seq, "cell": cell, "x": 1, "y": 2}}, "guest"
    )


def counts(tally: ReactionTally) -> dict[str, dict[str, int]]:
    return {c["cell"]: c["counts"] for c in tally.counts()}


def test_each_new_seq_counts_once_per_cell_and_name() -> None:
    clock = Clock()
    tally = ReactionTally(clock)
    tally.observe([row(1, "up", 1, "a")])
    clock.t += 0.5
    tally.observe([row(1, "up", 1, "a"), row(2, "what", 7, "b")])  # 1 unchanged
    clock.t += 0.5
    tally.observe([row(1, "up", 3, "a"), row(2, "what", 7, "b")])  # 2 coalesced in one snapshot
    assert counts(tally) == {"a": {"up": 3}, "b": {"what": 1}}


def test_a_minute_later_they_are_gone() -> None:
    clock = Clock()
    tally = ReactionTally(clock)
    tally.observe([row(1, "yay", 1, "a")])
    clock.t += 30
    tally.observe([row(1, "yay", 2, "a")])
    assert counts(tally) == {"a": {"yay": 2}}
    clock.t += 35
    assert counts(tally) == {"a": {"yay": 1}}
    clock.t += 30
    assert counts(tally) == {}


def test_a_flood_counts_as_4_a_second_at_most() -> None:
    clock = Clock()
    tally = ReactionTally(clock)
    tally.observe([row(9, "up", 0, "a")])
    for i in range(1, 101):  # 10 s of snapshots each 0.1 s, seq jumping by 1000 each time
        clock.t += 0.1
        tally.observe([row(9, "up", i * 1000, "a")])
    assert 1 <= counts(tally)["a"]["up"] <= 4 * 10 + 4


def test_memory_is_bounded_whatever_arrives() -> None:
    clock = Clock()
    tally = ReactionTally(clock)
    for i in range(20_000):  # a hostile page: a new cell name and a new client id every time
        clock.t += 0.01
        tally.observe([row(i, NAMES[i % 5], i, f"cell-{i}-" + "x" * 190)])
    assert len(tally.cells) <= MAX_CELLS
    assert len(tally.index) <= MAX_CELLS
    assert len(tally._seq) == 1  # the present only
    assert all(len(slots) <= BUCKETS for slots in tally.cells.values())
    # one cell, forever: its slots stay within the minute
    for i in range(10_000):
        clock.t += 0.25
        tally.observe([row(1, "up", i, "same")])
    assert len(tally.cells["same"]) <= BUCKETS
