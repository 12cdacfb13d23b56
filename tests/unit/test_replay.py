"""Stored boards read back defensively (persist/replay.py, persist/sqlite.py, persist/persister.py),
on pycrdt documents, a Room and a real SQLite file: no server, no browser, no kernel.

The shares around it (tests/test_store_faults.py) show the user's side: notes, links, what a yjs
client gets. Here each rule is checked on its own: a bad row is skipped and not fatal, the clock
range it held is filled (else yjs holds every later change of that client back), a checkpoint that
cannot be used falls back to every row, and a persister writes a burst of changes as one row.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from pycrdt import Doc, Map

from jupyterspot_magic.collab.codec import Reader
from jupyterspot_magic.collab.room import Room
from jupyterspot_magic.persist import persister as persister_module
from jupyterspot_magic.persist import sqlite as sqlite_module
from jupyterspot_magic.persist.replay import (
    BadRow,
    apply_checkpoint,
    apply_one,
    client_ranges,
    clock_ends,
    gc_fill,
    replay,
)
from jupyterspot_magic.persist.sqlite import Store, doc_name

from ..room_server import valid_shape

GARBAGE = b"\x07garbage"


def rows_of(doc: Doc, changes: list[dict[str, object]]) -> list[bytes]:
    """One stored row per change, as a persister writes them: each the update since the last."""
    shapes = doc.get("shapes", type=Map)
    rows = []
    for change in changes:
        before = doc.get_state()
        for key, value in change.items():
            shapes[key] = value
        rows.append(doc.get_update(before))
    return rows


def keys(doc: Doc) -> set[str]:
    return set(doc.get("shapes", type=Map).keys())


def state(doc: Doc) -> dict[int, int]:
    r = Reader(doc.get_state())
    return {r.var_uint(): r.var_uint() for _ in range(r.var_uint())}


# -- replay.py --


def test_a_lost_row_is_skipped_and_its_clock_range_filled() -> None:
    rows = rows_of(Doc(client_id=7), [{"a": 1}, {"b": 2}, {"c": 3}, {"d": 4}])
    rows[1] = GARBAGE
    doc = Doc()
    done = replay(doc, rows)
    assert (done.applied, done.skipped, done.filled) == (3, 1, 1)
    assert done.reasons[0].startswith("undecodable:")
    assert keys(doc) == {"a", "c", "d"}
    assert done.ends == state(doc) == {7: 4}
    # Why the fill: without it the rows after the hole stay pending (the document's clock for
    # that client stops at the hole), and a yjs client syncing from it waits for them forever.
    plain = Doc()
    for row in (rows[0], rows[2], rows[3]):
        plain.apply_update(row)
    assert state(plain) == {7: 1}


def test_a_row_the_schema_refuses_is_skipped_with_its_reason() -> None:
    board = rows_of(Doc(client_id=5), [{"s1": valid_shape()}, {"s2": valid_shape(x=5.0)}])
    junk = rows_of(Doc(client_id=9), [{"junk": 5}])[0]  # stored by an older version, say
    room = Room("board")
    done = replay(room, [board[0], junk, board[1]])
    assert (done.applied, done.skipped) == (2, 1)
    assert "a shape must be a map" in done.reasons[0]
    assert keys(room.doc) == {"s1", "s2"}
    with pytest.raises(BadRow):
        apply_one(room, junk)


def test_a_checkpoint_is_used_when_sound_and_reported_when_not() -> None:
    source = Doc(client_id=3)
    rows_of(source, [{"a": 1}, {"b": 2}])
    checkpoint = source.get_update()
    assert apply_checkpoint(Doc(), None) == ({}, None)
    doc = Doc()
    ends, bad = apply_checkpoint(doc, checkpoint)
    assert bad is None and ends == state(source) == clock_ends(checkpoint)
    assert keys(doc) == {"a", "b"}
    ends, bad = apply_checkpoint(Doc(), GARBAGE)
    assert ends == {} and isinstance(bad, BadRow)


def test_clock_ranges_and_the_gc_fill() -> None:
    with pytest.raises(ValueError):
        client_ranges(GARBAGE)
    assert clock_ends(GARBAGE) == {}
    assert client_ranges(gc_fill(5, 10, 3)) == {5: (10, 13)}
    doc = Doc()
    doc.apply_update(gc_fill(5, 0, 3))  # a lost range at the start of a client: integrated
    assert state(doc) == {5: 3}
    a, b = Doc(client_id=1), Doc(client_id=2)
    rows_of(a, [{"x": 1}])
    b.apply_update(a.get_update())
    rows_of(b, [{"y": 2}, {"z": 3}])
    assert client_ranges(b.get_update()) == {1: (0, 1), 2: (0, 2)}


# -- sqlite.py: the file --


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "boards.sqlite")
    yield s
    s.close()


def test_the_store_skips_an_unreadable_row_and_keeps_the_others(store: Store) -> None:
    path = doc_name("nb", 0)
    for row in rows_of(Doc(client_id=4), [{"a": 1}, {"b": 2}, {"c": 3}]):
        store.write(path, row)
    with sqlite3.connect(store.path) as con:
        (second,) = con.execute("SELECT rowid FROM yupdates ORDER BY timestamp").fetchall()[1]
        con.execute("UPDATE yupdates SET yupdate = ? WHERE rowid = ?", (GARBAGE, second))
    restored = Doc()
    restored.apply_update(store.load("nb", 0))
    assert keys(restored) == {"a", "c"}
    assert store.load("nb", 1) is None  # another generation: nothing stored


def test_a_damaged_checkpoint_falls_back_to_every_row(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_module, "CHECKPOINT_EVERY", 3)
    path = doc_name("nb", 0)
    rows = rows_of(Doc(client_id=4), [{f"s{i}": i} for i in range(5)])
    for row in rows:
        store.write(path, row)
    with sqlite3.connect(store.path) as con:
        assert con.execute("SELECT count(*) FROM ycheckpoints").fetchone()[0] == 1
    board = store.board("nb", 0)
    assert board.checkpoint is not None and len(board.rows) < len(rows)  # rows after it only
    restored = Doc()
    restored.apply_update(store.load("nb", 0))
    assert keys(restored) == {f"s{i}" for i in range(5)}
    with sqlite3.connect(store.path) as con:
        con.execute("UPDATE ycheckpoints SET checkpoint = ?", (GARBAGE,))
    restored = Doc()
    restored.apply_update(store.load("nb", 0))
    assert keys(restored) == {f"s{i}" for i in range(5)}


# -- persister.py: coalesced writes --


def test_a_burst_of_changes_is_one_write(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(persister_module, "FLUSH_INTERVAL", 60.0)  # only the flush below writes
    persister = store.persist("nb", 0)
    doc = Doc()
    persister.watch(doc)
    shapes = doc.get("shapes", type=Map)
    for i in range(50):
        shapes[f"s{i}"] = i
    assert persister.writes == 0
    assert persister.flush()
    assert persister.writes == 1
    with sqlite3.connect(store.path) as con:
        assert con.execute("SELECT count(*) FROM yupdates").fetchone()[0] == 1
    restored = Doc()
    restored.apply_update(store.load("nb", 0))
    assert keys(restored) == {f"s{i}" for i in range(50)}
    persister.unwatch()
    assert persister.close() is None
