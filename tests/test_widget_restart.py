"""The widget tells the truth when its kernel goes (issue 16, item 3), in a real JupyterLab 4.

A notebook in JupyterLab (tests/test_jupyterlab.py's `lab`) shares itself; then the kernel is
restarted through JupyterLab's own UI (Kernel menu, the confirmation dialog), or killed with
SIGKILL (JupyterLab's server restarts it). Within 5 s the widget must say stopped, why, with the
old link struck through, no QR code, nobody listed, no Stop button, and offer to share again;
"Share again" runs the share in the new kernel through JupyterLab's kernel connection and the
new share's widget shows in place, live. Each time the share server (a child of the kernel,
server/child.py) must be gone too: no orphan keeps the port.

The time printed is from the restart's confirmation click (or the kill) to the widget's
"stopped"; `gone-by` says what noticed it (js/widget/lifeline.ts: "comm", "kernel", "server")."""

from __future__ import annotations

import ast
import os
import signal
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from .conftest import wait_for
from .test_jupyterlab import lab  # noqa: F401  (the fixture: JupyterLab on loopback)

STATUS = '[data-testid="widget-status"]'
LIMIT = 5.0  # s: issue 16, "the widget shows stopped within 5 s"


def open_and_share(page, base: str, token: str) -> str:
    """Open meeting.ipynb in JupyterLab, run its share cell, return the widget's guest link."""
    page.goto(f"{base}/lab/tree/meeting.ipynb?token={token}")
    page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=60000)
    wait_for(lambda: kernel_states(base, token) == ["idle"], 60, "the notebook's kernel is idle")
    page.locator(".jp-CodeCell .jp-InputArea-editor").first.click()
    page.keyboard.press("Shift+Enter")
    link = page.locator('[data-testid="widget-link"]')
    link.wait_for(state="visible", timeout=60000)
    page.locator(f'{STATUS}[data-status="live"]').wait_for(timeout=10000)
    return link.get_attribute("href") or ""


def dirty(page) -> bool:
    """The notebook's tab says it has unsaved changes."""
    return page.locator(".jp-mod-current.jp-mod-dirty, .lm-TabBar-tab.jp-mod-dirty").count() > 0


def kernel_states(base: str, token: str) -> list[str]:
    sessions = httpx.get(f"{base}/api/sessions?token={token}", timeout=5).json()
    return [s["kernel"]["execution_state"] for s in sessions if s.get("kernel")]


def kernel_pid(base: str, token: str) -> int:
    """The notebook kernel's process: the one whose command line names its connection file."""
    (session,) = httpx.get(f"{base}/api/sessions?token={token}", timeout=5).json()
    kid = session["kernel"]["id"]
    found = [pid for pid, cmd in processes() if f"kernel-{kid}.json" in cmd]
    assert len(found) == 1, f"kernel {kid}: {found}"
    return found[0]


def processes() -> list[tuple[int, str]]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            out.append((int(entry.name), cmd))
    return out


def share_servers_of(pid: int) -> list[int]:
    """The share server processes (server/child.py) whose parent is `pid`."""
    return [
        child
        for child, cmd in processes()
        if "jupyterspot_magic.server.child" in cmd and parent_of(child) == pid
    ]


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def port_open(url: str) -> bool:
    port = int(url.split(":")[2].split("/")[0])
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_stopped(page, t0: float, how: str) -> float:
    """Wait (at most LIMIT s after t0) for the widget to say stopped; print and return the time."""
    stopped = page.locator(f'{STATUS}[data-status="stopped"]')
    left = max(0.1, LIMIT - (time.monotonic() - t0))
    try:
        stopped.wait_for(timeout=left * 1000)
    except Exception:
        text = page.locator(".jupyterspot-widget").first.inner_text()
        raise AssertionError(f"{how}: the widget still says {text!r} after {LIMIT} s") from None
    took = time.monotonic() - t0
    by = page.locator(".jupyterspot-widget").first.get_attribute("data-gone-by")
    print(f"\n{how}: the widget showed stopped after {took:.2f} s (noticed by: {by})")
    return took


