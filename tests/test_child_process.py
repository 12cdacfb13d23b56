"""The share server in its own process (server/host.py, server/child.py), driven through a real
kernel (jupyter_client), real y-websocket clients in Node and real websockets:

- it is a child process that dies with the kernel, also when the kernel is killed with -9;
- when it dies by itself, the kernel lives on (with its variables), tells the user, and starts it
  again on the same port: the same link answers, the board comes back from the store;
- a guest's deep-nesting attack (the hardening issue's row 1) leaves the kernel alive and the
  share usable and shareable again;
- a cell running a pure-Python loop no longer slows the meeting: 100 people moving at 10 Hz
  see p95 within 2x of the idle kernel's (before: ~47x, docs/benchmarks.md).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pycrdt import create_update_message
from websockets.sync.client import connect

from jupyterspot_magic.collab.close_codes import CLOSE_BAD_FRAME, CLOSE_REMOVED

from . import forge
from .conftest import wait_for
from .kernel import Kernel
from .processes import REPO
from .room_server import close_code

NOTEBOOK = REPO / "examples" / "demo.ipynb"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too (its parent has not reaped it yet)
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Kernel]:
    env = {
        "JUPYTERSPOT_CACHE_DIR": str(tmp_path / "cache"),
        "JUPYTERSPOT_DATA_DIR": str(tmp_path / "data"),
        "NGROK_AUTHTOKEN": "",
    }
    k = Kernel(REPO, env=env)
    yield k
    if k.km.is_alive():  # one test kills it
        k.execute("import jupyterspot_magic; jupyterspot_magic.stop()", timeout=30)
    k.shutdown()


def share(k: Kernel, extra: str = "") -> dict:
    """Share the demo notebook in `k`; the share's links and its server's process id."""
    result = k.execute(
        "import json, jupyterspot_magic as j\n"
        "from jupyterspot_magic.session.events import StatusMessage\n"
        f"s = j.share({str(NOTEBOOK)!r}, tunnel='none', display=False{extra})\n"
        "said = []\n"
        "s.events.on(StatusMessage, lambda e: said.append(e.message))\n"
        "proc = getattr(s.host, 'proc', None)  # None: JUPYTERSPOT_SERVER=thread\n"
        "pid = proc.pid if proc else 0\n"
        "print(json.dumps({**s.info(), 'pid': pid, 'port': s.host.port}))",
        timeout=120,
    )
    assert result["error"] is None, result["error"]
    return json.loads(result["stdout"].strip().splitlines()[-1])


def status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status


def kernel_pid(k: Kernel) -> int:
    return k.km.provisioner.process.pid  # type: ignore[union-attr]


def test_the_server_is_a_child_that_dies_with_a_killed_kernel(kernel: Kernel) -> None:
    info = share(kernel)
    assert info["pid"] != kernel_pid(kernel) and alive(info["pid"])
    assert status(info["local_url"]) == 200
    os.kill(kernel_pid(kernel), signal.SIGKILL)  # no atexit, no stop(): the channel just ends
    wait_for(lambda: not alive(info["pid"]), timeout=15, what="the server to exit")
    with pytest.raises(OSError):
        status(info["local_url"])


def board_shapes(k: Kernel) -> list[str]:
    """The shapes on the share's board, read through the public API from the kernel."""
    return k.json(
        "import pycrdt\n"
        "d = pycrdt.Doc(); d.apply_update(j.current().board_update())\n"
        "print(json.dumps(sorted(d.get('shapes', type=pycrdt.Map).keys())))"
    )


def test_a_crashed_server_comes_back_with_the_same_link_and_board(kernel: Kernel, node_peers):
    kernel.execute("precious = 42")
    info = share(kernel)
    peer = node_peers(info["ws_url"], "board", info["token"])
    peer.wait(lambda e: e["event"] == "synced")
    peer.send(cmd="set", map="shapes", key="drawn-before", value=1)
    wait_for(lambda: board_shapes(kernel) == ["drawn-before"], what="the stroke on the server")
    kernel.execute(
        "j.current().host.call(__import__('jupyterspot_magic.session.hosted', "
        "fromlist=['flush']).flush, j.current().room)"
    )
    troll = node_peers(info["ws_url"], "board", info["token"], "troll-browser")
    troll.send(cmd="awareness", state={"user": {"name": "Troll", "color": "#112233"}})
    names = "print(json.dumps([p['name'] for p in j.current().participants]))"
    wait_for(lambda: "Troll" in kernel.json(names), what="the troll in the people list")
    kicked = kernel.execute("print(json.dumps(j.current().kick('Troll')))")
    assert kicked["error"] is None and kicked["stdout"].strip() == '"Troll"', kicked["stdout"]
    troll.wait(lambda e: e["event"] == "close" and e["code"] == CLOSE_REMOVED)

    os.kill(info["pid"], signal.SIGSEGV)  # what a native crash in the rooms looks like

    def back() -> bool:
        row = kernel.json("s = j.current()\nprint(json.dumps([s.alive, s.server_restarts, said]))")
        return row[0] and row[1] == 1 and len(row[2]) == 2

    wait_for(back, timeout=30, what="the share server to be started again")
    said = kernel.json("print(json.dumps(said))")
    assert "SIGSEGV" in said[0] and f"port {info['port']}" in said[0]
    assert "same link" in said[1] and "restored from the store" in said[1]
    assert kernel.json("print(json.dumps(precious))") == 42  # the kernel and its state live on
    assert status(info["local_url"]) == 200  # the link the guests hold still works
    assert board_shapes(kernel) == ["drawn-before"]
    # a browser the host removed stays out of the restarted server too
    again = node_peers(info["ws_url"], "board", info["token"], "troll-browser")
    again.wait(lambda e: e["event"] == "close" and e["code"] == CLOSE_REMOVED, timeout=15)
    # the guest's client reconnects by itself and keeps drawing on the restarted server
    peer.send(cmd="set", map="shapes", key="drawn-after", value=2)
    wait_for(
        lambda: board_shapes(kernel) == ["drawn-after", "drawn-before"],
        timeout=20,
        what=f"a new stroke ({peer.history[-4:]})",
    )


