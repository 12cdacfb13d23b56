"""Page load of an end-to-end encrypted share vs the same notebook shared plain, same run.

Two real shares of one notebook, each in a process of its own (bench/e2e_share.py:
`jupyterspot_magic.share(nb, tunnel="none", e2e=True|False, store=False, display=False)`), and
one headless Chromium (/usr/bin/chromium). Each run opens each link once in a fresh browser
context (empty cache), alternating which goes first, and measures in the page, from navigation
start (performance.now(); the loader's document.open keeps the window and its clock):

- viewer: the viewer's handle exists (its bundle ran; polled every 10 ms);
- live: the viewer is connected (`window.jupyterspot.connection.status.state === 'live'`) and
  every cell of the page is laid out (the layout counts them all, the last one has a height);
- fcp: first contentful paint (for the encrypted share that is the loader's one-line status);
- lcp: the last largest-contentful-paint candidate by then (the notebook's own content);
- for the encrypted page, where the time goes (js/viewer/e2e/loader.ts): the loader document
  received, the sealed page received (x/page), WebCrypto's decrypt (crypto.subtle.decrypt
  wrapped by an init script), gunzip + UTF-8 decode (decrypt end to write), document.write;
- bytes received (CDP Network.loadingFinished, as bench/page_reload.py counts them).

Then the server's side, in this process: the first request's work for the guest page, the
plain share's (build + cut the images out + gzip, as a browser asking gzip makes it wait) vs the
encrypted share's (build + gzip inside the blob + AES-GCM: collab/seal.py seal_blob), with the
parts timed separately. Medians and p95 over the runs; ratios e2e/plain (issue 14's goal: <= 1.2).

Usage: python bench/e2e_pages.py [--runs 7] [--server-runs 5] [--trace DIR] [NOTEBOOK ...]
(--trace: one more load of each share with a Chromium trace, main-thread time per event kind)
(default: the corpus's Euler-Opus, 208 cells, and gen_big_images, 17.9 MB)
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.e2e_share import BIG, EULER, Share, load_line, share_process  # noqa: E402
from bench.isolated import isolate  # noqa: E402
from bench.page_reload import Transfer  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

# Marks the loader's work: WebCrypto decrypt and document.write, timestamped on the page's clock.
INSTRUMENT = """
(() => {
  if (window.__jspMarks) return;
  const marks = (window.__jspMarks = []);
  const mark = (name) => marks.push([name, performance.now()]);
  const subtle = globalThis.crypto && crypto.subtle && Object.getPrototypeOf(crypto.subtle);
  if (subtle && subtle.decrypt) {
    const decrypt = subtle.decrypt;
    subtle.decrypt = function (...args) {
      mark('decrypt0');
      return decrypt.apply(this, args).then((r) => { mark('decrypt1'); return r; });
    };
  }
  const write = Document.prototype.write;
  Document.prototype.write = function (...args) {
    mark('write0');
    try { return write.apply(this, args); } finally { mark('write1'); }
  };
})();
"""
LIVE = """() => {
  const j = window.jupyterspot;
  if (!j) return false;
  window.__jspViewer = window.__jspViewer || performance.now();
  if (j.connection.status.state !== 'live' || j.layout.cellCount !== j.config.cells) {
    return false;
  }
  const cells = j.layout.cells();
  if (!cells.length || cells[cells.length - 1].getBoundingClientRect().height <= 0) return false;
  window.__jspLive = window.__jspLive || performance.now();
  return true;
}"""
# Everything measured, read once the page is live (ms from navigation start).
READ = """async () => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  const lcp = await new Promise((resolve) => {
    const seen = [];
    const o = new PerformanceObserver((list) => seen.push(...list.getEntries()));
    o.observe({ type: 'largest-contentful-paint', buffered: true });
    const last = () => (seen.length ? seen[seen.length - 1].startTime : null);
    setTimeout(() => { o.disconnect(); resolve(last()); }, 50);
  });
  const res = (part) => performance.getEntriesByType('resource').find((e) => e.name.includes(part));
  const blob = res('/x/page');
  const loader = res('/static/e2e-loader.js');
  const marks = Object.fromEntries(window.__jspMarks || []);
  return {
    live: window.__jspLive, viewer: window.__jspViewer, fcp: paint ? paint.startTime : null, lcp,
    doc: nav ? nav.responseEnd : null,
    loaderJs: loader ? loader.responseEnd : null,
    blob: blob ? blob.responseEnd : null,
    decrypt0: marks.decrypt0 ?? null, decrypt1: marks.decrypt1 ?? null,
    write0: marks.write0 ?? null, write1: marks.write1 ?? null,
    cells: window.jupyterspot.layout.cellCount,
  };
}"""


def load_once(browser: Any, share: Share) -> dict:
    """One first visit of the share's guest link in a fresh context (empty cache)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        context.add_init_script(INSTRUMENT)
        tab = context.new_page()
        transfer = Transfer(tab)
        t0 = time.perf_counter()
        tab.goto(share.url, wait_until="commit", timeout=300_000)
        tab.wait_for_function(LIVE, timeout=300_000, polling=10)
        wall = (time.perf_counter() - t0) * 1000
        r = tab.evaluate(READ)
        deadline = time.monotonic() + 10
        while transfer.pending and time.monotonic() < deadline:
            tab.wait_for_timeout(20)
        r.update(wall=wall, bytes=transfer.bytes)
        if r["decrypt1"] is not None and r["write0"] is not None:
            r["decrypt"] = r["decrypt1"] - r["decrypt0"]
            r["gunzip"] = r["write0"] - r["decrypt1"]  # DecompressionStream + TextDecoder
            r["write"] = r["write1"] - r["write0"]
            r["fetch"] = r["blob"] - r["loaderJs"] if r["blob"] and r["loaderJs"] else None
        return r
    finally:
        context.close()


