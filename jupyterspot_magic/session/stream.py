"""Live outputs: what the kernel runs reaches every page without a save (in the kernel).

Three parts meet here, on three threads:

- the kernel's main thread: a `pre_run_cell` hook reads the execute_request being run (its
  metadata says which cell: content/outputs.py `CellHint`) and starts that cell's run;
- the IOPub listener (content/iopub.py): every message the kernel publishes goes into the
  `LiveNotebook`, which maps it to its cell through the request's msg_id (parent_header);
- the flusher (`jupyterspot-live` thread): after a change, it pushes the running state (one
  control write) and re-renders only the changed cells (session/live.py `LiveUpdater`, the same
  path as a save), then waits `interval` before the next flush. The interval grows with what
  a flush costs (twice its time, between MIN_INTERVAL and MAX_INTERVAL), so a cell printing
  1,000 lines a second costs the kernel a bounded share of one core, and a 10 MB image
  delays the next flush, never the kernel or the meeting's presence (the server's process).

Pausing (`share.live = False`, the widget) keeps the notebook up to date and publishes nothing
but saves, as without live outputs; resuming publishes what ran meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..content import render as R
from ..content.iopub import IOPubListener, connection_info
from ..content.outputs import CellHint, LiveNotebook
from .live import LiveUpdater

log = logging.getLogger(__name__)

IDLE = {
    "kernel": "idle",
    "running": None,
    "runningSince": None,
    "lastRun": None,
    "lastRunAt": None,
}  # what a paused stream shows
# After the first change, this long for more: a run's start (its source, outputs cleared) and a
# quick cell's output then travel in one flush, instead of the output waiting a whole interval
# behind the start (measured: print -> all guests p95 243 ms without it; docs/benchmarks.md).
COALESCE = 0.03
MIN_INTERVAL = 0.1  # s between flushes at least (ipykernel itself sends stdout every 0.2 s)
MAX_INTERVAL = 2.0  # ...and at most, however slow a flush was
# A cell that uses the package (the magic, an import, a Share call through the module) shows its
# code, never its output: the widget, the link, `%jupyterspot status`. Merely naming the word
# ("jupyterspot-notes.txt") is not using it. (The host token is also redacted from every answer.)
OWN_CODE = re.compile(r"%%?jupyterspot\b|\bjupyterspot_magic\b")


class LiveStream:
    """The kernel's outputs, streamed into one share (module docstring)."""

    def __init__(
        self,
        shell: Any,
        info: dict,
        notebook: LiveNotebook,
        updater: LiveUpdater,
        push_running: Callable[[dict], None],
    ) -> None:
        self.shell = shell
        self.notebook = notebook
        self.updater = updater
        self.push_running = push_running
        self.paused = False
        self.flushes = 0
        self.interval = MIN_INTERVAL
        self.last_cost = 0.0
        self._published = -1  # notebook.version last rendered (-1: never)
        self._running_sent: dict | None = None
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()
        self._resend = False  # republish(): send the current content even if unchanged
        self._stop = threading.Event()
        # The listener first: if it cannot start, no hook is left behind (saves would go to a
        # stream that never flushes).
        self.listener = IOPubListener(info, self._on_message)
        updater.saved_hook = self.on_saved
        shell.events.register("pre_run_cell", self._pre_run)
        self._thread = threading.Thread(target=self._run, name="jupyterspot-live", daemon=True)
        self._thread.start()

    # -- the kernel's side --

    def _pre_run(self, *_info: Any) -> None:
        """Main thread, before the cell's code runs: which request, which cell."""
        request = current_request(self.shell)
        if request is None or self._stop.is_set():
            return
        header = request.get("header") or {}
        msg_id = header.get("msg_id")
        content = request.get("content") or {}
        # Only a front-end's cell: not a widget callback's run_cell (its parent is a comm
        # message), not a request kept out of the history (variable inspectors and the like).
        if header.get("msg_type") != "execute_request" or not isinstance(msg_id, str):
            return
        if isinstance(content, dict) and content.get("store_history") is False:
            return
        hint = CellHint.from_request(request)
        self.notebook.start(msg_id, hint, outputs=not OWN_CODE.search(hint.code))
        self._wake.set()

    def _on_message(self, msg: dict) -> None:
        """The listener's thread: one IOPub message."""
        changes = self.notebook.apply(msg)
        if changes.cells or changes.running:
            self._wake.set()

    # -- publishing --

    def _run(self) -> None:
        last_end = 0.0
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.is_set():
                break
            # Throttle: at most one flush per interval; what arrives meanwhile joins it.
            self._stop.wait(max(COALESCE, last_end + self.interval - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                break
            started = time.monotonic()
            failed = False
            try:
                self.flush()
            except Exception:  # the share stopped meanwhile, or its server is restarting
                log.info("jupyterspot: a live flush did not reach the share", exc_info=True)
                failed = True
            last_end = time.monotonic()
            self.last_cost = last_end - started
            self.interval = min(MAX_INTERVAL, max(MIN_INTERVAL, 2 * self.last_cost))
            if failed and not self._stop.is_set():  # again, after a while: what it took is
                self.interval = MAX_INTERVAL  # on no page yet
                self._wake.set()

    def flush(self) -> bool:
        """Publish the running state and the changed cells now; True if cells were sent. One
        flush at a time: a caller (`Share.update`) waits for the flusher's, then sees its
        result."""
        with self._flush_lock:
            return self._flush()

    def _flush(self) -> bool:
        state = self.notebook.running_state() if not self.paused else IDLE
        if state != self._running_sent:
            self._running_sent = state
            self.push_running(state)
        if self.paused:
            return False
        if self.notebook.version == self._published:
            return self._resend_view()
        version, whole, cells, ids = self.notebook.take_changes(full=self._published == -1)
        self._published = version
        try:
            sent = None if whole is not None else self.updater.patch_from(cells, ids)
            if sent is None:  # cells added or moved, or no per-cell view yet: all of it
                sent = self.updater.update_from(whole or self.notebook.to_dict())
        except BaseException:
            self.notebook.must_render_all()  # what this flush took is not on the pages
            self._published = -2  # no version: the retry (_run) sends it all
            raise
        self.flushes += sent
        if not sent:
            return self._resend_view()
        self._resend = False
        return sent

    def _resend_view(self) -> bool:
        """After `republish`: the server may hold other content (a new server after a crash,
        the saved file shared again) while ours did not change: send ours as it is."""
        if not self._resend:
            return False
        self._resend = False
        return self.updater.resend()

    def republish(self) -> None:
        """The server has other content or none of the running state (the same notebook
        shared again, a new server after a crash): the next flush sends both."""
        self._running_sent = None
        self._published = -1
        self._resend = True
        self._wake.set()

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.republish()  # resumed: what ran meanwhile, at once; paused: nothing runs

    def on_saved(self, wake: bool = True) -> None:
        """The watcher's thread: the file was saved. It becomes the base (LiveNotebook
        `merge_saved`); while paused, the saved file alone is published, as without live."""
        try:
            data, saved_at = self.updater.saved_notebook()
            self.notebook.merge_saved(data, saved_at)
        except (OSError, ValueError, R.RenderError) as e:  # half-written: the next event
            log.info("jupyterspot: saved notebook not read: %s", e)
            return
        if self.paused:
            self.updater.update()
        elif wake:
            self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        with contextlib.suppress(ValueError):
            self.shell.events.unregister("pre_run_cell", self._pre_run)
        self.listener.stop()
        with contextlib.suppress(RuntimeError):
            self._thread.join(5)
        self.updater.saved_hook = None

    def release(self) -> None:
        """After `stop`: the notebook as it ran (every output) goes."""
        self.notebook = LiveNotebook({"cells": [], "nbformat": 4}, self.notebook.label)


def current_request(shell: Any) -> dict | None:
    """The execute_request the kernel is running (ipykernel 6+: get_parent; 5: the header)."""
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return None
    get_parent = getattr(kernel, "get_parent", None)
    try:
        request = get_parent("shell") if get_parent else getattr(kernel, "_parent_header", None)
    except Exception:
        return None
    return request if isinstance(request, dict) and request.get("header") else None


def kernel_shell() -> Any:
    """The IPython shell of the ipykernel this runs in, or None (the CLI, plain IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell if getattr(shell, "kernel", None) is not None else None


def start_stream(
    updater: LiveUpdater, push_running: Callable[[dict], None]
) -> tuple[LiveStream | None, str | None]:
    """A stream for this share, or (None, why not)."""
    shell = kernel_shell()
    info = connection_info() if shell is not None else None
    if shell is None or info is None:
        return None, "live outputs need a Jupyter kernel: only saves update the page"
    located = updater.located
    try:
        data = located.contents if located.path is None else json.loads(located.path.read_bytes())
        notebook = LiveNotebook(
            data or {"cells": [], "nbformat": 4, "nbformat_minor": 5},
            str(located.path or "notebook"),
        )
    except (OSError, ValueError, R.RenderError) as e:
        return None, f"live outputs are off: {e}"
    if located.path is not None:
        updater.content.base_dir = str(Path(located.path).resolve().parent)
    seeded = notebook.is_empty()
    if seeded:  # a notebook never saved: what ran before the share
        notebook.seed_history(history_cells(shell))
    try:
        stream = LiveStream(shell, info, notebook, updater, push_running)
    except Exception as e:  # no zmq, a port we cannot reach
        log.info("jupyterspot: live outputs unavailable", exc_info=True)
        return None, f"live outputs are off: {e}"
    if seeded:
        stream.republish()  # the seeded cells: a flush now
    return stream, None


def history_cells(shell: Any) -> list[tuple[str, list[dict]]]:
    """(source, outputs) of the cells this kernel ran before the share, from its history: the
    sources and results are there; what they printed is not (nobody was listening)."""
    from nbformat.v4 import new_output

    inputs = list(shell.history_manager.input_hist_raw)[1:]  # as typed (In has magics expanded)
    results = shell.user_ns.get("Out") or {}
    request = current_request(shell)
    current = ((request or {}).get("content") or {}).get("code")
    if inputs and inputs[-1] == current:
        inputs = inputs[:-1]  # the cell sharing right now
    cells = []
    for n, code in enumerate(inputs, start=1):
        if not code.strip() or OWN_CODE.search(code):
            continue
        outputs = []
        if n in results:
            data, meta = shell.display_formatter.format(results[n])
            outputs.append(
                new_output("execute_result", data=data, metadata=meta, execution_count=n)
            )
        cells.append((code, outputs))
    return cells