def test_a_deep_nesting_attack_leaves_the_kernel_and_the_share_alive(kernel: Kernel) -> None:
    kernel.execute("precious = 'still here'")
    info = share(kernel)
    chain = forge.nested_chain(4242, 40_000)  # issue 11 row 1: once a yrs stack overflow
    with connect(f"{info['ws_url']}/board?token={info['token']}", max_size=None) as ws:
        ws.send(create_update_message(chain))
        assert close_code(ws) == CLOSE_BAD_FRAME
    assert kernel.json("print(json.dumps(precious))") == "still here"
    assert kernel.json("print(json.dumps(j.current().alive))") is True
    assert status(info["local_url"]) == 200
    again = share(kernel)  # and it can be shared again (same notebook: same link)
    assert again["url"] == info["url"] and status(again["local_url"]) == 200


# this thread only (Linux scheduling is per thread): see the test's docstring
IDLE_PRIORITY = "import os\nos.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))\n"


def test_a_busy_cell_does_not_slow_the_meeting(kernel: Kernel) -> None:
    """100 people (a presenter and 99 guests, both rooms each) move their cursor at 10 Hz
    (bench/crowd.mjs, real y-websocket clients; 10 of them and the presenter measure the delay
    of everyone's cursor, the others receive every byte without decoding it, so the clients'
    own CPU stays small); cursor p95 while a cell runs a pure-Python loop vs idle, in five
    alternating rounds, compared by their medians (one 2-core machine: a single window's p95
    moves with whatever else the scheduler does).

    The loop's thread runs under SCHED_IDLE (scheduling is per thread on Linux): on 2 cores a
    loop at normal priority also takes one of the two cores from the clients and the server,
    which is the machine's size, not the interpreter lock this test is about (measured at
    normal priority: 1.4x-2.4x; at nice 10 still 1.3x-1.9x, and it failed a CI run). The
    server's threads keep their priority in both layouts: with the server as a thread of the
    kernel (JUPYTERSPOT_SERVER=thread) the loop still holds the lock the server needs and this
    test fails; bench/kernel_busy.py measures the loop at normal priority."""
    import statistics

    from bench.crowd import Crowd, Server
    from bench.kernel_busy import BUSY, wait_busy

    info = share(kernel, ", audience='off'")  # the full fan-out, as before audience mode
    server = Server("ours", info["ws_url"], kernel_pid(kernel), info["token"], info["host_token"])
    crowd = {"listeners": 99, "presenterHz": 10, "strokeEveryMs": 0}
    p95: dict[str, list[float]] = {"idle": [], "busy": []}
    with Crowd(server, moversHz=10, probes=10, **crowd) as people:
        people.measure("warm", 3)
        for _round in range(5):
            idle = people.measure("idle", 5)
            busy_cell = kernel.start(IDLE_PRIORITY + BUSY.format(seconds=7))
            wait_busy(kernel, busy_cell)
            busy = people.measure("busy", 5)
            kernel.collect(busy_cell, timeout=60)
            assert idle["cursors"]["n"] > 1000 and busy["cursors"]["n"] > 1000, (idle, busy)
            p95["idle"].append(idle["cursors"]["p95"])
            p95["busy"].append(busy["cursors"]["p95"])
    median = {phase: statistics.median(values) for phase, values in p95.items()}
    print(f"\n[issue 19] 100 people moving at 10 Hz: cursor p95 per round {p95}, median {median}")
    assert median["busy"] <= 2 * median["idle"], p95


