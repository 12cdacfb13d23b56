"""The meeting's notes notebook (content/notes.py): placement, escaping, never over a file."""

from __future__ import annotations

import nbformat
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from jupyterspot_magic.content.notes import (
    NOTES_KEY,
    escape_markdown,
    notes_notebook,
    notes_path,
    write_notes,
)

HOSTILE = (
    "![pixel](http://evil.example/p.png) <img src=x onerror=alert(1)> [link](http://a.example) "
    "<script>alert(1)</script> $x^2$ **bold** `code` &amp; https://auto.example"
)


def _nb() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for i, src in enumerate(["# Title", "x = 1", "plot()"]):
        cell = nbformat.v4.new_markdown_cell(src) if i == 0 else nbformat.v4.new_code_cell(src)
        cell["id"] = f"c{i}"
        nb.cells.append(cell)
    return nb


def _board() -> dict:
    shapes = {
        "a": {"t": "note", "cell": "c2", "ci": 2, "y": 50, "text": "second on c2", "by": "Ana"},
        "b": {"t": "text", "cell": "c2", "ci": 2, "y": 10, "text": "first on c2", "by": "Bo"},
        "c": {"t": "note", "cell": "gone", "ci": 7, "y": 0, "text": "was on a removed cell"},
        "d": {"t": "pen", "cell": "c1", "ci": 1, "x": 0, "y": 0},
        "e": {"t": "pen", "cell": "c1", "ci": 1, "x": 0, "y": 0},
        "f": {"t": "note", "cell": "c0", "ci": 0, "y": 0, "text": HOSTILE, "by": "<b>Eve</b>"},
        "g": {"t": "note", "cell": "c0", "ci": 0, "y": 5, "text": "   "},  # nothing written
        "h": "not a shape",
    }
    return {"shapes": shapes}


def test_cells_in_order_with_their_notes_under_them() -> None:
    out, counts = notes_notebook(_nb(), _board())
    nbformat.validate(out)
    kinds = [(c.cell_type, bool(c.metadata.get(NOTES_KEY))) for c in out.cells]
    assert kinds == [
        ("markdown", False),
        ("markdown", True),  # Eve's note under c0
        ("code", False),
        ("markdown", True),  # two drawings on c1
        ("code", False),
        ("markdown", True),  # c2: Bo's text (y 10) above Ana's note (y 50)
        ("markdown", True),  # detached, at the end
    ]
    c2 = out.cells[5].source
    assert c2.index("first on c2") < c2.index("second on c2")
    assert "2 drawings" in out.cells[3].source
    assert "was on a removed cell" in out.cells[6].source
    assert counts == {"written": 4, "drawn": 2, "detached": 1}


def test_what_guests_typed_stays_text() -> None:
    out, _ = notes_notebook(_nb(), _board())
    html = markdown2html_mistune(out.cells[1].source)
    for tag in ("<img", "<a ", "<script", "<em", "<code", "<b>"):
        assert tag not in html, (tag, html)
    assert html.count("<strong") == 1  # our own "**Note**" label; the guest's **bold** is text
    assert "alert(1)" in html and "evil.example" in html  # shown, not acted on
    assert "\\$x" in out.cells[1].source  # no math either


def test_escape_covers_block_starts() -> None:
    for text in ("# heading", "- item", "1. item", "> quote", "---", "| a | b |", "    code"):
        html = markdown2html_mistune(escape_markdown(text))
        assert not any(t in html for t in ("<h1", "<ul", "<ol", "<blockquote", "<hr", "<table"))


def test_secrets_are_redacted() -> None:
    board = {"shapes": {"a": {"t": "note", "cell": "c1", "text": "token=SECRET123 ok"}}}
    out, _ = notes_notebook(_nb(), board, secrets=("SECRET123",))
    assert "SECRET123" not in nbformat.writes(out)


def test_written_beside_never_over_a_foreign_file(tmp_path) -> None:
    original = tmp_path / "talk.ipynb"
    original.write_text(nbformat.writes(_nb()), encoding="utf-8")
    before = original.read_bytes()
    mine = tmp_path / "talk-notes.ipynb"
    mine.write_text("my own notes, not a notebook", encoding="utf-8")
    path, _ = write_notes(_nb(), _board(), original)
    assert path == tmp_path / "talk-notes-2.ipynb"
    assert mine.read_text() == "my own notes, not a notebook"
    again, _ = write_notes(_nb(), _board(), original)
    assert again == path  # our own notes are replaced
    assert original.read_bytes() == before
    assert notes_path(original) == mine
    # asked to write over the original itself: a new name instead
    path3, _ = write_notes(_nb(), _board(), original, target=original)
    assert path3 != original and original.read_bytes() == before


@pytest.mark.parametrize("bad", [None, 5, "x", [], {"t": "note", "text": 5}])
def test_odd_shapes_are_skipped(bad) -> None:
    out, counts = notes_notebook(_nb(), {"shapes": {"x": bad}})
    assert len(out.cells) == 3 and counts["written"] == 0


def test_a_question_says_whether_it_was_answered() -> None:
    board = {
        "shapes": {
            "q1": {"t": "ask", "cell": "c1", "ci": 1, "y": 0, "text": "open one", "by": "Ana"},
            "q2": {"t": "ask", "cell": "c1", "ci": 1, "y": 9, "text": "done one", "ans": 1.7e12},
        }
    }
    out, _ = notes_notebook(_nb(), board)
    text = "\n".join(c.source for c in out.cells if c.cell_type == "markdown")
    open_head = next(line for line in text.splitlines() if "**Question** · Ana" in line)
    assert "answered" not in open_head
    done = text.split("done one")[0].rsplit("**Question**", 1)[1]
    assert "answered" in done
