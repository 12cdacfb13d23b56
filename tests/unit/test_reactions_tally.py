"""The presenter's per-cell count of reactions in the last minute (session/reactions.py), from
people snapshots: an honest page's every reaction counts once at the cell and name it showed,
first sight (a newcomer, a reconnect) and a react toggled null and back are not news, a person's
flood (one page, several client ids) counts no more than the 4 a second a page may send, old
slots drop out of the minute, the result only changes when a count does, and memory stays fixed
whatever arrives (cells, names, clients). The /tmp/review18r/tally.py cases are here."""

from __future__ import annotations

from jupyterspot_magic.session.participants import participant_row
from jupyterspot_magic.session.reactions import BUCKETS, MAX_CELLS, NAMES, ReactionTally


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def row(cid: int, n: str | None, seq: int = 0, cell: str = "a", person: str | None = None) -> dict:
    react = None if n is None else {"n": n, "seq": seq, "cell": cell, "x": 1, "y": 2}
    return participant_row(cid, {"react": react}, "guest", person)


def counts(tally: ReactionTally) -> dict[str, dict[str, int]]:
    return {c["cell"]: c["counts"] for c in tally.counts()}


def test_each_new_seq_counts_once_at_the_cell_and_name_shown() -> None:
    clock = Clock()
    tally = ReactionTally(clock)
    tally.observe([row(1, None), row(2, None)])  # they join (first sight)
    clock.t += 0.5
    tally.observe([row(1, "up", 1, "a"), row(2, None)])
    clock.t += 0.5
    tally.observe([row(1, "up", 1, "a"), row(2, "what", 7, "b")])  # 1 unchanged
    clock.t += 0.5
    tally.observe([row(1, "up", 2, "a"), row(2, "what", 7, "b")])
    assert counts(tally) == {"a": {"up": 2}, "b": {"what": 1}}


def test_first_sight_is_not_news_and_a_reconnect_is_not_counted_again() -> None:
    clock = Clock()
    tally = ReactionTally(clock)
    tally.observe([row(7, "up", 3)])  # a newcomer's old reaction
    clock.t += 1
    tally.observe([])  # it leaves one snapshot (a reconnect)
    clock.t += 1
    tally.observe([row(7, "up", 3)])
    assert counts(tally) == {}


def test_a_react_toggled_null_and_back_with_the_same_seq_counts_once() -> None:
    clock = Clock()
    tally = ReactionTally(clock)
    tally.observe([row(9, None)])
    for i in range(100):
        clock.t += 0.1
        tally.observe([row(9, "up", 5)] if i % 2 else [row(9, None)])
    assert counts(tally) == {"a": {"up": 1}}


def test_coalesced_reactions_are_not_all_put_on_the_last_cell() -> None:
    """up@a, what@a, look@b, yay@b between two snapshots: only yay@b is known, it counts one."""
    clock = Clock()
    tally = ReactionTally(clock)
    tally.observe([row(5, "up", 0, "a")])
    clock.t += 0.1
    tally.observe([row(5, "yay", 4, "b")])
    assert counts(tally) == {"b": {"yay": 1}}


def test_four_ids_of_one_page_count_as_one_person_at_4_a_second() -> None:
    clock = Clock()
    tally = ReactionTally(clock)
    ids = (1, 2, 3, 4)
    tally.observe([row(cid, "up", 0, person="page") for cid in ids])
    for i in range(1, 101):  # 10 s of snapshots each 0.1 s, every id a new seq each time
        clock.t += 0.1
        tally.observe([row(cid, "up", i * 1000, person="page") for cid in ids])
    assert 1 <= counts(tally)["a"]["up"] <= 4 * 10 + 4


def test_a_minute_later_they_are_gone_and_the_list_changes_only_with_a_count() -> None:
    clock = Clock()
    tally = ReactionTally(clock)
    tally.observe([row(1, None)])
    tally.observe([row(1, "yay", 1, "a")])
    clock.t += 30
    tally.observe([row(1, "yay", 2, "a")])
    listed = tally.counts({"a": 2})
    assert listed[0]["counts"] == {"yay": 2} and listed[0]["index"] == 2
    clock.t += 2
    assert tally.counts({"a": 2}) == listed  # nothing new: the same (the widget is sent nothing)
    clock.t += 33
    assert counts(tally) == {"a": {"yay": 1}}
    clock.t += 30
    assert counts(tally) == {}


def test_memory_is_bounded_whatever_arrives() -> None:
    clock = Clock()
    tally = ReactionTally(clock)
    ids = list(range(20))
    tally.observe([row(cid, None) for cid in ids])
    for i in range(1_000):  # hostile pages: a new cell name every time
        clock.t += 0.3
        tally.observe(
            [row(cid, NAMES[i % 5], i + 1, f"cell-{i}-{cid}-" + "x" * 190) for cid in ids]
        )
    assert len(tally.cells) <= MAX_CELLS
    tally.observe([row(1, None)])
    assert len(tally._seq) == 1 and len(tally._allowance) == 1  # the present only
    assert all(len(slots) <= BUCKETS for slots in tally.cells.values())
    for i in range(10_000):  # one cell, forever: its slots stay within the minute
        clock.t += 0.25
        tally.observe([row(1, "up", i + 1, "same")])
    assert len(tally.cells["same"]) <= BUCKETS
