"""Live updates: when the notebook changes, re-render what changed and push it to every page.

- :class:`LiveContent` renders a new version of the notebook re-using the HTML of every cell that
  did not change. nbconvert renders a page as head + one ``<div id="cell-id=…">`` per cell + tail,
  and a cell's HTML depends only on that cell and the notebook's metadata: the page is split into
  those pieces, cells are keyed by a hash of their JSON, and an edit renders only the new or changed
  cells (one small nbconvert call on a notebook holding just them) and splices them in. A change of
  the notebook's metadata, or a head that differs from the stored one, falls back to a full
  render. It also keeps the cell keys of recent versions, so a page at version A can be sent only
  the cells that differ in version B (``GET /s/{room}/x/cells?token=T&since=A``).
- :class:`Watcher` watches the notebook file (watchfiles, the folder non-recursively, so editors
  that save by renaming a temporary file are seen too), debounced, and calls back on a change.

The share then swaps its content (`Share.refresh`): ``control.version`` changes, and each page
fetches the changed cells and swaps them in place (js/viewer/live.ts).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from . import render as R

log = logging.getLogger(__name__)

KEEP_VERSIONS = 16  # versions a page may still be at and get a diff for (else: every cell)
DEBOUNCE_MS = 400  # group a burst of file events over at most this long...
STEP_MS = 50  # ...yielding once the file has been quiet this long


@dataclass(frozen=True)
class Snapshot:
    """One version of the content: what the `cells` route answers from."""

    version: str
    entries: tuple[tuple[str, str], ...]  # (cell id, cell key) in order
    chunks: dict[str, str]  # cell key -> that cell's HTML
    head: str = ""  # the page around the cells: head + cells + tail is the page
    tail: str = ""

    def page(self) -> str:
        return join_page(self.head, [self.chunks[k] for _, k in self.entries], self.tail)

    def rendered(self, title: str, *, page: bool = True) -> R.RenderedNotebook:
        """This version as a rendered notebook (`page=False`: without its page, joined later
        by whoever needs it: the share server, server/shared.py `full_rendered`)."""
        ids = [cid for cid, _ in self.entries]
        html = self.page() if page else ""
        return R.RenderedNotebook(html, self.version, ids, title, [], 0.0, False)


def _cell_key(cell: Any, context: str) -> str:
    """A cell's HTML depends on the cell and on what the whole page shares (`context`: the
    global key): both are in its key, so a metadata change is a new key for every cell, and
    neither a page at an older version nor the share server keeps HTML drawn for the old one."""
    raw = json.dumps(cell, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(f"{context}\0{raw}".encode("utf-8", "surrogatepass")).hexdigest()[:20]


def split_page(html: str, cell_ids: list[str]) -> tuple[str, list[str], str] | None:
    """(head, cell HTML in order, tail) of a rendered page; None if the anchors are not clean."""
    if not cell_ids or R.cell_anchors(html) != cell_ids:
        return None
    starts = []
    pos = 0
    for cid in cell_ids:
        at = html.find(f'id="cell-id={cid}"', pos)
        start = html.rfind("<", 0, at)
        if at < 0 or start < pos:
            return None
        starts.append(start)
        pos = at
    end = html.rfind("</main>")
    if end < pos:
        return None
    bounds = [*starts, end]
    cells = [html[bounds[i] : bounds[i + 1]].rstrip() for i in range(len(cell_ids))]
    # Whitespace between cells depends on their types: normalized.
    return html[: starts[0]].rstrip(), cells, html[end:]


def join_page(head: str, cells: list[str], tail: str) -> str:
    return head + "\n" + "\n".join(cells) + "\n" + tail


class LiveContent:
    """The current content of one share, re-rendered cell by cell. Thread-safe."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.snapshot: Snapshot | None = None
        self.versions: OrderedDict[str, frozenset[str]] = OrderedDict()  # version -> cell keys
        self._head = self._tail = self._global = ""
        self.base_dir: str | None = None  # the file's folder: a dict source renders from there
        self._meta: dict | None = None  # the notebook's metadata at the last full render (patch)
        self._lock = threading.Lock()
        self.last: dict[str, float] = {}  # timings of the last update (bench, tests)

    # -- versions --

    def _publish(self, version: str, entries: list[tuple[str, str]], chunks: dict) -> None:
        self.snapshot = Snapshot(version, tuple(entries), chunks, self._head, self._tail)
        self.versions[version] = frozenset(k for _, k in entries)
        self.versions.move_to_end(version)
        while len(self.versions) > KEEP_VERSIONS:
            self.versions.popitem(last=False)

    def seed(
        self,
        source: str | os.PathLike | dict,
        rendered: R.RenderedNotebook,
        base: Snapshot | None | bool = False,
    ) -> bool:
        """Learn the cells of a page rendered in full (False if `source` is not what it shows).
        `base`: the snapshot when this seed was asked for (a background seed): if another
        version came meanwhile (a live flush), that one stays (False: not seeded)."""
        with self._lock:
            if self.snapshot is not None and self.snapshot.version == rendered.content_hash:
                return True
            if base is not False and self.snapshot is not base:
                return False
            try:
                src = R.read_source(source, title=self.title, base_dir=self.base_dir)
                if not isinstance(source, dict):
                    self.base_dir = src.base_dir
                if src.content_hash != rendered.content_hash:
                    return False
                prepared = R.prepare(src)
            except R.RenderError:
                return False
            if not self._seed(prepared, rendered):
                return False
            # Warm nbconvert (a page from the render cache never built the exporter): the
            # first edit then costs what every other does.
            with contextlib.suppress(R.RenderError):
                R.export_cells(prepared, prepared.nb.cells[:1])
            return True

    def _seed(self, prepared: R.Prepared, rendered: R.RenderedNotebook) -> bool:
        parts = split_page(rendered.html, rendered.cell_ids)
        if parts is None:
            self.snapshot = None
            return False
        head, cells, tail = parts
        self._head, self._tail, self._global = head, tail, self._global_key(prepared)
        keys = [_cell_key(c, self._global) for c in prepared.nb.cells]
        self._meta = copy.deepcopy(dict(prepared.nb.metadata))
        self._publish(
            rendered.content_hash,
            list(zip(rendered.cell_ids, keys, strict=True)),
            dict(zip(keys, cells, strict=True)),
        )
        return True

    def _global_key(self, prepared: R.Prepared) -> str:
        """What every cell's HTML depends on besides the cell: a change means a full render."""
        # orig_nbformat*: nbformat's note that a file was upgraded (the notebook as the kernel
        # runs it, content/outputs.py, is already 4.5): it draws nothing.
        shown = {k: v for k, v in prepared.nb.metadata.items() if not k.startswith("orig_nbformat")}
        meta = json.dumps(shown, sort_keys=True, default=str)
        base_dir = prepared.source.base_dir
        return hashlib.sha1(f"{self.title}\0{base_dir}\0{meta}".encode()).hexdigest()

    # -- updating --

    def update(
        self, source: str | os.PathLike | dict, *, remember: bool = True
    ) -> R.RenderedNotebook | None:
        """Render the notebook's current content; None when it did not change.

        A dict keeps the folder of the file seen last (its relative images). `remember=False`:
        not into the render cache (a version streamed from the kernel is never read again)."""
        with self._lock:
            t0 = time.perf_counter()
            src = R.read_source(source, title=self.title, base_dir=self.base_dir)
            if not isinstance(source, dict):
                self.base_dir = src.base_dir
            if self.snapshot is not None and src.content_hash == self.snapshot.version:
                return None
            prepared = R.prepare(src)
            t_parse = time.perf_counter()
            result = self._incremental(prepared, remember)
            if result is False:
                return None
            mode = "cells"
            if result is None:  # metadata changed, first update, or a head that differs
                mode = "full"
                result = R.cached(src) or R.render_prepared(prepared)
                self._seed(prepared, result)
            t_done = time.perf_counter()
            self.last = {
                "parse": t_parse - t0,
                "render": t_done - t_parse,
                "total": t_done - t0,
                "full": float(mode == "full"),
            }
            return result

    def _incremental(
        self, prepared: R.Prepared, remember: bool
    ) -> R.RenderedNotebook | Literal[False] | None:
        """The page spliced from known and newly rendered cells; None: render it all; False:
        the same cells as now (the current version came from a patch, whose version is not a
        content hash: a save of what already streamed is no new version)."""
        start = time.perf_counter()
        snap = self.snapshot
        nb = prepared.nb
        if snap is None or not nb.cells or self._global_key(prepared) != self._global:
            return None
        keys = [_cell_key(c, self._global) for c in nb.cells]
        if list(snap.entries) == list(zip(prepared.cell_ids, keys, strict=True)):
            return False
        made = self._render_missing(prepared, dict(zip(prepared.cell_ids, keys, strict=True)), snap)
        if made is None:
            return None
        new_chunks, notes = made
        chunks = {k: new_chunks.get(k) or snap.chunks[k] for k in keys}
        page = join_page(self._head, [chunks[k] for k in keys], self._tail)
        version, cell_ids = prepared.source.content_hash, list(prepared.cell_ids)
        result = R.RenderedNotebook(
            page,
            version,
            cell_ids,
            self.title,
            prepared.warnings(notes),
            time.perf_counter() - start,
            False,
        )
        if remember:  # the disk cache too (a kernel restart then shares at once), off this thread
            R.remember(result, disk_in_background=True)
        self._publish(version, list(zip(cell_ids, keys, strict=True)), chunks)
        return result

    def patch(self, cells: list[dict], ids: list[str]) -> R.RenderedNotebook | None:
        """A new version where only `cells` changed (the notebook as the kernel runs it knows
        which: content/outputs.py), in the order `ids`: only those cells are prepared, keyed and
        rendered, so a flush costs the change, not the notebook (a full update re-reads and
        hashes every cell). None when a full update is needed (no cells known yet, a cell in
        `ids` this version does not have, the page's head would differ)."""
        with self._lock:
            t0 = time.perf_counter()
            snap, meta = self.snapshot, self._meta
            if snap is None or meta is None:
                return None
            known = dict(snap.entries)
            mine = {c.get("id") for c in cells}
            if any(i not in known and i not in mine for i in ids):
                return None
            mini = {"nbformat": 4, "nbformat_minor": 5, "metadata": copy.deepcopy(meta)}
            src = R.read_source({**mini, "cells": cells}, title=self.title, base_dir=self.base_dir)
            try:
                prepared = R.prepare(src)
            except R.RenderError:
                return None
            if self._global_key(prepared) != self._global:
                return None  # the metadata changed: every cell's HTML may
            keys = {c["id"]: _cell_key(c, self._global) for c in prepared.nb.cells}
            if set(keys) != mine:
                return None  # ids rewritten (repeated, invalid)
            made = self._render_missing(prepared, keys, snap)
            if made is None:
                return None
            chunks = made[0]
            entries = [(i, keys.get(i) or known[i]) for i in ids]
            digest = hashlib.sha256(snap.version.encode())
            for cid, key in entries:
                digest.update(f"\0{cid}\0{key}".encode())
            version = digest.hexdigest()
            kept = {k: chunks.get(k) or snap.chunks[k] for _, k in entries}
            self._publish(version, entries, kept)
            assert self.snapshot is not None
            result = self.snapshot.rendered(self.title)
            self.last = {"total": time.perf_counter() - t0, "full": 0.0, "patch": 1.0}
            return result

    def _render_missing(
        self, prepared: R.Prepared, keys: dict[str, str], snap: Snapshot
    ) -> tuple[dict[str, str], list[str]] | None:
        """The HTML of the cells (by id: `keys`) whose key no version has yet, in one
        nbconvert call, and its notes; None when their page's head or tail would differ."""
        missing = [c for c in prepared.nb.cells if keys[c["id"]] not in snap.chunks]
        if not missing:
            return {}, []
        try:
            html, notes = R.export_cells(prepared, missing)
        except R.RenderError:
            return None
        parts = split_page(html, [c["id"] for c in missing])
        if parts is None or parts[0] != self._head or parts[2] != self._tail:
            return None
        made = {keys[c["id"]]: chunk for c, chunk in zip(missing, parts[1], strict=True)}
        return made, notes

    # -- what a page at version `since` needs --

    def view(self) -> CellsView | None:
        """What the `cells` route answers from, frozen: it crosses to the share server's
        process (server/host.py), which has no renderer. None before the cells are known."""
        snap = self.snapshot
        if snap is None:
            return None
        return CellsView(snap, dict(self.versions))


