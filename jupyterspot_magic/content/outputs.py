"""The notebook as the kernel runs it: the saved file's cells plus what the kernel publishes.

`LiveNotebook` holds a normalized copy of the notebook (nbformat 4.5, stable cell ids) and
applies to it what a front-end would: the code of each execute_request becomes its cell's source
(an edited-and-run cell shows its new source), and the kernel's IOPub messages become its
outputs (`nbformat.v4.output_from_msg`, as nbclient does). Which cell a request runs in comes
from the front-end's metadata (`CellHint`; `resolve` says how each front-end is matched).
`to_dict()` is what the share renders (content/live.py re-renders only the cells that changed).

Nothing here reads the kernel or a socket: session/stream.py feeds it, on two threads (the
kernel's main thread starts a run, the IOPub listener adds its outputs), so every method takes
the lock. Every cell's outputs are bounded (`MAX_OUTPUTS`, `MAX_STREAM_CHARS`): a loop printing
for an hour keeps the tail, like a terminal.

Saving stays authoritative (`merge_saved`): the saved file replaces what streamed before the
save (order, markdown, deleted cells); only cells that changed after the save keep their live
state. A cell tagged `jupyterspot-private`, or whose source has a line `# jupyterspot: private`,
is never streamed (content/render.py shows it as a placeholder in every page).
"""

from __future__ import annotations

import copy
import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from . import render as R

MAX_OUTPUTS = 200  # outputs kept per cell (the newest)
MAX_STREAM_CHARS = 200_000  # characters kept per stream output (its tail)
MAX_RUNS = 512  # requests remembered (outputs of threads started by an older run still land)
PRIVATE_MARK = "# jupyterspot: private"  # what a cell marked private by its run holds here
OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")
UNSAVED = "unsaved"  # cell metadata jupyterspot.unsaved: the template marks the cell
VSCODE_SCHEME = "vscode-notebook-cell:"


@dataclass(frozen=True)
class CellHint:
    """What an execute_request says about its cell (session/stream.py reads it)."""

    code: str
    cell_id: str | None = None  # metadata.cellId: JupyterLab / Notebook 7 (VS Code: a URI)
    colab_id: str | None = None  # metadata.colab.cell_id
    deleted: tuple[
        str, ...
    ] = ()  # metadata.deletedCells: JupyterLab's deletions since the last run

    @classmethod
    def from_request(cls, request: dict) -> CellHint:
        """From an execute_request message (header, metadata, content), as the kernel got it."""
        meta = request.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        content = request.get("content")
        code = content.get("code") if isinstance(content, dict) else None
        cell_id = meta.get("cellId")
        colab = meta.get("colab")
        colab_id = colab.get("cell_id") if isinstance(colab, dict) else None
        deleted = meta.get("deletedCells")
        deleted = deleted if isinstance(deleted, list) else []
        return cls(
            code if isinstance(code, str) else "",
            cell_id if isinstance(cell_id, str) and cell_id else None,
            colab_id if isinstance(colab_id, str) and colab_id else None,
            tuple(d for d in deleted[:MAX_RUNS] if isinstance(d, str)),
        )

    def key(self) -> str | None:
        """The front-end's own name for the cell, whatever its form."""
        return self.colab_id or self.cell_id

    def names_cell(self) -> bool:
        """The front-end says which cell (exactly or not): a notebook, not a console."""
        return self.key() is not None

    def exact(self) -> bool:
        """The front-end's name is the notebook's own id (JupyterLab, Notebook 7, Colab)."""
        return self.colab_id is not None or (
            self.cell_id is not None and not self.cell_id.startswith(VSCODE_SCHEME)
        )


@dataclass
class Run:
    """One execute_request: the cell it runs in and what is pending for it."""

    msg_id: str
    cell: str
    started: float  # time.time()
    private: bool
    outputs: bool = True  # False: the share's own cell (its output shows the link)
    clear_wait: bool = False  # clear_output(wait=True): clear when the next output comes
    ended: bool = False


@dataclass
class Changes:
    """What the share must publish: cells re-rendered, and the running state."""

    cells: bool = False
    running: bool = False


