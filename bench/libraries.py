"""Issue 13: what serving the outputs' libraries from the share costs and buys.

Four parts, each side by side with the commit before the libraries work (`--before`, 18d390a),
in one run:

1. Wheel size: `pip wheel --no-deps` of a temporary `git clone` of each commit. The clone's
   static files are built first with `node js/build.mjs` against a symlink to this repo's
   node_modules, and the wheel is built with HATCH_JUPYTER_BUILDER_SKIP_NPM=1: the build hook's
   `npm install` would replace the symlink with a fresh install from the network. Per library:
   raw, gzip (level 6, what the share sends) and compressed size inside the wheel.
2. Page weight: the bytes a guest's first load transfers (Playwright's request sizes: headers +
   encoded body, every frame), split into the page, the viewer, each library and the rest; and a
   reload in the same context (304s). "Without X" is the same page with X's URLs aborted (each
   library the page loads; the page's own MathJax, there before this work, is weighed only).
3. Load time to drawn, in headless Chromium that resolves nothing but loopback: from navigation
   to every Plotly/Bokeh/Vega/widget output the .ipynb holds drawn (tests/offline_browser.py
   DRAWN_JS, the corpus test's own check: an svg/canvas/widget node inside that output) and each
   folium map frame's Leaflet map built. Cold = a fresh context per load; warm = the same
   context loading again (304s). The peer is the commit before: its outputs ask CDNs that do not
   resolve here. With --mock-cdn, a second Chromium maps the CDN hosts to a local HTTPS server
   (a mock CDN, self-signed) serving the same files: same origin vs a second origin.
4. The offline export: size of content/export.py page_html per notebook, with the libraries
   inlined (HEAD), without (HEAD with inline_libraries off; the commit before), and the file://
   load time to drawn (the exports that cannot draw are opened once).

Each commit's share runs in its own process from its clone (`python -c CHILD`), with its own
temporary render cache; data and cache dirs are temporary (bench/isolated.py).

Usage: python bench/libraries.py [--runs 5] [--only plotly --only folium] [--skip-wheel]
                                 [--mock-cdn] [--before 18d390a]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.isolated import CACHE_ENV, isolate  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP  # noqa: E402
from tests.offline_browser import DRAWN_JS, expectations_js  # noqa: E402
from tests.offline_outputs import read  # noqa: E402

CORPUS = REPO.parent / "shared" / "notebooks"
GEN = CORPUS / "generated"
NOTEBOOKS = {  # short name -> file
    "gen plotly+bokeh": GEN / "gen_plotly_bokeh.ipynb",
    "gen altair+widgets": GEN / "gen_altair_widgets.ipynb",
    "nbconvert Widget_List": CORPUS / "jupyter__nbconvert__tests_files_Widget_List.ipynb",
    "uwdata altair_interaction": CORPUS
    / "uwdata__visualization-curriculum__altair_interaction.ipynb",
    "jupytext plotly_graphs": CORPUS
    / "mwouts__jupytext__tests_data_notebooks_inputs_ipynb_py_plotly_graphs.ipynb",
    "folium ControlScale": CORPUS / "python-visualization__folium__examples_ControlScale.ipynb",
    "nteract julia_vegalite": CORPUS / "nteract__examples__julia_vegalite.ipynb",
    "nbconvert HelloWorld": CORPUS
    / "jupyter__nbconvert__tests_preprocessors_files_HelloWorld.ipynb",
}
# Nothing but loopback resolves; swiftshader: Plotly's 3-D needs WebGL. Sandboxed srcdoc frames
# (folium's maps) stay in the page's process: in their own one (Chromium's default) Playwright
# neither reports nor routes their requests, so Leaflet could be neither weighed nor blocked.
RESOLVER = "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
EXTRA_ARGS = ["--enable-unsafe-swiftshader", "--disable-features=IsolateSandboxedIframes"]
BROWSER_ARGS = [*CHROMIUM_ARGS, f"--host-resolver-rules={RESOLVER}", *EXTRA_ARGS]
CDN_HOSTS = (
    "cdn.plot.ly",
    "cdn.jsdelivr.net",
    "unpkg.com",
    "cdnjs.cloudflare.com",
    "cdn.bokeh.org",
)
DRAW_TIMEOUT = 20_000  # ms: a page that should draw and has not by then counts as not drawn
QUIET_TIMEOUT = 3_000  # ms: a page not expected to draw: what drew once the network is quiet
LOAD_TIMEOUT = 60_000

# Which library a URL belongs to: the family blocked together in "without X"
FAMILIES: list[tuple[str, re.Pattern[str]]] = [
    ("plotly", re.compile(r"/lib/plotly")),
    ("vega", re.compile(r"/lib/vega")),
    ("bokeh", re.compile(r"/lib/bokeh")),
    ("widgets", re.compile(r"/lib/html-manager|\.woff2(\?|$)")),
    ("leaflet", re.compile(r"/lib/leaflet|/lib/images/")),
    ("require.js", re.compile(r"/lib/require")),
    ("mathjax", re.compile(r"/static/mathjax\.js|/lib/mathjax")),
]
VIEWER = re.compile(r"/static/(viewer|e2e-loader|widget)\.")


def family(url: str) -> str:
    path = url.split("?")[0]
    host = path.split("/")[2] if "//" in path else ""
    if host in CDN_HOSTS:  # the mock CDN: its URL names the library
        path = "/lib/" + cdn_key(url)
    for name, pattern in FAMILIES:
        if pattern.search(path):
            return name
    if VIEWER.search(path):
        return "viewer"
    if re.search(r"/s/[^/]+/(\?|$)", url):
        return "page"
    return "other"


def cdn_key(url: str) -> str:
    """The library (content/libraries.py key) a CDN URL asks for, or its file name."""
    from jupyterspot_magic.content import libraries as L

    found = L._classify(url)
    return found[0] if found else url.split("?")[0].rsplit("/", 1)[-1]


# ---------------------------------------------------------------- trees and wheels


def run(cmd: list[str], cwd: Path, env: dict | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def checkout(commit: str, dest: Path) -> Path:
    """A clean tree of `commit` with its static files built (no network: node_modules linked)."""
    run(["git", "clone", "-q", "--no-checkout", str(REPO), str(dest)], REPO)
    run(["git", "checkout", "-q", commit], dest)
    (dest / "node_modules").symlink_to(REPO / "node_modules")
    run(["node", "js/build.mjs"], dest)
    return dest


def build_wheel(tree: Path, out: Path) -> Path:
    env = {**os.environ, "HATCH_JUPYTER_BUILDER_SKIP_NPM": "1"}
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(tree)],
        tree,
        env,
    )
    return next(out.glob("*.whl"))


@dataclass
class Part:
    raw: int = 0
    gz: int = 0
    zipped: int = 0

    def add(self, raw: int, gz: int, zipped: int) -> None:
        self.raw, self.gz, self.zipped = self.raw + raw, self.gz + gz, self.zipped + zipped


def wheel_parts(whl: Path) -> tuple[int, dict[str, Part]]:
    """The wheel's size and, per part (static/lib file, other static, python), its bytes."""
    parts: dict[str, Part] = {}
    with zipfile.ZipFile(whl) as z:
        for info in z.infolist():
            name = info.filename
            if "/static/lib/" in name:
                key = lib_key(name.split("/static/lib/")[1])
            elif "/static/" in name:
                key = "static (viewer, widget, mathjax)"
            else:
                key = "python, templates, metadata"
            gz = len(gzip.compress(z.read(info), 6))
            parts.setdefault(key, Part()).add(info.file_size, gz, info.compress_size)
    return whl.stat().st_size, parts


