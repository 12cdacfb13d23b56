"""One share's live content: the `cells` route, the file watcher, `update()`."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ..content import render as R
from ..content.live import LiveContent, Watcher

log = logging.getLogger(__name__)


class LiveUpdater:
    """One share's live content: the `cells` route, the file watcher, `update()`."""

    def __init__(self, share: Any, watch: bool = True) -> None:
        self.share = share
        self.content = LiveContent(share.rendered.title)
        self._lock = threading.Lock()
        self.updates = 0
        self.last_error: str | None = None
        share.shared.live = self.content  # answers the page's `x/cells` route
        self.adopt(share.rendered)
        path = share.located.path
        self.watcher = Watcher(path, self._on_file) if (watch and path is not None) else None

    def _source(self) -> Any:
        located = self.share.located
        if located.path is not None:
            return located.path
        from ..content.locate import locate  # Colab: the live contents, asked for again

        fresh = locate(None)
        self.share.located = fresh
        return fresh.contents

    def adopt(self, rendered: R.RenderedNotebook) -> None:
        """A page rendered elsewhere (a full share again): learn its cells in the background."""
        snap = self.content.snapshot
        if snap is not None and snap.version == rendered.content_hash:
            return
        located = self.share.located
        source = located.contents if located.contents is not None else located.path
        threading.Thread(
            target=self.content.seed, args=(source, rendered), daemon=True, name="jupyterspot-seed"
        ).start()

    def _on_file(self) -> None:
        if self.share.alive:
            self.update()

    def update(self) -> bool:
        """Re-render what changed and push it to every page; False when nothing changed."""
        with self._lock:
            try:
                rendered = self.content.update(self._source())
            except R.RenderError as e:  # half-written file, invalid JSON: keep the last page
                self.last_error = str(e)
                log.info("not updating the share: %s", e)
                return False
            self.last_error = None
            if rendered is None:
                return False
            t0 = time.perf_counter()
            self.share.refresh(rendered)
            self.content.last["push"] = time.perf_counter() - t0
            self.updates += 1
            return True

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
