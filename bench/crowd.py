"""The pieces bench/lecture.py and bench/kernel_busy.py share: the Node work dir, the Node
reference server, our share in a process of its own, the crowd of clients (bench/crowd.mjs),
and the CPU time a process tree used.

Our server is driven the way a user runs it, through the public API in a process of its own
(`jupyterspot_magic.share(path, tunnel="none", store=False, display=False, ...)`, see SHARE), so
the benchmark does not depend on where the share server lives inside that process (a thread
today, possibly a child process later): its CPU is counted over the whole process tree.
"""

from __future__ import annotations

import json
import os
import queue
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.processes import LineProcess, end_process  # noqa: E402

BENCH = REPO / "bench"
# bench/fanout_run.sh's work dir and package.json (the Node reference server y-websocket@2.1.0
# and the pinned client packages); FANOUT_SHARED / FANOUT_WORK as there.
SHARED = Path(os.environ.get("FANOUT_SHARED", REPO.parent / "shared" / "bench" / "fanout"))
WORK = Path(os.environ.get("FANOUT_WORK", "/tmp/fanout-bench-schema"))
DEMO = REPO / "examples" / "demo.ipynb"
TICKS = os.sysconf("SC_CLK_TCK")


def node_work() -> Path:
    """The Node work dir with the pinned packages and this bench's client scripts."""
    WORK.mkdir(parents=True, exist_ok=True)
    if not (WORK / "node_modules").is_dir():
        shutil.copy(SHARED / "package.json", WORK)
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund"], cwd=WORK, check=True
        )
    for name in ("crowd.mjs", "board_writes.mjs"):
        shutil.copy(BENCH / name, WORK)
    return WORK


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and all its live descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
        todo += children.get(p, [])
    return total


def wait_quiet(max_load: float = 2.0, timeout: float = 600) -> None:
    """Wait (bounded) until the 1-minute load average is below `max_load`: on this shared 2-core
    machine other people's test suites take the cores the server and the clients need. Prints
    the load it started at either way."""
    deadline = time.monotonic() + timeout
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        time.sleep(5)
    print(f"# load average {tuple(round(x, 2) for x in os.getloadavg())}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A server under test: the base URL crowd.mjs appends "/<room>" to, tokens, its pid."""

    name: str
    url: str
    pid: int
    token: str = ""
    host_token: str = ""
    notes: list[str] = field(default_factory=list)


@contextmanager
def node_server() -> Iterator[Server]:
    """The Node reference server (y-websocket@2.1.0's bin/server.cjs), as fanout_run.sh starts
    it; each call of `url` names a new room."""
    work = node_work()
    port = free_port()
    proc = subprocess.Popen(
        ["node", "node_modules/y-websocket-v2-server/bin/server.cjs"],
        cwd=work,
        env={**os.environ, "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, proc)
        yield Server("node", f"ws://127.0.0.1:{port}/r{random.randrange(10**6)}", proc.pid)
    finally:
        end_process(proc)


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port} after {timeout} s")


# Our share, in a Python process of its own, through the public API. `max_people` and `audience`
# are passed when this build has them (base/options.py); before `max_people` existed the guest
# cap was a constant (100 per room) that only a patch of the server's modules could lift: done
# here for measurement only, and said in the output ("notes").
SHARE = r"""
import dataclasses, json, os, sys
import jupyterspot_magic as j
from jupyterspot_magic.base import options
kw = json.loads(sys.argv[1])
have = {f.name for f in dataclasses.fields(options.ShareOptions)}
notes = []
people = kw.pop("max_people", None)
if people is not None and "max_people" in have:
    kw["max_people"] = people
elif people is not None and people > 100:
    from jupyterspot_magic.server import shared, sockets
    shared.GUEST_SLOTS = sockets.GUEST_SLOTS = people
    notes.append(f"no max_people option in this build: guest cap patched to {people}")
if "audience" in kw and "audience" not in have:
    print(json.dumps({"error": "no audience option in this build"}), flush=True)
    sys.exit(0)
s = j.share(kw.pop("path"), tunnel="none", store=False, display=False, **kw)
print(json.dumps({**s.info(), "pid": os.getpid(), "notes": notes}), flush=True)
sys.stdin.read()  # until the driver closes our stdin
s.stop()
"""


class Unsupported(Exception):
    """This build lacks an option the row needs (e.g. audience mode before it landed)."""


@contextmanager
def our_share(**options) -> Iterator[Server]:
    """`jupyterspot_magic.share(DEMO, tunnel="none", store=False, **options)` in its own process
    (data and cache dirs: this process's, see bench/isolated.py)."""
    proc = LineProcess(
        [sys.executable, "-c", SHARE, json.dumps({"path": str(DEMO), **options})],
        stdin=True,
        stderr=True,
    )
    try:
        try:
            line = proc.lines.get(timeout=120)
        except queue.Empty:
            raise RuntimeError("our share did not start: " + "".join(proc.stderr)[-2000:]) from None
        info = json.loads(line)
        if "error" in info:
            raise Unsupported(info["error"])
        yield Server(
            "ours",
            info["ws_url"],
            proc.proc.pid,
            info["token"],
            info["host_token"],
            info["notes"],
        )
    finally:
        end_share(proc)


def end_share(proc: LineProcess) -> None:
    """A share process (it stops its share when its stdin closes), then whatever is left."""
    if proc.proc.stdin:
        proc.proc.stdin.close()
    with suppress(subprocess.TimeoutExpired):
        proc.proc.wait(20)  # s.stop() after stdin closed
    proc.kill()


class Crowd:
    """bench/crowd.mjs against one server; `measure` runs a window and adds the server's CPU
    (core fraction over the window) and the crowd process's own."""

    def __init__(self, server: Server, timeout: float = 300, **config) -> None:
        self.server = server
        cfg = {"url": server.url, "token": server.token, "hostToken": server.host_token, **config}
        work = node_work()
        self.proc = subprocess.Popen(
            ["node", str(work / "crowd.mjs"), json.dumps(cfg)],
            cwd=work,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.ready = self._until(lambda r: r.get("phase") == "ready", timeout)

    def _until(self, done: Callable[[dict], bool], timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"crowd.mjs ended (exit {self.proc.wait()})")
            record = json.loads(line)
            if "error" in record:
                raise RuntimeError(f"crowd.mjs: {record}")
            if done(record):
                return record
        raise TimeoutError("crowd.mjs did not answer in time")

    def measure(self, label: str, seconds: float, joins: int = 0) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"measure {label} {seconds} {joins}\n")
        self.proc.stdin.flush()
        self._until(lambda r: r.get("phase") == "start", 30)
        t0, s0, c0 = time.monotonic(), cpu_seconds(self.server.pid), cpu_seconds(self.proc.pid)
        self._until(lambda r: r.get("phase") == "end", seconds + 120)
        t1, s1, c1 = time.monotonic(), cpu_seconds(self.server.pid), cpu_seconds(self.proc.pid)
        result = self._until(lambda r: r.get("label") == label, 60)
        result["serverCpu"] = round((s1 - s0) / (t1 - t0), 3)
        result["clientCpu"] = round((c1 - c0) / (t1 - t0), 3)
        return result

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                pass
        end_process(self.proc)

    def __enter__(self) -> Crowd:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def fmt(v: float | None, spec: str = ".1f") -> str:
    return "-" if v is None else format(v, spec)


def ratio(a: float | None, b: float | None) -> str:
    return "-" if not a or not b else f"{a / b:.2f}"