def assert_tells_stopped(page, url: str, reason: str) -> None:
    widget = page.locator(".jupyterspot-widget").first
    message = page.get_by_test_id("widget-message").first.inner_text()
    assert reason in message, message
    assert page.get_by_test_id("widget-status").first.inner_text() == "Stopped"
    assert not page.get_by_test_id("widget-link").first.is_visible()
    dead = widget.locator(".jsw-placeholder[data-dead]")
    assert dead.inner_text() == url, "the old link is shown struck through"
    assert "line-through" in dead.evaluate("e => getComputedStyle(e).textDecorationLine")
    assert not page.get_by_test_id("widget-qr").first.is_visible()
    assert page.get_by_test_id("widget-participants").first.locator("li").count() == 0
    titles = widget.locator(".jsw-people-title").all()  # (the questions' list has one too)
    assert not any(t.is_visible() and "here" in t.inner_text() for t in titles), "no '1 person'"
    assert not page.get_by_test_id("widget-stop").first.is_visible()
    assert page.get_by_test_id("widget-share-again").first.is_visible()


def test_restart_in_jupyterlab_ui_stops_the_widget_and_share_again_works(lab, browser) -> None:  # noqa: F811
    base, token, _root = lab
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        url = open_and_share(page, base, token)
        # someone is in: the widget lists them until the restart
        viewer = context.new_page()
        viewer.goto(url + "&name=Carol")
        people = page.get_by_test_id("widget-participants").first
        wait_for(lambda: "Carol" in people.inner_text(), 30, "Carol listed")
        kernel = kernel_pid(base, token)
        (server,) = share_servers_of(kernel)

        page.locator(".lm-MenuBar-item", has_text="Kernel").click()
        page.locator(".lm-Menu-item", has_text="Restart Kernel…").first.click()
        accept = page.locator(".jp-Dialog .jp-mod-accept")
        accept.wait_for(timeout=10000)
        t0 = time.monotonic()
        accept.click()
        took = wait_stopped(page, t0, "restart from JupyterLab's Kernel menu")
        assert took < LIMIT
        assert_tells_stopped(page, url, "The kernel restarted: sharing stopped.")

        wait_for(lambda: not alive(server), 10, "the old share server exited")
        wait_for(lambda: not port_open(url), 5, "the old share's port is closed")
        viewer.close()

        # Share again: the new kernel shares the notebook, its widget replaces this one, live.
        wait_for(lambda: kernel_states(base, token) == ["idle"], 60, "the new kernel is idle")
        page.get_by_test_id("widget-share-again").first.click()
        page.locator(f'{STATUS}[data-status="live"]').first.wait_for(timeout=60000)
        link = page.get_by_test_id("widget-link").first
        new_url = link.get_attribute("href") or ""
        assert new_url.startswith("http://127.0.0.1:") and "/s/" in new_url
        assert page.get_by_test_id("widget-stop").first.is_visible()
        # The new widget is the cell's output (saved with the notebook): after a reload it is
        # still there, live, with the new link.
        assert page.locator(".jupyterspot-widget").count() == 1
        page.locator(".jp-Notebook").first.click()
        page.keyboard.press("Control+s")
        wait_for(lambda: not dirty(page), 15, "the notebook saved")
        page.reload()
        page.locator(f'{STATUS}[data-status="live"]').first.wait_for(timeout=60000)
        assert page.get_by_test_id("widget-link").first.get_attribute("href") == new_url
        # the new widget is the kernel's: its Stop reaches the new share
        page.get_by_test_id("widget-stop").first.click()
        page.locator(f'{STATUS}[data-status="stopped"]').first.wait_for(timeout=15000)
        wait_for(lambda: not port_open(new_url), 10, "the new share's port is closed after Stop")
    finally:
        context.close()


def test_kernel_killed_stops_the_widget_and_its_share_server(lab, browser) -> None:  # noqa: F811
    base, token, _root = lab
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        url = open_and_share(page, base, token)
        kernel = kernel_pid(base, token)
        (server,) = share_servers_of(kernel)
        t0 = time.monotonic()
        os.kill(kernel, signal.SIGKILL)
        took = wait_stopped(page, t0, "kill -9 of the kernel")
        assert took < LIMIT
        message = page.get_by_test_id("widget-message").first.inner_text()
        assert "sharing stopped" in message or "no longer answers" in message, message
        wait_for(lambda: not alive(server), 10, "the share server exited with its kernel")
        assert not port_open(url)
    finally:
        context.close()


