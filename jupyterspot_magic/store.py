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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DATA_ENV = "JUPYTERSPOT_DATA_DIR"
DB_NAME = "boards.sqlite"
FLUSH_INTERVAL = 0.2  # s: the most a crash can lose
FLUSH_BYTES = 1 << 20  # flush at once when this much is waiting
RETRY_AFTER = 1.0  # s: a failed write (disk full, locked file) is tried again

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
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.name = "jupyterspot-store"
        self._thread.start()
        self._persisters: set[Persister] = set()
        self._closed = False
        try:
            self._call(self._open)
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            raise

    # -- the store thread --

    def _call(self, fn: Callable[[], Coroutine[Any, Any, Any]], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(fn(), self._loop).result(timeout)

    async def _open(self) -> None:
        from pycrdt.store import SQLiteYStore

        try:
            self._db = sqlite3.connect(self.path, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.Error as e:
            raise StoreError(f"Cannot use {self.path} as the board store: {e}") from None
        ystore = SQLiteYStore("", log=log)
        ystore.db_path = str(self.path)
        self._ystore = ystore
        self._ystore_task = asyncio.get_running_loop().create_task(ystore.start())
        await ystore.started.wait()
        await ystore.db_initialized.wait()
        # One YStore serves every document of this file: its `path` names the document, so
        # operations are serialized.
        self._lock = asyncio.Lock()

    async def _write(self, doc_path: str, update: bytes) -> None:
        async with self._lock:
            self._ystore.path = doc_path
            await self._ystore.write(update)

    async def _read(self, doc_path: str) -> bytes | None:
        from pycrdt import Doc
        from pycrdt.store import YDocNotFound

        async with self._lock:
            self._ystore.path = doc_path
            doc = Doc()
            try:
                await self._ystore.apply_updates(doc)
            except YDocNotFound:
                return None
            return doc.get_update()

    # -- records (room, tokens, generation) --

    def record(self, key: str) -> ShareRecord | None:
        async def get():
            row = self._db.execute(
                "SELECT room, token, host_token, generation FROM jupyterspot_shares WHERE key = ?",
                (key,),
            ).fetchone()
            return ShareRecord(*row) if row else None

        return self._call(get)

    def save_record(self, key: str, record: ShareRecord) -> None:
        async def put():
            self._db.execute(
                "INSERT OR REPLACE INTO jupyterspot_shares VALUES (?, ?, ?, ?, ?, ?)",
                (key, record.room, record.token, record.host_token, record.generation, time.time()),
            )
            self._db.commit()

        self._call(put)

    # -- boards --

    def load(self, key: str, generation: int) -> bytes | None:
        """The stored board as one update (None when nothing was stored)."""
        return self._call(lambda: self._read(doc_name(key, generation)))

    def history(self, key: str) -> list[int]:
        """Generations of this notebook's board that hold something (oldest first)."""

        async def get():
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
        if self._closed:
            return
        self._closed = True
        for persister in list(self._persisters):
            persister.close()

        async def shut():
            with contextlib.suppress(Exception):
                await self._ystore.stop()
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
        self._lock = threading.Lock()
        self._scheduled = False
        self._subscription: Any = None
        self._doc: Any = None
        self.writes = 0
        self.closed = False

    def watch(self, doc: Any) -> None:
        """Store every change of `doc` from now on (call on the thread that owns the doc)."""
        self._doc = doc
        self._subscription = doc.observe(lambda event: self.on_update(event.update))

    def unwatch(self) -> None:
        if self._doc is not None and self._subscription is not None:
            with contextlib.suppress(Exception):
                self._doc.unobserve(self._subscription)
        self._subscription = None

    def on_update(self, update: bytes) -> None:
        if self.closed or update == b"\x00\x00":
            return
        with self._lock:
            self._pending.append(update)
            self._pending_bytes += len(update)
            urgent = self._pending_bytes >= FLUSH_BYTES
            if self._scheduled and not urgent:
                return
            self._scheduled = True
        delay = 0.0 if urgent else FLUSH_INTERVAL
        loop = self.store._loop
        loop.call_soon_threadsafe(lambda: loop.call_later(delay, self._kick))

    def _kick(self) -> None:
        asyncio.get_running_loop().create_task(self._flush())

    def _take(self) -> bytes | None:
        from pycrdt import merge_updates

        with self._lock:
            pending, self._pending, self._pending_bytes = self._pending, [], 0
            self._scheduled = False
        if not pending:
            return None
        return pending[0] if len(pending) == 1 else merge_updates(*pending)

    async def _flush(self) -> None:
        update = self._take()
        if update is not None:
            try:
                await self.store._write(self.doc_path, update)
                self.writes += 1
            except Exception:
                # Keep it: later updates build on this one, so dropping it would make them
                # unrestorable too. Put it back first in line and try again shortly.
                log.exception("could not store the board (%s); retrying", self.doc_path)
                self._put_back(update)

    def _put_back(self, update: bytes) -> None:
        with self._lock:
            self._pending.insert(0, update)
            self._pending_bytes += len(update)
            retry = not self._scheduled and not self.closed
            self._scheduled = self._scheduled or retry
        if retry:
            asyncio.get_running_loop().call_later(RETRY_AFTER, self._kick)

    def flush(self) -> None:
        """Write what is waiting now and wait for it (any thread but the store's)."""
        if not self.store._closed:
            with contextlib.suppress(Exception):
                self.store._call(self._flush)

    def close(self) -> None:
        """Write what is left; later updates are ignored (`unwatch` on the doc's thread)."""
        if self.closed:
            return
        self.flush()
        self.closed = True
        self.store._persisters.discard(self)
        if not self.store._persisters:  # idle: no thread or connection left behind
            self.store.close()


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


def _delete_all_shapes(doc: Any) -> int:
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
    board is in place before anyone can connect.
    """

    def __init__(self, store: Store, key: str, fresh: bool) -> None:
        self.store = store
        self.key = key
        self.record = store.record(key)
        self.generation = self.record.generation if self.record else 0
        self._stored = store.load(key, self.generation) if self.record else None
        self._fresh = fresh and self._stored is not None
        if self._fresh:
            self.generation += 1  # the old board stays in the file, under its generation
        self.persister: Persister | None = None

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

    async def attach(self, shared: Any) -> int:
        """Server thread: restore the board into the room's document, then store its changes."""
        doc = shared.board.doc
        if self._stored:
            doc.apply_update(self._stored)
            shared.board.doc_bytes += len(self._stored)
        self._stored = None
        if self._fresh:
            _delete_all_shapes(doc)  # pages still holding the old board get the deletions too
        self.persister = self.store.persist(self.key, self.generation)
        self.persister.watch(doc)
        if self._fresh:
            self.persister.on_update(doc.get_update())
        from pycrdt import Map

        return len(doc.get("shapes", type=Map))

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
            n = _delete_all_shapes(doc)
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

    def close(self, server: Any) -> None:
        """Stop storing (after a last write). Safe when the server already stopped."""
        persister = self.persister
        if persister is None:
            return

        async def unwatch() -> None:
            persister.unwatch()

        with contextlib.suppress(Exception):
            if server.running:
                server.call(unwatch)
        persister.close()
