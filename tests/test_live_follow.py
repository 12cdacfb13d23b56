"""Follow the running cell (issue 12), through the lead machinery: with nobody leading,
`share.follow_running = True` makes the running cell the leader (control.leader =
KERNEL_LEADER); a guest page in Chromium is brought to the bottom of whatever cell runs, can
break away by scrolling like from a person, and comes back with `f`. Real kernel
(jupyter_client), real share, real Chromium."""

from __future__ import annotations

from jupyterspot_magic.base.page_config import KERNEL_LEADER

from .conftest import wait_for
from .live_helpers import (
    code,
    lab_meta,
    nb45,
    never_within,
    query,
    run_as,
    share_command,
    share_info,
    write_nb,
)

TALL = "\n".join(f"line_{i} = {i}" for i in range(40))  # each cell ~40 lines high


def bottom_in_view(page, cid: str) -> bool:
    return page.evaluate(
        """cid => {
            const el = document.getElementById('cell-id=' + cid);
            if (!el) return false;
            const r = el.getBoundingClientRect();
            return r.bottom > 0 && r.bottom <= innerHeight + 1;
        }""",
        cid,
    )


def test_everyone_follows_the_running_cell_and_may_break_away(kernel, tmp_path, live_pages):
    path = tmp_path / "long.ipynb"
    share_src = share_command(path)
    cells = [code(f"c{i}", TALL) for i in range(30)]
    write_nb(path, nb45([code("share", share_src), *cells]))
    assert run_as(kernel, share_src, lab_meta("share"))["error"] is None
    guest = live_pages(share_info(kernel)["url"] + "&name=Gus")
    assert guest.evaluate("scrollY") == 0

    query(kernel, "import jupyterspot_magic as j; j.current().follow_running = True")
    wait_for(
        lambda: guest.evaluate("window.jupyterspot.follow.state().leader") == KERNEL_LEADER,
        10,
        "the running cell leads",
    )
    run_as(kernel, "print('far down')", lab_meta("c25"))
    wait_for(lambda: bottom_in_view(guest, "c25"), 10, "the guest brought to cell c25's output")
    assert "the running cell" in guest.inner_text("body").lower()

    # Reading on their own: the wheel breaks away, the next run does not pull them back...
    guest.mouse.move(700, 450)
    guest.mouse.wheel(0, -2500)
    wait_for(lambda: guest.evaluate("window.jupyterspot.follow.state().paused"), 2, "paused")
    run_as(kernel, "print('elsewhere')", lab_meta("c28"))
    never_within(lambda: bottom_in_view(guest, "c28"), 1.5)
    # ...and `f` comes back to the running cell's output.
    guest.keyboard.press("f")
    wait_for(lambda: bottom_in_view(guest, "c28"), 10, "back at the running cell")

    # Off: the running cell stops leading.
    query(kernel, "import jupyterspot_magic as j; j.current().follow_running = False")
    wait_for(
        lambda: guest.evaluate("window.jupyterspot.follow.state().leader") is None,
        10,
        "nobody leads",
    )