def test_load_ext_starts_the_server_process_the_first_share_uses(kernel: Kernel) -> None:
    """Starting an interpreter and importing the server stack costs ~0.3 s: `%load_ext` starts
    it in the background, so the first share does not wait for it."""
    spare = kernel.json(
        "%load_ext jupyterspot_magic\n"
        "import json\nfrom jupyterspot_magic.session import registry\n"
        "print(json.dumps(registry._spare.proc.pid))"
    )
    assert alive(spare)
    info = share(kernel)
    assert info["pid"] == spare and status(info["local_url"]) == 200


FORK_THEN_DIE = """
import json, os, signal, sys, time
import jupyterspot_magic as j
s = j.share(sys.argv[1], tunnel="none", display=False, store=False)
print(json.dumps({"pid": s.host.proc.pid}), flush=True)
if os.fork() == 0:  # like a multiprocessing pool's worker: it holds the channel's socket too
    time.sleep(60)
    os._exit(0)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_server_dies_with_its_parent_even_when_a_fork_holds_the_channel(tmp_path) -> None:
    """A process the kernel forked inherits its end of the channel and keeps it open after the
    kernel is killed; the server notices its parent is gone all the same. (A plain Python
    process stands in for the kernel here: what matters is fork + kill -9.)"""
    proc = subprocess.run(
        [sys.executable, "-c", FORK_THEN_DIE, str(NOTEBOOK)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    server = json.loads(proc.stdout.strip().splitlines()[-1])["pid"]
    wait_for(lambda: not alive(server), timeout=15, what="the server to exit")


def test_a_notebook_folder_shadowing_the_standard_library_does_not_break_the_server(
    tmp_path, monkeypatch
) -> None:
    """`python -m` puts the working folder first on sys.path: the server process must not
    start in the kernel's folder, which may hold a secrets.py (it did, and died with ImportError
    before the kernel's folder was kept out)."""
    from jupyterspot_magic.server.host import ChildHost
    from jupyterspot_magic.session import hosted

    for name in ("secrets", "random", "html", "json"):
        (tmp_path / f"{name}.py").write_text("raise ImportError('shadowed the standard library')\n")
    monkeypatch.chdir(tmp_path)
    host = ChildHost.spawn("127.0.0.1", 0).wait_ready()
    try:
        assert host.call(hosted.shares) == 0
    finally:
        host.stop()


def test_a_room_about_to_open_again_says_try_again_not_gone(server) -> None:
    """A server started again after a crash listens before it has opened the share's rooms: a
    page reconnecting in that moment got "no such room" (4404, never retried: the page gave up
    for good, the test above lost its guest's strokes in CI). Now such a room answers try_again
    (and its page 503 + Retry-After) until it is open."""
    from jupyterspot_magic.collab.close_codes import CLOSE_TRY_AGAIN

    srv, shared = server
    srv.call(srv.registry.expected.add, "back-soon")
    with connect(f"ws://127.0.0.1:{srv.port}/ws/back-soon/board?token=x") as ws:
        assert close_code(ws) == CLOSE_TRY_AGAIN
    with pytest.raises(urllib.error.HTTPError) as page:
        urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/s/back-soon/?token=x", timeout=10)
    assert page.value.code == 503 and page.value.headers["Retry-After"]
    with connect(f"ws://127.0.0.1:{srv.port}/ws/never-was/board?token=x") as ws:
        assert close_code(ws) != CLOSE_TRY_AGAIN  # any other unknown room: gone for good


def test_a_new_server_says_try_again_until_its_first_share_opens() -> None:
    """A new kernel sharing again on a fixed port starts its server while it renders the
    notebook: a page left open (same link, from the store) that retried in that moment was told
    "no such room" and gave up for good (a clean-clone CI run lost test_persistence's reconnect
    that way). A server that has opened no share yet cannot tell a gone room from one about to
    open: every room says try_again (page: 503 + Retry-After) until the first share opens; then
    other rooms are gone for good."""
    from jupyterspot_magic.collab.close_codes import CLOSE_NOT_FOUND, CLOSE_TRY_AGAIN
    from jupyterspot_magic.server.thread import ServerThread

    from .room_server import new_shared, register

    srv = ServerThread("127.0.0.1", 0).start()
    try:
        with connect(f"ws://127.0.0.1:{srv.port}/ws/room1/board?token=guest-token") as ws:
            assert close_code(ws) == CLOSE_TRY_AGAIN
        with pytest.raises(urllib.error.HTTPError) as page:
            urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/s/room1/?token=x", timeout=10)
        assert page.value.code == 503 and page.value.headers["Retry-After"]

        register(srv, new_shared("room1"))
        with connect(f"ws://127.0.0.1:{srv.port}/ws/room1/board?token=guest-token") as ws:
            ws.recv(timeout=10)  # the room answers: sync step 1
        with connect(f"ws://127.0.0.1:{srv.port}/ws/gone/board?token=guest-token") as ws:
            assert close_code(ws) == CLOSE_NOT_FOUND
    finally:
        srv.stop()