@dataclass(frozen=True)
class CellsView:
    """One version's cells and the cell keys of recent versions (`LiveContent.view`)."""

    snapshot: Snapshot
    versions: dict[str, frozenset[str]]

    def cells_payload(self, since: str | None) -> dict:
        """{"version", "cells": [{"id", "html" | null}]}: html only for cells `since` lacks."""
        snap = self.snapshot
        have = self.versions.get(since or "", frozenset())
        cells = [
            {"id": cid, "html": None if key in have else snap.chunks[key]}
            for cid, key in snap.entries
        ]
        return {"version": snap.version, "cells": cells}

    def delta(self, base: Snapshot) -> CellsDelta:
        """What the share server, holding `base`, needs for this version: only new cells'
        HTML (a live flush changes one cell of a page that may be 18 MB)."""
        snap = self.snapshot
        chunks = {k: v for k, v in snap.chunks.items() if k not in base.chunks}
        head = snap.head if snap.head != base.head else None
        tail = snap.tail if snap.tail != base.tail else None
        return CellsDelta(
            base.version, snap.version, snap.entries, chunks, head, tail, self.versions
        )


@dataclass(frozen=True)
class CellsDelta:
    """`CellsView.delta`: a version as the difference from one the server has."""

    base: str  # the version it applies to
    version: str
    entries: tuple[tuple[str, str], ...]
    chunks: dict[str, str]  # cell key -> HTML, for keys `base` lacks
    head: str | None  # None: as in `base`
    tail: str | None
    versions: dict[str, frozenset[str]]

    def apply(self, base: Snapshot) -> CellsView:
        """The full view, on the server (ValueError: `base` is not the version it needs)."""
        if base.version != self.base:
            raise ValueError("this delta is for another version")
        chunks = {k: self.chunks.get(k) or base.chunks[k] for _, k in self.entries}
        head = base.head if self.head is None else self.head
        tail = base.tail if self.tail is None else self.tail
        return CellsView(Snapshot(self.version, self.entries, chunks, head, tail), self.versions)


class Watcher:
    """Calls `on_change()` (in its own thread) after the file changed, debounced."""

    def __init__(self, path: Path, on_change: Callable[[], None]) -> None:
        self.path = Path(path).resolve()
        self.on_change = on_change
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jupyterspot-watch", daemon=True)
        self._ready = threading.Event()
        self._thread.start()
        self._ready.wait(5)

    def _run(self) -> None:
        from watchfiles import watch

        target = str(self.path)

        def ours(_change: Any, path: str) -> bool:
            return os.path.abspath(path) == target

        try:
            self._ready.set()
            for _changes in watch(
                self.path.parent,
                watch_filter=ours,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                stop_event=self._stop,
                recursive=False,
                raise_interrupt=False,
            ):
                if self._stop.is_set():
                    break
                try:
                    self.on_change()
                except Exception:
                    log.exception("live update of %s failed", self.path)
        except Exception:
            log.exception("watching %s stopped", self.path)

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(RuntimeError):
            self._thread.join(2)