TRACE_EVENTS = (
    "ParseHTML",
    "EvaluateScript",
    "v8.compile",
    "FunctionCall",
    "TimerFire",
    "UpdateLayoutTree",
    "Layout",
    "PrePaint",
    "Paint",
    "Decode Image",
    "ImageDecodeTask",
    "MinorGC",
    "MajorGC",
    "V8.GC_MC_BACKGROUND_MARKING",
)


def traced_load(browser: Any, share: Share, path: Path) -> None:
    """One more first visit with a Chromium trace; prints the renderer's main-thread time per
    event kind until live (nested events overlap: ParseHTML includes the scripts it ran)."""
    import json

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        tab = context.new_page()
        cats = ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8", "blink"]
        browser.start_tracing(page=tab, path=str(path), categories=cats)
        tab.goto(share.url, wait_until="commit", timeout=300_000)
        tab.wait_for_function(LIVE, timeout=300_000, polling=10)
        browser.stop_tracing()
    finally:
        context.close()
    events = json.loads(path.read_text())["traceEvents"]
    names = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("name") == "thread_name" and e.get("args", {}).get("name") == "CrRendererMain"
    }
    totals: dict[str, float] = {}
    for e in events:
        if (
            (e.get("pid"), e.get("tid")) in names
            and e.get("ph") == "X"
            and e["name"] in TRACE_EVENTS
        ):
            totals[e["name"]] = totals.get(e["name"], 0.0) + e.get("dur", 0) / 1000
    top = sorted(totals.items(), key=lambda kv: -kv[1])
    print(
        f"{share.label} trace ({path}): main thread ms: "
        + ", ".join(f"{k} {v:.0f}" for k, v in top)
    )


def quantile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def summary(rows: list[dict], key: str) -> tuple[float, float] | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return (statistics.median(values), quantile(values, 0.95)) if values else None


def page_loads(
    browser: Any, notebook: Path, runs: int, trace: Path | None = None
) -> dict[str, list[dict]]:
    """`runs` alternating first visits of each share of `notebook`, after one warm-up each."""
    results: dict[str, list[dict]] = {"e2e": [], "plain": []}
    with share_process(notebook, True) as e2e, share_process(notebook, False) as plain:
        for share in (e2e, plain):  # warm-up: the server's page cache, Chromium's own caches
            load_once(browser, share)
        for run in range(runs):
            for share in (e2e, plain) if run % 2 == 0 else (plain, e2e):
                results[share.label].append(load_once(browser, share))
        if trace is not None:
            for share in (e2e, plain):
                traced_load(browser, share, trace / f"{notebook.stem}-{share.label}.json")
    return results


def print_pages(notebook: Path, results: dict[str, list[dict]]) -> None:
    e2e, plain = results["e2e"], results["plain"]
    print(
        f"\n## {notebook.name} ({notebook.stat().st_size / 1e6:.1f} MB): page load, ms from "
        f"navigation start, median / p95 of {len(e2e)} runs each"
    )
    print(f"{'':14} | {'plain':>17} | {'e2e':>17} | {'ratio med':>9} {'ratio p95':>9}")
    for key in ("live", "viewer", "fcp", "lcp", "doc", "wall"):
        a, b = summary(plain, key), summary(e2e, key)
        if a is None or b is None:
            print(f"{key:14} | {fmt(a):>17} | {fmt(b):>17} |")
            continue
        print(f"{key:14} | {fmt(a):>17} | {fmt(b):>17} | {b[0] / a[0]:9.2f} {b[1] / a[1]:9.2f}")
    mb = statistics.median(r["bytes"] for r in plain) / 1e6
    me = statistics.median(r["bytes"] for r in e2e) / 1e6
    print(f"{'bytes (MB)':14} | {mb:17.2f} | {me:17.2f} | {me / mb:9.2f}")
    timeline = ("doc", "loaderJs", "blob", "decrypt0", "decrypt1", "write0", "write1", "viewer")
    print(
        "e2e timeline, median ms from navigation start: "
        + ", ".join(f"{k} {fmt(summary(e2e, k)).split(' /')[0]}" for k in (*timeline, "live"))
    )
    print(
        "plain timeline, median ms from navigation start: "
        + ", ".join(
            f"{k} {fmt(summary(plain, k)).split(' /')[0]}" for k in ("doc", "viewer", "live")
        )
    )
    print(
        "e2e loader, median / p95 ms: "
        + ", ".join(
            f"{k} {fmt(summary(e2e, k))}"
            for k in ("loaderJs", "blob", "fetch", "decrypt", "gunzip", "write")
        )
    )


