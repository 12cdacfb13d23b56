"""The host's switches `reactions` and `questions` (issue 18) survive a crash of the share
server: the kernel keeps a copy (the server tells it every change, a host page's too:
session/mirror.py `watch_switches`), the restarted server is told it (session/hosted.py OpenSpec),
and reading it never raises: not while the server restarts, not after stop. Real kernel, real
child server killed with SIGSEGV, a real y-websocket client as the host page."""

from __future__ import annotations

import os
import signal

from .conftest import wait_for
from .kernel import Kernel
from .test_child_process import kernel, share  # noqa: F401  (the fixture and its helper)

SERVER_SIDE = (
    "from jupyterspot_magic.session import hosted\n"
    "print(json.dumps([s.host.call(hosted.reactions, s.room),"
    " s.host.call(hosted.questions_open, s.room)]))"
)


def test_the_switches_come_back_off_after_a_crash_and_read_without_raising(
    kernel: Kernel,  # noqa: F811
    node_peers,
) -> None:
    info = share(kernel)
    host_token = kernel.json("print(json.dumps(s.host_token))")
    kernel.execute("s.reactions = False")
    # The host page turns questions off (the top bar's switch): the kernel's copy follows.
    page = node_peers(info["ws_url"], "control", host_token)
    page.wait(lambda e: e["event"] == "synced")
    page.send(cmd="set", map="control", key="questions", value=False)
    wait_for(lambda: kernel.json("print(json.dumps(s.questions_enabled))") is False, 10, "copy")
    assert kernel.json(SERVER_SIDE) == [False, False]

    os.kill(info["pid"], signal.SIGSEGV)
    # Read all along the restart: never an exception (it said "restarting; try again" before).
    reads = kernel.execute(
        "import time\nt = time.monotonic(); seen = set()\n"
        "while not (s.server_restarts == 1 and s.host.running) and time.monotonic() - t < 60:\n"
        "    seen.add((s.reactions, s.questions_enabled))\n"
        "print(json.dumps(sorted(seen)))",
        timeout=90,
    )
    assert reads["error"] is None, reads["error"]
    assert kernel.json("print(json.dumps(s.server_restarts))") == 1
    assert kernel.json(SERVER_SIDE) == [False, False]  # the new server has them off
    assert kernel.json("print(json.dumps([s.reactions, s.questions_enabled]))") == [False, False]

    stopped = kernel.execute("s.stop()\nprint(json.dumps([s.reactions, s.questions_enabled]))")
    assert stopped["error"] is None, stopped["error"]
    assert kernel.json("print(json.dumps([s.reactions, s.questions_enabled]))") == [False, False]


def test_the_magic_turns_the_switches_off_and_on(kernel: Kernel) -> None:  # noqa: F811
    share(kernel)
    assert kernel.execute("%load_ext jupyterspot_magic")["error"] is None
    said = kernel.execute("%jupyterspot reactions off")
    assert said["error"] is None and "reactions off" in said["stdout"], said
    said = kernel.execute("%jupyterspot questions off")
    assert said["error"] is None and "questions off" in said["stdout"], said
    assert kernel.json(SERVER_SIDE) == [False, False]  # the server has them off
    wrong = kernel.execute("%jupyterspot reactions maybe")
    assert "Use %jupyterspot reactions on" in _all_text(wrong), wrong
    kernel.execute("%jupyterspot reactions on")
    kernel.execute("%jupyterspot questions on")
    assert kernel.json(SERVER_SIDE) == [True, True]
    listed = kernel.execute("%jupyterspot reactions --help")
    assert "reactions on|off" in _all_text(listed), listed


def _all_text(result: dict) -> str:
    """Everything a cell showed: stdout, stderr (a UsageError is printed there), the error."""
    streams = "".join(m["content"]["text"] for m in result["messages"] if m["msg_type"] == "stream")
    return streams + (result["error"] or "")
