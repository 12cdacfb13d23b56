"""Live notebook streaming (issue 12): what a running cell costs and how fast guests see it.

A real IPython kernel (jupyter_client) runs `%jupyterspot share NB --tunnel none --store none` of
a temporary notebook; execute_requests carry JupyterLab's `metadata.cellId` (the nbformat id), so
the share maps them to their cells. 10 guests stay connected throughout: one headless Chromium
page (/usr/bin/chromium, a MutationObserver on the page) and 9 Node y-websocket clients that
follow control.version and fetch x/cells like js/viewer/live.ts (bench/live_stream.mjs).

1. IOPub message -> guest updated, p50/p95: (a) one `print` line, (b) a 2 MB PNG `display`.
   Time zero is the IOPub message's header date (the kernel's clock: when it published it; read
   from this process's own IOPub subscription). The page's time is when its MutationObserver saw
   the marker in the cell (`performance.timeOrigin + now()`, same machine clock), and for the
   PNG also when the <img> finished loading; a Node guest's time is when its x/cells answer with
   the marker was applied ("control.version": when it heard of that version, before fetching).
   "all 10" is the slowest of the 10 guests per message. Diagnostics: the share's flusher is
   timed from inside the kernel (a wrapper around LiveStream.flush, set up by the bench).
2. The kernel's own execution time for a tight print loop (`for i in range(N): print(i)`) and for
   a 1,000-lines/s loop for 5 s, with the share live vs. `share.live = False` (the same kernel,
   runs alternating), then after `%jupyterspot stop` (no share): wall time in the cell, the
   kernel's busy->idle (header dates), CPU of the kernel process (all its threads) and of the
   share server (its child process). Median of RUNS runs each.
3. Presence: awareness round trip between two y-websocket clients on the board room at 10 Hz,
   idle vs. during a 1,000-lines/s print flood.

Usage: python bench/live_stream.py [--rounds 20] [--png-rounds 10] [--runs 3] [--loop 200000]
                                   [--presence-seconds 6] [--gap 0.3] [--py-spy DIR]
                                   [--base NOTEBOOK]
Bounded: every wait has a timeout; a default run takes about 2 minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import queue
import random
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.isolated import isolate  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
MJS = str(REPO / "bench" / "live_stream.mjs")
GUESTS = 10
PNG_SIDE = 836  # 836 x 836 RGB of noise, stored uncompressed: 2.1 MB

SETUP = "import sys, time\nfrom IPython.display import Image, display"
# The marker is built at run time: the cell's source (also streamed) never contains it.
PRINT = "print('tok-' + '{n}')"
PNG = "display(Image(filename={path!r}))"
TIGHT = (
    "_w0, _c0 = time.perf_counter(), time.process_time()\n"
    "for i in range({n}):\n    print(i)\n"
    "sys.stdout.flush()\n"
    "_bench = (time.perf_counter() - _w0, time.process_time() - _c0)"
)
FLOOD = (
    "_w0, _c0 = time.perf_counter(), time.process_time()\n"
    "for i in range({n}):\n"
    "    print(i)\n"
    "    _d = _w0 + (i + 1) / 1000 - time.perf_counter()\n"
    "    if _d > 0:\n        time.sleep(_d)\n"
    "sys.stdout.flush()\n"
    "_bench = (time.perf_counter() - _w0, time.process_time() - _c0)"
)

# The share's flusher (session/stream.py LiveStream.flush), timed from inside the kernel: when
# each flush started and ended (epoch ms) and whether it sent cells. Diagnostics only.
INSTRUMENT = """import time, jupyterspot_magic as _j
_bench_fl = []
_st = _j.current().stream
if _st is not None and not hasattr(_st, "_bench_orig"):
    _st._bench_orig = _st.flush
    def _bench_flush(_o=_st._bench_orig):
        t = time.time() * 1000
        sent = _o()
        _bench_fl.append((t, time.time() * 1000, bool(sent)))
        del _bench_fl[:-2000]
        return sent
    _st.flush = _bench_flush"""

# The page: when the print cell first shows each tok-N, when the PNG cell first has each image
# (by its x/img digest) and when that image has loaded. Cells are swapped whole (live.ts), so
# the observer watches the whole body.
OBSERVE = """() => {
  const seen = window.__seen = {toks: {}, imgs: {}, loaded: {}};
  const now = () => performance.timeOrigin + performance.now();
  const scan = () => {
    const t = now();
    const p = document.getElementById('cell-id=bench-print');
    const toks = p ? p.textContent.matchAll(/tok-\\d+/g) : [];
    for (const m of toks) if (!(m[0] in seen.toks)) seen.toks[m[0]] = t;
    const g = document.getElementById('cell-id=bench-png');
    if (!g) return;
    for (const img of g.querySelectorAll('img')) {
      const m = (img.getAttribute('src') || '').match(/([0-9a-f]{64})\\.png/);
      if (!m || m[1] in seen.imgs) continue;
      const k = m[1];
      seen.imgs[k] = t;
      const done = () => { if (!(k in seen.loaded)) seen.loaded[k] = now(); };
      if (img.complete && img.naturalWidth) done(); else img.addEventListener('load', done);
    }
  };
  window.__obs = new MutationObserver(scan);
  window.__obs.observe(document.body, {subtree: true, childList: true, characterData: true});
  scan();
}"""


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def stats(xs: list[float]) -> str:
    if not xs:
        return f"{'-':>6} {'-':>7} {'-':>7}   (n=0)"
    return f"{statistics.median(xs):6.0f} {pct(xs, 95):7.0f} {max(xs):7.0f}   (n={len(xs)})"


def png_file(folder: Path, i: int, side: int = PNG_SIDE) -> tuple[Path, str]:
    """A PNG of noise, 2 MB by default (unique per round: a new x/img name), and its sha256."""
    row = side * 3
    raw = b"".join(b"\0" + os.urandom(row) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 0))
        + chunk(b"IEND", b"")
    )
    path = folder / f"noise{i}.png"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def notebook(folder: Path, base: Path | None) -> Path:
    """The bench cells, first; then the cells of `base` (a notebook with figures: every flush
    of a live share handles the whole page, not only the changed cell)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    cells = [("bench-setup", SETUP), ("bench-print", PRINT.format(n=0)), ("bench-png", "")]
    cells += [("bench-loop", ""), ("bench-flood", "")]
    for cid, src in cells:
        cell = nbformat.v4.new_code_cell(src)
        cell.id = cid
        nb.cells.append(cell)
    if base is not None:
        other = nbformat.read(base, as_version=4)
        for i, cell in enumerate(other.cells):
            cell.id = f"base-{i}"
            nb.cells.append(cell)
        nb.metadata = {**other.metadata, **nb.metadata}
    path = folder / "live_bench.ipynb"
    nbformat.write(nb, path)
    return path


