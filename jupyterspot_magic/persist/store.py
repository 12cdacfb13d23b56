"""Persistence: every board is stored as it changes, so nothing drawn is lost.

One SQLite file (``boards.sqlite`` in ``platformdirs.user_data_dir("jupyterspot-magic")``, or
``$JUPYTERSPOT_DATA_DIR``, or ``--store PATH``) holds:

- the boards' Yjs updates, in pycrdt-store's ``SQLiteYStore`` schema (tables ``yupdates`` and
  ``ycheckpoints``; a checkpoint every 100 writes keeps loading fast), one document per
  ``"<notebook key>#<generation>"``;
- a ``jupyterspot_shares`` table: per notebook key, the room id, both tokens and the current
  generation, so sharing the same notebook again gives the same links, and ``clear`` / ``--fresh``
  start a new generation while the old board stays in the file (history).

The notebook key is its absolute path (Colab: ``colab:<notebook name>``).

Writing never blocks the share server: the server thread only appends each update the board
integrated to a list; a dedicated store thread (its own asyncio loop, so a restart of the server
loop cannot break it) merges what came in every ``FLUSH_INTERVAL`` (200 ms) into one update and
writes it in one transaction (SQLite in WAL mode). ``stop()`` and interpreter exit flush.
A crash loses at most the last flush window (~200 ms of drawing).

Faults (issue 11): rows are written with our own ``sqlite3`` connection in that schema, because
pycrdt-store's writer logs and *discards* SQLite errors (a full disk lost drawings silently).
The board is restored row by row: an unreadable row, or one the board schema rejects, is skipped
and counted, the hole it leaves in its client's clock range is filled with a GC struct (else yjs
clients would hold every later change of that client back as "missing"), and the user is told. A
damaged file is copied aside, repaired (``REINDEX``, else its readable rows copied into a new file)
and the user is told. A stop that cannot write leaves the pending updates in a ``.yupdate`` file
beside the store (or in the temp dir) that the next share of the notebook applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..base.text import one_line, plural
from ..collab.codec import SchemaError, decode_update, write_var_uint

log = logging.getLogger(__name__)

DATA_ENV = "JUPYTERSPOT_DATA_DIR"
DB_NAME = "boards.sqlite"
FLUSH_INTERVAL = 0.2  # s: the most a crash can lose
FLUSH_BYTES = 1 << 20  # flush at once when this much is waiting
RETRY_AFTER = 1.0  # s: a failed write (disk full, locked file) is tried again
CLOSE_RETRIES = (0.2, 0.5)  # s: a last write that fails is tried again after these pauses
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


def default_path() -> Path:
    base = os.environ.get(DATA_ENV)
    if not base:
        import platformdirs

        base = platformdirs.user_data_dir("jupyterspot-magic")
    return Path(base) / DB_NAME


def resolve_path(store: str | os.PathLike | None) -> Path:
    """``--store PATH``: a database file, or a directory to keep ``boards.sqlite`` in."""
    if store is None or str(store) == "":
        return default_path()
    path = Path(os.path.expanduser(os.fspath(store)))
    if path.is_dir() or str(store).endswith(("/", os.sep)):
        path = path / DB_NAME
    return path.resolve()


def notebook_key(path: Path | None, contents: dict | None) -> str:
    """What identifies a notebook across kernels: its absolute path; in Colab, its name."""
    if path is not None:
        return str(Path(path).resolve())
    meta = (contents or {}).get("metadata") or {}
    colab = meta.get("colab") if isinstance(meta, dict) else None
    name = colab.get("name") if isinstance(colab, dict) else None
    return f"colab:{os.environ.get('COLAB_NOTEBOOK_ID') or name or 'notebook'}"


def _stamp() -> str:
    """A file-name timestamp that sorts in time order."""
    t = time.time()
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(t)) + f"-{int(t * 1000) % 1000:03d}"



# -- reading stored Yjs updates defensively --


class BadRow(Exception):
    """One stored update that cannot be applied (undecodable, or rejected by the board schema)."""


def client_ranges(update: bytes) -> dict[int, tuple[int, int]]:
    """Per client, the clock range [first, end) of its structs in a Yjs v1 update.

    ValueError when the bytes are not a well-formed update (what yrs would refuse too). The
    walk is the board schema's decoder (jupyterspot_magic/schema.py), in its permissive mode.
    """
    try:
        decoded = decode_update(update, max_structs=1 << 62, permissive=True)
    except SchemaError as e:
        raise ValueError(str(e)) from None
    ranges: dict[int, tuple[int, int]] = {}
    for s in decoded.structs:
        start, end = ranges.get(s.client, (s.clock, s.clock + s.length))
        ranges[s.client] = (min(start, s.clock), max(end, s.clock + s.length))
    return ranges


def _ends(update: bytes) -> dict[int, int]:
    """Per client, the clock an update reaches ({} if it cannot be walked)."""
    try:
        return {client: end for client, (_, end) in client_ranges(update).items()}
    except ValueError:
        return {}


def gc_fill(client: int, start: int, length: int) -> bytes:
    """An update holding one GC struct: what a lost row's clock range becomes (gone for good)."""
    w = write_var_uint  # one section, one struct: GC (info 0) of `length`; no deletions
    return b"\x01\x01" + w(client) + w(start) + b"\x00" + w(length) + b"\x00"



