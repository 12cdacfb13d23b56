"""The store file: SQLite in pycrdt-store's schema, served by its own thread.

Rows are written with our own ``sqlite3`` connection in pycrdt-store's ``SQLiteYStore`` schema,
because pycrdt-store's writer logs and *discards* SQLite errors (a full disk lost drawings
silently). Every use of the connection runs on the store's thread (its own asyncio loop, so a
restart of the server loop cannot break it), one at a time. A damaged file is copied aside and
repaired (``REINDEX``, else its readable rows copied into a new file); ``notes`` tell the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..base.text import plural
from .pending import pending_files, stamp
from .persister import Persister
from .replay import apply_checkpoint, replay

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 100  # writes of one document between checkpoints (as pycrdt-store)
YSTORE_VERSION = 2  # pycrdt-store's SQLiteYStore.version: files stay readable by it

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jupyterspot_shares (
    key TEXT PRIMARY KEY NOT NULL,
    room TEXT NOT NULL,
    token TEXT NOT NULL,
    host_token TEXT NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL
)
"""
# An encrypted share's key, beside its record: a table of its own (not a new column) so the
# shares table stays as older versions write it, and a store stays usable by both.
_KEYS_SCHEMA = """
CREATE TABLE IF NOT EXISTS jupyterspot_share_keys (
    key TEXT PRIMARY KEY NOT NULL,
    share_key TEXT NOT NULL
)
"""
# pycrdt-store's SQLiteYStore tables, byte for byte, so either can read the other's files.
_YSTORE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS yupdates (path TEXT NOT NULL, yupdate BLOB, "
    "metadata BLOB, timestamp REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS idx_yupdates_path_timestamp ON yupdates (path, timestamp)",
    "CREATE TABLE IF NOT EXISTS ycheckpoints (path TEXT NOT NULL, checkpoint BLOB NOT NULL, "
    "timestamp REAL NOT NULL, PRIMARY KEY(path))",
)


class StoreError(Exception):
    """The store file cannot be used (unwritable place, not a database): one line."""


@dataclass
class ShareRecord:
    room: str
    token: str
    host_token: str
    generation: int = 0
    share_key: str | None = None  # an encrypted share's key (collab/seal.py key_text)