def lib_key(rel: str) -> str:
    if rel.startswith("images/"):
        return "lib: leaflet images"
    if rel.startswith("fonts/"):
        return "lib: widget fonts"
    return "lib: " + re.sub(r"\.(js|css|json)$", "", rel)


def wheel_report(before: Path, after: Path, commits: tuple[str, str]) -> list[str]:
    size_b, parts_b = wheel_parts(before)
    size_a, parts_a = wheel_parts(after)
    mb = 1e6
    lines = [
        "## 1. Wheel",
        "",
        f"| | before ({commits[0]}) | after ({commits[1]}) |",
        "|---|---:|---:|",
        f"| wheel size | {size_b / mb:.2f} MB | {size_a / mb:.2f} MB "
        f"(+{(size_a - size_b) / mb:.2f} MB, x{size_a / size_b:.2f}) |",
    ]
    lib = Part()
    for key, p in parts_a.items():
        if key.startswith("lib:"):
            lib.add(p.raw, p.gz, p.zipped)
    lines += [
        f"| static/lib in the wheel (compressed) | 0 | {lib.zipped / mb:.2f} MB "
        f"({100 * lib.zipped / size_a:.0f} % of the wheel) |",
        "",
        "| part of the wheel (after) | raw KB | gzip-6 KB (what the share sends) | in wheel KB |",
        "|---|---:|---:|---:|",
    ]
    for key in sorted(parts_a, key=lambda k: -parts_a[k].zipped):
        p = parts_a[key]
        lines.append(f"| {key} | {p.raw / 1e3:.0f} | {p.gz / 1e3:.0f} | {p.zipped / 1e3:.0f} |")
    lines.append(
        f"| **static/lib total** | {lib.raw / 1e3:.0f} | {lib.gz / 1e3:.0f} | "
        f"{lib.zipped / 1e3:.0f} |"
    )
    return lines


