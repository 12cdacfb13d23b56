"""One document's updates, batched and written on the store thread.

The share server's thread only appends each update the board integrated to a list; the store
thread merges what came in every ``FLUSH_INTERVAL`` into one update and writes it in one
transaction. A failed write is kept, first in line, and retried; a close that still cannot write
saves what is left to a pending file (pending.py) the next share applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..base.text import plural
from .pending import save_pending

if TYPE_CHECKING:
    from .sqlite import Store

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.2  # s: the most a crash can lose
FLUSH_BYTES = 1 << 20  # flush at once when this much is waiting
RETRY_AFTER = 1.0  # s: a failed write (disk full, locked file) is tried again
CLOSE_RETRIES = (0.2, 0.5)  # s: a last write that fails is tried again after these pauses


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
        self.store.call_later(0.0 if urgent else FLUSH_INTERVAL, self._kick)

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
                await self.store.append(self.doc_path, taken[0])
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
        if self.store.closed:
            return not self._pending
        try:
            return bool(self.store.call(lambda: self._flush(retry=False)))
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
        self.store.release(self)
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