@dataclass
class StoredBoard:
    """A document as read from the file: its checkpoint, the rows after it, pending files."""

    doc_path: str
    checkpoint: bytes | None = None
    rows: list[bytes] = field(default_factory=list)
    pending: list[tuple[Path, bytes]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.checkpoint is None and not self.rows and not self.pending


class Store:
    """One store file, served by its own thread. Thread-safe entry points; blocking waits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():  # it holds the links' tokens: readable by its owner only
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as e:
            raise StoreError(f"Cannot create the store folder {path.parent}: {e}") from None
        self.notes: list[str] = []  # what a repair did, for the next share to tell
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.name = "jupyterspot-store"
        self._thread.start()
        self._persisters: set[Persister] = set()
        self._closed = False
        self._closing = False
        self._writes: dict[str, int] = {}  # per document, writes since its last checkpoint
        self._last_ts: dict[str, float] = {}
        try:
            self.call(self._open)
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            raise

    # -- the store thread --

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 30.0) -> Any:
        """Run `fn(*args)` on the store thread and wait for its result (from any other thread).

        `fn` may be a plain callable or a coroutine function (an awaitable result is awaited
        there), the convention of the share server's ServerThread.call.
        """

        async def run() -> Any:
            result = fn(*args)
            if inspect.isawaitable(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def call_later(self, delay: float, fn: Callable[[], Any]) -> None:
        """Schedule `fn()` on the store thread after `delay` s (from any thread)."""
        self._loop.call_soon_threadsafe(self._loop.call_later, delay, fn)

    @property
    def closed(self) -> bool:
        return self._closed

    async def _open(self) -> None:
        # Serializes every use of the connection: writes, reads, repairs.
        self._lock = asyncio.Lock()
        try:
            self._connect()
            problem = self._check()
            if problem is not None:
                self._repair(problem)
            self._ensure_schema()
        except sqlite3.Error as e:
            raise StoreError(f"Cannot use {self.path} as the board store: {e}") from None

    def _connect(self) -> None:
        self._db = sqlite3.connect(self.path, timeout=10)

    def _ensure_schema(self) -> None:
        db = self._db
        if db.execute("PRAGMA page_count").fetchone()[0] == 0:
            db.execute("PRAGMA auto_vacuum = FULL")  # as pycrdt-store: the file shrinks again
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(_SCHEMA)
        db.execute(_KEYS_SCHEMA)
        new = not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'yupdates'").fetchone()
        for sql in _YSTORE_SCHEMA:
            db.execute(sql)
        if new:
            db.execute(f"PRAGMA user_version = {YSTORE_VERSION}")
        db.commit()

    def _check(self) -> str | None:
        """None when the file is sound, else what SQLite says is wrong (one line)."""
        try:
            rows = self._db.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as e:
            return str(e)
        if rows == [("ok",)]:
            return None
        lines = [ln for r in rows for ln in str(r[0]).splitlines() if not ln.startswith("***")]
        return lines[0] if lines else "damaged"

    def _keep_copy(self) -> Path:
        """Copy the file as it is (with its WAL) beside it, for the user, before repairing."""
        dest = self.path.with_name(f"{self.path.name}.damaged-{stamp()}")
        for suffix in ("", "-wal"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                shutil.copyfile(src, f"{dest}{suffix}")
                os.chmod(f"{dest}{suffix}", 0o600)  # it holds the links' tokens
        return dest

    def _repair(self, problem: str) -> None:
        """A damaged file: keep a copy, rebuild its indexes, else copy what is readable."""
        log.warning("the board store %s is damaged (%s); repairing", self.path, problem)
        try:
            kept: str = f"The damaged file is kept at {self._keep_copy()}."
        except OSError as e:
            kept = f"A copy of the damaged file could not be kept ({e.strerror or e})."
        with contextlib.suppress(sqlite3.DatabaseError):
            self._db.execute("REINDEX")
            self._db.commit()
        if self._check() is None:
            self.notes.append(
                f"The board store {self.path} was damaged ({problem}); its index was rebuilt "
                f"and nothing was lost. {kept}"
            )
            return
        if kept.startswith("A copy"):  # never replace the only copy of what is readable
            self.notes.append(f"The board store {self.path} is damaged ({problem}). {kept}")
            return
        copied, lost = self._salvage()
        lost_text = f"{plural(lost, 'entry')} could not be read" if lost else "none was lost"
        self.notes.append(
            f"The board store {self.path} was damaged ({problem}): its {copied} readable "
            f"entries were copied into a new file ({lost_text}). {kept}"
        )

    def _salvage(self) -> tuple[int, int]:
        """Copy every readable row into a new file that then replaces the damaged one."""
        tmp = self.path.with_name(f"{self.path.name}.rebuild-{stamp()}")
        dst = sqlite3.connect(tmp)
        copied = lost = 0
        try:
            schema = self._db.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                "AND name NOT LIKE 'sqlite_%'"
            ).fetchall()
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError:
            schema, version = [], YSTORE_VERSION  # nothing readable: a new store
        dst.execute("PRAGMA auto_vacuum = FULL")
        for kind, name, sql in sorted(schema, key=lambda r: r[0] != "table"):
            dst.execute(sql)
            if kind == "table":
                c, lst = self._copy_rows(name, dst)
                copied, lost = copied + c, lost + lst
        dst.execute(f"PRAGMA user_version = {int(version)}")
        dst.commit()
        dst.close()
        self._db.close()
        os.replace(tmp, self.path)
        for suffix in ("-wal", "-shm"):  # the old file's journal must not meet the new file
            with contextlib.suppress(OSError):
                os.unlink(f"{self.path}{suffix}")
        self._connect()
        return copied, lost

    def _copy_rows(self, table: str, dst: sqlite3.Connection) -> tuple[int, int]:
        """Rows of one table in rowid order, stepping over what cannot be read."""
        copied = errors = 0
        last = -(1 << 63)
        while errors < 1000:
            try:
                cur = self._db.execute(
                    f'SELECT rowid, * FROM "{table}" NOT INDEXED WHERE rowid > ? ORDER BY rowid',
                    (last,),
                )
                for row in cur:
                    last = row[0]
                    marks = ", ".join("?" * (len(row) - 1))
                    dst.execute(f'INSERT OR IGNORE INTO "{table}" VALUES ({marks})', row[1:])
                    copied += 1
                return copied, errors
            except sqlite3.DatabaseError:
                errors += 1
                last += 1
        return copied, errors

    async def append(self, doc_path: str, update: bytes) -> None:
        """On the store thread: store one update (raises what SQLite raised)."""
        async with self._lock:
            self._insert(doc_path, update)

    def _insert(self, doc_path: str, update: bytes) -> None:
        """One row in one transaction; an error (disk full) raises and nothing is half-written."""
        now = self._next_timestamp(doc_path)
        with self._db:
            if self._writes.get(doc_path, 0) + 1 >= CHECKPOINT_EVERY:
                self._checkpoint(doc_path, now)
            self._db.execute(
                "INSERT INTO yupdates VALUES (?, ?, ?, ?)", (doc_path, update, b"", now)
            )
        self._writes[doc_path] = self._writes.get(doc_path, 0) + 1
        self._last_ts[doc_path] = now

    def _next_timestamp(self, doc_path: str) -> float:
        """Rows are replayed by timestamp: never go back, even if the clock does."""
        last = self._last_ts.get(doc_path)
        if last is None:
            row = self._db.execute(
                "SELECT max(timestamp) FROM yupdates WHERE path = ?", (doc_path,)
            ).fetchone()
            last = row[0] if row and row[0] is not None else 0.0
        return max(time.time(), last + 1e-6)

    def _checkpoint(self, doc_path: str, now: float) -> None:
        """The whole document in one row, so loading it later replays ~100 rows, not all."""
        from pycrdt import Doc

        board = self._board(doc_path)
        doc = Doc()
        ends, bad = apply_checkpoint(doc, board.checkpoint)
        replay(doc, board.rows if bad is None else self._rows(doc_path, None), ends)
        self._db.execute(
            "INSERT OR REPLACE INTO ycheckpoints VALUES (?, ?, ?)",
            (doc_path, doc.get_update(), now),
        )
        self._writes[doc_path] = 0

    def _rows(self, doc_path: str, since: float | None) -> list[bytes]:
        """The document's rows in order (since the checkpoint's time, or all of them)."""
        query = (
            "SELECT yupdate FROM yupdates{} WHERE path = ? AND timestamp >= ? ORDER BY timestamp"
        )
        args = (doc_path, -1.0 if since is None else since)
        try:
            rows = self._db.execute(query.format(""), args).fetchall()
            indexed_ok = self._count(doc_path, True) == self._count(doc_path, False)
        except sqlite3.DatabaseError:
            indexed_ok = False
        if not indexed_ok:  # the index lies or breaks: read the table itself, then fix the file
            self._repair("the index of the stored boards does not match them")
            rows = self._db.execute(query.format(" NOT INDEXED"), args).fetchall()
        return [bytes(r[0]) if r[0] is not None else b"" for r in rows]

    def _count(self, doc_path: str, indexed: bool) -> int:
        hint = "" if indexed else " NOT INDEXED"
        sql = f"SELECT count(*) FROM yupdates{hint} WHERE path = ?"
        return self._db.execute(sql, (doc_path,)).fetchone()[0]

    def _board(self, doc_path: str) -> StoredBoard:
        board = StoredBoard(doc_path)
        try:
            row = self._db.execute(
                "SELECT checkpoint, timestamp FROM ycheckpoints WHERE path = ?", (doc_path,)
            ).fetchone()
        except sqlite3.DatabaseError:
            row = None  # a checkpoint is only a shortcut: replay every row instead
        if row is not None:
            board.checkpoint = bytes(row[0])
        board.rows = self._rows(doc_path, row[1] if row is not None else None)
        return board

    # -- records (room, tokens, generation) --

    def record(self, key: str) -> ShareRecord | None:
        sql = (
            "SELECT room, token, host_token, generation, (SELECT share_key FROM "
            "jupyterspot_share_keys k WHERE k.key = s.key) FROM jupyterspot_shares s{} "
            "WHERE s.key = ?"
        )

        async def get():
            async with self._lock:
                try:
                    row = self._db.execute(sql.format(""), (key,)).fetchone()
                except sqlite3.DatabaseError:
                    row = None
                if row is None:  # new links only if the table itself has no record either
                    row = self._db.execute(sql.format(" NOT INDEXED"), (key,)).fetchone()
                    if row is not None:
                        self._repair("the index of the share records does not match them")
            return ShareRecord(*row) if row else None

        return self.call(get)

    def save_record(self, key: str, record: ShareRecord) -> None:
        async def put():
            async with self._lock:
                with self._db:
                    self._db.execute(
                        "INSERT OR REPLACE INTO jupyterspot_shares VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            key,
                            record.room,
                            record.token,
                            record.host_token,
                            record.generation,
                            time.time(),
                        ),
                    )
                    self._db.execute("DELETE FROM jupyterspot_share_keys WHERE key = ?", (key,))
                    if record.share_key is not None:
                        self._db.execute(
                            "INSERT INTO jupyterspot_share_keys VALUES (?, ?)",
                            (key, record.share_key),
                        )

        self.call(put)

    def take_notes(self) -> list[str]:
        notes, self.notes = self.notes, []
        return notes

    # -- boards --

    def board(self, key: str, generation: int) -> StoredBoard:
        """The stored document (checkpoint and rows after it) and its pending files."""
        path = doc_name(key, generation)

        async def get() -> StoredBoard:
            async with self._lock:
                return self._board(path)

        board = self.call(get)
        for file in pending_files(self.path, path):
            with contextlib.suppress(OSError):
                board.pending.append((file, file.read_bytes()))
        return board

    def rows(self, doc_path: str) -> list[bytes]:
        """Every row of a document from the start (its checkpoint could not be used)."""

        async def get() -> list[bytes]:
            async with self._lock:
                return self._rows(doc_path, None)

        return self.call(get)

    def load(self, key: str, generation: int) -> bytes | None:
        """The stored board as one update (None when nothing was stored); bad rows skipped."""
        from pycrdt import Doc

        board = self.board(key, generation)
        if board.empty:
            return None
        doc = Doc()
        ends, bad = apply_checkpoint(doc, board.checkpoint)
        rows = board.rows if bad is None else self.rows(board.doc_path)
        replay(doc, rows + [u for _, u in board.pending], ends)
        return doc.get_update()

    def write(self, doc_path: str, update: bytes) -> None:
        """Store one update now and wait (raises what SQLite raised)."""
        self.call(self.append, doc_path, update)

    def compact(self, doc_path: str, update: bytes) -> Path | None:
        """Replace a document's rows by one (the board as restored), after copying the file aside.

        Bad rows must not stay: the next checkpoint would trip on them, and the next restore
        would report them again. Returns where the copy is (None if it could not be made).
        """

        async def run() -> Path | None:
            async with self._lock:
                try:
                    kept: Path | None = self._keep_copy()
                except OSError as e:
                    log.warning("could not copy %s aside: %s", self.path, e)
                    return None  # leave the rows: they are the only copy of what was skipped
                with self._db:
                    self._db.execute("DELETE FROM yupdates WHERE path = ?", (doc_path,))
                    self._db.execute("DELETE FROM ycheckpoints WHERE path = ?", (doc_path,))
                self._writes[doc_path] = 0
                self._insert(doc_path, update)
                return kept

        return self.call(run)

    def history(self, key: str) -> list[int]:
        """Generations of this notebook's board that hold something (oldest first)."""

        async def get():
            async with self._lock:
                rows = self._db.execute(
                    "SELECT DISTINCT path FROM yupdates WHERE path LIKE ?", (f"{key}#%",)
                ).fetchall()
            return sorted(int(p.rsplit("#", 1)[1]) for (p,) in rows)

        return self.call(get)

    def persist(self, key: str, generation: int) -> Persister:
        persister = Persister(self, doc_name(key, generation))
        self._persisters.add(persister)
        return persister

    def release(self, persister: Persister) -> None:
        """A persister is done; the store closes when it was the last one."""
        self._persisters.discard(persister)
        if not self._persisters:  # idle: no thread or connection left behind
            self.close()

    def close(self) -> None:
        if self._closed or self._closing:
            return
        self._closing = True  # persisters still write their last updates (not `_closed` yet)
        for persister in list(self._persisters):
            persister.close()
        self._closed = True

        async def shut():
            async with self._lock:
                self._db.close()

        with contextlib.suppress(Exception):
            self.call(shut, timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)


def doc_name(key: str, generation: int) -> str:
    """The document of a notebook's board in one generation (``clear`` starts a new one)."""
    return f"{key}#{generation}"
