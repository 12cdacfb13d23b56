"""The whole pipeline as a user meets it: a real kernel runs `%jupyterspot share`, two headless
Chromium pages (desktop and phone) open the link, see each other and each other's cursors, and
the kernel sees both of them while a cell is blocked in time.sleep (until the test releases it:
the pages' load time under load must not decide whether they joined "during" the cell)."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import pytest

from .conftest import DEMO, DESKTOP, PHONE, REPO, wait_for, wait_names
from .kernel import Kernel

SAMPLER = """
import threading, time, json, os, jupyterspot_magic
share = jupyterspot_magic.current()
samples = []
def _sample():
    while share.status == "live":
        samples.append((time.time(), sorted(p["name"] for p in share.participants)))
        with open({latest!r} + ".tmp", "w") as f:  # what the kernel sees now, for the test
            json.dump(samples[-1][1], f)
        os.replace({latest!r} + ".tmp", {latest!r})
        time.sleep(0.05)
threading.Thread(target=_sample, daemon=True).start()
print(json.dumps(share.info()))
"""
# A cell that keeps the kernel busy (time.sleep, the GIL released) until the test releases it.
BUSY = """
import os, time
deadline = time.time() + 60
while not os.path.exists({release!r}) and time.time() < deadline:
    time.sleep(0.05)
"""


@pytest.fixture
def kernel():
    k = Kernel(REPO)
    yield k
    k.shutdown()


def names(page) -> list[str]:
    items = page.locator('[data-testid="participants"] [data-client-id]')
    return sorted(items.evaluate_all("els => els.map(e => e.dataset.name || e.textContent)"))


def kernel_sees(latest: Path, wanted: list[str], timeout: float) -> float:
    """Seconds until the kernel's own sampler (a thread, while a cell runs) sees `wanted`."""

    def seen() -> bool:
        with contextlib.suppress(OSError, ValueError):
            return json.loads(latest.read_text()) == wanted
        return False

    t0 = time.monotonic()
    wait_for(seen, timeout, f"the kernel sees {wanted} while the cell runs")
    return time.monotonic() - t0


def test_share_two_pages_presence_while_kernel_busy(kernel, browser, tmp_path):
    latest, release = tmp_path / "latest.json", tmp_path / "release"
    result = kernel.execute(f"%load_ext jupyterspot_magic\n%jupyterspot share {DEMO} --tunnel none")
    assert result["error"] is None, result["error"]
    mimes = [set(o["data"]) for o in result["outputs"]]
    assert any("application/vnd.jupyter.widget-view+json" in m for m in mimes), mimes
    assert any("text/html" in m for m in mimes), "the plain HTML link is always displayed"
    info = kernel.json(SAMPLER.format(latest=str(latest)))
    assert info["url"].startswith("http://127.0.0.1:")

    busy_id = kernel.start(BUSY.format(release=str(release)))
    busy_since = time.time()
    desktop = browser.new_context(**DESKTOP)
    phone = browser.new_context(**PHONE)
    alice = desktop.new_page()
    bob = phone.new_page()
    alice.goto(info["url"] + "&name=Alice")
    bob.goto(info["url"] + "&name=Bob")
    for page in (alice, bob):
        wait_names(page, {"Alice", "Bob"})
    # LaTeX is typeset by the MathJax the share serves itself (this machine has no internet).
    alice.locator("#jupyterspot-root mjx-container").first.wait_for(timeout=15000)

    # Cursors: Alice points at the middle of a cell; Bob sees her cursor on the same cell spot.
    alice_id = alice.evaluate("window.jupyterspot.awareness.clientID")
    cell = alice.locator(".jp-Cell").nth(2)
    box = cell.bounding_box()
    alice.mouse.move(box["x"] + box["width"] / 2, box["y"] + 10)
    bob_cursor = bob.locator(f'[data-cursor-of="{alice_id}"]')
    bob_cursor.wait_for(state="visible", timeout=3000)
    anchor = bob.evaluate(f"window.jupyterspot.awareness.getStates().get({alice_id}).cursor")
    assert anchor["cell"] == cell.get_attribute("id").removeprefix("cell-id=")

    bob_id = bob.evaluate("window.jupyterspot.awareness.clientID")
    bob.mouse.move(100, 300)
    alice.locator(f'[data-cursor-of="{bob_id}"]').wait_for(state="visible", timeout=3000)

    # The kernel, busy in the cell, sees both of them.
    kernel_sees(latest, ["Alice", "Bob"], 10)
    # Bob closes his tab while the kernel is still sleeping: gone everywhere within 2 s.
    bob.close()
    closed_at = time.time()
    assert wait_names(alice, {"Alice"}, timeout=2.0) < 2.0
    assert kernel_sees(latest, ["Alice"], 2.0) < 2.0
    # An observation window, not a wait for something to happen: half a second of samples after
    # the 2 s allowance, in which Bob must stay gone (asserted on the samples below).
    time.sleep(max(0.0, closed_at + 2.5 - time.time()))
    released_at = time.time()
    release.touch()
    done = kernel.collect(busy_id, timeout=30)
    assert done["error"] is None
    samples = kernel.json("print(json.dumps(samples))")
    during_sleep = [names for t, names in samples if busy_since < t < released_at]
    assert ["Alice", "Bob"] in during_sleep, "participants did not update while the cell ran"
    after_close = [names for t, names in samples if closed_at + 2 < t < released_at]
    assert after_close and all(names == ["Alice"] for names in after_close)
    # The widget got the participants while the kernel was busy (comm messages before idle).
    updates = [
        m
        for m in done["messages"]
        if m["msg_type"] == "comm_msg"
        and "participants" in str(m["content"]["data"].get("state", {}))
    ]
    assert updates, "the widget's participant list did not update while the cell ran"
    desktop.close()
    phone.close()
    kernel.execute("%jupyterspot stop")


def test_a_reconnecting_participant_reappears_without_moving(kernel, browser, tmp_path):
    """A network blip: the page reconnects by itself and everyone sees it again at once."""
    kernel.execute(f"%load_ext jupyterspot_magic\n%jupyterspot share {DEMO} --tunnel none")
    info = kernel.json(SAMPLER.format(latest=str(tmp_path / "latest.json")))
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    alice, bob = context.new_page(), context.new_page()
    alice.goto(info["url"] + "&name=Alice")
    bob.goto(info["url"] + "&name=Bob")
    wait_names(alice, {"Alice", "Bob"})
    # Bob's network drops; the server tells Alice he left. When it comes back he must show up
    # again at once, though he does not move (y-websocket re-sends the old state otherwise).
    bob.evaluate("window.jupyterspot.provider.disconnect()")
    wait_names(alice, {"Alice"}, timeout=3)
    bob.evaluate("window.jupyterspot.provider.connect()")
    wait_names(alice, {"Alice", "Bob"}, timeout=5)
    context.close()
    kernel.execute("%jupyterspot stop")