# ---------------------------------------------------------------- shares (one process per tree)

# Run from a tree's clone: shares one notebook there, writes its exports (with the libraries
# inlined and, where the tree inlines them, without), prints the page URL and cell ids, and
# stops the share when stdin closes.
CHILD = r"""
import json, sys
from pathlib import Path
tree, nb, out = sys.argv[1:4]
sys.path.insert(0, tree)
from jupyterspot_magic.session import registry
from jupyterspot_magic.content import export as E
share = registry.share(nb, tunnel="none", store=False)
board = share.board_update()
Path(out, "export.html").write_text(E.page_html(share.rendered, board), encoding="utf-8")
if hasattr(E, "inline_libraries"):
    E.inline_libraries = lambda html: html
    Path(out, "export-bare.html").write_text(E.page_html(share.rendered, board), "utf-8")
print(json.dumps({"url": share.url, "cells": list(share.rendered.cell_ids),
                  "package": registry.__file__}), flush=True)
sys.stdin.read()
share.stop()
"""


@dataclass
class Served:
    url: str
    cells: list[str]
    out: Path
    proc: subprocess.Popen

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_share(tree: Path, nb: Path, out: Path) -> subprocess.Popen:
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree), CACHE_ENV: tempfile.mkdtemp(dir=out)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tree), str(nb), str(out)],
        cwd=tree,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def served(proc: subprocess.Popen, tree: Path, out: Path) -> Served:
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"the share of {tree} did not start (exit {proc.wait()})")
    info = json.loads(line)
    assert info["package"].startswith(str(tree)), info  # this tree's code, not the repo's
    return Served(info["url"], info["cells"], out, proc)


# ---------------------------------------------------------------- loading a page

