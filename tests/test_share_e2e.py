"""The whole pipeline as a user meets it: a real kernel runs `%jupyterspot share`, two headless
Chromium pages (desktop and phone) open the link, see each other and each other's cursors, and
the kernel sees both of them while a cell is blocked in time.sleep(5)."""

from __future__ import annotations

import time

import pytest

from .conftest import DEMO, DESKTOP, PHONE, REPO, wait_names
from .kernel import Kernel

SAMPLER = """
import threading, time, json, jupyterspot_magic
share = jupyterspot_magic.current()
samples = []
def _sample():
    while share.status == "live":
        samples.append((time.time(), sorted(p["name"] for p in share.participants)))
        time.sleep(0.05)
threading.Thread(target=_sample, daemon=True).start()
print(json.dumps(share.info()))
"""


@pytest.fixture
def kernel():
    k = Kernel(REPO)
    yield k
    k.shutdown()


def names(page) -> list[str]:
    items = page.locator('[data-testid="participants"] [data-client-id]')
    return sorted(items.evaluate_all("els => els.map(e => e.dataset.name || e.textContent)"))


def test_share_two_pages_presence_while_kernel_busy(kernel, browser):
    result = kernel.execute(f"%load_ext jupyterspot_magic\n%jupyterspot share {DEMO} --tunnel none")
    assert result["error"] is None, result["error"]
    mimes = [set(o["data"]) for o in result["outputs"]]
    assert any("application/vnd.jupyter.widget-view+json" in m for m in mimes), mimes
    assert any("text/html" in m for m in mimes), "the plain HTML link is always displayed"
    info = kernel.json(SAMPLER)
    assert info["url"].startswith("http://127.0.0.1:")

    busy_id = kernel.start("import time; time.sleep(5)")
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

    # Bob closes his tab while the kernel is still sleeping: gone everywhere within 2 s.
    still_busy = time.time() - busy_since < 5
    bob.close()
    closed_at = time.time()
    assert wait_names(alice, {"Alice"}, timeout=2.0) < 2.0
    done = kernel.collect(busy_id, timeout=30)
    assert done["error"] is None
    samples = kernel.json("print(json.dumps(samples))")
    during_sleep = [names for t, names in samples if busy_since < t < busy_since + 5]
    assert ["Alice", "Bob"] in during_sleep, "participants did not update while the cell ran"
    if still_busy:
        after_close = [names for t, names in samples if closed_at + 2 < t < busy_since + 5]
        assert all(names == ["Alice"] for names in after_close)
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


def test_a_reconnecting_participant_reappears_without_moving(kernel, browser):
    """A network blip: the page reconnects by itself and everyone sees it again at once."""
    kernel.execute(f"%load_ext jupyterspot_magic\n%jupyterspot share {DEMO} --tunnel none")
    info = kernel.json(SAMPLER)
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