class Guests:
    """The 9 Node guests (bench/live_stream.mjs guests): their events, read by a thread."""

    def __init__(self, ws_url: str, url: str, n: int) -> None:
        self.proc = subprocess.Popen(
            ["node", MJS, "guests", ws_url, url, str(n)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        self.events: list[dict] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(30):
            raise TimeoutError("the Node guests did not all fetch their first cells in 30 s")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            ev = json.loads(line)
            if ev["ev"] == "ready":
                self.ready.set()
            else:
                self.events.append(ev)

    def first(self, key: str, value: str, when: str = "t") -> dict[int, float]:
        """Per guest, the first time an answer carried `value` in `key` (toks or imgs); `when`
        "tv": when that guest saw the answer's version in control.version."""
        seen: dict[int, float] = {}
        for ev in list(self.events):
            if ev["ev"] == "cells" and value in ev[key]:
                seen.setdefault(ev["g"], ev[when])
        return seen

    def quiet(self, for_s: float = 0.5, timeout: float = 15) -> None:
        """Until no guest applied an update for `for_s` seconds."""
        deadline = time.monotonic() + timeout
        n, since = len(self.events), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if len(self.events) != n:
                n, since = len(self.events), time.monotonic()
            elif time.monotonic() - since >= for_s:
                return

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


class Bench:
    def __init__(self, kernel) -> None:
        self.k = kernel

    def run(self, cell: str, code: str, expr: str | None = None, wait: bool = True, silent=False):
        """An execute_request as JupyterLab sends it (metadata.cellId); returns the msg_id, or
        with wait (msg_id, result, user expression value)."""
        kc = self.k.kc
        content = {
            "code": code,
            "silent": silent,
            "store_history": True,
            "user_expressions": {"v": expr} if expr else {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        msg = kc.session.msg("execute_request", content, metadata={"cellId": cell})
        kc.shell_channel.send(msg)
        msg_id = msg["header"]["msg_id"]
        if not wait:
            return msg_id
        return self.finish(msg_id)

    def finish(self, msg_id: str, timeout: float = 120):
        result = self.k.collect(msg_id, timeout=timeout)
        assert result["error"] is None, result["error"]
        value = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            reply = self.k.kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                v = reply["content"].get("user_expressions", {}).get("v")
                if v and v.get("status") == "ok":
                    value = eval(v["data"]["text/plain"])  # a tuple of floats we wrote
                break
        return msg_id, result, value

    def peek(self, expr: str):
        """A user expression's value, from a silent request (no cell runs: IPython fires no
        pre_run_cell for it, so the share streams nothing)."""
        return self.run("", "", expr=expr, silent=True)[2]

    def wait_busy(self, msg_id: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.k.kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            self.k.iopub.append(msg)
            if (
                msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "busy"
                and msg["parent_header"].get("msg_id") == msg_id
            ):
                return
        raise TimeoutError("the kernel did not start the cell")


def epoch_ms(msg: dict) -> float:
    return msg["header"]["date"].timestamp() * 1000


def busy_idle_s(messages: list[dict]) -> float:
    """busy -> idle of one execute_request, from the kernel's own header dates."""
    dates = {
        m["content"]["execution_state"]: epoch_ms(m) for m in messages if m["msg_type"] == "status"
    }
    return (dates["idle"] - dates["busy"]) / 1000


def wait_page(page, expr: str, timeout: float) -> float | None:
    try:
        return page.wait_for_function(expr, timeout=timeout * 1000).json_value()
    except Exception:  # noqa: BLE001 - playwright's TimeoutError: not seen in time
        return None


def wait_guests(guests: Guests, key: str, value: str, n: int, timeout: float) -> dict[int, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = guests.first(key, value)
        if len(seen) >= n:
            return seen
        time.sleep(0.01)
    return guests.first(key, value)


def one_round(args, b: Bench, page, guests: Guests, kind: str, i: int, png) -> dict | None:
    """One message: {page, node: [9], all10, loaded} ms after the kernel published it."""
    if kind == "print":
        _, result, _ = b.run("bench-print", PRINT.format(n=i))
        msg = next(m for m in result["messages"] if m["msg_type"] == "stream")
        key, value = "toks", f"tok-{i}"
    else:
        path, value = png
        _, result, _ = b.run("bench-png", PNG.format(path=str(path)))
        msg = next(m for m in result["messages"] if m["msg_type"] == "display_data")
        key = "imgs"
    t0 = epoch_ms(msg)
    at = wait_page(page, f"window.__seen.{key}[{value!r}]", args.timeout)
    seen = wait_guests(guests, key, value, GUESTS - 1, args.timeout if at else 0.5)
    if at is None or len(seen) < GUESTS - 1:
        print(f"  {kind} #{i}: page {at is not None}, node {len(seen)}/9", file=sys.stderr)
        return None
    r = {"page": at - t0, "node": [t - t0 for t in seen.values()]}
    heard = guests.first(key, value, "tv")
    r["version"] = [t - t0 for t in heard.values()]
    r["at"] = [(t0, min(heard.values(), default=None))]  # for the flush breakdown
    r["all10"] = max(at, *seen.values()) - t0
    if kind == "png":
        loaded = wait_page(page, f"window.__seen.loaded[{value!r}]", args.timeout)
        r["loaded"] = None if loaded is None else loaded - t0
    return r


def latency(args, b: Bench, spy: Spy, page, guests: Guests, pngs: list) -> dict:
    """Part 1: IOPub message -> every guest updated. Runs are spaced (--gap, jittered) like a
    person running cells; each waits for every guest, then for quiet."""
    rng = random.Random(12)
    out: dict = {
        k: {"page": [], "node": [], "all10": [], "loaded": [], "version": [], "at": []}
        for k in ("print", "png")
    }
    out["missed"] = {"print": 0, "png": 0}
    for kind, count in (("print", args.rounds), ("png", len(pngs))):
        with spy.record(kind):
            for i in range(count):
                if out["missed"][kind] >= 3:
                    break  # the share does not stream this: do not wait for ever
                r = one_round(
                    args, b, page, guests, kind, i + 1, pngs[i] if kind == "png" else None
                )
                if r is None:
                    out["missed"][kind] += 1
                    continue
                for key, value in r.items():
                    if value is not None:
                        out[kind][key] += value if isinstance(value, list) else [value]
                guests.quiet(0.2)
                time.sleep(rng.uniform(0.5, 1.5) * args.gap)
    flushes = b.peek("_bench_fl") or []
    for kind in ("print", "png"):
        out[kind].update(breakdown(out[kind].pop("at"), flushes))
    return out


def breakdown(rounds: list, flushes: list) -> dict[str, list[float]]:
    """Where each message's time went: IOPub -> the flush that sent it starts (throttle), that
    flush's start -> the first guest hears the new version (render + the server writes
    control.version, inside the flush), and how long the whole flush took. The flush that sent
    it: the last flush with cells that started before a guest heard the new version (it may
    start a moment before the message's date: it reads the notebook after pushing the running
    state)."""
    res: dict[str, list[float]] = {"wait": [], "notify": [], "flush": []}
    for t0, heard in rounds:
        if heard is None:
            continue
        cands = [f for f in flushes if f[2] and t0 - 50 <= f[0] <= heard]
        if not cands:
            continue
        start, end, _ = cands[-1]
        res["wait"].append(start - t0)
        res["notify"].append(heard - start)
        res["flush"].append(end - start)
    return res


class Spy:
    """With --py-spy DIR: py-spy records the kernel and the share server (its child process)
    while a block runs (collapsed stacks per thread, DIR/<label>-<kernel|server>.txt)."""

    def __init__(self, folder: Path | None, kernel_pid: int) -> None:
        self.folder, self.kernel_pid = folder, kernel_pid

    @contextlib.contextmanager
    def record(self, label: str):
        if self.folder is None:
            yield
            return
        import psutil

        server = psutil.Process(self.kernel_pid).children(recursive=True)
        pids = {"kernel": self.kernel_pid, **{f"server{i}": p.pid for i, p in enumerate(server)}}
        procs = [
            subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "--nonblocking",
                    "--threads",
                    "--format",
                    "raw",
                    "-r",
                    "200",
                    "-p",
                    str(pid),
                    "-o",
                    str(self.folder / f"{label}-{name}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, pid in pids.items()
        ]
        try:
            yield
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
            for proc in procs:
                proc.wait(30)


def presence(share: dict, seconds: float) -> dict:
    done = subprocess.run(
        ["node", MJS, "presence", share["ws_url"], share["token"], str(seconds), "10"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=seconds + 60,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


BIG_SIDE = 1830  # 1830 x 1830 RGB of noise, stored uncompressed: 10 MB
BIG_IMAGES = "for _p in {paths!r}:\n    display(Image(filename=_p))\n    time.sleep(1.0)\n"


def presence_part(args, b: Bench, spy: Spy, share: dict, folder: Path) -> dict:
    """Part 3: awareness round trip idle, during a 1,000-lines/s flood, and while a cell shows
    a new 10 MB image every second (each one rendered, sent and cut by the share)."""
    res = {"idle": presence(share, args.presence_seconds)}
    lines = int((args.presence_seconds + 4) * 1000)
    msg_id = b.run("bench-flood", FLOOD.format(n=lines), wait=False)
    b.wait_busy(msg_id)
    with spy.record("flood"):
        res["flood"] = presence(share, args.presence_seconds)
    b.finish(msg_id)
    paths = [
        str(png_file(folder, 1000 + i, BIG_SIDE)[0]) for i in range(int(args.presence_seconds) + 4)
    ]
    msg_id = b.run("bench-flood", BIG_IMAGES.format(paths=paths), wait=False)
    b.wait_busy(msg_id)
    with spy.record("big"):
        res["big images"] = presence(share, args.presence_seconds)
    b.finish(msg_id)
    return res


class Cpu:
    """CPU seconds of the kernel process, of its children (the share server) and of the guests
    (this process's other children: Chromium, Node): on a 2-core machine they share the cores."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.kernel = psutil.Process(pid)
        self.me = psutil.Process()

    @staticmethod
    def total(procs) -> float:
        import psutil

        cpu = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
                cpu += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return cpu

    def sample(self) -> tuple[float, float, float]:
        server = self.kernel.children(recursive=True)
        mine = {self.kernel.pid, *(p.pid for p in server)}
        guests = [
            p
            for p in self.me.children(recursive=True)
            if p.pid not in mine and "py-spy" not in p.name()  # --py-spy's own samplers
        ]
        return self.total([self.kernel]), self.total(server), self.total(guests)


def cost_run(b: Bench, cpu: Cpu, cell: str, code: str) -> dict:
    k0, s0, g0 = cpu.sample()
    _, result, value = b.run(cell, code, expr="_bench")
    k1, s1, g1 = cpu.sample()
    wall, _proc = value
    return {
        "wall": wall,
        "busy": busy_idle_s(result["messages"]),
        "kcpu": k1 - k0,
        "scpu": s1 - s0,
        "gcpu": g1 - g0,
    }


def costs(args, b: Bench, spy: Spy, cpu: Cpu, guests: Guests | None, modes: list[str]) -> dict:
    """Part 2: runs alternate between `modes` ("live", "paused"; or "none" alone)."""
    loops = {
        "tight": TIGHT.format(n=args.loop),
        "flood": FLOOD.format(n=5000),
    }
    res: dict = {(m, w): [] for m in modes for w in loops}
    for run in range(args.runs):
        for mode in modes:
            if mode != "none":
                flag = "True" if mode == "live" else "False"
                b.run(
                    "bench-setup",
                    f"{SETUP}\nimport jupyterspot_magic as _j\n_j.current().live = {flag}",
                )
            for what, code in loops.items():
                if guests:
                    guests.quiet(0.3)
                cell = "bench-loop" if what == "tight" else "bench-flood"
                with spy.record(f"{mode}-{what}") if run == 0 else contextlib.nullcontext():
                    res[(mode, what)].append(cost_run(b, cpu, cell, code))
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20, help="print rounds")
    ap.add_argument("--png-rounds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3, help="runs per mode in part 2")
    ap.add_argument("--loop", type=int, default=200_000, help="lines of the tight loop")
    ap.add_argument("--presence-seconds", type=float, default=6)
    ap.add_argument("--timeout", type=float, default=5, help="per message, seconds")
    ap.add_argument("--gap", type=float, default=0.3, help="s between part-1 runs (jittered)")
    ap.add_argument("--base", type=Path, help="a notebook whose cells follow the bench cells")
    ap.add_argument("--py-spy", type=Path, help="folder: record the kernel and server")
    args = ap.parse_args()
    isolate()  # the kernel inherits the temporary data and cache dirs
    started = time.monotonic()
    load0 = os.getloadavg()
    from playwright.sync_api import sync_playwright

    from tests.kernel import Kernel, share_info

    folder = Path(tempfile.mkdtemp(prefix="live-bench-"))
    nb = notebook(folder, args.base)
    pngs = [png_file(folder, i) for i in range(args.png_rounds)]
    kernel = Kernel(folder)
    b = Bench(kernel)
    guests = None
    try:
        r = kernel.execute(
            f"%load_ext jupyterspot_magic\n%jupyterspot share {nb} --tunnel none --store none"
        )
        assert r["error"] is None, r["error"]
        share = share_info(kernel)
        b.run("bench-setup", SETUP)
        b.run("bench-setup", INSTRUMENT)
        cpu = Cpu(kernel.km.provisioner.process.pid)
        spy = Spy(args.py_spy, kernel.km.provisioner.process.pid)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 2000})
            page.goto(f"{share['url']}&name=Page")
            page.wait_for_function(
                "window.jupyterspot && window.jupyterspot.connection.status.state==='live'",
                timeout=30000,
            )
            page.evaluate(OBSERVE)
            guests = Guests(share["ws_url"], share["url"], GUESTS - 1)
            print(f"# setup {time.monotonic() - started:.1f} s; 10 guests connected", flush=True)
            lat = latency(args, b, spy, page, guests, pngs)
            page.evaluate("window.__obs.disconnect()")
            print(f"# part 1 done at {time.monotonic() - started:.0f} s", flush=True)
            pres = presence_part(args, b, spy, share, folder)
            print(f"# part 3 done at {time.monotonic() - started:.0f} s", flush=True)
            cost = costs(args, b, spy, cpu, guests, ["live", "paused"])
            print(f"# part 2 (share) done at {time.monotonic() - started:.0f} s", flush=True)
            guests.stop()
            guests = None
            browser.close()
        kernel.execute("%jupyterspot stop")
        cost.update(costs(args, b, spy, cpu, None, ["none"]))
    finally:
        if guests:
            guests.stop()
        kernel.shutdown()
    report(args, lat, pres, cost, load0, time.monotonic() - started)


def report(args, lat: dict, pres: dict, cost: dict, load0, elapsed: float) -> None:
    print(
        f"\nlive streaming, 10 guests (1 Chromium page + 9 Node y-websocket clients), "
        f"{os.cpu_count()} cores, load {load0[0]:.2f} at start / {os.getloadavg()[0]:.2f} "
        f"at end, {elapsed:.0f} s"
    )
    base = f"5 bench cells + {args.base.name}" if args.base else "5 bench cells"
    print(f"notebook: {base}; part 1 runs spaced {args.gap} s (jittered x0.5-1.5)")
    print("\n1. IOPub message -> guest updated (ms)          p50     p95     max")
    names = {
        "page": "Chromium page, DOM has it",
        "loaded": "Chromium page, <img> loaded",
        "wait": "kernel: wait for the flush",
        "notify": "flush start -> 1st guest hears",
        "flush": "(the flush's duration)",
        "version": "Node guest, control.version",
        "node": "Node guest, x/cells applied",
        "all10": "all 10 guests (slowest)",
    }
    for kind, label in (("print", "print line"), ("png", "2 MB PNG")):
        for key in ("wait", "notify", "flush", "version", "page", "loaded", "node", "all10"):
            if key == "loaded" and kind == "print":
                continue
            print(f"  {label:<10} {names[key]:<30} {stats(lat[kind][key])}")
    if any(lat["missed"].values()):
        print(f"  not seen within {args.timeout} s: {lat['missed']}")

    print("\n2. kernel cost (median of runs)   live     paused   no share  live/paused live/none")
    for what, label in (("tight", f"range({args.loop:_}) print"), ("flood", "1,000 lines/s 5 s")):
        for key, unit in (
            ("wall", "in-cell wall s"),
            ("busy", "busy->idle s"),
            ("kcpu", "kernel CPU s"),
            ("scpu", "server CPU s"),
            ("gcpu", "guests CPU s"),
        ):
            med = {
                m: statistics.median(r[key] for r in cost[(m, what)])
                for m in ("live", "paused", "none")
            }

            def ratio(a: float, c: float) -> str:
                return f"{a / c:.2f}x" if c > 0.005 else "-"

            print(
                f"  {label:<22} {unit:<15} {med['live']:7.2f} {med['paused']:8.2f} "
                f"{med['none']:9.2f} {ratio(med['live'], med['paused']):>11} "
                f"{ratio(med['live'], med['none']):>9}"
            )
    print("\n3. presence round trip, 10 Hz, board room (ms)   n    p50    p95    max  lost")
    for phase in ("idle", "flood", "big images"):
        r = pres[phase]
        label = {"big images": "a new 10 MB image every second"}.get(phase, phase)
        print(f"  {label:<44} {r['n']:>4} {r['p50']:>6} {r['p95']:>6} {r['max']:>6} {r['lost']:>5}")
    print(f"  flood/idle p95: {pres['flood']['p95'] / pres['idle']['p95']:.2f}x")
    print(f"  10 MB images/idle p95: {pres['big images']['p95'] / pres['idle']['p95']:.2f}x")
    raw = {"latency": lat, "presence": pres, "cost": {f"{m}/{w}": v for (m, w), v in cost.items()}}
    print("\n# raw " + json.dumps(raw))


if __name__ == "__main__":
    main()
