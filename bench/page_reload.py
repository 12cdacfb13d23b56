"""Reloading a share's page: bytes over the network and time, this server vs the page as before.

One server thread on loopback serves the same rendered notebook twice: as it is now (images cut
out into immutable URLs, the page revalidated by its entity tag) and as before (every image
inline; the browser's cache disabled, which is what `Cache-Control: no-store` amounted to). Each
run opens a fresh browser context, loads the page, reloads it in the same context, and after each
load makes every lazy image load too (so both loads end with the whole notebook on screen). Bytes
are what Chromium received for every request of the load (CDP `Network.loadingFinished`
`encodedDataLength`: headers and body as sent, gzip included); time is from the navigation to
the last image decoded. Medians over the runs.

Usage: python bench/page_reload.py [--runs 3] [--mbit 0] [NOTEBOOK]
(default notebook: the corpus's 17.9 MB one, 120 PNG figures; --mbit N emulates a link of N
Mbit/s down, as a guest behind a presenter's uplink would see it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.isolated import isolate  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

BIG = REPO.parent / "shared" / "notebooks" / "generated" / "gen_big_images.ipynb"
TOKEN, HOST_TOKEN = "bench-guest-token", "bench-host-token"
VIEWER = "window.jupyterspot !== undefined"
EAGER = "document.querySelectorAll('img[loading=lazy]').forEach((i) => { i.loading = 'eager'; })"
ALL_LOADED = "[...document.images].every((i) => i.complete && i.naturalWidth > 0)"
LOAD_EVENT = "performance.getEntriesByType('navigation')[0].loadEventEnd"


class Transfer:
    """What a tab receives over the network, from the DevTools protocol's Network events."""

    def __init__(self, tab: Any) -> None:
        self.cdp = tab.context.new_cdp_session(tab)
        self.cdp.send("Network.enable")
        self.pending: set[str] = set()
        self.bytes = 0
        self.responses: list[dict] = []  # url, status, fromCache
        self.document: str | None = None  # the request id of the page itself
        self.wire_status: dict[str, int] = {}  # as received (a revalidated page: 304)
        self.cdp.on("Network.requestWillBeSent", self._request)
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.responseReceivedExtraInfo", self._wire)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.on("Network.loadingFailed", lambda e: self.pending.discard(e["requestId"]))

    def _request(self, e: dict) -> None:
        self.pending.add(e["requestId"])
        if e.get("type") == "Document":
            self.document = e["requestId"]

    def _wire(self, e: dict) -> None:
        self.wire_status[e["requestId"]] = int(e["statusCode"])

    def _response(self, e: dict) -> None:
        r = e["response"]
        cached = bool(r.get("fromDiskCache") or r.get("fromPrefetchCache"))
        self.responses.append({"url": r["url"], "status": r["status"], "cached": cached})

    def _finished(self, e: dict) -> None:
        self.pending.discard(e["requestId"])
        self.bytes += int(e["encodedDataLength"])

    def disable_cache(self) -> None:
        self.cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})

    def throttle(self, mbit: float) -> None:
        rate = mbit * 1e6 / 8  # bytes per second
        conditions = {"offline": False, "latency": 20, "downloadThroughput": rate}
        self.cdp.send("Network.emulateNetworkConditions", {**conditions, "uploadThroughput": rate})

    def reset(self) -> None:
        self.bytes = 0
        self.responses = []
        self.document = None


def measure(tab: Any, transfer: Transfer, navigate: Callable[[], Any]) -> dict:
    """One load: navigate, make every image load, wait until no request is outstanding."""
    transfer.reset()
    t0 = time.perf_counter()
    navigate()
    tab.wait_for_function(VIEWER, timeout=300_000)
    tab.evaluate(EAGER)
    tab.wait_for_function(ALL_LOADED, timeout=300_000, polling=50)
    seconds = time.perf_counter() - t0
    deadline = time.monotonic() + 30
    while transfer.pending and time.monotonic() < deadline:
        tab.wait_for_timeout(20)  # CDP events are delivered while Playwright waits
    return {
        "bytes": transfer.bytes,
        "seconds": seconds,
        "load_ms": tab.evaluate(LOAD_EVENT),
        "document": transfer.wire_status.get(transfer.document or ""),
        "requests": len(transfer.responses),
    }


def first_and_reload(browser: Any, url: str, cache: bool, mbit: float = 0) -> tuple[dict, dict]:
    """A first load in a fresh context, then a reload in the same context."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        tab = context.new_page()
        transfer = Transfer(tab)
        if not cache:
            transfer.disable_cache()
        if mbit:
            transfer.throttle(mbit)
        first = measure(tab, transfer, lambda: tab.goto(url, timeout=300_000))
        second = measure(tab, transfer, lambda: tab.reload(timeout=300_000))
        return first, second
    finally:
        context.close()


def serve(notebook: Path) -> tuple[Any, int]:
    """A server thread with the notebook as room 'now' (images cut out) and 'before' (inline)."""
    from jupyterspot_magic.content.render import render
    from jupyterspot_magic.server.shared import SharedNotebook
    from jupyterspot_magic.server.thread import ServerThread

    rendered = render(notebook)
    srv = ServerThread("127.0.0.1", 0).start()
    for room in ("now", "before"):
        shared = SharedNotebook(room=room, token=TOKEN, host_token=HOST_TOKEN, rendered=rendered)
        if room == "before":
            shared.pages.min_image_bytes = None
        srv.call(lambda s=shared: srv.registry.shares.__setitem__(s.room, s))
    return srv, srv.port


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebook", nargs="?", type=Path, default=BIG)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mbit", type=float, default=0.0)
    args = parser.parse_args()
    isolate()  # temporary data and cache dirs: the user's render cache untouched
    srv, port = serve(args.notebook)
    rows = {
        "now: images cut out, cache on": ("now", True),
        "before: inline, no-store (cache off)": ("before", False),
        "now, cache off (splitting alone)": ("now", False),
    }
    results: dict[str, list[tuple[dict, dict]]] = {name: [] for name in rows}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for run in range(args.runs + 1):  # run 0 warms the server's caches: not counted
            for name, (room, cache) in rows.items():
                url = f"http://127.0.0.1:{port}/s/{room}/?token={TOKEN}"
                pair = first_and_reload(browser, url, cache, args.mbit)
                if run:
                    results[name].append(pair)
        browser.close()
    srv.stop()
    link = f"{args.mbit:g} Mbit/s" if args.mbit else "loopback"
    print(
        f"{args.notebook.name} ({args.notebook.stat().st_size / 1e6:.1f} MB), {link}, "
        f"medians of {args.runs} runs"
    )
    print(
        f"{'':38} | {'1st MB':>7} {'2nd KB':>8} {'2nd/1st':>8} | {'1st s':>6} {'2nd s':>6} | "
        f"{'1st load ms':>11} {'2nd load ms':>11} | 2nd doc"
    )
    for name, pairs in results.items():

        def med(i: int, key: str, pairs: list = pairs) -> float:
            return statistics.median(p[i][key] for p in pairs)

        first, second = med(0, "bytes"), med(1, "bytes")
        print(
            f"{name:38} | {first / 1e6:7.2f} {second / 1e3:8.1f} {second / first:8.3%} | "
            f"{med(0, 'seconds'):6.2f} {med(1, 'seconds'):6.2f} | "
            f"{med(0, 'load_ms'):11.0f} {med(1, 'load_ms'):11.0f} | {pairs[-1][1]['document']}"
        )


if __name__ == "__main__":
    main()
