"""The notebook as the kernel runs it (content/outputs.py): which cell a request runs in, for
each front-end's metadata shape, and what IOPub messages do to its outputs. The messages are
built as ipykernel sends them (jupyter_client's deserialized form); tests/test_live_stream.py
and tests/test_live_kernel.py drive a real kernel."""

from __future__ import annotations

import re
import uuid

import pytest

from jupyterspot_magic.content import render as R
from jupyterspot_magic.content.outputs import (
    MAX_OUTPUTS,
    MAX_STREAM_CHARS,
    CellHint,
    LiveNotebook,
)


def code(cid: str, source: str, **meta) -> dict:
    return {
        "cell_type": "code",
        "id": cid,
        "metadata": meta,
        "source": source,
        "outputs": [],
        "execution_count": None,
    }


def notebook(*cells: dict, minor: int = 5) -> dict:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": minor}


def msg(kind: str, parent: str, **content) -> dict:
    return {
        "msg_type": kind,
        "header": {"msg_type": kind, "msg_id": uuid.uuid4().hex},
        "parent_header": {"msg_id": parent},
        "metadata": {},
        "content": content,
    }


def cell(live: LiveNotebook, cid: str) -> dict:
    return next(c for c in live.nb.cells if c["id"] == cid)


def ids(live: LiveNotebook) -> list[str]:
    return [c["id"] for c in live.nb.cells]


def test_jupyterlab_cell_id_is_exact_and_the_code_as_run_is_the_source() -> None:
    live = LiveNotebook(notebook(code("a", "x = 1"), code("b", "print(x)")))
    changes = live.start("m1", CellHint("print(x + 1)", cell_id="b"))
    assert changes.cells and changes.running
    assert cell(live, "b")["source"] == "print(x + 1)"
    live.apply(msg("execute_input", "m1", code="print(x + 1)", execution_count=7))
    live.apply(msg("stream", "m1", name="stdout", text="2\n"))
    live.apply(msg("stream", "m1", name="stdout", text="3\n"))
    b = cell(live, "b")
    assert b["execution_count"] == 7
    assert [o["text"] for o in b["outputs"]] == ["2\n3\n"]  # one stream output, merged
    assert live.running_state()["running"] == "b"
    live.apply(msg("status", "m1", execution_state="idle"))
    state = live.running_state()
    assert state["kernel"] == "idle" and state["running"] is None and state["runningSince"] is None
    assert state["lastRun"] == "b"  # the cell that ran last stays known (following it)


def test_colab_cell_id_is_the_cells_metadata_id() -> None:
    nb = {
        "cells": [
            {"cell_type": "code", "metadata": {"id": "pvTH1"}, "source": "1", "outputs": []},
            {"cell_type": "code", "metadata": {"id": "Q2xy"}, "source": "2", "outputs": []},
        ],
        "metadata": {"colab": {"provenance": []}},
        "nbformat": 4,
        "nbformat_minor": 0,
    }
    live = LiveNotebook(nb)
    second = ids(live)[1]
    live.start("m1", CellHint("2 + 40", colab_id="Q2xy"))
    assert cell(live, second)["source"] == "2 + 40"
    live.apply(msg("execute_result", "m1", data={"text/plain": "42"}, metadata={},
                   execution_count=3))  # fmt: skip
    assert cell(live, second)["outputs"][0]["data"]["text/plain"] == "42"


def test_vscode_uri_maps_by_source_then_keeps_the_mapping_when_the_cell_is_edited() -> None:
    live = LiveNotebook(notebook(code("a", "import os"), code("b", "print(os.sep)")))
    uri = "vscode-notebook-cell:/home/u/nb.ipynb#W2sZmlsZQ%3D%3D"
    live.start("m1", CellHint("print(os.sep)", cell_id=uri))
    assert live.runs["m1"].cell == "b"
    live.start("m2", CellHint("print(os.sep * 2)", cell_id=uri))  # edited, run again
    assert live.runs["m2"].cell == "b" and cell(live, "b")["source"] == "print(os.sep * 2)"
    assert ids(live) == ["a", "b"]