def _real_ids(data: dict) -> bool:
    """The file's cell ids are its own (nbformat 4.5+), not derived here from the sources: a
    front-end's id that is not among them is a new cell, not an old one to match by source."""
    minor = data.get("nbformat_minor")
    cells = data.get("cells")
    return (
        data.get("nbformat") == 4
        and isinstance(minor, int)
        and minor >= 5
        and isinstance(cells, list)
        and all(isinstance(c, dict) and isinstance(c.get("id"), str) for c in cells)
    )


class LiveNotebook:
    """The notebook with what ran since it was saved (module docstring)."""

    def __init__(self, data: dict, label: str = "notebook") -> None:
        self._lock = threading.RLock()
        self.label = label
        self.nb = R.normalize(data, label)
        self.real_ids = _real_ids(data)
        self.runs: OrderedDict[str, Run] = OrderedDict()
        self.aliases: dict[str, str] = {}  # a front-end's cell name -> our cell id
        self.anchors: dict[str, str | None] = {}  # unsaved cell -> the cell it follows
        self.changed_at: dict[str, float] = {}  # cell id -> last live change (time.time())
        self.displays: dict[str, list[tuple[str, dict]]] = {}  # display_id -> (cell, output)
        self.last_cell: str | None = None  # the cell that ran last (where a new one goes)
        self.running: Run | None = None  # the run started last, until its idle
        self.last_run: Run | None = None  # the run started last (kept: a quick cell ends
        # before the flush that tells pages it ran; following the running cell needs it)
        self.named_cells = False  # a run said which cell it is: runs that do not are no cells
        self.version = 0  # changes with every applied change (the stream's flush compares)
        self.dirty: set[str] = set()  # cells changed since the last take_changes()
        self.reshaped = True  # cells added, removed or moved since then: a full render

    # -- which cell --

    def _index(self) -> dict[str, int]:
        return {c["id"]: i for i, c in enumerate(self.nb.cells)}

    def resolve(self, hint: CellHint) -> tuple[str, bool]:
        """The id of the cell `hint` runs in, and whether it was found exactly.

        Exact: JupyterLab / Notebook 7 (`cellId` is the nbformat id; an id the file does not
        have is a new cell when the file's ids are its own) and Colab (`colab.cell_id` is the
        cell's `metadata.id`). Best effort: VS Code (its `cellId` is a `vscode-notebook-cell:`
        URI), files whose ids were derived here, and front-ends that send nothing: the same
        front-end name again, else the first code cell with the same source at or after the
        last run, else a new cell after the cell that ran before it.
        """
        index = self._index()
        if hint.exact() and hint.cell_id in index:
            return hint.cell_id, True  # type: ignore[return-value]
        if hint.colab_id:
            for cell in self.nb.cells:
                meta = cell.get("metadata") or {}
                if hint.colab_id in (cell["id"], meta.get("id")):
                    return cell["id"], True
        key = hint.key()
        if key and self.aliases.get(key) in index:
            return self.aliases[key], hint.exact()
        found = None
        if not (hint.exact() and self.real_ids):
            found = self._by_source(hint.code, index)
        cid = found if found is not None else self._insert(hint)
        if key:
            self.aliases[key] = cid
        return cid, found is None and hint.exact()

    def _by_source(self, code: str, index: dict[str, int]) -> str | None:
        taken = set(self.aliases.values())
        start = index.get(self.last_cell or "", -1) + 1
        cells = self.nb.cells
        order = [*range(start, len(cells)), *range(0, start)]
        for i in order:
            cell = cells[i]
            free = cell.get("cell_type") == "code" and cell["id"] not in taken
            if free and _text(cell.get("source")) == code:
                return cell["id"]
        return None

    def _insert(self, hint: CellHint) -> str:
        from nbformat.v4 import new_code_cell

        cid = hint.cell_id
        index = self._index()
        if not cid or not hint.exact() or not R.valid_cell_id(cid) or cid in index:
            cid = "live-" + uuid.uuid4().hex[:12]
        cell = new_code_cell(source="", id=cid)
        cell.metadata["jupyterspot"] = {UNSAVED: True}
        at = index[self.last_cell] + 1 if self.last_cell in index else len(self.nb.cells)
        self.nb.cells.insert(at, cell)
        self.anchors[cid] = self.last_cell if self.last_cell in index else None
        self.reshaped = True
        return cid

    def _has_private(self) -> bool:
        return any(R.is_private_cell(c) for c in self.nb.cells)

    # -- a run starts (the kernel's main thread) --

    def start(
        self, msg_id: str, hint: CellHint, now: float | None = None, *, outputs: bool = True
    ) -> Changes:
        """An execute_request begins: its cell gets the code as run, and no outputs yet.
        `outputs=False`: its outputs are never shown (the share's own cell). A request that
        names no cell, once the notebook's front-end has shown it names them, is not a cell
        (a console on the same kernel, an extension): it is not streamed."""
        now = time.time() if now is None else now
        with self._lock:
            if msg_id in self.runs:  # a nested run_cell in the same request: the same run
                return Changes()
            if hint.names_cell():
                self.named_cells = True
            elif self.named_cells:
                return Changes()
            changed = self._delete(hint.deleted)
            cid, exact = self.resolve(hint)
            cell = self.nb.cells[self._index()[cid]]
            # A best-effort match that found nothing may be a private cell, edited: with private
            # cells in the notebook, such a run is kept back too.
            private = (
                R.is_private_cell(cell)
                or R.is_private_cell({"source": hint.code})
                or (not exact and UNSAVED in (cell.get("metadata", {}).get("jupyterspot") or {})
                    and self._has_private())
            )  # fmt: skip
            run = Run(msg_id, cid, now, private, outputs)
            self.runs[msg_id] = run
            while len(self.runs) > MAX_RUNS:
                self.runs.popitem(last=False)
            self.last_cell = cid
            self.running = self.last_run = run
            self._forget_displays(cid)
            if private:  # nothing of it streams; it renders as the placeholder (render.py)
                if not R.is_private_cell(cell):
                    cell["source"], cell["outputs"] = PRIVATE_MARK, []
                    self._touched(cid, now)
                    return Changes(cells=True, running=True)
                return Changes(cells=changed, running=True)
            cell["source"] = hint.code
            cell["outputs"] = []
            cell["execution_count"] = None
            self._touched(cid, now)
            return Changes(cells=True, running=True)

    def _delete(self, ids: tuple[str, ...]) -> bool:
        """JupyterLab's deletedCells: gone from every page now (a save says so again)."""
        if not ids:
            return False
        gone = set(ids)
        before = len(self.nb.cells)
        self.nb.cells = [c for c in self.nb.cells if c["id"] not in gone]
        if len(self.nb.cells) == before:
            return False
        self.version += 1
        self.reshaped = True
        return True

    # -- what the kernel publishes (the IOPub listener's thread) --

    def apply(self, msg: dict, now: float | None = None) -> Changes:
        """One IOPub message (jupyter_client's deserialized form); unknown parents are ignored:
        silent requests, other clients' requests, the share's own cell."""
        now = time.time() if now is None else now
        kind = msg.get("msg_type") or (msg.get("header") or {}).get("msg_type")
        parent = (msg.get("parent_header") or {}).get("msg_id")
        content = msg.get("content")
        content = content if isinstance(content, dict) else {}
        with self._lock:
            run = self.runs.get(parent) if isinstance(parent, str) else None
            if kind == "update_display_data":
                if run is not None and (run.private or not run.outputs):
                    return Changes()  # a private cell may not rewrite a public display
                return self._update_display(content, now)
            if run is None:
                return Changes()
            if kind == "status":
                return self._status(run, content.get("execution_state"))
            if run.private or not run.outputs:
                return Changes()
            if kind == "execute_input":
                return self._count(run, content.get("execution_count"), now)
            if kind == "clear_output":
                return self._clear(run, bool(content.get("wait")), now)
            if kind in OUTPUT_TYPES:
                return self._output(run, kind, {**msg, "content": content}, now)
            return Changes()

    def _cell(self, cid: str) -> dict | None:
        i = self._index().get(cid)
        return None if i is None else self.nb.cells[i]

    def _touched(self, cid: str, now: float) -> None:
        self.changed_at[cid] = now
        self.dirty.add(cid)
        self.version += 1

    def _status(self, run: Run, state: Any) -> Changes:
        if state != "idle" or run.ended:
            return Changes()
        run.ended = True
        if self.running is run:
            self.running = None
        return Changes(running=True)

    def _count(self, run: Run, count: Any, now: float) -> Changes:
        cell = self._cell(run.cell)
        if cell is None or not isinstance(count, int):
            return Changes()
        cell["execution_count"] = count
        self._touched(run.cell, now)
        return Changes(cells=True)

    def _clear(self, run: Run, wait: bool, now: float) -> Changes:
        if wait:
            run.clear_wait = True
            return Changes()
        cell = self._cell(run.cell)
        if cell is None:
            return Changes()
        cell["outputs"] = []
        self._forget_displays(run.cell)
        self._touched(run.cell, now)
        return Changes(cells=True)

    def _output(self, run: Run, kind: str, msg: dict, now: float) -> Changes:
        from nbformat.v4 import output_from_msg

        cell = self._cell(run.cell)
        if cell is None:
            return Changes()
        if run.clear_wait:
            cell["outputs"] = []
            run.clear_wait = False
            self._forget_displays(run.cell)
        try:
            output = output_from_msg({**msg, "msg_type": kind})
        except (KeyError, ValueError, TypeError, AttributeError):  # malformed: nothing to show
            return Changes()
        outputs = cell["outputs"]
        if kind == "stream" and outputs and _same_stream(outputs[-1], output):
            outputs[-1]["text"] = _stream_tail(outputs[-1]["text"] + output["text"])
        else:
            if kind == "stream":
                output["text"] = _stream_tail(output["text"])
            outputs.append(output)
            if len(outputs) > MAX_OUTPUTS:
                del outputs[:-MAX_OUTPUTS]
                self._forget_displays(run.cell)
            display_id = (msg["content"].get("transient") or {}).get("display_id")
            if isinstance(display_id, str) and kind == "display_data":
                self.displays.setdefault(display_id, []).append((run.cell, output))
        self._touched(run.cell, now)
        return Changes(cells=True)

    def _forget_displays(self, cid: str | None = None) -> None:
        """Keep only displays whose output is still shown (of cell `cid`, or all): the table
        never holds more than the outputs the cells hold."""
        kept: dict[str, list[tuple[str, dict]]] = {}
        for display_id, targets in self.displays.items():
            alive = [
                (c, o) for c, o in targets if (cid is not None and c != cid) or self._shows(c, o)
            ]
            if alive:
                kept[display_id] = alive
        self.displays = kept

    def _shows(self, cid: str, output: dict) -> bool:
        cell = self._cell(cid)
        return cell is not None and any(o is output for o in cell.get("outputs", ()))

    def _update_display(self, content: dict, now: float) -> Changes:
        display_id = (content.get("transient") or {}).get("display_id")
        targets = self.displays.get(display_id) if isinstance(display_id, str) else None
        if not targets:
            return Changes()
        changed = False
        for cid, output in targets:
            cell = self._cell(cid)
            if cell is None or R.is_private_cell(cell) or not self._shows(cid, output):
                continue
            output["data"] = copy.deepcopy(content.get("data") or {})
            output["metadata"] = copy.deepcopy(content.get("metadata") or {})
            self._touched(cid, now)
            changed = True
        return Changes(cells=changed)

    # -- the saved file --

    def merge_saved(self, data: dict, saved_at: float) -> None:
        """The file was saved: it becomes the base. Cells that changed in the kernel after
        `saved_at` (the file's mtime) keep their live state, in place or after their anchor."""
        with self._lock:
            saved = R.normalize(data, self.label)
            newer = {cid for cid, t in self.changed_at.items() if t > saved_at}
            if self.running is not None and not self.running.ended:
                newer.add(self.running.cell)
            live = {c["id"]: c for c in self.nb.cells if c["id"] in newer}
            for cell in saved.cells:
                if cell["id"] in live:
                    mine = live.pop(cell["id"])
                    for key in ("source", "outputs", "execution_count"):
                        if key in mine:
                            cell[key] = mine[key]
            for cid, cell in live.items():  # not in the file: still unsaved, after its anchor
                ids = [c["id"] for c in saved.cells]
                anchor = self.anchors.get(cid)
                at = ids.index(anchor) + 1 if anchor in ids else len(ids)
                cell.setdefault("metadata", {})["jupyterspot"] = {UNSAVED: True}
                saved.cells.insert(at, cell)
            self.nb = saved
            self.real_ids = _real_ids(data)
            self.changed_at = {cid: t for cid, t in self.changed_at.items() if cid in newer}
            index = self._index()
            self.aliases = {k: v for k, v in self.aliases.items() if v in index}
            self.anchors = {k: v for k, v in self.anchors.items() if k in index}
            self._forget_displays()
            self.version += 1
            self.reshaped = True

    # -- cells run before the share (a notebook never saved) --

    def seed_history(self, cells: list[tuple[str, list[dict]]]) -> None:
        """Add cells that ran before the share started (source, outputs), as unsaved cells:
        a brand-new notebook has nothing on disk yet. A source run more than once is one cell
        (its last run)."""
        last = {code: outputs for code, outputs in cells}
        with self._lock:
            for code, outputs in last.items():
                cid = self._insert(CellHint(code))
                cell = self._cell(cid)
                assert cell is not None
                cell["source"] = code
                cell["outputs"] = outputs[-MAX_OUTPUTS:]
                self.last_cell = cid
            self.version += 1

    def is_empty(self) -> bool:
        with self._lock:
            return not any(_text(c.get("source")).strip() for c in self.nb.cells)

    # -- what the share renders --

    def to_dict(self) -> dict:
        """A deep copy of the notebook as it stands (rendered on another thread)."""
        with self._lock:
            return copy.deepcopy(self.nb)

    def take_changes(self, full: bool = False) -> tuple[int, dict | None, list[dict], list[str]]:
        """What changed since the last call, for one flush: (version, the whole notebook or
        None, the changed cells, every cell id in order). The whole notebook (and no cells) when
        cells were added, removed or moved (or `full`); else only the changed cells travel
        (copies)."""
        with self._lock:
            whole = full or self.reshaped
            self.reshaped = False
            ids = [c["id"] for c in self.nb.cells]
            dirty, self.dirty = self.dirty, set()
            if whole:
                return self.version, copy.deepcopy(self.nb), [], ids
            index = self._index()
            changed = [copy.deepcopy(self.nb.cells[index[c]]) for c in dirty if c in index]
            return self.version, None, changed, ids

    def must_render_all(self) -> None:
        """The last flush did not reach the share: the next one sends everything."""
        with self._lock:
            self.reshaped = True

    def running_state(self) -> dict[str, Any]:
        """The control document's running keys (session/stream.py writes them)."""
        with self._lock:
            run, last = self.running, self.last_run
            busy = any(not r.ended for r in self.runs.values())
            return {
                "kernel": "busy" if busy else "idle",
                "running": run.cell if run else None,
                "runningSince": int(run.started * 1000) if run else None,
                "lastRun": last.cell if last else None,
                "lastRunAt": int(last.started * 1000) if last else None,
            }


def _text(source: Any) -> str:
    return "".join(map(str, source)) if isinstance(source, list) else str(source or "")


def _same_stream(last: dict, new: dict) -> bool:
    return last.get("output_type") == "stream" and last.get("name") == new.get("name")


# Text up to a carriage return that more text on the same line overwrites (a trailing "\r"
# stays: the next chunk overwrites it, and until then the line shows, as in JupyterLab).
_CR = re.compile(r"[^\n]*\r(?=[^\n])")


def _stream_tail(text: str) -> str:
    """What a terminal shows: a carriage return rewrites its line (progress bars), and only
    the last MAX_STREAM_CHARS are kept."""
    if "\r" in text:
        text = _CR.sub("", text.replace("\r\n", "\n"))
    if len(text) > MAX_STREAM_CHARS:
        cut = text.find("\n", len(text) - MAX_STREAM_CHARS)
        kept = text[cut + 1 :] if cut >= 0 else text[-MAX_STREAM_CHARS:]
        text = "[… earlier output not kept …]\n" + kept
    return text
