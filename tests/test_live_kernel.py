"""Live streaming through a plain kernel (issue 12, "Must show", second point).

The front-ends themselves are NOT running here: Colab and VS Code cannot be started by a test.
What the test plays is their documented interface to the kernel, the execute_request, built with
jupyter_client's own session and sent on the shell channel of a real IPython kernel
(tests/kernel.py): Colab sends `metadata.colab.cell_id` (its cell's `metadata.id`; Colab exports
nbformat 4.0 notebooks without top-level ids), VS Code sends a `vscode-notebook-cell:` URI in
`metadata.cellId` (not the nbformat id), JupyterLab / Notebook 7 the nbformat id in
`metadata.cellId`. Guests are read over HTTP exactly as a page reads them (`x/cells`, as
js/viewer/live.ts does), or by a real Chromium page, and the control room by a real y-websocket
client. No notebook file is ever saved by these runs unless the test says so.

Each test fails without live streaming: run with JSP_LIVE_TESTS_SHARE_FLAGS=--no-live.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

import pytest

from .conftest import wait_for
from .kernel import Kernel
from .live_helpers import (
    PRIVATE_PLACEHOLDER,
    ControlLog,
    Guest,
    code,
    colab_meta,
    colab_nb,
    lab_meta,
    markdown,
    max_per_second,
    nb45,
    never_within,
    noise_png,
    query,
    run_as,
    send_as,
    share_command,
    share_info,
    vscode_cell_uri,
    vscode_meta,
    wait_cell,
    wait_cells,
    write_nb,
)

# A cell's output differs from its source text: "out-" + "A" prints out-A.
pytestmark = pytest.mark.timeout(240)


def shared(kernel: Kernel, share_src: str, meta: dict) -> tuple[Guest, dict]:
    """Run the share cell as the front-end would; the guest reading its page."""
    result = run_as(kernel, share_src, meta)
    assert result["error"] is None, result["error"]
    info = share_info(kernel)
    guest = Guest(info["url"])
    wait_cells(guest, bool, 20, "the page's cells")
    return guest, info


def ids_of(guest: Guest) -> list[str]:
    return [c["id"] for c in guest.cells()]


def has_output(cell: dict) -> bool:
    return "jp-OutputArea-output" in cell["html"]


def test_colab_cell_ids_route_outputs_and_sources(kernel, tmp_path):
    path = tmp_path / "colab.ipynb"
    share_src = share_command(path)
    write_nb(
        path,
        colab_nb(
            [
                ("markdown", "mdColab00001", "# A Colab notebook"),
                ("code", "shareColab001", share_src),
                ("code", "aaaaColab002", 'print("out-" + "A")'),
                ("code", "bbbbColab003", 'print("out-" + "B")'),
                ("code", "ccccColab004", 'import time\ntime.sleep(2)\nprint("out-" + "C")'),
            ]
        ),
    )
    saved = path.read_bytes()
    guest, info = shared(kernel, share_src, colab_meta("shareColab001"))
    ids = ids_of(guest)  # the page's ids, by position (4.0 has none: derived from the cell)
    assert len(ids) == 5, ids
    control = ControlLog(info["ws_url"], info["token"])
    try:
        # An unchanged cell: its output lands in it.
        assert run_as(kernel, 'print("out-" + "A")', colab_meta("aaaaColab002"))["error"] is None
        wait_cell(guest, ids[2], lambda c: "out-A" in c["text"], what="cell A's output")

        # An edited cell: its new source and its output.
        run_as(kernel, 'print("edited-" + "B")', colab_meta("bbbbColab003"))
        b = wait_cell(guest, ids[3], lambda c: "edited-B" in c["text"], what="B's new output")
        assert '"edited-" + "B"' in b["text"], "the source as run"
        assert '"out-" + "B"' not in b["text"], "the old source is gone"
        assert "out-A" not in b["text"]

        # A cell Colab knows and the file does not: after the cell that ran before it (B).
        run_as(kernel, 'print("new-" + "X")', colab_meta("zzzzColab999"))
        cells = wait_cells(
            guest, lambda cs: any("new-X" in c["text"] for c in cs), what="the unsaved cell"
        )
        order = [c["id"] for c in cells]
        new = next(c for c in cells if "new-X" in c["text"])
        assert new["unsaved"], "a cell the saved file lacks is marked data-jsp-unsaved"
        assert order.index(new["id"]) == order.index(ids[3]) + 1, order
        assert order[order.index(new["id"]) + 1] == ids[4], "C stays after it"
        assert not any(c["unsaved"] for c in cells if c["id"] != new["id"])

        # The running indicator: C runs for 2 s.
        msg_id = send_as(
            kernel, 'import time\ntime.sleep(2)\nprint("out-" + "C")', colab_meta("ccccColab004")
        )
        wait_for(
            lambda: (
                control.control().get("running") == ids[4]
                and control.control().get("kernel") == "busy"
            ),
            10,
            "control says C runs and the kernel is busy",
        )
        since = control.control().get("runningSince")
        assert isinstance(since, int) and abs(since / 1000 - time.time()) < 10, since
        kernel.collect(msg_id)
        wait_cell(guest, ids[4], lambda c: "out-C" in c["text"], what="C's output")
        wait_for(
            lambda: (
                control.control().get("kernel") == "idle"
                and control.control().get("running") is None
            ),
            10,
            "control says idle",
        )
        assert control.control().get("live") == "on"

        # The share's own cell never shows its output (the link, the widget).
        share_cell = guest.cell(ids[1])
        assert share_cell is not None and not has_output(share_cell), share_cell["html"][:2000]
        assert path.read_bytes() == saved, "nothing was saved: all of it streamed"
    finally:
        control.close()
        guest.close()


def test_vscode_cell_uris_mapped_by_source_then_alias(kernel, tmp_path):
    """VS Code's cellId is a `vscode-notebook-cell:` URI: exact cells come from the source (the
    first code cell with that source at or after the last run), and a cell's URI seen once
    keeps naming that cell when it is edited and run again (best effort, README)."""
    path = tmp_path / "vscode.ipynb"
    share_src = share_command(path)
    two = 'print("vs-" + "two")'
    write_nb(
        path,
        nb45(
            [
                markdown("intro", "# A VS Code notebook"),
                code("share", share_src),
                code("one", 'print("vs-" + "one")'),
                code("two", two),
                code("twin", two),  # the same source: the second run of it goes here
                code("last", 'print("vs-" + "last")'),
            ]
        ),
    )
    uri = {
        cid: vscode_cell_uri(path, h)
        for h, cid in enumerate(["intro", "share", "one", "two", "twin", "last"])
    }
    guest, _ = shared(kernel, share_src, vscode_meta(uri["share"]))
    try:
        run_as(kernel, 'print("vs-" + "last")', vscode_meta(uri["last"]))
        wait_cell(guest, "last", lambda c: "vs-last" in c["text"], what="last's output")
        run_as(kernel, 'print("vs-" + "one")', vscode_meta(uri["one"]))
        wait_cell(guest, "one", lambda c: "vs-one" in c["text"], what="one's output")
        run_as(kernel, two, vscode_meta(uri["two"]))
        wait_cell(guest, "two", has_output, what="two's output")
        run_as(kernel, two, vscode_meta(uri["twin"]))
        wait_cell(guest, "twin", has_output, what="twin's output")

        # one is edited in VS Code and run again: the URI it ran under names it.
        run_as(kernel, 'print("vs-" + "one-edited")', vscode_meta(uri["one"]))
        one = wait_cell(guest, "one", lambda c: "vs-one-edited" in c["text"], what="one edited")
        assert '"vs-" + "one-edited"' in one["text"]

        # A cell added in VS Code (a new handle, a new source): after the cell that ran before.
        run_as(kernel, 'print("vs-" + "added")', vscode_meta(vscode_cell_uri(path, 9)))
        cells = wait_cells(
            guest, lambda cs: any("vs-added" in c["text"] for c in cs), what="the added cell"
        )
        order = [c["id"] for c in cells]
        added = next(c for c in cells if "vs-added" in c["text"])
        assert added["unsaved"] and order.index(added["id"]) == order.index("one") + 1, order
        assert not added["id"].startswith("vscode-notebook-cell"), "a URI is not a cell id"

        by_id = {c["id"]: c for c in cells}
        for cid, marker in (("one", "vs-one-edited"), ("last", "vs-last"), ("twin", "vs-two")):
            assert marker in by_id[cid]["text"], (cid, by_id[cid]["text"][-300:])
        for cid in ("intro", "share"):
            assert not has_output(by_id[cid]), cid
    finally:
        guest.close()


def test_private_cells_are_never_streamed(kernel, tmp_path):
    path = tmp_path / "private.ipynb"
    share_src = share_command(path)
    by_comment = '# jupyterspot: private\nprint("SECRET-" + "comment")'
    by_tag = 'print("SECRET-" + "tag")'
    write_nb(
        path,
        nb45(
            [
                code("share", share_src),
                code("pub1", 'print("public-" + "one")'),
                code("privc", by_comment),
                code("privt", by_tag, tags=["jupyterspot-private"]),
                code("pub2", 'print("public-" + "two")'),
            ]
        ),
    )
    guest, _ = shared(kernel, share_src, lab_meta("share"))
    try:
        run_as(kernel, 'print("public-" + "one")', lab_meta("pub1"))
        wait_cell(guest, "pub1", lambda c: "public-one" in c["text"], what="a public cell")
        # Edited before running: the new source must not travel either.
        run_as(kernel, by_comment.replace('"comment"', '"comment-edited"'), lab_meta("privc"))
        run_as(kernel, 'print("SECRET-" + "tag-edited")', lab_meta("privt"))
        run_as(kernel, '# jupyterspot: private\nprint("SECRET-" + "unsaved")', lab_meta("newpriv"))
        # A barrier: a public cell run after them arrives, so theirs would have too.
        run_as(kernel, 'print("public-" + "two")', lab_meta("pub2"))
        cells = wait_cells(
            guest,
            lambda cs: any("public-two" in c["text"] for c in cs),
            what="the public cell after the private ones",
        )
        for cell in cells:
            assert "SECRET" not in cell["html"], (cell["id"], cell["html"][:1000])
        by_id = {c["id"]: c for c in cells}
        for cid in ("privc", "privt"):
            assert PRIVATE_PLACEHOLDER in by_id[cid]["text"], by_id[cid]["text"]
            assert not has_output(by_id[cid]), cid
    finally:
        guest.close()


def test_no_live_publishes_only_on_save(kernel, tmp_path):
    path = tmp_path / "nolive.ipynb"
    share_src = share_command(path, "--no-live")
    nb = nb45(
        [
            markdown("title", "# Before the save"),
            code("share", share_src),
            code("a", 'print("run-" + "A")'),
        ]
    )
    write_nb(path, nb)
    guest, info = shared(kernel, share_src, lab_meta("share"))
    control = ControlLog(info["ws_url"], info["token"])
    try:
        wait_for(lambda: control.control().get("live") == "off", 10, "control.live is off")
        run_as(kernel, 'print("run-" + "A")', lab_meta("a"))
        never_within(lambda: "run-A" in (guest.cell("a") or {"text": ""})["text"], 1.5)
        nb["cells"][0]["source"] = "# After the save"
        write_nb(path, nb)
        wait_cell(guest, "title", lambda c: "After the save" in c["text"], what="the save")
        assert "run-A" not in guest.cell("a")["text"]
    finally:
        control.close()
        guest.close()


def test_share_live_false_pauses_until_a_save(kernel, tmp_path):
    path = tmp_path / "paused.ipynb"
    share_src = share_command(path)
    nb = nb45(
        [
            markdown("title", "# Before the save"),
            code("share", share_src),
            code("a", 'print("run-" + "A")'),
            code("b", 'print("run-" + "B")'),
            code("c", 'print("run-" + "C")'),
        ]
    )
    write_nb(path, nb)
    guest, info = shared(kernel, share_src, lab_meta("share"))
    control = ControlLog(info["ws_url"], info["token"])
    try:
        run_as(kernel, 'print("run-" + "A")', lab_meta("a"))
        wait_cell(guest, "a", lambda c: "run-A" in c["text"], what="A streams while live")
        query(kernel, "import jupyterspot_magic as j; j.current().live = False")
        wait_for(lambda: control.control().get("live") == "paused", 10, "control.live paused")
        assert (
            query(kernel, "import jupyterspot_magic as j; print(j.current().live)").strip()
            == "False"
        )
        run_as(kernel, 'print("run-" + "B")', lab_meta("b"))
        never_within(lambda: "run-B" in guest.cell("b")["text"], 1.5)
        nb["cells"][0]["source"] = "# After the save"
        write_nb(path, nb)
        wait_cell(guest, "title", lambda c: "After the save" in c["text"], what="a save publishes")
        query(kernel, "import jupyterspot_magic as j; j.current().live = True")
        wait_for(lambda: control.control().get("live") == "on", 10, "control.live on again")
        run_as(kernel, 'print("run-" + "C")', lab_meta("c"))
        wait_cell(guest, "c", lambda c: "run-C" in c["text"], what="C streams once resumed")
    finally:
        control.close()
        guest.close()


FLOOD = """import time
t0 = time.perf_counter()
n = 0
while n < 3000:  # 1,000 lines a second for 3 s
    due = min(3000, int((time.perf_counter() - t0) * 1000) + 1)
    while n < due:
        print(n)
        n += 1
    time.sleep(0.001)
