"""One share's persistence: which file, which notebook, its record and its board document.

``BoardKeeper.open`` picks the store file (``--store PATH``, ``$JUPYTERSPOT_DATA_DIR``, or the
user data dir), reads the notebook's record (same room and tokens: same links as last time) and
its stored board; ``attach`` restores that board into the room before anyone can connect, then
stores every change through a Persister.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from ..base.text import plural
from ..collab.seal import key_text
from .persister import Persister
from .replay import Replay, apply_checkpoint, replay
from .sqlite import ShareRecord, Store, StoredBoard, StoreError

log = logging.getLogger(__name__)

DATA_ENV = "JUPYTERSPOT_DATA_DIR"
DB_NAME = "boards.sqlite"


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


def where(store: str | os.PathLike | bool | None) -> str | os.PathLike | bool:
    """The store as the user means it now: False when off, else the database file's path.

    Resolved in the kernel: the share server's process read its environment when it started,
    and a later JUPYTERSPOT_DATA_DIR (or a relative path from the kernel's folder) is the user's
    intent."""
    if store is False or (isinstance(store, str) and store.lower() in ("none", "off")):
        return False
    return resolve_path(None if store is True else store)


def notebook_key(path: Path | None, contents: dict | None) -> str:
    """What identifies a notebook across kernels: its absolute path; in Colab, its name."""
    if path is not None:
        return str(Path(path).resolve())
    meta = (contents or {}).get("metadata") or {}
    colab = meta.get("colab") if isinstance(meta, dict) else None
    name = colab.get("name") if isinstance(colab, dict) else None
    return f"colab:{os.environ.get('COLAB_NOTEBOOK_ID') or name or 'notebook'}"


_stores: dict[Path, Store] = {}
_stores_lock = threading.Lock()


def open_store(path: Path) -> Store:
    """The process-wide Store for a file (opened once)."""
    with _stores_lock:
        store = _stores.get(path)
        if store is None or store.closed:
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

    def attach(self, shared: Any) -> int:
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
        rows = board.rows
        ends, bad = apply_checkpoint(room, board.checkpoint)
        bad_checkpoint = bad is not None
        if bad_checkpoint:
            log.warning("stored checkpoint of %s unusable (%s)", board.doc_path, bad)
            rows = self.store.rows(board.doc_path)
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

    def save(self, shared: Any, rotated: bool = False) -> None:
        """Remember the links. A plain share keeps a stored key (sharing encrypted again gives
        the same links) unless the link was `rotated`: the revoked guests knew that key."""
        kept = self.record.share_key if self.record is not None and not rotated else None
        key = key_text(shared.key) if shared.key is not None else kept
        self.record = ShareRecord(
            shared.room, shared.token, shared.host_token, self.generation, key
        )
        self.store.save_record(self.key, self.record)

    def clear(self, server: Any, shared: Any) -> int:
        """Empty the board for everyone; the old one stays in the store's history."""
        old = self.persister
        self.generation += 1
        new = self.store.persist(self.key, self.generation)

        def swap() -> int:
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

        with contextlib.suppress(Exception):
            if server.running:
                server.call(persister.unwatch)
        self.stop_message = persister.close()
        return self.stop_message
