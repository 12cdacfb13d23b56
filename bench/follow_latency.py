"""Follow latency: the leader scrolls, how long until the follower's window shows the same top
cell and offset (by cell anchor, different window sizes)?

Two headless Chromium pages (Debian's /usr/bin/chromium) on a long notebook shared from this
process (loopback, no tunnel): a leader at 1400x900 and a follower at 820x700 (zoomed layout).
100 moves, alternating a real mouse-wheel scroll of random size (Chromium animates it; measured
from the leader's *last* scroll event, i.e. when the leader's own motion ended) and a jump to a
random cell (like a link, a marker click or Home/End; measured from the call). The follower is
"aligned" at the first of its own scrolls after which its top visible cell is the leader's and
the offset is within 1.5 reference px (timestamps taken in the pages, `performance.timeOrigin
+ now()`, one clock). Prints p50/p95/max per kind and overall.

Usage: python bench/follow_latency.py [--moves 100] [--notebook PATH]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CORPUS = REPO.parent / "shared" / "notebooks"
DEFAULT = CORPUS / "norvig__pytudes__ipynb_Euler-Opus.ipynb"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
SLACK = 1.5  # reference px

LEADER_PROBE = """() => {
  window.__lastScroll = 0;
  addEventListener('scroll', () => {
    window.__lastScroll = performance.timeOrigin + performance.now();
  });
}"""

# The follower logs every scroll the follow logic makes, with where it landed.
FOLLOWER_PROBE = """() => {
  window.__log = [];
  const orig = window.scrollTo.bind(window);
  window.scrollTo = (...a) => {
    orig(...a);
    window.__log.push([performance.timeOrigin + performance.now(), window.scrollY]);
  };
}"""

# Where the follower must be: the page y that puts `offset` reference px of `cell` at the top
# (clamped to the scroll range), and how many screen px one reference px is there.
ANCHOR_Y = """([cell, offset]) => {
  const L = window.jupyterspot.layout, el = L.cellById(cell), r = el.getBoundingClientRect();
  const s = L.scaleOf(el, r), max = document.documentElement.scrollHeight - innerHeight;
  return [Math.max(0, Math.min(max, scrollY + r.top + offset * s)), s];
}"""


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--moves", type=int, default=100)
    ap.add_argument("--notebook", type=Path, default=DEFAULT)
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args()
    from bench.isolated import isolate

    isolate()  # temporary data and cache dirs: an empty board, the user's store untouched
    rng = random.Random(args.seed)

    from playwright.sync_api import sync_playwright

    from jupyterspot_magic.session import registry as sharing

    share = sharing.share(args.notebook, tunnel="none")
    results: dict[str, list[float]] = {"wheel": [], "jump": []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            pages = []
            for name, size in (("Leader", (1400, 900)), ("Follower", (820, 700))):
                ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
                page = ctx.new_page()
                page.goto(f"{share.url}&name={name}")
                page.wait_for_function(
                    "window.jupyterspot && window.jupyterspot.connection.status.state==='live'",
                    timeout=30000,
                )
                pages.append(page)
            leader, follower = pages
            leader.evaluate(LEADER_PROBE)
            follower.evaluate(FOLLOWER_PROBE)
            lid = leader.evaluate("window.jupyterspot.awareness.clientID")
            leader.evaluate("window.jupyterspot.follow.takeLead()")
            follower.wait_for_function(f"window.jupyterspot.follow.state().following === {lid}")
            count = leader.evaluate("window.jupyterspot.layout.cellCount")
            leader.mouse.move(500, 450)
            failures = moving = 0
            for i in range(args.moves):
                kind = "wheel" if i % 2 == 0 else "jump"
                follower.evaluate("window.__log = []")
                if kind == "wheel":
                    y, top_y = leader.evaluate(
                        "[scrollY, document.documentElement.scrollHeight - innerHeight]"
                    )
                    dy = rng.choice([-1, 1]) * rng.randint(150, 1500)
                    if not 0 <= y + dy <= top_y - 2000:
                        dy = -dy
                    leader.evaluate("window.__lastScroll = 0")
                    leader.mouse.wheel(0, dy)
                    # settled: it scrolled, then no scroll event for 150 ms
                    leader.wait_for_function(
                        "window.__lastScroll > 0 && "
                        "performance.timeOrigin + performance.now() - window.__lastScroll > 150"
                    )
                    t0 = leader.evaluate(
                        "() => { const t = window.__lastScroll; window.__lastScroll = 0; "
                        "return t; }"
                    )
                else:
                    index = rng.randint(0, count - 12)
                    off = rng.randint(0, 40)
                    t0 = leader.evaluate(
                        """([i, off]) => {
                          const cell = window.jupyterspot.layout.cells()[i];
                          const id = cell.id.replace('cell-id=', '');
                          const t = performance.timeOrigin + performance.now();
                          window.jupyterspot.layout.scrollToCell(id, off);
                          return t;
                        }""",
                        [index, off],
                    )
                    time.sleep(0.05)
                target = leader.evaluate("window.jupyterspot.layout.topVisible()")
                target_off = round(target["offset"])  # what the leader publishes
                aligned_at = None
                deadline = time.monotonic() + 3
                while time.monotonic() < deadline:
                    want, scale = follower.evaluate(ANCHOR_Y, [target["cell"], target_off])
                    log = follower.evaluate("window.__log")
                    hits = [t for t, y in log if abs(y - want) <= SLACK * scale + 0.5]
                    if hits:
                        aligned_at = hits[0]
                        break
                    if not log and abs(follower.evaluate("scrollY") - want) <= SLACK * scale + 0.5:
                        aligned_at = t0  # already there: the move did not move the follower
                        break
                    time.sleep(0.02)
                if kind == "wheel" and leader.evaluate("window.__lastScroll"):
                    moving += 1  # the leader's own scroll went on after it looked settled
                    leader.evaluate("window.__lastScroll = 0")
                    continue
                if aligned_at is None:
                    failures += 1
                    state = follower.evaluate("window.jupyterspot.follow.state()")
                    print(f"move {i} ({kind}) not aligned within 3 s: {state}", file=sys.stderr)
                    if state["paused"]:
                        follower.evaluate("window.jupyterspot.follow.resume()")
                    continue
                results[kind].append(max(0.0, aligned_at - t0))
                time.sleep(rng.uniform(0.05, 0.15))
            browser.close()
    finally:
        share.stop()

    everything = results["wheel"] + results["jump"]
    print(f"follow latency, leader 1400x900 -> follower 820x700, {args.notebook.name}")
    print(f"{'moves':<8}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for kind, values in (*results.items(), ("all", everything)):
        if values:
            print(
                f"{kind:<8}{len(values):>5}{statistics.median(values):>9.1f}"
                f"{pct(values, 95):>9.1f}{max(values):>9.1f}"
            )
    if failures:
        print(f"not aligned within 3 s: {failures}")
    if moving:
        print(f"discarded: {moving} wheel moves whose scrolling went on after 150 ms of quiet")


if __name__ == "__main__":
    main()