print("flood-" + "done")"""


def test_print_flood_is_coalesced(kernel, tmp_path, browser):
    path = tmp_path / "flood.ipynb"
    share_src = share_command(path)
    write_nb(path, nb45([code("share", share_src), code("flood", FLOOD)]))
    guest, info = shared(kernel, share_src, lab_meta("share"))
    control = ControlLog(info["ws_url"], info["token"])
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(info["url"] + "&name=Flo")
        page.wait_for_function(
            "window.jupyterspot && window.jupyterspot.connection.status.state === 'live'",
            timeout=30000,
        )
        page.evaluate("performance.setResourceTimingBufferSize(100000)")
        t0 = time.monotonic()
        page_t0 = page.evaluate("performance.now()")
        result = run_as(kernel, FLOOD, lab_meta("flood"))
        ran = time.monotonic() - t0
        assert result["stdout"].count("\n") == 3001
        page.wait_for_function(
            "() => (document.getElementById('cell-id=flood')?.textContent || '')"
            ".includes('flood-done')",
            timeout=15000,
        )
        wait_cell(guest, "flood", lambda c: "flood-done" in c["text"], what="the flood's end")
        versions = [t for t, _ in control.versions(since=t0)]
        fetches = page.evaluate(
            """t0 => performance.getEntriesByType('resource')
                 .filter(e => e.name.includes('/x/cells') && e.startTime >= t0)
                 .map(e => e.startTime / 1000)""",
            page_t0,
        )
        print(
            f"\nflood: ran {ran:.2f} s; control versions {len(versions)} "
            f"(max {max_per_second(versions)}/s); page cells fetches {len(fetches)} "
            f"(max {max_per_second(fetches)}/s)"
        )
        assert len(versions) >= 3, "the flood streamed while it ran, not only at its end"
        assert max_per_second(versions) <= 25, versions
        assert max_per_second(fetches) <= 25, fetches
    finally:
        ctx.close()
        control.close()
        guest.close()


def test_ten_megabyte_image_arrives(kernel, tmp_path):
    path = tmp_path / "big.ipynb"
    png = noise_png(10_000_000)
    (tmp_path / "big.png").write_bytes(png)
    share_src = share_command(path)
    show = "from IPython.display import Image, display\ndisplay(Image(filename='big.png'))"
    write_nb(path, nb45([code("share", share_src), code("img", show), code("after", "1")]))
    guest, _ = shared(kernel, share_src, lab_meta("share"))
    try:
        t0 = time.monotonic()
        run_as(kernel, show, lab_meta("img"))
        cell = wait_cell(guest, "img", lambda c: "<img" in c["html"], 60, "the 10 MB image")
        took = time.monotonic() - t0
        found = re.search(r'src="[^"]*?(x/img/[0-9a-f]{64}\.png)"', cell["html"])
        assert found, cell["html"][:500]
        body = guest.get(found.group(1)).content
        assert hashlib.sha256(body).digest() == hashlib.sha256(png).digest()
        print(f"\n10 MB image: run -> cells answer {took:.2f} s; {len(png) / 1e6:.1f} MB")
        # A small output after it still streams promptly.
        run_as(kernel, "print('after-' + 'image')", lab_meta("after"))
        wait_cell(guest, "after", lambda c: "after-image" in c["text"], 10, "a later output")
    finally:
        guest.close()


def test_helper_uri_shape():
    """The URI the VS Code test sends has VS Code's shape (W + radix-7 handle + s + 'file')."""
    assert vscode_cell_uri(Path("/p/nb.ipynb"), 2) == (
        "vscode-notebook-cell:/p/nb.ipynb#W2sZmlsZQ%3D%3D"
    )
    assert vscode_cell_uri(Path("/p/nb.ipynb"), 9).endswith("#X12sZmlsZQ%3D%3D")