def apply_one(target: Any, update: bytes) -> None:
    """Apply one stored update to a Room (through its board schema when it has one) or a Doc.

    Raises BadRow for anything pycrdt or the schema refuses. yrs panics surface as pyo3's
    PanicException, a BaseException: caught too, but a Ctrl-C still stops us.
    """
    apply = getattr(target, "apply_stored", None)
    if apply is None:
        apply = getattr(target, "doc", target).apply_update
    try:
        apply(update)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:
        raise BadRow(one_line(e, kind=True)) from None


@dataclass
class Replay:
    """What restoring a run of rows did."""

    applied: int = 0
    skipped: int = 0
    filled: int = 0  # lost clock ranges replaced by GC structs
    reasons: list[str] = field(default_factory=list)
    ends: dict[int, int] = field(default_factory=dict)  # per client, the clock reached


def replay(target: Any, rows: Iterable[bytes], ends: dict[int, int] | None = None) -> Replay:
    """Apply rows in order, each on its own: a bad row is skipped, every other row is kept."""
    doc = getattr(target, "doc", target)
    out = Replay(ends=dict(ends or {}))
    for row in rows:
        try:
            ranges = client_ranges(row)
        except ValueError as e:
            out.skipped += 1
            out.reasons.append(f"undecodable: {e}")
            continue
        for client, (start, _) in ranges.items():
            have = out.ends.get(client, 0)
            if start > have:  # a skipped row held [have, start): yjs would wait for it forever
                with contextlib.suppress(Exception):
                    doc.apply_update(gc_fill(client, have, start - have))
                    out.ends[client] = start
                    out.filled += 1
        try:
            apply_one(target, row)
        except BadRow as e:
            out.skipped += 1
            out.reasons.append(str(e))
            continue
        out.applied += 1
        for client, (_, end) in ranges.items():
            out.ends[client] = max(out.ends.get(client, 0), end)
    return out


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


def _pending_tag(db: Path, doc_path: str) -> str:
    digest = hashlib.sha256(f"{db}\n{doc_path}".encode()).hexdigest()[:16]
    return f"{db.name}.pending-{digest}-"


def _pending_dirs(db: Path) -> list[Path]:
    """Beside the store first; the temp dir when that disk is the full one."""
    return [db.parent, Path(tempfile.gettempdir())]


def pending_files(db: Path, doc_path: str) -> list[Path]:
    """Recoverable files a failed stop left for this document, oldest first."""
    tag = _pending_tag(db, doc_path)
    found: set[Path] = set()
    for d in _pending_dirs(db):
        with contextlib.suppress(OSError):
            found.update(d.glob(f"{tag}*.yupdate"))
    return sorted(found, key=lambda p: p.name)