def test_an_unknown_cell_appears_after_the_cell_that_ran_before_it_marked_unsaved() -> None:
    live = LiveNotebook(notebook(code("a", "1"), code("b", "2"), code("c", "3")))
    live.start("m1", CellHint("1", cell_id="a"))
    live.start("m2", CellHint("print('new')", cell_id="fresh-id"))
    assert ids(live) == ["a", "fresh-id", "b", "c"]
    assert cell(live, "fresh-id")["metadata"]["jupyterspot"] == {"unsaved": True}
    html = R.render(live.to_dict(), title="t").html
    assert 'data-jsp-unsaved="" id="cell-id=fresh-id"' in html
    assert html.count("data-jsp-unsaved") == 1
    # nothing names it: a new cell too (an id that is not an nbformat id is replaced)
    live.start("m3", CellHint("y = 5", cell_id="not an id!"))
    assert ids(live)[2].startswith("live-") and ids(live)[3:] == ["b", "c"]


def test_no_metadata_matches_by_source_at_or_after_the_last_run() -> None:
    live = LiveNotebook(notebook(code("a", "x"), code("b", "y"), code("c", "x")))
    live.start("m1", CellHint("y"))
    live.start("m2", CellHint("x"))
    assert live.runs["m2"].cell == "c"  # the next "x" after "b", not the first one


def test_outputs_of_every_kind_clear_output_wait_and_update_display() -> None:
    live = LiveNotebook(notebook(code("a", ""), code("b", "")))
    live.start("m1", CellHint("...", cell_id="a"))
    live.apply(msg("display_data", "m1", data={"text/plain": "v1"}, metadata={},
                   transient={"display_id": "d1"}))  # fmt: skip
    live.apply(msg("error", "m1", ename="ValueError", evalue="bad", traceback=["tb"]))
    live.start("m2", CellHint("...", cell_id="b"))
    live.apply(msg("display_data", "m2", data={"text/plain": "v1"}, metadata={},
                   transient={"display_id": "d1"}))  # fmt: skip
    # the update comes from a third request: both displays change (as in JupyterLab)
    live.apply(msg("update_display_data", "other", data={"text/plain": "v2"}, metadata={},
                   transient={"display_id": "d1"}))  # fmt: skip
    assert cell(live, "a")["outputs"][0]["data"]["text/plain"] == "v2"
    assert cell(live, "a")["outputs"][1]["ename"] == "ValueError"
    assert cell(live, "b")["outputs"][0]["data"]["text/plain"] == "v2"
    live.apply(msg("clear_output", "m2", wait=True))
    assert len(cell(live, "b")["outputs"]) == 1  # wait: cleared only by the next output
    live.apply(msg("stream", "m2", name="stdout", text="after\n"))
    assert [o.get("text") for o in cell(live, "b")["outputs"]] == ["after\n"]
    live.apply(msg("clear_output", "m2", wait=False))
    assert cell(live, "b")["outputs"] == []


def test_messages_of_requests_nobody_started_are_ignored() -> None:
    live = LiveNotebook(notebook(code("a", "")))
    before = live.version
    for kind, content in (
        ("stream", {"name": "stdout", "text": "x"}),
        ("status", {"execution_state": "busy"}),
        ("display_data", {"data": {}, "metadata": {}}),
    ):
        assert not live.apply(msg(kind, "someone-else", **content)).cells
    assert live.version == before and cell(live, "a")["outputs"] == []


def test_malformed_messages_change_nothing() -> None:
    live = LiveNotebook(notebook(code("a", "")))
    live.start("m1", CellHint("", cell_id="a"))
    for bad in (
        msg("display_data", "m1"),  # no data
        msg("error", "m1", ename="E"),  # no evalue, traceback
        {"msg_type": "stream", "parent_header": None, "content": None},
        {"parent_header": {"msg_id": "m1"}},
    ):
        live.apply(bad)
    assert cell(live, "a")["outputs"] == []