# In every frame: the top frame stamps when every expected output has drawn (the corpus test's
# DRAWN_JS), a folium map frame when its Leaflet map is built. Epoch ms (timeOrigin + now), so
# stamps from different frames compare.
PROBE = """(() => {
  const top = window === window.top;
  const exps = EXPS;
  const drawn = DRAWN;
  const stamp = () => performance.timeOrigin + performance.now();
  const until = Date.now() + 60000;
  const check = () => {
    try {
      if (top && !exps.length) return;
      if (top ? document.readyState !== 'loading' && drawn(exps).every((r) => r.drawn)
              : document.querySelector('.leaflet-container .leaflet-map-pane')) {
        window.__jsDrawn = stamp();
        return;
      }
    } catch (e) {}
    if (Date.now() < until) setTimeout(check, 20);
  };
  check();
})();"""
TIMING = """() => { const n = performance.getEntriesByType('navigation')[0];
  return {origin: performance.timeOrigin, dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd,
          drawn: window.__jsDrawn === undefined ? null : window.__jsDrawn - performance.timeOrigin};
}"""
MAP_FRAME = '() => !!document.querySelector(\'script[src*="leaflet"], link[href*="leaflet"]\')'


@dataclass
class Load:
    dcl: float
    load: float
    drawn_ms: float | None  # every expected output drawn (None: not all of them)
    drawn: int  # outputs (and map frames) drawn
    expected: int
    weight: dict[str, int] = field(default_factory=dict)  # family -> bytes transferred
    requests: int = 0
    missing: list[str] = field(default_factory=list)  # what the undrawn outputs show instead


def probe_script(exps: list[dict]) -> str:
    return PROBE.replace("EXPS", json.dumps(exps)).replace("DRAWN", DRAWN_JS)


def new_context(browser: Any, exps: list[dict], block: str | None) -> Any:
    context = browser.new_context(**DESKTOP, ignore_https_errors=True)
    context.add_init_script(probe_script(exps))
    if block:
        context.route(lambda url: family(url) == block, lambda route: route.abort())
    return context


def finish(page: Any, exps: list[dict], draws: bool, started: float, count: bool) -> Load:
    """Wait for the page to draw (bounded), then read its timings and what drew. A page not
    expected to draw is counted (`count`: what drew once the network is quiet) on its first
    load only; later loads just time it (drawn = -1)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    if not draws and not count:
        t = page.evaluate(TIMING)
        return Load(t["dcl"], t["load"], None, -1, len(exps))
    deadline = started + (DRAW_TIMEOUT / 1000 if draws else 0)
    if not draws:
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_load_state("networkidle", timeout=QUIET_TIMEOUT)
    if exps:
        with contextlib.suppress(PlaywrightTimeout):
            left = max(1, int((deadline - time.monotonic()) * 1000))
            page.wait_for_function("window.__jsDrawn !== undefined", timeout=left)
    maps = [f for f in page.frames if f != page.main_frame and _is_map(f)]
    stamps = []
    for frame in maps:
        with contextlib.suppress(PlaywrightTimeout, Exception):
            left = max(1, int((deadline - time.monotonic()) * 1000))
            frame.wait_for_function("window.__jsDrawn !== undefined", timeout=left)
        stamps.append(_frame_stamp(frame))
    t = page.evaluate(TIMING)
    states = page.evaluate(DRAWN_JS, exps) if exps else []
    drawn = sum(s["drawn"] for s in states) + sum(s is not None for s in stamps)
    expected = len(exps) + len(maps)
    all_ms = [t["drawn"]] if exps else []
    all_ms += [None if s is None else s - t["origin"] for s in stamps]
    drawn_ms = max(all_ms) if all_ms and None not in all_ms else None
    missing = [s["found"] for s in states if not s["drawn"]]
    return Load(t["dcl"], t["load"], drawn_ms, drawn, expected, missing=missing)


def _is_map(frame: Any) -> bool:
    with contextlib.suppress(Exception):
        return bool(frame.evaluate(MAP_FRAME))
    return False


def _frame_stamp(frame: Any) -> float | None:
    with contextlib.suppress(Exception):
        return frame.evaluate("window.__jsDrawn === undefined ? null : window.__jsDrawn")
    return None


RESOURCES = "() => performance.getEntriesByType('resource').map((e) => e.name)"


def weigh(page: Any, requests: list[Any], block: str | None) -> dict[str, int]:
    """Bytes transferred (headers + encoded body) per family.

    Playwright's sizes for the requests it reports; it does not report those of a sandboxed
    srcdoc frame (folium's map loading Leaflet), so any loopback URL in a frame's Resource
    Timing that it did not report is weighed by asking the server for it again (gzip)."""
    out: dict[str, int] = {}
    seen = set()
    for r in requests:
        seen.add(r.url)
        with contextlib.suppress(Exception):
            s = r.sizes()
            n = s["responseHeadersSize"] + max(0, s["responseBodySize"])
            out[family(r.url)] = out.get(family(r.url), 0) + n
    for url in dict.fromkeys(u for f in page.frames for u in _resources(f)):
        if url not in seen and url.startswith("http://127.0.0.1") and family(url) != block:
            out[family(url)] = out.get(family(url), 0) + server_bytes(url)
    return out


def _resources(frame: Any) -> list[str]:
    with contextlib.suppress(Exception):
        return frame.evaluate(RESOURCES)
    return []


def server_bytes(url: str) -> int:
    """What the server sends for `url` to a browser that accepts gzip: headers + body."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            body, headers = r.read(), r.getheaders()
    except urllib.error.HTTPError as e:  # a 404 travels too
        body, headers = e.read(), list(e.headers.items())
    if os.environ.get("BENCH_DEBUG"):
        print(f"    weighed from the server: {url[:90]} {len(body)}", file=sys.stderr)
    return 17 + sum(len(k) + len(v) + 4 for k, v in headers) + len(body)


def cold(v: Variant, browser: Any, weight: bool) -> Load:
    """One load in a fresh context (an empty cache)."""
    url, exps, block = v.url, v.exps, v.block
    context = new_context(browser, exps, block)
    try:
        page = context.new_page()
        finished: list[Any] = []
        context.on("requestfinished", lambda r: finished.append(r))
        started = time.monotonic()
        page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT)
        result = finish(page, exps, v.draws, started, count=weight)
        if os.environ.get("BENCH_DEBUG"):
            print(
                f"  {time.strftime('%X')} cold {v.label} {time.monotonic() - started:.1f}s",
                file=sys.stderr,
            )
        if weight:
            result.weight, result.requests = weigh(page, finished, block), len(finished)
        return result
    finally:
        context.close()


