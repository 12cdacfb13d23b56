"""The meeting's notes as a notebook: the original cells, each followed by what was written on it.

`notes_notebook` takes the notebook as the page showed it (nbformat 4.5 with the page's stable
cell ids: content/render.py `load_notebook`) and the board as `export.board_json` gives it, and
returns a new notebook: every original cell, then one markdown cell per cell that had written
things on it (sticky notes, text, questions: `WRITTEN`, top to bottom as they sat on the cell),
and at the end one markdown cell for what was written on cells that are no longer in the notebook
("detached"). Freehand drawings and shapes have no text: a cell's notes say how many there were.

What guests typed is untrusted, and the notes notebook is opened by the host in their own
Jupyter: every character markdown or HTML would act on is escaped, so a note can neither load a
remote image (a tracking pixel) nor become a link or a heading; it stays the words typed.
The share's own output (the widget with the host link) is left out, as on the page.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from ..base.text import plural, redact

#: Shape kinds whose text belongs in the notes, and how a reader calls them (contracts/shape.json).
WRITTEN = {"note": "Note", "text": "Text", "ask": "Question"}
#: Shape kinds that are drawings: counted, not transcribed.
DRAWN = ("pen", "hl", "arrow", "rect", "ellipse")
#: Marks the cells the notes add (so a second notes run or a reader can tell them apart).
NOTES_KEY = "jupyterspot_notes"

# Markdown's and HTML's active characters, escaped one by one (CommonMark: any ASCII
# punctuation may be backslash-escaped; < > & as entities so no HTML tag or entity survives).
_MD_ACTIVE = re.compile(r"([\\`*_{}\[\]()#+\-.!|~=:\"'$%^])")
_HTML = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def escape_markdown(text: str) -> str:
    """`text` shown as itself in markdown: no markup, no HTML, no links, no math."""
    text = "".join(_HTML.get(ch, ch) for ch in text)
    return _MD_ACTIVE.sub(r"\\\1", text)


def notes_path(original: str | Path) -> Path:
    """`<name>-notes.ipynb` beside the original."""
    original = Path(original)
    return original.with_name(f"{original.stem}-notes.ipynb")


def notes_notebook(
    nb: NotebookNode, board: dict[str, Any], secrets: tuple[str, ...] = ()
) -> tuple[NotebookNode, dict[str, int]]:
    """The notes notebook and what it holds ({"written": n, "drawn": n, "detached": n})."""
    by_cell, drawn, detached = _group(board.get("shapes") or {}, {c["id"] for c in nb.cells})
    out = nbformat.v4.new_notebook(metadata=dict(nb.metadata))
    for cell in nb.cells:
        out.cells.append(cell)
        written = by_cell.get(cell["id"], [])
        if written or drawn.get(cell["id"]):
            notes = _notes_cell(written, drawn.get(cell["id"], 0), secrets)
            out.cells.append(_with_id(notes, cell["id"]))
    if detached:
        out.cells.append(_with_id(_detached_cell(detached, secrets), "detached"))
    counts = {
        "written": sum(map(len, by_cell.values())) + len(detached),
        "drawn": sum(drawn.values()),
        "detached": len(detached),
    }
    return out, counts


def _group(
    shapes: dict[str, Any], cell_ids: set[str]
) -> tuple[dict[str, list[dict]], dict[str, int], list[dict]]:
    by_cell: dict[str, list[dict]] = defaultdict(list)
    drawn: dict[str, int] = defaultdict(int)
    detached: list[dict] = []
    for shape in shapes.values():
        if not isinstance(shape, dict):
            continue
        kind, cell = shape.get("t"), shape.get("cell")
        attached = isinstance(cell, str) and cell in cell_ids
        if kind in DRAWN and attached:
            drawn[cell] += 1
        elif kind in WRITTEN and _text(shape):
            (by_cell[cell] if attached else detached).append(shape)
    for written in by_cell.values():
        written.sort(key=_reading_order)
    detached.sort(key=lambda s: (_number(s.get("ci")), *_reading_order(s)))
    return by_cell, drawn, detached


def _reading_order(shape: dict) -> tuple[float, float]:
    return _number(shape.get("y")), _number(shape.get("at"))


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _text(shape: dict) -> str:
    text = shape.get("text")
    return text.strip() if isinstance(text, str) else ""


def _line(shape: dict, secrets: tuple[str, ...]) -> str:
    """One written thing: `> **Question** · Ana · 14:05` then the text, quoted line by line."""
    head = [f"**{WRITTEN[shape['t']]}**"]
    by = shape.get("by")
    if isinstance(by, str) and by.strip():
        head.append(escape_markdown(redact(by.strip()[:60], secrets)))
    at = _number(shape.get("at"))
    if at > 0:
        when = _dt.datetime.fromtimestamp(at / 1000, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
        head.append(f"{when} UTC")
    if shape["t"] == "ask" and _number(shape.get("ans")) > 0:
        head.append("answered")
    body = escape_markdown(redact(_text(shape), secrets)).splitlines()
    return "\n".join(["> " + " · ".join(head), ">", *(f"> {line}" for line in body)])


def _notes_cell(written: list[dict], drawn: int, secrets: tuple[str, ...]) -> NotebookNode:
    parts = [_line(s, secrets) for s in written]
    if drawn:
        parts.append(f"*{plural(drawn, 'drawing')} on the cell above (see the HTML export).*")
    return _cell("\n\n".join(parts))


def _detached_cell(detached: list[dict], secrets: tuple[str, ...]) -> NotebookNode:
    head = "### Written on cells that are no longer in the notebook"
    return _cell("\n\n".join([head, *(_line(s, secrets) for s in detached)]))


def _with_id(cell: NotebookNode, about: str) -> NotebookNode:
    """A stable id (the same notes written twice are the same file): from what it is about."""
    cell["id"] = "notes-" + hashlib.sha1(about.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return cell


def _cell(source: str) -> NotebookNode:
    return nbformat.v4.new_markdown_cell(source, metadata={NOTES_KEY: True})


class NotesError(RuntimeError):
    """The notes could not be written (one line)."""


def write_notes(
    nb: NotebookNode,
    board: dict[str, Any],
    original: Path,
    target: Path | None = None,
    secrets: tuple[str, ...] = (),
) -> tuple[Path, dict[str, int]]:
    """Write the notes notebook beside `original` (never over it, never over a file the notes
    did not write: a user's own `<name>-notes.ipynb` gets `-notes-2`, `-3`…)."""
    notes, counts = notes_notebook(nb, board, secrets)
    notes.metadata["jupyterspot"] = {"notes_of": original.name}
    nbformat.validate(notes)  # what we write opens in every front-end
    path = _free_path(target or notes_path(original), original)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(nbformat.writes(notes), encoding="utf-8")
        tmp.replace(path)  # whole or not at all: a reader never sees half a file
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise NotesError(f"Cannot write the notes to {path} ({e.strerror or e})") from None
    return path, counts


def _free_path(path: Path, original: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists() and (_same(candidate, original) or not _ours(candidate)):
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def _same(a: Path, b: Path) -> bool:
    try:
        return b.exists() and a.samefile(b)
    except OSError:
        return False


def _ours(path: Path) -> bool:
    """A notes notebook written before (re-running the notes replaces it)."""
    try:
        meta = nbformat.read(path, as_version=4).metadata
    except Exception:  # not a notebook at all: not ours
        return False
    mark = meta.get("jupyterspot")
    return isinstance(mark, dict) and "notes_of" in mark