def test_stream_output_is_bounded_and_carriage_returns_rewrite_the_line() -> None:
    live = LiveNotebook(notebook(code("a", "")))
    live.start("m1", CellHint("", cell_id="a"))
    live.apply(msg("stream", "m1", name="stdout", text="10%\r50%\r100%\ndone\n"))
    assert cell(live, "a")["outputs"][0]["text"] == "100%\ndone\n"
    line = "x" * 99 + "\n"
    for _ in range(3 * MAX_STREAM_CHARS // 100 // 50):
        live.apply(msg("stream", "m1", name="stdout", text=line * 50))
    text = cell(live, "a")["outputs"][0]["text"]
    assert len(text) <= MAX_STREAM_CHARS + 100 and text.endswith(line)
    assert text.startswith("[… earlier output not kept …]\n")
    for i in range(MAX_OUTPUTS + 50):  # alternating streams: separate outputs, bounded
        live.apply(msg("stream", "m1", name="stderr" if i % 2 else "stdout", text="."))
    assert len(cell(live, "a")["outputs"]) == MAX_OUTPUTS


def test_private_cells_are_never_streamed_by_tag_or_by_line() -> None:
    tagged = code("p", "secret = 1", tags=["jupyterspot-private"])
    live = LiveNotebook(notebook(code("a", ""), tagged))
    live.start("m1", CellHint("print(token)", cell_id="p"))
    live.apply(msg("stream", "m1", name="stdout", text="tok-123\n"))
    assert cell(live, "p")["source"] == "secret = 1" and cell(live, "p")["outputs"] == []
    live.start("m2", CellHint("# jupyterspot: private\nprint(token)", cell_id="a"))
    live.apply(msg("stream", "m2", name="stdout", text="tok-123\n"))
    assert cell(live, "a")["outputs"] == [] and R.is_private_cell(cell(live, "a"))
    html = R.render(live.to_dict(), title="t").html
    assert "tok-123" not in html and "secret" not in html and "token" not in html
    # both: the tagged one, and the one marked by the line it ran with
    assert html.count(R.PRIVATE_SOURCE.replace("#", "").strip()) == 2


def test_the_share_cells_own_outputs_are_never_shown() -> None:
    live = LiveNotebook(notebook(code("a", "")))
    live.start("m1", CellHint("%jupyterspot share", cell_id="a"), outputs=False)
    live.apply(msg("stream", "m1", name="stdout", text="http://host/?token=secret\n"))
    assert cell(live, "a")["outputs"] == [] and cell(live, "a")["source"] == "%jupyterspot share"


def test_a_save_replaces_what_ran_before_it_and_keeps_what_ran_after() -> None:
    live = LiveNotebook(notebook(code("a", "1"), code("b", "2")))
    live.start("m1", CellHint("1 + 1", cell_id="a"), now=100.0)
    live.apply(msg("stream", "m1", name="stdout", text="old\n"), now=100.0)
    live.apply(msg("status", "m1", execution_state="idle"), now=100.5)
    live.start("m2", CellHint("print('new')", cell_id="n1"), now=200.0)  # after a, unsaved
    live.apply(msg("stream", "m2", name="stdout", text="new\n"), now=200.0)
    # saved at 150: it has "a" as the front-end had it, a new markdown cell, no "b"
    saved = notebook(code("a", "1 + 1"), {"cell_type": "markdown", "id": "m", "metadata": {},
                                          "source": "# Title"})  # fmt: skip
    saved["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x\n"}]
    live.merge_saved(saved, saved_at=150.0)
    assert ids(live) == ["a", "n1", "m"]  # n1 is still after the cell it followed
    assert cell(live, "a")["outputs"][0]["text"] == "x\n"  # the file's: older than the save
    assert cell(live, "n1")["outputs"][0]["text"] == "new\n"  # ran after the save
    live.merge_saved(notebook(code("a", "1 + 1"), code("n1", "print('new')")), saved_at=300.0)
    assert ids(live) == ["a", "n1"]
    assert "jupyterspot" not in cell(live, "n1")["metadata"]  # saved now: not marked


def test_cells_run_before_the_share_seed_a_never_saved_notebook() -> None:
    live = LiveNotebook(notebook())
    assert live.is_empty()
    result = {"output_type": "execute_result", "data": {"text/plain": "3"}, "metadata": {},
              "execution_count": 2}  # fmt: skip
    live.seed_history([("x = 1", []), ("x + 2", [result])])
    html = R.render(live.to_dict(), title="t").html
    text = " ".join(re.sub(r"<[^>]+>", "", html).split())
    assert "x = 1" in text and "x + 2" in text and "3" in text
    assert len(R.cell_anchors(html)) == 2 and html.count("data-jsp-unsaved") == 2
    assert not live.is_empty()


# -- what the review found (each failed before its fix) --


def test_a_new_jupyterlab_cell_with_the_same_source_is_a_new_cell() -> None:
    """A copy-pasted cell (a new id, the same source) took over the original on every page."""
    live = LiveNotebook(notebook(code("orig", "df.head()")))
    live.start("m1", CellHint("df.head()", cell_id="copy-of-orig"))
    assert ids(live) == ["orig", "copy-of-orig"]
    # a 4.4 file's ids were derived here: JupyterLab's are its own, so the source decides
    old = LiveNotebook(notebook({**code("x", "df.head()"), "id": None}, minor=4))
    old.start("m1", CellHint("df.head()", cell_id="lab-made-id"))
    assert len(old.nb.cells) == 1 and old.runs["m1"].cell == old.nb.cells[0]["id"]