def test_never_saved_notebook_shows_what_ran_before_the_share(kernel, tmp_path):
    """A notebook created and run, never saved: its file is empty. The page shows the cells that
    ran before the share (their sources, and their results: what they printed went to nobody),
    at once, not an empty page until something else runs."""
    path = write_nb(tmp_path / "Untitled.ipynb", nb45([]))
    run_as(kernel, '"alpha-" + str(1)', lab_meta("new1"))
    run_as(kernel, '"beta-" + str(2)', lab_meta("new2"))
    guest, _ = shared(kernel, share_command(path), lab_meta("new3"))
    try:
        cells = wait_cells(
            guest,
            lambda cs: sum(("alpha-1" in c["text"]) + ("beta-2" in c["text"]) for c in cs) == 2,
            what="the two cells that ran before the share",
        )
        alpha = next(c for c in cells if "alpha-1" in c["text"])
        beta = next(c for c in cells if "beta-2" in c["text"])
        assert '"alpha-" + str(1)' in alpha["text"] and '"beta-" + str(2)' in beta["text"]
        assert cells.index(alpha) < cells.index(beta)
        assert alpha["unsaved"] and beta["unsaved"]
        assert json.loads(path.read_text())["cells"] == []
    finally:
        guest.close()


def test_a_cell_that_merely_names_the_package_still_streams(kernel, tmp_path):
    """session/stream.py kept the outputs of every cell whose code contained the substring
    "jupyterspot" off the page (meant for the share's own cells), so a cell reading
    "jupyterspot-notes.txt" or printing the word never streamed. Only using the package counts."""
    path = tmp_path / "word.ipynb"
    share_src = share_command(path)
    word = 'name = "jupyterspot-notes"\nprint(name.upper())'
    write_nb(path, nb45([code("share", share_src), code("word", word)]))
    guest, _ = shared(kernel, share_src, lab_meta("share"))
    try:
        run_as(kernel, word, lab_meta("word"))
        wait_cell(guest, "word", lambda c: "JUPYTERSPOT-NOTES" in c["text"], what="its output")
    finally:
        guest.close()
