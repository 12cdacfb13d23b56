"""Questions on the board (shapes of kind "ask", docs/protocol.md "### board"), as the kernel
sees them: the open ones kept current from the board document's changes (only the shapes a
change touches are read again: a board of 100,000 strokes costs nothing per stroke), and the
host's "answered". Runs on the server thread, like the document it reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pycrdt import Doc, Map

from .schema import ASK, SHAPE

# The queue stays small however many questions a crowd asks: the newest MAX_ROWS open ones
# (each row carries `open`, the whole count, for "+N more"), text cut like the viewer's.
TEXT_LIMIT = 280
MAX_ROWS = 50


def row(shape_id: str, shape: Any) -> dict | None:
    """The queue's row of an open question, or None (not a question, answered, malformed)."""
    if not isinstance(shape, Map) or shape.get("t") != ASK:
        return None
    ans = shape.get("ans")
    if isinstance(ans, int | float) and ans > 0:
        return None
    text, by = shape.get("text"), shape.get("by")
    at, ci = shape.get("at"), shape.get("ci")
    return {
        "id": shape_id,
        "text": text[:TEXT_LIMIT] if isinstance(text, str) else "",
        "by": by[:60] if isinstance(by, str) else "",
        "cell": str(shape.get("cell") or ""),
        "cell_index": int(ci) if isinstance(ci, int | float) else 0,
        "at": float(at) if isinstance(at, int | float) else 0.0,
    }


class OpenQuestions:
    """The open questions of one board, updated as it changes; `on_change` after each change
    that touched a question."""

    def __init__(self, doc: Doc, on_change: Callable[[], None]) -> None:
        self.shapes = doc.get(SHAPE["root"], type=Map)
        self.on_change = on_change
        self.rows: dict[str, dict] = {}
        for shape_id, shape in self.shapes.items():
            if (r := row(shape_id, shape)) is not None:
                self.rows[shape_id] = r
        self._subscription = self.shapes.observe_deep(self._changed)

    def listed(self) -> list[dict]:
        """The newest MAX_ROWS, oldest first; each row's `open` is how many are open."""
        rows = sorted(self.rows.values(), key=lambda r: (r["at"], r["id"]))[-MAX_ROWS:]
        return [{**r, "open": len(self.rows)} for r in rows]

    def _changed(self, events: list) -> None:
        touched = set()
        for event in events:
            if event.path:
                touched.add(str(event.path[0]))
            else:
                touched.update(str(key) for key in event.keys)
        changed = False
        for shape_id in touched:
            r = row(shape_id, self.shapes.get(shape_id))
            if r != self.rows.get(shape_id):
                changed = True
                if r is None:
                    self.rows.pop(shape_id, None)
                else:
                    self.rows[shape_id] = r
        if changed:
            self.on_change()


def answer(doc: Doc, shape_id: str, when_ms: float) -> bool:
    """Mark a question answered (the kernel's write); False when there is no such question."""
    shape = doc.get(SHAPE["root"], type=Map).get(shape_id)
    if not isinstance(shape, Map) or shape.get("t") != ASK:
        return False
    ans = shape.get("ans")
    if isinstance(ans, int | float) and ans > 0:
        return True  # answered already: another write would only grow the document
    with doc.transaction(origin="kernel"):
        shape["ans"] = float(when_ms)
    return True