def test_an_edited_private_cell_that_matches_nothing_stays_private() -> None:
    """VS Code: a private cell edited before its run matched no cell and streamed as a new one."""
    secret = code("p", "key = 'sk-OLD'", tags=["jupyterspot-private"])
    live = LiveNotebook(notebook(code("a", "1"), secret))
    uri = "vscode-notebook-cell:/nb.ipynb#W1sZmlsZQ%3D%3D"
    live.start("m1", CellHint("key = 'sk-SECRET'\nprint(key)", cell_id=uri))
    live.apply(msg("stream", "m1", name="stdout", text="sk-SECRET\n"))
    html = R.render(live.to_dict(), title="t").html
    assert "sk-SECRET" not in html and "sk-OLD" not in html


def test_a_private_run_cannot_rewrite_a_public_display() -> None:
    live = LiveNotebook(notebook(code("a", ""), code("p", "")))
    live.start("m1", CellHint("h = display('v1', display_id=True)", cell_id="a"))
    live.apply(msg("display_data", "m1", data={"text/plain": "v1"}, metadata={},
                   transient={"display_id": "d"}))  # fmt: skip
    live.start("m2", CellHint("# jupyterspot: private\nh.update(secret)", cell_id="p"))
    live.apply(msg("update_display_data", "m2", data={"text/plain": "SECRET"}, metadata={},
                   transient={"display_id": "d"}))  # fmt: skip
    assert cell(live, "a")["outputs"][0]["data"]["text/plain"] == "v1"


def test_the_display_table_holds_only_outputs_still_shown() -> None:
    live = LiveNotebook(notebook(code("a", "")))
    for run in range(5):
        live.start(f"m{run}", CellHint("...", cell_id="a"))
        for i in range(MAX_OUTPUTS * 2):
            live.apply(msg("display_data", f"m{run}", data={"text/plain": "x"}, metadata={},
                           transient={"display_id": f"{run}-{i}"}))  # fmt: skip
    assert sum(len(v) for v in live.displays.values()) <= MAX_OUTPUTS


def test_a_progress_line_ending_in_a_carriage_return_shows() -> None:
    live = LiveNotebook(notebook(code("a", "")))
    live.start("m1", CellHint("", cell_id="a"))
    live.apply(msg("stream", "m1", name="stdout", text="1/100\r"))
    assert cell(live, "a")["outputs"][0]["text"] == "1/100\r"
    live.apply(msg("stream", "m1", name="stdout", text="2/100\r"))
    assert cell(live, "a")["outputs"][0]["text"] == "2/100\r"


def test_queued_runs_of_one_cell_end_idle() -> None:
    live = LiveNotebook(notebook(code("a", "")))
    live.start("m1", CellHint("", cell_id="a"))
    live.start("m2", CellHint("", cell_id="a"))
    live.apply(msg("status", "m1", execution_state="idle"))
    assert live.running_state()["kernel"] == "busy" and live.running_state()["running"] == "a"
    live.apply(msg("status", "m2", execution_state="idle"))
    state = live.running_state()
    assert state["kernel"] == "idle" and state["running"] is None and state["runningSince"] is None
    assert state["lastRun"] == "a"  # the cell that ran last stays known (following it)


def test_jupyterlab_deleted_cells_leave_and_a_console_is_no_cell() -> None:
    live = LiveNotebook(notebook(code("a", ""), code("b", ""), code("c", "")))
    live.start("m1", CellHint("1", cell_id="c", deleted=("b",)))
    assert ids(live) == ["a", "c"]
    assert not live.start("m2", CellHint("print('console')")).cells  # names no cell
    assert ids(live) == ["a", "c"] and "m2" not in live.runs


def test_the_private_line_counts_with_crlf_and_a_comment_after_it() -> None:
    assert R.is_private_cell({"source": "# jupyterspot: private\r\nkey = 1"})
    assert R.is_private_cell({"source": "x = 1\n#jupyterspot: private  # keys below\n"})
    assert not R.is_private_cell({"source": "print('# jupyterspot: private')"})


