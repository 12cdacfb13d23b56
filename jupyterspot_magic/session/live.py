"""One share's live content: the per-cell view the `cells` route serves, the file watcher,
`update()`."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..content import render as R
from ..content.live import LiveContent, Watcher
from ..content.locate import Located, locate

log = logging.getLogger(__name__)
SEED_WAIT = 30.0  # s a stop waits for a seed still running (release)


class LiveUpdater:
    """Re-renders what changed in the notebook and hands the new page to `publish`.

    `publish(rendered)` is the share's `refresh` (kernel thread, or the watcher's thread on a
    save); `alive()` says whether the share still wants updates. The updater keeps its own
    `located`: in Colab (no file) every update asks for the live contents again.
    """

    def __init__(
        self,
        located: Located,
        rendered: R.RenderedNotebook,
        publish: Callable[..., None],
        alive: Callable[[], bool],
        watch: bool = True,
        on_cells: Callable[[LiveContent], None] | None = None,
    ) -> None:
        self.located = located
        self.publish = publish
        self.on_cells = on_cells  # the per-cell view was learnt (seeded) in the background
        self.alive = alive
        self.content = LiveContent(rendered.title)
        self._lock = threading.Lock()
        self.updates = 0
        self.last_error: str | None = None
        # session/stream.py: a save goes to the live notebook first (it merges, then publishes)
        self.saved_hook: Callable[[], None] | None = None
        self._seeding: threading.Thread | None = None  # learning the cells of a page
        # After `release` (the share stopped) nothing is learnt or published: a late save or
        # flush would put a page and its cells back in memory. `_seed_lock`: a seed started
        # while `release` looks is waited for too.
        self._released = False
        self._seed_lock = threading.Lock()
        self.adopt(rendered)
        path = located.path
        self.watcher = Watcher(path, self._on_file) if (watch and path is not None) else None

    def _source(self) -> Path | dict | None:
        if self.located.path is None:
            self.located = locate(None)  # Colab: the live contents, asked for again
        located = self.located
        return located.source

    def adopt(self, rendered: R.RenderedNotebook) -> None:
        """A page rendered elsewhere (a full share again): learn its cells in the background."""
        snap = self.content.snapshot
        if snap is not None and snap.version == rendered.content_hash:
            return
        with self._seed_lock:
            if self._released:
                return
            self._seeding = threading.Thread(
                target=self._seed,
                args=(self.located.source, rendered, snap),
                daemon=True,
                name="jupyterspot-seed",
            )
            self._seeding.start()

    def _seed(self, source: Path | dict | None, rendered: R.RenderedNotebook, base: Any) -> None:
        if self.content.seed(source, rendered, base) and self.on_cells is not None:
            try:
                self.on_cells(self.content)  # not via the share's attribute: may be unset yet
            except Exception:  # the share stopped meanwhile, or its server is restarting
                log.info("the per-cell view did not reach the share server", exc_info=True)

    def _on_file(self) -> None:
        if not self.alive():
            return
        hook = self.saved_hook
        if hook is not None:
            hook()
        else:
            self.update()

    def update(self) -> bool:
        """Re-render what changed and push it to every page; False when nothing changed."""
        with self._lock:
            return self._update(self._source(), remember=True)

    def update_from(self, data: dict) -> bool:
        """The same for the notebook as the kernel runs it (session/stream.py): not cached."""
        with self._lock:
            return self._update(data, remember=False)

    def saved_notebook(self) -> tuple[dict, float]:
        """The notebook as saved and when (the file and its mtime), or in Colab (no file) its
        live contents now: what a save or `update()` makes the base of the live notebook.
        Raises OSError / ValueError (half-written JSON) / RenderError (Colab said nothing)."""
        path = self.located.path
        if path is not None:
            saved_at = path.stat().st_mtime
            return json.loads(path.read_bytes()), saved_at
        self.located = locate(None)
        if self.located.contents is None:
            raise R.RenderError("the notebook's contents are not available")
        return self.located.contents, time.time()

    def resend(self) -> bool:
        """Send the current content again as it is (the server has other content: restarted,
        or the saved file shared again); False when nothing is known yet."""
        with self._lock:
            snap = self.content.snapshot
            return snap is not None and self._push(snap.rendered(self.content.title), True)

    def patch_from(self, cells: list[dict], ids: list[str]) -> bool | None:
        """Only `cells` changed (session/stream.py): rendered alone; None if a full update is
        needed (content/live.py `LiveContent.patch`)."""
        with self._lock:
            rendered = self.content.patch(cells, ids)
            return None if rendered is None else self._push(rendered, True)

    def _update(self, source: Path | dict | None, remember: bool) -> bool:
        if self._released:
            return False
        try:
            rendered = self.content.update(source, remember=remember)
        except R.RenderError as e:  # half-written file, invalid JSON: keep the last page
            self.last_error = str(e)
            log.info("not updating the share: %s", e)
            return False
        self.last_error = None
        return rendered is not None and self._push(rendered, streamed=not remember)

    def _push(self, rendered: R.RenderedNotebook, streamed: bool) -> bool:
        """Hand the new content to the share (`streamed`: a live flush; the server then builds
        the newcomers' page once the stream is still)."""
        if self._released:
            return False
        t0 = time.perf_counter()
        self.publish(rendered, streamed=streamed)
        self.content.last["push"] = time.perf_counter() - t0
        self.updates += 1
        return True

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def release(self) -> None:
        """The share stopped: its cells and versions go. A seed still running holds the
        notebook it parses: waited for (about a second for a 55 MB notebook), so what it holds
        is freed by the time the stop returns."""
        with self._seed_lock:
            self._released = True
            seeding = self._seeding
        if seeding is not None:
            seeding.join(SEED_WAIT)
        self.content = LiveContent(self.content.title)