def fmt(pair: tuple[float, float] | None) -> str:
    return "-" if pair is None else f"{pair[0]:.0f} / {pair[1]:.0f}"


def clock() -> float:
    return time.perf_counter() * 1000


def cost_round(rendered: Any, key: bytes) -> tuple[dict[str, float], dict[str, float]]:
    """One first request's work for each share's guest page (ms), and the sizes (MB)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from jupyterspot_magic.collab.seal import GZIP_LEVEL
    from jupyterspot_magic.server.caching import gzipped
    from jupyterspot_magic.server.pages import gzip_level
    from jupyterspot_magic.server.shared import SharedNotebook

    def shared(k: bytes | None) -> SharedNotebook:
        return SharedNotebook(
            room="benchroom", token="t" * 32, host_token="h" * 32, rendered=rendered, key=k
        )

    plain, e2e = shared(None), shared(key)
    ms: dict[str, float] = {}
    # plain: build + cut the images out (PageCache._cut_page), then the gzip a browser waits for
    t = clock()
    rep = plain.pages._cut_page("guest")[0]
    t1 = clock()
    gzipped(rep, gzip_level(rep.body))
    t2 = clock()
    ms["plain: build + cut images"], ms["plain: gzip"] = t1 - t, t2 - t1
    ms["plain: first request"] = t2 - t
    # e2e: build + seal_blob (gzip at GZIP_LEVEL + AES-GCM) in PageCache._cut_page, then its parts
    t = clock()
    e2e.pages._cut_page("guest")
    ms["e2e: first request"] = clock() - t
    t = clock()
    page = e2e._build_page("guest")
    t1 = clock()
    packed = gzip.compress(page, GZIP_LEVEL, mtime=0)
    t2 = clock()
    AESGCM(key).encrypt(os.urandom(12), packed, b"aad")
    t3 = clock()
    gzip.compress(page, gzip_level(page), mtime=0)
    t4 = clock()
    ms["e2e: build"], ms[f"e2e: gzip level {GZIP_LEVEL}"] = t1 - t, t2 - t1
    ms["e2e: AES-GCM"] = t3 - t2
    ms[f"(e2e: gzip at plain's level {gzip_level(page)} instead)"] = t4 - t3
    sizes = {"page": len(page) / 1e6, "sealed": len(packed) / 1e6, "plain": len(rep.body) / 1e6}
    return ms, sizes


def server_cost(notebook: Path, runs: int) -> None:
    """The first request's work for the guest page, plain vs sealed, in this process."""
    from jupyterspot_magic.collab.seal import new_key
    from jupyterspot_magic.content.render import render

    rendered = render(notebook)
    key = new_key()
    rows: dict[str, list[float]] = {}
    sizes: dict[str, float] = {}
    for i in range(runs + 1):  # the first round warms up: not counted
        ms, sizes = cost_round(rendered, key)
        for name, value in ms.items():
            if i:
                rows.setdefault(name, []).append(value)
    plain, e2e = rows["plain: first request"], rows["e2e: first request"]
    print(
        f"\n## {notebook.name}: the server's first request for the guest page, ms, median / "
        f"p95 of {runs} (page {sizes['page']:.2f} MB, sealed {sizes['sealed']:.2f} MB, "
        f"plain page with images cut out {sizes['plain']:.2f} MB)"
    )
    for name, values in rows.items():
        print(f"{name:44} {statistics.median(values):9.1f} / {quantile(values, 0.95):9.1f}")
    ratio = statistics.median(e2e) / statistics.median(plain)
    print(f"{'ratio e2e/plain (medians)':44} {ratio:9.2f}")


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, default=[EULER, BIG])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--server-runs", type=int, default=5)
    parser.add_argument("--trace", type=Path, help="also trace one load of each into this dir")
    args = parser.parse_args()
    isolate()  # temporary data and cache dirs, inherited by the share processes
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} start, {load_line()}", flush=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for notebook in args.notebooks:
            print_pages(notebook, page_loads(browser, notebook, args.runs, args.trace))
            print(f"# {time.strftime('%H:%M:%S')} {load_line()}", flush=True)
        browser.close()
    if args.server_runs:
        for notebook in args.notebooks:
            server_cost(notebook, args.server_runs)
    print(f"# {time.strftime('%H:%M:%S')} end, {load_line()}")


if __name__ == "__main__":
    main()
