"""A lecture from one machine's loopback: 600 people, each a real y-websocket page holding both
rooms (1,200 sockets), fit in a share with --max-people 600; the 601st is refused with room_full
(by name, collab/close_codes.py), the presenter always gets in, and the connection guard's cap
(server/guard.py) follows max_people instead of stopping at 1,024 sockets."""

from __future__ import annotations

import json
import queue

from pycrdt import Map

from jupyterspot_magic.collab.close_codes import CLOSE_ROOM_FULL
from jupyterspot_magic.server.shared import HOST_SLOTS

from .conftest import REPO, wait_for
from .processes import LineProcess
from .room_server import base

PEOPLE = 600


def event(proc: LineProcess, timeout: float) -> dict:
    try:
        return json.loads(proc.lines.get(timeout=timeout))
    except queue.Empty:
        raise AssertionError(f"the crowd said nothing within {timeout}s") from None


def test_600_people_in_both_rooms_and_the_601st_is_refused(server, node_peers):
    srv, shared = server
    srv.call(lambda: shared.set_max_people(PEOPLE))
    # Each person holds a socket in each room, the host's seats come on top, and page loads get
    # WAITING_CAP: the old fixed cap of 1,024 sockets would have reset the last ~180 people.
    assert srv.call(lambda: srv.guard.cap) >= 2 * (PEOPLE + HOST_SLOTS)
    crowd = LineProcess(
        ["node", str(REPO / "tests" / "js" / "audience_crowd.mjs"), base(srv), "guest-token",
         str(PEOPLE), "90000"],
        stdin=True,
    )
    try:
        joined = event(crowd, 120)
        print(f"\n[capacity] {joined}")
        assert joined["synced"] == PEOPLE, joined
        assert srv.call(shared.seats_left) == 0
        guests = srv.call(lambda: [shared.guests_in(r) for r in (shared.board, shared.control)])
        assert guests == [PEOPLE, PEOPLE]

        # Person 601 is refused in both rooms, with the code the viewer retries slowly on.
        assert crowd.proc.stdin is not None
        crowd.proc.stdin.write(json.dumps({"cmd": "more", "n": 1}) + "\n")
        crowd.proc.stdin.flush()
        more = event(crowd, 30)
        assert more["synced"] == 0 and more["closes"] == [[CLOSE_ROOM_FULL, CLOSE_ROOM_FULL]], more

        # The presenter gets in all the same, and sees the head count (audience mode is on).
        host = node_peers(base(srv), "board", "host-token")
        host.wait(lambda e: e["event"] == "synced", timeout=20)
        panel = node_peers(base(srv), "control", "host-token")
        panel.wait(lambda e: e["event"] == "synced", timeout=20)
        control = lambda: srv.call(  # noqa: E731
            lambda: shared.control.doc.get("control", type=Map).to_py()
        )
        wait_for(lambda: control().get("people") == PEOPLE, timeout=10, what="600 counted")
        assert control()["audience"] is True
    finally:
        crowd.kill()