def warm(v: Variant, browser: Any, runs: int) -> list[Load]:
    """One load, then `runs` reloads in the same context (the first reload weighed)."""
    url, exps, draws = v.url, v.exps, v.draws
    context = new_context(browser, exps, None)
    try:
        page = context.new_page()
        page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT)
        finish(page, exps, draws, time.monotonic(), count=False)
        loads = []
        for i in range(runs):
            finished: list[Any] = []

            def listen(r: Any, finished: list[Any] = finished) -> None:
                finished.append(r)

            context.on("requestfinished", listen)
            started = time.monotonic()
            page.reload(wait_until="load", timeout=LOAD_TIMEOUT)
            result = finish(page, exps, draws, started, count=i == 0)
            context.remove_listener("requestfinished", listen)
            if os.environ.get("BENCH_DEBUG"):
                print(
                    f"  {time.strftime('%X')} warm {v.label} {time.monotonic() - started:.1f}s "
                    f"{result.missing}",
                    file=sys.stderr,
                )
            if i == 0:
                result.weight, result.requests = weigh(page, finished, None), len(finished)
            loads.append(result)
        return loads
    finally:
        context.close()


# ---------------------------------------------------------------- one notebook, every variant


@dataclass
class Variant:
    label: str
    url: str
    exps: list[dict]
    block: str | None = None
    browser: str = "offline"  # "mock": the Chromium that maps the CDN hosts to the mock CDN
    draws: bool = True  # expected to draw: wait for it (bounded)
    cold: list[Load] = field(default_factory=list)
    warm: list[Load] = field(default_factory=list)


@dataclass
class Rows:
    weight: list[str] = field(default_factory=list)
    time: list[str] = field(default_factory=list)
    export: list[str] = field(default_factory=list)


