"""Live outputs in a real kernel (jupyter_client): what broke in review. Each test sends the
execute_requests a front-end would (tests/live_helpers.py) and reads what a guest page fetches.
"""

from __future__ import annotations

import json

from .conftest import wait_for
from .kernel import Kernel
from .live_helpers import (
    Guest,
    code,
    lab_meta,
    nb45,
    never_within,
    query,
    run_as,
    send_as,
    share_command,
    share_info,
    wait_cell,
    wait_cells,
    write_nb,
)


def start(kernel: Kernel, tmp_path, *cells: dict) -> Guest:
    path = tmp_path / "nb.ipynb"
    share_src = share_command(path)
    write_nb(path, nb45([code("share", share_src), *cells]))
    result = run_as(kernel, share_src, lab_meta("share"))
    assert result["error"] is None, result["error"]
    guest = Guest(share_info(kernel)["url"])
    wait_cells(guest, bool, 20, "the page's cells")
    return guest


def running_state(kernel: Kernel) -> dict:
    out = query(
        kernel,
        "import json, jupyterspot_magic as j\n"
        "print(json.dumps(j.current().stream.notebook.running_state()))",
    )
    return json.loads(out.strip().splitlines()[-1])


def test_the_same_cell_run_twice_ends_idle(kernel, tmp_path) -> None:
    """Two queued runs of one cell: the first run's idle came after the second had started and
    cleared `running`; the second's idle then changed nothing, and pages said "kernel busy" for
    good."""
    start(kernel, tmp_path, code("a", "x = 1"))
    first = send_as(kernel, "import time; time.sleep(0.3)", lab_meta("a"))
    second = send_as(kernel, "import time; time.sleep(0.3)", lab_meta("a"))
    kernel.collect(first)
    kernel.collect(second)
    wait_for(
        lambda: (
            running_state(kernel)["kernel"] == "idle" and running_state(kernel)["running"] is None
        ),
        10,
        "idle after both runs",
    )


def test_an_oversized_message_is_skipped_and_the_stream_goes_on(kernel, tmp_path) -> None:
    """zmq's MAXMSGSIZE dropped the connection on one big message: nothing streamed after it.
    (The bound is lowered to 100 kB in the kernel so the test prints 300 kB, not 64 MB.)"""
    guest = start(kernel, tmp_path, code("a", ""), code("b", ""))
    query(kernel, "import jupyterspot_magic.content.iopub as I; I.MAX_MESSAGE = 100_000")
    run_as(kernel, "print('y' * 300_000)", lab_meta("a"))
    run_as(kernel, "print('after the big one')", lab_meta("b"))
    wait_cell(guest, "b", lambda c: "after the big one" in c["text"], 10, "output after it")
    skipped = query(
        kernel, "import jupyterspot_magic as j; print(j.current().stream.listener.skipped)"
    )
    assert skipped.strip() == "1"
    assert "yyyy" not in (guest.cell("a") or {}).get("text", "")


def test_sharing_again_keeps_what_ran_since_the_save(kernel, tmp_path) -> None:
    """Sharing the same notebook again sent the saved file alone: the live edits vanished from
    every page until the next change."""
    guest = start(kernel, tmp_path, code("b", "x = 2"))
    run_as(kernel, "print('LIVE-EDIT')", lab_meta("b"))
    wait_cell(guest, "b", lambda c: "LIVE-EDIT" in c["text"], 10, "the live edit")
    again = run_as(kernel, share_command(tmp_path / "nb.ipynb"), lab_meta("share"))
    assert again["error"] is None
    wait_cell(guest, "b", lambda c: "LIVE-EDIT" in c["text"], 10, "the live edit, shared again")
    never_within(lambda: "LIVE-EDIT" not in guest.cell("b")["text"], 1.0)


def test_requests_that_are_not_cells_are_not_streamed(kernel, tmp_path) -> None:
    """A variable inspector's request (store_history false), a console's (no cell named, once
    the notebook's front-end has named its cells): neither becomes a cell on the page."""
    guest = start(kernel, tmp_path, code("a", "x = 1"))
    run_as(kernel, "print('from the notebook')", lab_meta("a"))
    wait_cell(guest, "a", lambda c: "from the notebook" in c["text"], 10)
    msg = kernel.kc.session.msg(
        "execute_request",
        {
            "code": "print('INSPECTOR')",
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },  # fmt: skip
    )
    kernel.kc.shell_channel.send(msg)
    kernel.collect(msg["header"]["msg_id"])
    run_as(kernel, "print('CONSOLE')", {})
    run_as(kernel, "print('notebook again')", lab_meta("a"))  # a change: a flush after those
    wait_cell(guest, "a", lambda c: "notebook again" in c["text"], 10)
    texts = " ".join(c["text"] for c in guest.cells())
    assert "INSPECTOR" not in texts and "CONSOLE" not in texts
    assert [c["id"] for c in guest.cells()] == ["share", "a"]


def test_a_newcomer_page_has_what_streamed_and_flushes_send_only_the_change(
    kernel, tmp_path
) -> None:
    """A live flush renders the changed cell alone and sends the server only its HTML
    (content/live.py LiveContent.patch, CellsDelta); the page the server joins from it for a
    newcomer (and for an export) holds the streamed output, like the cells answer."""
    guest = start(kernel, tmp_path, code("a", "x = 1"), code("b", "y = 2"))
    run_as(kernel, "print('FIRST-' + 'LINE')", lab_meta("a"))
    wait_cell(guest, "a", lambda c: "FIRST-LINE" in c["text"], 10)
    run_as(kernel, "print('SECOND-' + 'LINE')", lab_meta("b"))
    wait_cell(guest, "b", lambda c: "SECOND-LINE" in c["text"], 10)
    last = query(kernel, "import jupyterspot_magic as j; print(j.current().updater.content.last)")
    assert "'patch': 1.0" in last, last  # the last flush took the per-cell path
    page = guest.client.get(f"{guest.base}/", params={"token": guest.token})
    assert page.status_code == 200
    assert "FIRST-LINE" in page.text and "SECOND-LINE" in page.text
    export = guest.client.get(f"{guest.base}/x/export", params={"token": guest.token})
    assert export.status_code == 200 and "SECOND-LINE" in export.text  # joined for it too
