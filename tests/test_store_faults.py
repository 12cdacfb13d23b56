"""Issue 11, rows 11 and 14: the store's faults are survived and told, never silent.

Each test shares a real notebook with the real `share()` API (loopback, no tunnel) on a real SQLite
store in tmp_path, draws schema-valid shapes on the board, damages the store the way the fault
would, shares again, and checks the note the user gets, the board on the server and the board an
honest y-websocket client (Node yjs) receives.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest
from pycrdt import Map

from jupyterspot_magic.session import registry as sharing

from .conftest import DEMO, wait_for
from .inside import inside


def shape(i: int) -> Map:
    return Map(
        {"t": "rect", "cell": "a", "ci": 0, "x": 1.0 + i, "y": 2.0, "w": 10.0, "h": 10.0,
         "c": "#e03131", "s": 4, "by": "Ana", "at": 1700000000000}
    )  # fmt: skip


@pytest.fixture
def notebook(tmp_path) -> Path:
    nb = tmp_path / "demo.ipynb"
    shutil.copy(DEMO, nb)
    return nb


@pytest.fixture(autouse=True)
def _stop_shares(in_process_server):
    """The store is damaged from the test: its server runs in this process."""
    yield
    sharing.stop()


def share(nb: Path, db: Path) -> sharing.Share:
    return sharing.share(nb, tunnel="none", store=db, watch=False)


def draw(s: sharing.Share, ids: range) -> None:
    """The kernel draws: one transaction (one stored update) per shape, on the server thread."""

    async def run() -> None:
        doc = inside(s).shared.board.doc
        shapes = doc.get("shapes", type=Map)
        for i in ids:
            with doc.transaction():
                shapes[f"s{i}"] = shape(i)

    s.host.server.call(run)


def server_shapes(s: sharing.Share) -> set[str]:
    async def keys() -> set[str]:
        return set(inside(s).shared.board.doc.get("shapes", type=Map).keys())

    return s.host.server.call(keys)


def client_shapes(s: sharing.Share, node_peers) -> set[str]:
    """What an honest yjs client gets from the server after syncing."""
    peer = node_peers(f"ws://127.0.0.1:{s.host.port}/ws/{s.room}", "board", s.token)
    peer.wait(lambda e: e["event"] == "synced")
    return set(peer.dump()["maps"]["shapes"])


def draw_in_rows(s: sharing.Share, batches: int, per: int) -> None:
    """`batches` stored rows of `per` shapes each (a flush after each batch)."""
    for b in range(batches):
        draw(s, range(b * per, (b + 1) * per))
        inside(s).keeper.flush()


def test_an_unreadable_row_is_skipped_and_every_other_row_restored(tmp_path, notebook, node_peers):
    db = tmp_path / "boards.sqlite"
    s = share(notebook, db)
    draw_in_rows(s, 10, 3)  # rows 1..10 hold s0-s2, s3-s5, ...
    links = (s.room, s.token, s.host_token)
    s.stop()
    with sqlite3.connect(db) as con:
        rowids = [r for (r,) in con.execute("SELECT rowid FROM yupdates ORDER BY timestamp")]
        assert len(rowids) == 10
        con.execute("UPDATE yupdates SET yupdate = ? WHERE rowid = ?", (b"\x07garbage", rowids[4]))

    s = share(notebook, db)
    lost = {"s12", "s13", "s14"}  # the fifth row
    expected = {f"s{i}" for i in range(30)} - lost
    assert (s.room, s.token, s.host_token) == links
    assert server_shapes(s) == expected
    note = next(n for n in s.notes if "unreadable" in n)
    assert "had 1 unreadable entry (skipped); 9 restored (27 shapes)" in note, s.notes
    kept = Path(re.search(r"kept at (\S+?)\.?$", note).group(1))
    with sqlite3.connect(kept) as con:  # the file as it was, bad row included, for the user
        assert con.execute("SELECT count(*) FROM yupdates").fetchone()[0] == 10
    # An honest client gets every restored shape: the lost row's clock range was filled, so yjs
    # does not hold the later rows back as "missing".
    assert client_shapes(s, node_peers) == expected
    s.stop()

    s = share(notebook, db)  # the bad row is gone from the store: no note the next time
    assert server_shapes(s) == expected
    assert not [n for n in s.notes if "unreadable" in n], s.notes


def _garbage_pages(db: Path, names: list[str]) -> None:
    """Overwrite the root pages of these indexes with garbage, in the file itself."""
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = con.execute("PRAGMA page_size").fetchone()[0]
        pages = [
            con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (n,)).fetchone()[0]
            for n in names
        ]
    con.close()
    with open(db, "r+b") as f:
        for page in pages:
            f.seek((page - 1) * size)
            f.write(bytes((7 * i + 13) % 256 for i in range(size)))


def test_a_damaged_index_keeps_the_links_and_the_board(tmp_path, notebook, node_peers):
    db = tmp_path / "boards.sqlite"
    s = share(notebook, db)
    draw_in_rows(s, 4, 10)
    links = (s.room, s.token, s.host_token)
    s.stop()
    _garbage_pages(db, ["idx_yupdates_path_timestamp", "sqlite_autoindex_jupyterspot_shares_1"])
    with sqlite3.connect(db) as con:  # really damaged: SQLite itself says so
        assert con.execute("PRAGMA quick_check").fetchone()[0] != "ok"

    s = share(notebook, db)
    assert (
        s.room,
        s.token,
        s.host_token,
    ) == links  # same room id and tokens: the same links work
    expected = {f"s{i}" for i in range(40)}
    assert server_shapes(s) == expected
    note = next(n for n in s.notes if "was damaged" in n)
    kept = Path(re.search(r"kept at (\S+?)\.?$", note).group(1))
    assert kept.exists() and kept.stat().st_mode & 0o077 == 0, note  # it holds the tokens
    assert client_shapes(s, node_peers) == expected
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_stop_on_a_full_disk_leaves_a_file_the_next_share_restores(
    tmp_path, notebook, node_peers
):
    db = tmp_path / "boards.sqlite"
    s = share(notebook, db)
    draw(s, range(20))
    keeper = inside(s).keeper
    keeper.flush()
    store = keeper.store

    # The disk fills up. Not a Python mock: SQLite's own page limit makes every further write
    # fail inside SQLite with the real SQLITE_FULL ("database or disk is full").
    async def fill_disk() -> None:
        async with store._lock:
            pages = store._db.execute("PRAGMA page_count").fetchone()[0]
            store._db.execute(f"PRAGMA max_page_count = {pages}")

    store.call(fill_disk)
    draw(s, range(20, 220))
    time.sleep(0.5)  # the regular flush has failed by now (and keeps the updates)
    s.stop()
    message = keeper.stop_message
    assert message is not None and message.startswith("200 drawings could not be stored: saved"), (
        message
    )
    saved = Path(re.search(r"saved to (\S+?);", message).group(1))
    assert saved.exists() and saved.parent == tmp_path

    s = share(notebook, db)
    assert server_shapes(s) == {f"s{i}" for i in range(220)}
    assert any("Restored the drawings" in n for n in s.notes), s.notes
    assert client_shapes(s, node_peers) == {f"s{i}" for i in range(220)}
    wait_for(lambda: not saved.exists(), 5, "the saved file removed once stored")
    s.stop()

    s = share(notebook, db)  # now from the store itself
    assert server_shapes(s) == {f"s{i}" for i in range(220)}
    assert not s.notes or not any("Restored" in n for n in s.notes)


def test_a_stored_row_the_schema_rejects_is_skipped_and_told(tmp_path, notebook, node_peers):
    """A board stored by an older version may hold what the schema now refuses (a plain int
    as a shape): that row is skipped and reported, every valid row around it comes back."""
    from pycrdt import Doc

    db = tmp_path / "boards.sqlite"
    s = share(notebook, db)
    draw_in_rows(s, 4, 5)
    doc_path = inside(s).keeper.persister.doc_path
    s.stop()
    old = Doc()
    with old.transaction():
        old.get("shapes", type=Map)["junk"] = 5
    with sqlite3.connect(db) as con:
        times = [t for (t,) in con.execute("SELECT timestamp FROM yupdates ORDER BY timestamp")]
        middle = (times[1] + times[2]) / 2
        con.execute(
            "INSERT INTO yupdates VALUES (?, ?, ?, ?)", (doc_path, old.get_update(), b"", middle)
        )

    s = share(notebook, db)
    expected = {f"s{i}" for i in range(20)}
    assert server_shapes(s) == expected
    assert any("1 unreadable entry (skipped); 4 restored (20 shapes)" in n for n in s.notes), (
        s.notes
    )
    assert client_shapes(s, node_peers) == expected


def test_pending_updates_go_to_the_temp_dir_when_the_store_folder_cannot_take_them(tmp_path):
    from pycrdt import Doc

    from jupyterspot_magic.persist.pending import pending_files, save_pending

    db = tmp_path / "gone" / "boards.sqlite"  # its folder is gone: writing beside it fails
    doc = Doc()
    doc.get("shapes", type=Map)["s1"] = shape(1)
    path = save_pending(db, "nb#0", doc.get_update())
    try:
        assert path.parent == Path(tempfile.gettempdir())
        assert pending_files(db, "nb#0") == [path]
        assert pending_files(db, "nb#1") == [] and pending_files(tmp_path / "b", "nb#0") == []
        assert path.stat().st_mode & 0o077 == 0
    finally:
        path.unlink()