def bench_notebook(
    name: str, nb: Path, trees: dict[str, Path], browsers: dict, args, tmp: Path, rows: Rows
) -> None:
    procs = {k: start_share(tree, nb, tmp / k / nb.stem) for k, tree in trees.items()}
    shares = {k: served(proc, trees[k], tmp / k / nb.stem) for k, proc in procs.items()}
    try:
        holdings = read(nb)
        exps = {k: expectations_js(holdings.expected, s.cells) for k, s in shares.items()}
        after, before = shares["after"], shares["before"]
        # a first load of each (not counted): the servers gzip their pages once; which libraries
        base = Variant("after", after.url, exps["after"])
        old = Variant(f"before ({args.before}), CDN unreachable", before.url, exps["before"])
        old.draws = False
        first = cold(base, browsers["offline"], weight=True)
        cold(old, browsers["offline"], weight=False)
        # the page's own MathJax (static/, before the libraries work too) is weighed, not blocked
        libs = [f for f, _ in FAMILIES if f in first.weight and f != "mathjax"]
        variants = [
            base,
            *[
                Variant(f"after, {f} blocked", after.url, exps["after"], f, draws=False)
                for f in libs
            ],
            Variant(
                f"before ({args.before}), CDN unreachable", before.url, exps["before"], draws=False
            ),
        ]
        if "mock" in browsers:
            variants.append(
                Variant(
                    "before, mock CDN (2nd origin, https)",
                    before.url,
                    exps["before"],
                    browser="mock",
                )
            )
        for i in range(args.runs):
            for v in variants:
                v.cold.append(cold(v, browsers[v.browser], weight=i == 0))
                give_up(v)
        for v in variants:
            if v.block is None:
                v.warm = warm(v, browsers[v.browser], args.runs)
        for v in variants:
            rows.weight.append(weight_row(name, v))
            rows.time.append(time_row(name, v))
        exports = [  # label, file, expectations, expected to draw
            Variant(
                "after, libraries inlined", (after.out / "export.html").as_uri(), exps["after"]
            ),
            Variant("after, not inlined", (after.out / "export-bare.html").as_uri(), exps["after"]),
            Variant(
                f"before ({args.before})", (before.out / "export.html").as_uri(), exps["before"]
            ),
        ]
        exports[1].draws = exports[2].draws = False
        for i in range(args.runs):
            for v in exports:  # the exports that cannot draw: sized and opened once
                if v.draws or i == 0:
                    v.cold.append(cold(v, browsers["offline"], weight=not v.cold))
                    give_up(v)
        rows.export += [export_row(name, v, Path(v.url.removeprefix("file://"))) for v in exports]
    finally:
        for s in shares.values():
            s.stop()


def give_up(v: Variant) -> None:
    """A page that should draw and did not in DRAW_TIMEOUT is not waited for again (each wait
    would cost the whole timeout); its rows say so."""
    last = v.cold[-1]
    if v.draws and last.drawn < last.expected:
        v.draws = False
        v.label += f" (not all drawn in {DRAW_TIMEOUT // 1000} s: {'; '.join(last.missing)[:80]})"


# ---------------------------------------------------------------- formatting


def kb(n: float) -> str:
    return f"{n / 1e3:,.0f}" if n >= 1e4 else f"{n / 1e3:.1f}"


def pct(values: list[float | None], q: float) -> str:
    vals = sorted(v for v in values if v is not None)
    if len(vals) < len(values) or not vals:
        return "—"
    if q == 50:
        return f"{statistics.median(vals):.0f}"
    return f"{vals[min(len(vals) - 1, round(q / 100 * (len(vals) - 1) + 0.4999))]:.0f}"


def drawn(loads: list[Load]) -> str:
    if not loads or not loads[0].expected:
        return "—"
    counts = sorted({ld.drawn for ld in loads if ld.drawn >= 0})
    shown = "/".join(str(c) for c in counts)
    return f"{shown} of {loads[0].expected}"