def test_a_delta_rebuilds_the_same_view_on_the_server() -> None:
    """content/live.py: a live flush renders only the changed cells (patch) and the server
    rebuilds the whole view from the difference (CellsDelta), page included."""
    from jupyterspot_magic.content.live import LiveContent

    live = LiveNotebook(notebook(code("a", "1"), code("b", "2")))
    content = LiveContent("t")
    _, whole, _, _ = live.take_changes()
    assert whole is not None and content.update(whole, remember=False) is not None
    base = content.view()
    live.start("m1", CellHint("print('x')", cell_id="b"))
    live.apply(msg("stream", "m1", name="stdout", text="PATCHED\n"))
    _, whole, cells, ids = live.take_changes()
    assert whole is None and [c["id"] for c in cells] == ["b"]
    rendered = content.patch(cells, ids)
    assert rendered is not None and "PATCHED" in rendered.html
    view = content.view()
    delta = view.delta(base.snapshot)
    assert set(delta.chunks) == {dict(view.snapshot.entries)["b"]}  # only the new cell travels
    assert delta.head is None and delta.tail is None
    rebuilt = delta.apply(base.snapshot)
    assert rebuilt.snapshot == view.snapshot and rebuilt.snapshot.page() == rendered.html
    with pytest.raises(ValueError):
        delta.apply(view.snapshot)  # not the version it was made for


def test_a_metadata_change_is_a_new_key_for_every_cell() -> None:
    """A cell's HTML depends on the notebook's metadata too: the same cell under other metadata
    kept its key, so the server (a delta sends only new keys) and pages at older versions kept
    HTML drawn for the old metadata (the second review of issue 12 found it)."""
    from jupyterspot_magic.content.live import LiveContent

    content = LiveContent("t")
    python = notebook(code("a", "print(1)"))
    python["metadata"] = {"language_info": {"name": "python"}}
    assert content.update(python, remember=False) is not None
    base = content.view()
    r = {**python, "metadata": {"language_info": {"name": "r"}}}
    assert content.update(r, remember=False) is not None
    delta = content.view().delta(base.snapshot)
    assert set(delta.chunks) == set(content.view().snapshot.chunks)  # every cell travels
    assert delta.apply(base.snapshot).snapshot.page() == content.view().snapshot.page()


def test_saving_what_already_streamed_is_no_new_version() -> None:
    """After a live patch (whose version is no content hash) a save of the same content made a
    new version with the same page: `%jupyterspot update` said everyone sees new content, and
    every page fetched its cells again."""
    from jupyterspot_magic.content.live import LiveContent

    live = LiveNotebook(notebook(code("a", "1"), code("b", "2")))
    content = LiveContent("t")
    content.update(live.take_changes()[1], remember=False)
    live.start("m1", CellHint("print('x')", cell_id="b"))
    live.apply(msg("stream", "m1", name="stdout", text="x\n"))
    _, _, cells, ids = live.take_changes()
    assert content.patch(cells, ids) is not None
    assert content.update(live.to_dict(), remember=False) is None  # the same cells


def test_a_failed_flush_is_sent_again() -> None:
    """The version was marked published before the render: a flush that failed (the server
    restarting, a timeout) left the cell's last output off every page until something else
    changed. The stand-in updater fails once (no kernel needed for the flusher's logic)."""
    import threading

    from jupyterspot_magic.session.stream import LiveStream

    sent: list[bool] = []
    ready = threading.Event()

    class Updater:
        saved_hook = None
        fail = True

        def patch_from(self, cells, ids):
            return self.update_from(None)

        def update_from(self, data):
            if self.fail:
                self.fail = False
                raise TimeoutError("the server is restarting")
            sent.append(True)
            ready.set()
            return True

    stream = LiveStream.__new__(LiveStream)  # the flusher alone: no IOPub, no hooks
    stream.notebook = LiveNotebook(notebook(code("a", "")))
    stream.updater = Updater()  # type: ignore[assignment]
    stream.push_running = lambda _state: None
    stream.paused, stream.flushes, stream.interval, stream.last_cost = False, 0, 0.1, 0.0
    stream._published, stream._running_sent, stream._resend = -1, None, False
    stream._wake, stream._stop = threading.Event(), threading.Event()
    stream._flush_lock = threading.Lock()
    stream.notebook.start("m1", CellHint("print(1)", cell_id="a"))
    thread = threading.Thread(target=stream._run, daemon=True)
    thread.start()
    stream._wake.set()
    try:
        assert ready.wait(10), "the failed flush was never sent again"
    finally:
        stream._stop.set()
        stream._wake.set()
        thread.join(5)
