"""The annotation layer under load: 2,000 strokes of 100 points in the board document.

Measures, on a real share of a long synthetic notebook (120 cells) in headless Chromium:
- bytes per 100-point stroke: Float32 bytes (what the viewer stores) beside a plain number array
  and JSON text, in a Yjs document (bench/stroke_bytes.mjs, the real yjs);
- time to load the page until the board holds every stroke and has drawn the visible ones
  (performance.now() from navigation start), with 0 and 2,000 strokes, desktop and phone;
- frame times while scrolling top to bottom (requestAnimationFrame deltas, 30 CSS px a frame;
  long animation frames from the Long Animation Frames API when available), with 0 strokes,
  2,000 strokes, and 2,000 strokes with virtualization switched off (every shape in the DOM).

Every load/scroll figure is the median over `--repeat` runs (default 3), the scenarios
interleaved so that load from other processes spreads over all of them.

Usage: python bench/annotations.py [--strokes 2000] [--cells 120] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.isolated import isolate  # noqa: E402
from jupyterspot_magic.session.registry import share  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE  # noqa: E402

VIEWPORTS = {
    "desktop 1400x900": DESKTOP,
    "phone 390x844": PHONE,
}

FILL = """(n) => {
  const js = window.jupyterspot, b = js.board;
  const cells = js.layout.cells().map((c) => c.id.slice('cell-id='.length));
  let seed = 11;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const inks = ['#e03131', '#1971c2', '#2f9e44', '#1e1e1e'];
  js.boardDoc.transact(() => {
    for (let i = 0; i < n; i++) {
      const ci = i % cells.length, pts = [];
      let x = 0, y = 0, a = rnd() * 6.28;
      for (let k = 0; k < 100; k++) {
        pts.push(Math.round(x * 10) / 10, Math.round(y * 10) / 10);
        a += (rnd() - 0.5) * 0.6;
        x += Math.cos(a) * (2 + rnd() * 4);
        y += Math.sin(a) * (2 + rnd() * 4);
      }
      b.add({t: 'pen', cell: cells[ci], ci, x: 80 + rnd() * 700, y: 10 + rnd() * 150,
             c: inks[i % 4], s: 4.5, d: 2, pts, by: 'bench'});
    }
  }, b.model.origin);
  return js.provider.ws ? js.provider.ws.bufferedAmount : -1;
}"""

LOADED = """(n) => {
  const js = window.jupyterspot;
  if (!js || !js.board || !js.provider.synced) return false;
  const b = js.board;
  if (b.renderer.count < n || !b.firstRender) return false;
  return {t: performance.now(), mounted: b.renderer.mountedCount(),
          docBytes: 0, dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd};
}"""

SCROLL = """async (step) => {
  window.scrollTo(0, 0);
  const frame = () => new Promise((r) => requestAnimationFrame(r));
  await frame(); await frame(); await frame();
  const long = [];
  let obs = null;
  if (PerformanceObserver.supportedEntryTypes.includes('long-animation-frame')) {
    obs = new PerformanceObserver((l) => l.getEntries().forEach((e) => long.push(e.duration)));
    obs.observe({type: 'long-animation-frame'});
  }
  const max = document.documentElement.scrollHeight - innerHeight;
  const deltas = [];
  let last = await frame();
  let maxMounted = 0;
  while (window.scrollY < max - 1 && deltas.length < 5000) {
    window.scrollBy(0, step);
    const t = await frame();
    deltas.push(t - last);
    last = t;
    maxMounted = Math.max(maxMounted, window.jupyterspot.board.renderer.mountedCount());
  }
  await frame();
  if (obs) { obs.takeRecords().forEach((e) => long.push(e.duration)); obs.disconnect(); }
  return {deltas, long, loaf: !!obs, maxMounted, height: document.documentElement.scrollHeight};
}"""


def make_notebook(path: Path, cells: int) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    text = (
        "the damped oscillator loses energy to friction so its amplitude decays while the "
        "frequency stays close to the natural one if the damping is small"
    )
    words = re.findall(r"\w+", text)
    for i in range(cells):
        if i % 2 == 0:
            text = " ".join(words[(i + k) % len(words)] for k in range(60))
            nb.cells.append(nbformat.v4.new_markdown_cell(f"## Section {i // 2}\n\n{text}\n"))
        else:
            src = "\n".join(f"x{k} = compute({i}, {k})  # step {k}" for k in range(6))
            cell = nbformat.v4.new_code_cell(src, execution_count=i)
            cell.outputs = [
                nbformat.v4.new_output(
                    "stream", name="stdout", text="".join(f"value {k}: {k * i}\n" for k in range(8))
                )
            ]
            nb.cells.append(cell)
    nbformat.write(nb, path)


def stats(values: list[float]) -> dict:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))] if ordered else 0
    return {
        "median": statistics.median(ordered) if ordered else 0,
        "p95": p95,
        "max": ordered[-1] if ordered else 0,
        "n": len(ordered),
    }


def measure(browser, url: str, n: int, device: str, *, virtualize: bool = True) -> dict:
    context = browser.new_context(**VIEWPORTS[device])  # fresh context: cold HTTP cache
    page = context.new_page()
    page.goto(url + "&name=Bench")
    loaded = page.wait_for_function(LOADED, arg=n, polling="raf", timeout=120_000).json_value()
    if not virtualize:
        page.evaluate("() => { const r = window.jupyterspot.board.renderer; r.margin = 1e6; }")
        page.evaluate("() => window.jupyterspot.board.renderer.cull()")
    scroll = page.evaluate(SCROLL, 30)
    context.close()
    frames = stats(scroll["deltas"])
    return {
        "load_ms": loaded["t"],
        "dcl_ms": loaded["dcl"],
        "mounted_at_load": loaded["mounted"],
        "max_mounted": scroll["maxMounted"],
        "frame": frames,
        "long_frames": len([d for d in scroll["long"] if d > 50]) if scroll["loaf"] else None,
        "page_px": scroll["height"],
    }


def run(browser, url: str, scenarios: list, repeat: int) -> list[tuple[str, str, dict]]:
    """Each scenario `repeat` times, interleaved (noise from other load spreads over all);
    per scenario the median over runs of each figure."""
    runs: dict[int, list[dict]] = {i: [] for i in range(len(scenarios))}
    for _ in range(repeat):
        for i, (_label, device, virtualize, n) in enumerate(scenarios):
            runs[i].append(measure(browser, url, n, device, virtualize=virtualize))
    out = []
    for i, (label, device, _v, _n) in enumerate(scenarios):
        rs = runs[i]
        med = statistics.median
        longs = [r["long_frames"] for r in rs if r["long_frames"] is not None]
        out.append(
            (
                label,
                device,
                {
                    "load_ms": med(r["load_ms"] for r in rs),
                    "mounted_at_load": rs[0]["mounted_at_load"],
                    "max_mounted": max(r["max_mounted"] for r in rs),
                    "frame": {k: med(r["frame"][k] for r in rs) for k in ("median", "p95", "max")},
                    "long_frames": med(longs) if longs else None,
                    "runs": len(rs),
                },
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strokes", type=int, default=2000)
    parser.add_argument("--cells", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (medians)")
    args = parser.parse_args()
    isolate()  # temporary data and cache dirs: an empty board, the user's store untouched
    from playwright.sync_api import sync_playwright

    sizes = json.loads(
        subprocess.run(
            ["node", str(REPO / "bench" / "stroke_bytes.mjs"), "100", str(args.strokes)],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    rows: list[tuple[str, str, dict]] = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        nb = Path(tmp) / "long_lecture.ipynb"
        make_notebook(nb, args.cells)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        s = share(nb, tunnel="none")
        try:
            measure(browser, s.url, 0, "desktop 1400x900")  # warm-up (server, caches, JIT)
            empty = [("0 strokes", device, True, 0) for device in VIEWPORTS]
            rows += run(browser, s.url, empty, args.repeat)
            writer_ctx = browser.new_context(**VIEWPORTS["desktop 1400x900"])
            writer = writer_ctx.new_page()
            writer.goto(s.url + "&name=Writer")
            writer.wait_for_function(LOADED, arg=0, polling="raf", timeout=60_000)
            writer.evaluate(FILL, args.strokes)
            writer.wait_for_function(
                "() => window.jupyterspot.provider.ws.bufferedAmount === 0", timeout=60_000
            )
            doc_bytes = writer.evaluate(
                "() => window.jupyterspot.board.shapes().reduce((a, s) => a + s.pts.length * 4, 0)"
            )
            writer_ctx.close()
            time.sleep(0.5)
            label = f"{args.strokes} strokes"
            full = [(label, device, True, args.strokes) for device in VIEWPORTS]
            full.append((f"{label}, no virtualization", "desktop 1400x900", False, args.strokes))
            rows += run(browser, s.url, full, args.repeat)
        finally:
            s.stop()
            browser.close()

    d2, d3 = sizes["d2"], sizes["d3"]
    print(f"\nBytes per 100-point stroke ({args.strokes} strokes in one Yjs document)")
    print("| points stored as | x,y (mouse) | x,y,pressure (pen) |")
    print("|---|---:|---:|")
    print(f"| Float32 bytes (viewer) | {d2['doc_float32']:.0f} B | {d3['doc_float32']:.0f} B |")
    print(f"| number array | {d2['doc_number_array']:.0f} B | {d3['doc_number_array']:.0f} B |")
    print(f"| JSON string | {d2['doc_json_string']:.0f} B | {d3['doc_json_string']:.0f} B |")
    print(
        f"| points only: Float32 vs number array | {d2['payload_float32']} vs "
        f"{d2['doc_number_array'] - d2['doc_float32'] + d2['payload_float32']:.0f} B | "
        f"{d3['payload_float32']} vs "
        f"{d3['doc_number_array'] - d3['doc_float32'] + d3['payload_float32']:.0f} B |"
    )
    print(f"(points payload in the page after the fill: {doc_bytes / 1e6:.2f} MB)")
    print(
        f"\nLoad and scroll ({args.cells}-cell notebook; scrolling 30 px a frame, top to bottom;"
        f" medians of {args.repeat} runs each)"
    )
    print(
        "| board | viewport | page load (ms) | shapes in DOM at load / max | "
        "frame median (ms) | p95 (ms) | max (ms) | long frames >50 ms |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for label, device, r in rows:
        f = r["frame"]
        long = "n/a" if r["long_frames"] is None else f"{r['long_frames']:g}"
        print(
            f"| {label} | {device} | {r['load_ms']:.0f} | {r['mounted_at_load']} / "
            f"{r['max_mounted']} | {f['median']:.1f} | {f['p95']:.1f} | {f['max']:.1f} | {long} |"
        )


if __name__ == "__main__":
    main()