def weight_row(name: str, v: Variant) -> str:
    w = v.cold[0].weight
    libs = {k: n for k, n in w.items() if k not in ("page", "viewer", "other")}
    lib_text = ", ".join(f"{k} {kb(n)}" for k, n in sorted(libs.items(), key=lambda x: -x[1]))
    again = f"{kb(sum(v.warm[0].weight.values()))}" if v.warm else ""
    return (
        f"| {name} | {v.label} | {kb(sum(w.values()))} | {kb(w.get('page', 0))} | "
        f"{kb(w.get('viewer', 0))} | {kb(sum(libs.values()))} | {lib_text or '—'} | "
        f"{kb(w.get('other', 0))} | {again} | {drawn(v.cold)} |"
    )


def time_row(name: str, v: Variant) -> str:
    c = v.cold
    cells = [
        pct([ld.dcl for ld in c], 50),
        f"{pct([ld.load for ld in c], 50)} / {pct([ld.load for ld in c], 95)}",
        f"{pct([ld.drawn_ms for ld in c], 50)} / {pct([ld.drawn_ms for ld in c], 95)}",
    ]
    if v.warm:
        w = v.warm
        cells += [
            f"{pct([ld.load for ld in w], 50)} / {pct([ld.load for ld in w], 95)}",
            f"{pct([ld.drawn_ms for ld in w], 50)} / {pct([ld.drawn_ms for ld in w], 95)}",
        ]
    else:
        cells += ["", ""]
    return f"| {name} | {v.label} | " + " | ".join(cells) + f" | {drawn(c)} |"


def export_row(name: str, v: Variant, path: Path) -> str:
    c = v.cold
    size = path.stat().st_size
    gz = len(gzip.compress(path.read_bytes(), 6))
    times = f"{pct([x.drawn_ms for x in c], 50)} / {pct([x.drawn_ms for x in c], 95)}"
    return (
        f"| {name} | {v.label} | {size / 1e6:.2f} | {gz / 1e6:.2f} "
        f"| {pct([x.load for x in c], 50)} | {times} | {drawn(c)} |"
    )


WEIGHT_HEAD = [
    "| notebook | page | first load KB | page | viewer | libraries | per library | other "
    "| reload KB (304s) | outputs drawn |",
    "|---|---|---:|---:|---:|---:|---|---:|---:|---|",
]
TIME_HEAD = [
    "| notebook | page | cold DCL p50 | cold load p50 / p95 | cold drawn p50 / p95 "
    "| warm load p50 / p95 | warm drawn p50 / p95 | outputs drawn |",
    "|---|---|---:|---:|---:|---:|---:|---|",
]
EXPORT_HEAD = [
    "| notebook | export | MB | gzip MB | load p50 (ms) | drawn p50 / p95 (ms) | outputs drawn |",
    "|---|---|---:|---:|---:|---:|---|",
]


