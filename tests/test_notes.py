"""Keep the notes (issue 18): a real kernel shares a notebook, a real yjs peer writes on its cells,
and the notes notebook the kernel writes validates with nbformat, holds every note under the cell
it was written on (what was written on a removed cell at the end), and the original file is
byte-identical afterwards. Questions too: an open one, and one the kernel answered (marked).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from .live_helpers import code, markdown, query, share_command, share_info


def _notebook(path) -> None:
    nb = {
        "cells": [markdown("intro", "# Talk"), code("fit", "x = 1"), code("plot", "x + 1")],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb), encoding="utf-8")


def test_notes_beside_the_original(kernel, tmp_path, node_peers):
    path = tmp_path / "talk.ipynb"
    _notebook(path)
    before = path.read_bytes()
    result = kernel.execute(share_command(path))
    assert result["error"] is None, result["error"]
    info = share_info(kernel)
    peer = node_peers(info["ws_url"], "board", info["token"])
    peer.wait(lambda e: e["event"] == "synced")
    written = {
        "n1": {"t": "note", "cell": "fit", "ci": 1, "y": 40, "text": "why x = 1?", "by": "Ana"},
        "n2": {"t": "text", "cell": "fit", "ci": 1, "y": 5, "text": "look here", "by": "Bo"},
        "n3": {"t": "note", "cell": "plot", "ci": 2, "y": 0, "text": "<b>bold?</b>", "by": "Eve"},
        "n4": {"t": "note", "cell": "gone", "ci": 9, "y": 0, "text": "on a cell now gone"},
        "p1": {"t": "pen", "cell": "intro", "ci": 0, "x": 1, "y": 1},
        "q1": {"t": "ask", "cell": "plot", "ci": 2, "y": 30, "text": "which axis?", "by": "Cy"},
        "q2": {"t": "ask", "cell": "intro", "ci": 0, "y": 9, "text": "slides?", "by": "Di"},
    }
    for key, fields in written.items():
        peer.send(cmd="shape", key=key, fields=fields)
    peer.send(cmd="watch", prefix="")
    peer.wait(lambda e: e["event"] == "doc" and set(written) <= set(e["maps"]["shapes"]))

    # silent requests: this code is not a cell of the shared notebook
    query(
        kernel,
        "from jupyterspot_magic.session import registry as r; r.current().answer_question('q2')",
    )
    said = query(kernel, "%jupyterspot notes")
    notes_file = str(tmp_path / "talk-notes.ipynb")
    assert f"(6 notes, 1 of them on cells no longer there (at the end)) are in {notes_file}" in said
    first = Path(notes_file).read_text()
    query(kernel, "%jupyterspot stop")
    assert notes_file in query(kernel, "%jupyterspot notes")  # after the meeting: replaced
    assert Path(notes_file).read_text() == first
    notes = nbformat.read(notes_file, as_version=4)
    nbformat.validate(notes)
    texts = [(c.get("id"), c.cell_type, c.source.replace("\\", "")) for c in notes.cells]
    ids = [t[0] for t in texts]
    assert ids[0] == "intro" and ids[2] == "fit" and ids[4] == "plot"  # originals, in order
    assert "1 drawing" in texts[1][2]
    assert "**Question** · Di · answered" in texts[1][2] and "slides?" in texts[1][2]
    assert "**Question**" in texts[5][2] and "which axis?" in texts[5][2]
    assert "answered" not in texts[5][2]
    assert texts[3][2].index("look here") < texts[3][2].index("why x = 1?")  # top to bottom
    assert "bold?" in texts[5][2] and "<b>" not in notes.cells[5].source  # escaped
    assert "on a cell now gone" in texts[6][2] and len(texts) == 7
    assert info["host_token"] not in notes_file.join(c.source for c in notes.cells)
    assert path.read_bytes() == before


# --- the widget's "Keep notes" (frontends/widget.py command "notes", js/widget/index.ts) ---


def test_widget_notes_command_on_a_real_share(nb) -> None:
    """The command writes the notes beside the shared file, live and after Stop."""
    from jupyterspot_magic.frontends.widget import ShareWidget, connect
    from jupyterspot_magic.session import registry

    share = registry.share(nb, tunnel="none", store=False)
    widget = ShareWidget()
    connect(widget, share)
    answer = widget.answer("notes", {"op": "write"})
    assert answer["ok"] and answer["message"].endswith(str(nb.with_name("demo-notes.ipynb")))
    assert widget.answer("stop", {})["ok"]
    assert widget.answer("notes", {"op": "write"})["ok"]  # the meeting is over: still there
    nbformat.validate(nbformat.read(nb.with_name("demo-notes.ipynb"), as_version=4))


def test_widget_keep_notes_button(browser) -> None:
    from .conftest import show_widget, wait_for

    page = browser.new_page()
    try:
        show_widget(page)
        button = page.get_by_test_id("widget-notes")
        button.click()
        assert page.evaluate("window.__sent") == [{"type": "notes", "op": "write", "req": 1}]
        page.evaluate("window.__msg({type: 'ack', req: 1, ok: true, message: '3 notes kept'})")
        state = page.get_by_test_id("widget-lead-state")
        wait_for(lambda: state.inner_text() == "3 notes kept", 2, "the kernel's answer shown")
        page.evaluate("window.__set('status', 'stopped')")
        assert button.is_visible()  # after Stop the board is still in the kernel
        page.evaluate("window.__set('status', 'error')")
        assert button.is_hidden()
    finally:
        page.close()
