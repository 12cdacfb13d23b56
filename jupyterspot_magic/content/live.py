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
from typing import Any

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


def _cell_key(cell: Any) -> str:
    raw = json.dumps(cell, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def split_page(html: str, cell_ids: list[str]) -> tuple[str, list[str], str] | None:
    """(head, cell HTML in order, tail) of a rendered page; None if the anchors are not clean."""
    if not cell_ids or R._ANCHOR.findall(html) != cell_ids:
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
        self._lock = threading.Lock()
        self.last: dict[str, float] = {}  # timings of the last update (bench, tests)

    # -- versions --

    def _publish(self, version: str, entries: list[tuple[str, str]], chunks: dict) -> None:
        self.snapshot = Snapshot(version, tuple(entries), chunks)
        self.versions[version] = frozenset(k for _, k in entries)
        self.versions.move_to_end(version)
        while len(self.versions) > KEEP_VERSIONS:
            self.versions.popitem(last=False)

    def seed(self, source: str | os.PathLike | dict, rendered: R.RenderedNotebook) -> bool:
        """Learn the cells of a page rendered in full (False if `source` is not what it shows)."""
        with self._lock:
            if self.snapshot is not None and self.snapshot.version == rendered.content_hash:
                return True
            try:
                src = R._read_source(source)
                if R._content_hash(src, self.title) != rendered.content_hash:
                    return False
                nb, _ = R._to_notebook(R._parse(src), src.label)
            except R.RenderError:
                return False
            if not self._seed(nb, src, rendered):
                return False
            # Warm nbconvert (a page from the render cache never built the exporter): the
            # first edit then costs what every other does.
            with contextlib.suppress(R.RenderError):
                sub = copy.copy(nb)
                sub.cells = nb.cells[:1]
                R._export(sub, self.title, src)
            return True

    def _seed(self, nb: Any, src: Any, rendered: R.RenderedNotebook) -> bool:
        R._strip_own_share(nb)
        R._add_figure_html(nb)
        parts = split_page(rendered.html, rendered.cell_ids)
        if parts is None:
            self.snapshot = None
            return False
        head, cells, tail = parts
        keys = [_cell_key(c) for c in nb.cells]
        self._head, self._tail, self._global = head, tail, self._global_key(nb, src)
        self._publish(
            rendered.content_hash,
            list(zip(rendered.cell_ids, keys, strict=True)),
            dict(zip(keys, cells, strict=True)),
        )
        return True

    def _global_key(self, nb: Any, src: Any) -> str:
        meta = json.dumps(nb.metadata, sort_keys=True, default=str)
        return hashlib.sha1(f"{self.title}\0{src.base_dir}\0{meta}".encode()).hexdigest()

    # -- updating --

    def update(self, source: str | os.PathLike | dict) -> R.RenderedNotebook | None:
        """Render the notebook's current content; None when it did not change."""
        with self._lock:
            t0 = time.perf_counter()
            src = R._read_source(source)
            version = R._content_hash(src, self.title)
            if self.snapshot is not None and version == self.snapshot.version:
                return None
            nb, warnings = R._to_notebook(R._parse(src), src.label)
            t_parse = time.perf_counter()
            result = self._incremental(nb, src, version, warnings)
            mode = "cells"
            if result is None:  # metadata changed, first update, or a head that differs
                mode = "full"
                result = R.render(source, title=self.title)
                nb, _ = R._to_notebook(R._parse(src), src.label)
                self._seed(nb, src, result)
            t_done = time.perf_counter()
            self.last = {
                "parse": t_parse - t0,
                "render": t_done - t_parse,
                "total": t_done - t0,
                "full": float(mode == "full"),
            }
            return result

    def _incremental(self, nb, src, version, warnings) -> R.RenderedNotebook | None:
        start = time.perf_counter()
        snap = self.snapshot
        if snap is None:
            return None
        cell_ids = [c["id"] for c in nb.cells]
        stripped = R._strip_own_share(nb)
        warnings += R._figure_warnings(R._add_figure_html(nb))
        if not nb.cells or self._global_key(nb, src) != self._global:
            return None
        keys = [_cell_key(c) for c in nb.cells]
        chunks = {k: snap.chunks[k] for k in keys if k in snap.chunks}
        missing = [c for c, k in zip(nb.cells, keys, strict=True) if k not in chunks]
        if missing:
            sub = copy.copy(nb)
            sub.cells = missing
            try:
                html, notes = R._export(sub, self.title, src)
            except R.RenderError:
                return None
            warnings += notes
            parts = split_page(html, [c["id"] for c in missing])
            if parts is None or parts[0] != self._head or parts[2] != self._tail:
                return None
            for cell, chunk in zip(missing, parts[1], strict=True):
                chunks[_cell_key(cell)] = chunk
        if stripped:
            warnings.append(f"left out the share's own output ({R._plural(stripped, 'item')})")
        page = join_page(self._head, [chunks[k] for k in keys], self._tail)
        entries = list(zip(cell_ids, keys, strict=True))
        result = R.RenderedNotebook(
            page, version, cell_ids, self.title, warnings, time.perf_counter() - start, False
        )
        R._memory_put(result)
        # The disk cache too (a kernel restart then shares at once), off this thread.
        threading.Thread(target=R._disk_put, args=(result,), daemon=True).start()
        self._publish(version, entries, chunks)
        return result

    # -- what a page at version `since` needs --

    def cells_payload(self, since: str | None) -> dict | None:
        """{"version", "cells": [{"id", "html" | null}]}: html only for cells `since` lacks."""
        snap = self.snapshot
        if snap is None:
            return None
        have = self.versions.get(since or "", frozenset())
        cells = [
            {"id": cid, "html": None if key in have else snap.chunks[key]}
            for cid, key in snap.entries
        ]
        return {"version": snap.version, "cells": cells}


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