# ---------------------------------------------------------------- main


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="loads per variant (cold, warm)")
    ap.add_argument("--only", action="append", default=[], help="notebooks whose name has this")
    ap.add_argument("--before", default="18d390a", help="the commit before the libraries work")
    ap.add_argument("--skip-wheel", action="store_true")
    ap.add_argument("--mock-cdn", action="store_true", help="also the commit before + a mock CDN")
    ap.add_argument("--out", type=Path, help="also write the tables (markdown) here")
    return ap.parse_args()


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    from playwright.sync_api import sync_playwright

    args = parse()
    isolate()
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="jupyterspot-bench-libs-"))
    head = run(["git", "rev-parse", "--short", "HEAD"], REPO).strip()
    out = [
        f"commits: before {args.before}, after {head} (HEAD); load average at start "
        f"{load_average()} ({os.cpu_count()} cores)",
        "",
    ]
    try:
        trees = {
            "before": checkout(args.before, tmp / "before"),
            "after": checkout(head, tmp / "after"),
        }
        print(f"trees built in {time.monotonic() - started:.0f} s", file=sys.stderr)
        if not args.skip_wheel:
            wheels = {k: build_wheel(t, tmp / f"wheel-{k}") for k, t in trees.items()}
            out += [*wheel_report(wheels["before"], wheels["after"], (args.before, head)), ""]
            print(f"wheels built at {time.monotonic() - started:.0f} s", file=sys.stderr)
        notebooks = {
            k: nb
            for k, nb in NOTEBOOKS.items()
            if not args.only or any(o in k or o in nb.name for o in args.only)
        }
        rows = Rows()
        with sync_playwright() as p, mock_cdn(p, args.mock_cdn, tmp) as mock:
            browsers = {"offline": p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)}
            if mock:
                browsers["mock"] = mock
            for name, nb in notebooks.items():
                bench_notebook(name, nb, trees, browsers, args, tmp, rows)
                print(f"{name} done at {time.monotonic() - started:.0f} s", file=sys.stderr)
            browsers["offline"].close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out += [
        "## 2. Page weight: a guest's first load (KB transferred: headers + gzip bodies)",
        "",
        *WEIGHT_HEAD,
        *rows.weight,
        "",
        f"## 3. Load time (ms from navigation; {args.runs} loads each)",
        "",
        *TIME_HEAD,
        *rows.time,
        "",
        "## 4. The offline export (file://)",
        "",
        *EXPORT_HEAD,
        *rows.export,
        "",
        f"total {time.monotonic() - started:.0f} s; load average at end {load_average()}",
    ]
    text = "\n".join(out)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


# ---------------------------------------------------------------- the mock CDN (--mock-cdn)


def mock_answer(host: str, path: str) -> tuple[bytes, str] | None:
    """What the mock CDN answers for a CDN URL: the share's own file for that library (HEAD's
    content/libraries.py), so both columns load the same bytes; None: 404."""
    from jupyterspot_magic.content import libraries as L

    url = f"https://{host}{path}"
    found = L._classify(url)
    if found is not None:
        key, ver, _ = found
        key = {"require": "requirejs"}.get(key, key)  # the page's stub is not require.js
        hit = L.find(key + (f"@{ver}" if ver else ""))
    else:  # the widget manager's fonts, asked for beside its URL
        hit = L.find(path.rsplit("/", 1)[-1])
    if hit is None or hit.source == "stub" or hit.path is None:
        return None
    return hit.path.read_bytes(), hit.media


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "mock-cdn.pem", folder / "mock-cdn.key"
    run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=mock-cdn",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        folder,
    )
    return cert, key


def serve_mock(folder: Path) -> Any:
    """An HTTPS server on loopback that answers like a CDN: gzip, long max-age."""
    import http.server
    import ssl
    import threading

    zipped: dict[tuple[str, str], tuple[bytes, str] | None] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            where = (self.headers.get("Host", "").split(":")[0], self.path)
            if where not in zipped:
                answer = mock_answer(*where)
                zipped[where] = answer and (gzip.compress(answer[0], 6), answer[1])
            answer = zipped[where]
            if answer is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, media = answer
            self.send_response(200)
            for k, val in (
                ("Content-Type", media),
                ("Content-Encoding", "gzip"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "public, max-age=31536000"),
                ("Access-Control-Allow-Origin", "*"),
            ):
                self.send_header(k, val)
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed(folder))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextlib.contextmanager
def mock_cdn(p: Any, wanted: bool, folder: Path):
    """A Chromium whose CDN hosts resolve to the mock CDN (everything else as the offline one)."""
    if not wanted:
        yield None
        return
    server = serve_mock(folder)
    port = server.server_address[1]
    maps = " , ".join(f"MAP {h} 127.0.0.1:{port}" for h in CDN_HOSTS)
    rules = f"--host-resolver-rules={maps} , {RESOLVER}"
    browser = p.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, rules, *EXTRA_ARGS, "--ignore-certificate-errors"],
    )
    try:
        yield browser
    finally:
        browser.close()
        server.shutdown()


if __name__ == "__main__":
    main()