# --- the share server's ping alone (front ends that tell nothing: VS Code, Colab) -------------


def test_alive_route_answers_any_origin_while_the_share_is_open(nb) -> None:
    from jupyterspot_magic.session import registry

    share = registry.share(nb, tunnel="none", store=False)
    alive_url = share.url.replace("/?token=", "/x/alive?token=")
    answer = httpx.get(alive_url, headers={"Origin": "http://notebook.example"}, timeout=5)
    assert answer.status_code == 204 and answer.headers["access-control-allow-origin"] == "*"
    # The preflight of a ping through ngrok (it carries ngrok-skip-browser-warning), cached 2 h.
    preflight = httpx.options(
        alive_url,
        headers={
            "Origin": "http://notebook.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "ngrok-skip-browser-warning",
        },
        timeout=5,
    )
    assert preflight.status_code == 204, preflight.status_code
    assert preflight.headers["access-control-allow-headers"] == "ngrok-skip-browser-warning"
    assert int(preflight.headers["access-control-max-age"]) >= 600
    assert httpx.get(alive_url.split("?")[0] + "?token=wrong", timeout=5).status_code == 403
    share.stop()
    wait_for(lambda: not port_open(share.url) or httpx.get(alive_url).status_code == 404, 10)


class Relay:
    """A stand-in for the tunnel (the internet cannot exist here), labelled as such: an HTTP
    server on loopback that forwards each request to the real share server and counts them, or
    while `down` answers 502 as a tunnel whose far end is gone does."""

    def __init__(self, target: str) -> None:
        self.target = target.split("/s/")[0]  # http://127.0.0.1:PORT
        self.counts: Counter[str] = Counter()  # requests by method
        self.answered: Counter[int] = Counter()  # the share server's answers by status
        self.down = False
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                relay.counts[self.command] += 1
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                try:
                    if relay.down:
                        raise httpx.ConnectError("the far end is down")
                    answer = httpx.request(
                        self.command, relay.target + self.path, headers=headers, timeout=5
                    )
                except httpx.HTTPError:
                    self.send_response(502)
                    self.send_header("Access-Control-Allow-Origin", "*")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                relay.answered[answer.status_code] += 1
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower().startswith("access-control") or key.lower() == "cache-control":
                        self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_OPTIONS = do_HEAD = _forward

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, link: str) -> str:
        """`link` as it would be seen through this stand-in."""
        return f"http://127.0.0.1:{self.port}/s/" + link.split("/s/", 1)[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# Counts the page's fetches in flight: a faked clock only moves when the last ping has settled.
FETCHES = """(() => {
  const real = window.fetch;
  window.__inflight = 0;
  window.fetch = async (...args) => {
    window.__inflight += 1;
    try { return await real(...args); } finally { window.__inflight -= 1; }
  };
})()"""


def run_clock(page, seconds: int) -> None:
    """Let `seconds` pass on the page's faked clock, a second at a time, each ping answered."""
    for _ in range(seconds):
        page.clock.run_for(1000)
        wait_for(lambda: page.evaluate("window.__inflight") == 0, 10, "the ping settled")


def test_the_ping_goes_to_the_local_server_and_rarely_through_the_tunnel(nb, browser) -> None:
    """ngrok's free plan allows 20,000 requests a month: one ping a second per open widget used
    it up in ~6 h. The widget pings the share server's local address; the public link only when
    no local one answers and no kernel news exists, at most a few times a minute."""
    from jupyterspot_magic.session import registry

    from .conftest import REPO, widget_mock

    source = (REPO / "jupyterspot_magic/static/widget.js").read_text()
    share = registry.share(nb, tunnel="none", store=False)
    tunnel = Relay(share.url)
    public = tunnel.url(share.url)
    unreachable = "http://127.0.0.1:9/s/r/?token=t"  # the discard port: nothing listens
    context = browser.new_context()
    try:
        for local, most in ((share.local_url, 0), (unreachable, 5)):
            tunnel.counts.clear()
            page = context.new_page()
            page.clock.install()
            page.add_init_script(FETCHES)
            page.set_content("<!doctype html><body></body>")
            page.evaluate(FETCHES)
            page.evaluate(widget_mock(url=public, host_url=public, local_url=local), source)
            run_clock(page, 60)
            sent = sum(tunnel.counts.values())
            print(
                f"\nlocal link {'answers' if most == 0 else 'unreachable'}: {sent} requests "
                f"through the tunnel in one minute ({dict(tunnel.counts)})"
            )
            assert sent <= most, dict(tunnel.counts)
            # the widget still knows its server answers (through the tunnel in the second case)
            assert page.locator(".jupyterspot-widget").get_attribute("data-ping") == "answered"
            assert page.locator(STATUS).get_attribute("data-status") == "live"
            page.close()
    finally:
        context.close()
        tunnel.close()


def test_without_kernel_news_the_ping_notices_the_share_is_gone(nb, browser) -> None:
    """A stand-in model with no widget manager (as in a front end that says nothing): only the
    server's silence tells, and only a long one (SILENCE_MS, 10 s): a short outage is no stop.
    A link that never answered proves nothing: no false "stopped"."""
    from jupyterspot_magic.session import registry

    from .conftest import REPO, widget_mock

    source = (REPO / "jupyterspot_magic/static/widget.js").read_text()
    from jupyterspot_magic.frontends.widget import share_again_code

    share = registry.share(nb, tunnel="none", store=False)
    outage = Relay(share.url)  # the local link through a stand-in that can fail for a while
    page = browser.new_page()
    unreachable = browser.new_page()
    try:
        page.set_content("<!doctype html><body></body>")
        local = outage.url(share.url)
        again = share_again_code(share)
        traits = {"url": share.url, "host_url": share.host_url, "local_url": local}
        mock = widget_mock(**traits, share_again=again)
        page.evaluate(mock, source)
        unreachable.set_content("<!doctype html><body></body>")
        nowhere = "http://127.0.0.1:9/s/r/?token=t"  # the discard port: nothing listens
        unreachable.evaluate(widget_mock(url=nowhere, host_url=nowhere, local_url=nowhere), source)
        status = page.locator(STATUS)
        page.locator('.jupyterspot-widget[data-ping="answered"]').wait_for(timeout=10000)
        assert status.get_attribute("data-status") == "live"
        # A short outage (about 4 missed pings): still live.
        outage.down = True
        failed = outage.counts["GET"] + 4
        wait_for(lambda: outage.counts["GET"] >= failed, 15, "four pings went unanswered")
        outage.down = False
        answered = outage.answered[204] + 1
        wait_for(lambda: outage.answered[204] >= answered, 15, "a ping answered again")
        assert status.get_attribute("data-status") == "live", "a 4 s outage is not a stop"
        t0 = time.monotonic()
        share.stop()  # the stand-in model is not told: as when the kernel is gone
        page.locator(f'{STATUS}[data-status="stopped"]').wait_for(timeout=(10 + LIMIT) * 1000)
        took = time.monotonic() - t0
        print(f"\nthe ping noticed the share gone after {took:.2f} s")
        assert took >= 9, "the ping alone waits 10 s of silence"
        assert "no longer answers" in page.get_by_test_id("widget-message").inner_text()
        assert page.locator(".jupyterspot-widget").get_attribute("data-gone-by") == "server"
        hint = page.get_by_test_id("widget-share-again-hint")
        assert hint.is_visible() and "run" in hint.inner_text()  # no kernel here: say what to run
        assert not page.get_by_test_id("widget-share-again").is_visible()
        # What to run keeps its line breaks and is Python (as the user copies it).
        code = page.get_by_test_id("widget-share-again-code").inner_text()
        assert code.count("\n") >= 2, code
        ast.parse(code)
        assert page.get_by_test_id("widget-share-again-copy").is_visible()
        live = unreachable.locator(f'{STATUS}[data-status="live"]')
        assert live.is_visible(), "a link that never answered is not taken as stopped"
    finally:
        page.close()
        unreachable.close()
        outage.close()