def save_pending(db: Path, doc_path: str, update: bytes) -> Path:
    """Write updates that could not be stored to a file the next share applies (OSError: none)."""
    name = f"{_pending_tag(db, doc_path)}{_stamp()}.yupdate"
    errors = []
    for d in _pending_dirs(db):
        path = d / name
        tmp = path.with_name(path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(update)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            return path
        except OSError as e:
            errors.append(f"{d}: {e.strerror or e}")
            with contextlib.suppress(OSError):
                tmp.unlink()
    raise OSError("; ".join(errors))


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
            self._call(self._open)
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            raise

    # -- the store thread --

    def _call(self, fn: Callable[[], Coroutine[Any, Any, Any]], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(fn(), self._loop).result(timeout)

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
        dest = self.path.with_name(f"{self.path.name}.damaged-{_stamp()}")
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
        tmp = self.path.with_name(f"{self.path.name}.rebuild-{_stamp()}")
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

    async def _write(self, doc_path: str, update: bytes) -> None:
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
        ends: dict[int, int] = {}
        if board.checkpoint is not None:
            try:
                apply_one(doc, board.checkpoint)
                ends = _ends(board.checkpoint)
            except BadRow:
                board.rows = self._rows(doc_path, None)
        replay(doc, board.rows, ends)
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
        sql = "SELECT room, token, host_token, generation FROM jupyterspot_shares{} WHERE key = ?"

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

        return self._call(get)

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

        self._call(put)

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

        board = self._call(get)
        for file in pending_files(self.path, path):
            with contextlib.suppress(OSError):
                board.pending.append((file, file.read_bytes()))
        return board

    def rows(self, doc_path: str) -> list[bytes]:
        """Every row of a document from the start (its checkpoint could not be used)."""

        async def get() -> list[bytes]:
            async with self._lock:
                return self._rows(doc_path, None)

        return self._call(get)

    def load(self, key: str, generation: int) -> bytes | None:
        """The stored board as one update (None when nothing was stored); bad rows skipped."""
        from pycrdt import Doc

        board = self.board(key, generation)
        if board.empty:
            return None
        doc = Doc()
        ends: dict[int, int] = {}
        rows = board.rows
        if board.checkpoint is not None:
            try:
                apply_one(doc, board.checkpoint)
                ends = _ends(board.checkpoint)
            except BadRow:
                rows = self.rows(board.doc_path)
        replay(doc, rows + [u for _, u in board.pending], ends)
        return doc.get_update()

    def write(self, doc_path: str, update: bytes) -> None:
        """Store one update now and wait (raises what SQLite raised)."""
        self._call(lambda: self._write(doc_path, update))

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

        return self._call(run)

    def history(self, key: str) -> list[int]:
        """Generations of this notebook's board that hold something (oldest first)."""

        async def get():
            async with self._lock:
                rows = self._db.execute(
                    "SELECT DISTINCT path FROM yupdates WHERE path LIKE ?", (f"{key}#%",)
                ).fetchall()
            return sorted(int(p.rsplit("#", 1)[1]) for (p,) in rows)

        return self._call(get)

    def persist(self, key: str, generation: int) -> Persister:
        persister = Persister(self, doc_name(key, generation))
        self._persisters.add(persister)
        return persister

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
            self._call(shut, timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)


def doc_name(key: str, generation: int) -> str:
    return f"{key}#{generation}"


class Persister:
    """Batches one document's updates and writes them on the store thread.

    `on_update` is the only part that runs on the share server's thread: a list append.
    """

    def __init__(self, store: Store, doc_path: str) -> None:
        self.store = store
        self.doc_path = doc_path
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._pending_count = 0  # changes waiting (a merged retry still counts its parts)
        self._lock = threading.Lock()
        self._scheduled = False
        self._subscription: Any = None
        self._doc: Any = None
        self._files: list[Path] = []  # pending files to remove once their content is stored
        self.writes = 0
        self.closed = False
        self.error: str | None = None  # what close() could not store, and where it went

    def watch(self, doc: Any) -> None:
        """Store every change of `doc` from now on (call on the thread that owns the doc)."""
        self._doc = doc
        self._subscription = doc.observe(lambda event: self.on_update(event.update))

    def unwatch(self) -> None:
        if self._doc is not None and self._subscription is not None:
            with contextlib.suppress(Exception):
                self._doc.unobserve(self._subscription)
        self._subscription = None

    def remove_when_stored(self, files: list[Path]) -> None:
        """These files' updates are queued: delete them after the next successful write."""
        self._files.extend(files)

    def on_update(self, update: bytes, count: int = 1) -> None:
        if self.closed or update == b"\x00\x00":
            return
        with self._lock:
            self._pending.append(update)
            self._pending_bytes += len(update)
            self._pending_count += count
            urgent = self._pending_bytes >= FLUSH_BYTES
            if self._scheduled and not urgent:
                return
            self._scheduled = True
        delay = 0.0 if urgent else FLUSH_INTERVAL
        loop = self.store._loop
        loop.call_soon_threadsafe(lambda: loop.call_later(delay, self._kick))

    def _kick(self) -> None:
        asyncio.get_running_loop().create_task(self._flush())

    def _take(self) -> tuple[bytes, int] | None:
        from pycrdt import merge_updates

        with self._lock:
            pending, self._pending, self._pending_bytes = self._pending, [], 0
            count, self._pending_count = self._pending_count, 0
            self._scheduled = False
        if not pending:
            return None
        return (pending[0] if len(pending) == 1 else merge_updates(*pending)), count

    async def _flush(self, retry: bool = True) -> bool:
        """Write what waits; False when the write failed (it is kept, first in line)."""
        taken = self._take()
        if taken is not None:
            try:
                await self.store._write(self.doc_path, taken[0])
                self.writes += 1
            except Exception as e:
                # Keep it: later updates build on this one, so dropping it would make them
                # unrestorable too. Put it back first in line and try again shortly.
                log.warning("could not store the board (%s): %s; retrying", self.doc_path, e)
                self._put_back(*taken, retry=retry)
                return False
        if self._files and not self._pending:
            for file in self._files:
                with contextlib.suppress(OSError):
                    file.unlink()
            self._files = []
        return True

    def _put_back(self, update: bytes, count: int, retry: bool = True) -> None:
        with self._lock:
            self._pending.insert(0, update)
            self._pending_bytes += len(update)
            self._pending_count += count
            retry = retry and not self._scheduled and not self.closed
            self._scheduled = self._scheduled or retry
        if retry:
            asyncio.get_running_loop().call_later(RETRY_AFTER, self._kick)

    def flush(self) -> bool:
        """Write what is waiting now and wait for it (any thread but the store's)."""
        if self.store._closed:
            return not self._pending
        try:
            return bool(self.store._call(lambda: self._flush(retry=False)))
        except Exception:
            return False

    def close(self) -> str | None:
        """Write what is left; later updates are ignored (`unwatch` on the doc's thread).

        Returns None when everything is stored, else one line for the user: what could not be
        written and the file it was saved to instead (the next share applies it).
        """
        if self.closed:
            return self.error
        ok = self.flush()
        for pause in CLOSE_RETRIES if not ok else ():
            time.sleep(pause)  # a full disk or a locked file may clear in a moment
            if ok := self.flush():
                break
        self.closed = True
        if not ok:
            self.error = self._save_rest()
            log.warning(self.error)
        self.store._persisters.discard(self)
        if not self.store._persisters:  # idle: no thread or connection left behind
            self.store.close()
        return self.error

    def _save_rest(self) -> str:
        taken = self._take()
        if taken is None:
            return "The board could not be stored, but nothing was waiting to be written."
        update, count = taken
        what = plural(count, "drawing")
        try:
            path = save_pending(self.store.path, self.doc_path, update)
        except OSError as e:
            return f"{what} could not be stored and could not be saved to a file either ({e})."
        return (
            f"{what} could not be stored: saved to {path}; they are restored next time you "
            "share this notebook."
        )


_stores: dict[Path, Store] = {}
_stores_lock = threading.Lock()


def open_store(path: Path) -> Store:
    """The process-wide Store for a file (opened once)."""
    with _stores_lock:
        store = _stores.get(path)
        if store is None or store._closed:
            store = _stores[path] = Store(path)
        return store


def close_all() -> None:
    with _stores_lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        store.close()


def delete_all_shapes(doc: Any) -> int:
    """Empty a board document (kernel origin); returns how many shapes were removed. Server
    thread. Public: Share.clear uses it when the board is not stored."""
    from pycrdt import Map

    shapes = doc.get("shapes", type=Map)
    keys = list(shapes.keys())
    with doc.transaction(origin="kernel"):
        for k in keys:
            del shapes[k]
    return len(keys)


last_error: str | None = None  # why the last BoardKeeper.open could not use its store


class BoardKeeper:
    """One share's persistence: its record (room, tokens, generation) and its board document.

    Kernel thread: `open`, `identity`, `load`, `save`, `clear`, `close`; `attach` runs on the share
    server's thread (the board document's owner) before the room is registered, so the stored
    board is in place before anyone can connect. `notes` are lines for the user (what a repair or
    a restore had to do); `stop_message` says what the last stop could not store.
    """

    def __init__(self, store: Store, key: str, fresh: bool) -> None:
        self.store = store
        self.key = key
        self.notes: list[str] = store.take_notes()
        self.record = store.record(key)
        self.notes += store.take_notes()
        self.generation = self.record.generation if self.record else 0
        board = store.board(key, self.generation) if self.record else None
        self._board = board if board is not None and not board.empty else None
        self._fresh = fresh and self._board is not None
        if self._fresh:
            self._store_pending(self._board)  # the old generation keeps its late drawings
            self.generation += 1  # the old board stays in the file, under its generation
        self.notes += store.take_notes()
        self.persister: Persister | None = None
        self.stop_message: str | None = None

    @classmethod
    def open(cls, store: str | os.PathLike | bool | None, key: str, fresh: bool):
        """None when persistence is off (`store=False`)."""
        global last_error
        last_error = None
        if store is False or (isinstance(store, str) and store.lower() in ("none", "off")):
            return None
        try:
            return cls(open_store(resolve_path(None if store is True else store)), key, fresh)
        except (StoreError, sqlite3.Error, OSError) as e:  # share anyway, say the board is not kept
            last_error = f"The board is not stored: {e}"
            log.warning(last_error)
            return None

    def identity(self) -> ShareRecord | None:
        """The room and tokens this notebook was shared with before (same links), or None."""
        return self.record

    def _store_pending(self, board: StoredBoard) -> None:
        for file, update in board.pending:
            try:
                self.store.write(board.doc_path, update)
                file.unlink()
            except (sqlite3.Error, OSError) as e:
                self.notes.append(f"Drawings saved in {file} could not be stored yet: {e}")
        board.pending = []

    async def attach(self, shared: Any) -> int:
        """Server thread: restore the board into the room's document, then store its changes."""
        room = shared.board
        doc = room.doc
        board, self._board = self._board, None
        pending: list[tuple[Path, bytes]] = []
        if board is not None:
            before = room.doc_bytes
            pending = board.pending
            self._restore(room, board)
            # What the room holds now, counted once (apply_stored may count rows itself).
            room.doc_bytes = before + len(doc.get_update())
        if self._fresh:
            delete_all_shapes(doc)  # pages still holding the old board get the deletions too
        self.persister = self.store.persist(self.key, self.generation)
        self.persister.watch(doc)
        if pending:  # stored again now; their files go once that write succeeded
            from pycrdt import merge_updates

            self.persister.remove_when_stored([f for f, _ in pending])
            self.persister.on_update(merge_updates(*[u for _, u in pending]))
        if self._fresh:
            self.persister.on_update(doc.get_update())
        from pycrdt import Map

        return len(doc.get("shapes", type=Map))

    def _restore(self, room: Any, board: StoredBoard) -> None:
        """Row by row: the checkpoint when sound, rows after it, then a failed stop's files."""
        rows, ends, bad_checkpoint = board.rows, {}, False
        if board.checkpoint is not None:
            try:
                apply_one(room, board.checkpoint)
                ends = _ends(board.checkpoint)
            except BadRow as e:
                log.warning("stored checkpoint of %s unusable (%s)", board.doc_path, e)
                bad_checkpoint, rows = True, self.store.rows(board.doc_path)
        done = replay(room, rows, ends)
        late = replay(room, [u for _, u in board.pending], done.ends)
        if done.skipped or late.skipped or bad_checkpoint or done.filled:
            self._report_repair(room, board, done, late, bad_checkpoint)
        if board.pending:
            files = ", ".join(str(f) for f, _ in board.pending)
            self.notes.append(
                "Restored the drawings that could not be stored when this notebook's share last "
                f"stopped (from {files})."
            )

    def _report_repair(
        self, room: Any, board: StoredBoard, done: Replay, late: Replay, bad_checkpoint: bool
    ) -> None:
        from pycrdt import Map

        skipped = done.skipped + late.skipped
        log.warning("restoring %s: skipped %d rows: %s", board.doc_path, skipped, done.reasons)
        kept = self.store.compact(board.doc_path, room.doc.get_update())
        shapes = len(room.doc.get("shapes", type=Map))
        text = (
            f"The stored board had {plural(skipped, 'unreadable entry')} (skipped); "
            f"{done.applied + late.applied} restored ({plural(shapes, 'shape')})."
        )
        if bad_checkpoint:
            text += " Its checkpoint was unreadable: the board was rebuilt from every entry."
        if kept is not None:
            text += f" The file as it was is kept at {kept}."
        self.notes.append(text)

    def save(self, shared: Any) -> None:
        self.record = ShareRecord(shared.room, shared.token, shared.host_token, self.generation)
        self.store.save_record(self.key, self.record)

    def clear(self, server: Any, shared: Any) -> int:
        """Empty the board for everyone; the old one stays in the store's history."""
        old = self.persister
        self.generation += 1
        new = self.store.persist(self.key, self.generation)

        async def swap() -> int:
            doc = shared.board.doc
            if old is not None:
                old.unwatch()
            n = delete_all_shapes(doc)
            new.watch(doc)
            new.on_update(doc.get_update())
            return n

        count = server.call(swap)
        self.persister = new
        if old is not None:
            old.close()
        self.save(shared)
        return count

    def flush(self) -> None:
        if self.persister is not None:
            self.persister.flush()

    def close(self, server: Any) -> str | None:
        """Stop storing (after a last write). Safe when the server already stopped.

        Returns (and keeps in `stop_message`) what could not be stored and where it went.
        """
        persister = self.persister
        if persister is None:
            return self.stop_message

        async def unwatch() -> None:
            persister.unwatch()

        with contextlib.suppress(Exception):
            if server.running:
                server.call(unwatch)
        self.stop_message = persister.close()
        return self.stop_message
