"""Scroll leadership: who leads, who may take the lead, and what happens when the leader leaves.

The leader lives in the control document (`control.leader`, `control.leadPolicy`,
`control.recall`), which guests cannot write. A participant *asks* through its own awareness
state on the board room: `leadRequest: {seq, op, to?}` with `op` one of `take`, `release`,
`hand`. Awareness entries are owned by the connection that announced them (room.py), so a
request always comes from the client id that carries it, and the server knows the role its
token proved. This module watches awareness, applies each request once (per client id the
highest `seq` seen wins), and writes the outcome to the control document; everyone sees it
through the normal sync. The kernel (Share methods, the widget) calls the same operations
directly.

Policy: `anyone` (default): anyone may take the lead, the leader may release it or hand it to a
present participant, a host may do anything. `host`: only host connections (and the kernel)
give, take or hand the lead; anyone may still release their own lead.

When the leader's awareness state disappears (tab closed, page hidden, connection dropped) the
lead is released after `LEADER_GRACE` unless the same client is back (a reconnect keeps its
client id), so nobody follows a ghost for longer than ~1 s.

Everything here runs on the server thread's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from pycrdt import Map

from ..base import page_config
from .room import Room

log = logging.getLogger(__name__)

POLICIES = ("anyone", "host")
# control.leader while the running cell leads ("follow the running cell" with nobody else
# leading): pages follow it like a person, break away and come back the same way.
KERNEL_LEADER = page_config.KERNEL_LEADER
OPS = ("take", "release", "hand")
# Who may ask for each operation under each policy (the module docstring, in table form). On top
# of it: `take` changes nothing for the leader itself, `release` needs a leader, `hand` needs a
# present participant to hand to. The kernel is not asked: it calls set_leader directly.
WHO_MAY: dict[tuple[str, str], str] = {
    ("take", "anyone"): "anyone",
    ("take", "host"): "host",
    ("release", "anyone"): "leader or host",
    ("release", "host"): "leader or host",
    ("hand", "anyone"): "leader or host",
    ("hand", "host"): "host",
}
LEADER_GRACE = 0.75  # s: a reconnecting leader (same client id) keeps the lead
MAX_REMEMBERED = 4096  # client ids whose last request seq is kept (a replay is never re-applied)
REQUEST_MARK = '"leadRequest"'


class LeadError(ValueError):
    """A lead operation that cannot be done (unknown participant, bad policy)."""


def may(op: str, policy: str, host: bool, is_leader: bool) -> bool:
    """Whether a participant may ask for `op` under `policy` (WHO_MAY); False for unknown ops."""
    who = WHO_MAY.get((op, policy))
    return who == "anyone" or (who is not None and host) or (who == "leader or host" and is_leader)


class Lead:
    """The lead state machine of one share (server thread only)."""

    def __init__(
        self,
        board: Room,
        control: Room,
        on_change: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.board = board
        self.control = control
        self.on_change = on_change
        self._map = control.doc.get("control", type=Map)
        self._clocks: dict[int, int] = {}
        self._seqs: OrderedDict[int, int] = OrderedDict()
        self._grace: asyncio.TimerHandle | None = None
        self._notify_scheduled = False
        self._last_state: dict[str, Any] | None = None
        self._sub = self._map.observe(lambda _event: self._schedule_notify())
        board.on_awareness(self._on_awareness)
        self._schedule_notify()

    # -- state --

    @property
    def leader(self) -> int | None:
        value = self._map.get("leader")
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return int(value)

    @property
    def policy(self) -> str:
        value = self._map.get("leadPolicy")
        return value if value in POLICIES else "anyone"

    def state(self) -> dict[str, Any]:
        recall = self._map.get("recall")
        return {
            "leader": self.leader,
            "leadPolicy": self.policy,
            "recall": int(recall) if isinstance(recall, int | float) else 0,
        }

    def present(self) -> dict[int, tuple[dict, str]]:
        """Client id -> (awareness state, proven role) of everyone on the board."""
        return {cid: (st, role) for cid, st, role in self.board.states() if st.get("user")}

    # -- operations (the kernel and requests end here) --

    def set_leader(self, client_id: int | None) -> None:
        present = (
            client_id is None or client_id == KERNEL_LEADER or client_id in self.board.awareness
        )
        if not present:
            raise LeadError(f"no participant with client id {client_id}")
        self._cancel_grace()
        if self.leader != client_id:
            with self.control.doc.transaction(origin="lead"):
                self._map["leader"] = client_id

    def set_policy(self, policy: str) -> None:
        if policy not in POLICIES:
            raise LeadError(f"lead policy must be one of {', '.join(POLICIES)}, not {policy!r}")
        if self.policy != policy:
            with self.control.doc.transaction(origin="lead"):
                self._map["leadPolicy"] = policy

    def recall(self) -> int:
        """Everyone resumes following the leader (viewers react to the counter changing)."""
        value = self.state()["recall"] + 1
        with self.control.doc.transaction(origin="lead"):
            self._map["recall"] = value
        return value

    def host_client(self) -> int | None:
        """A host page to make leader: the current leader if it is a host, else the newest."""
        hosts = [cid for cid, (_st, role) in self.present().items() if role == "host"]
        if not hosts:
            return None
        if self.leader in hosts:
            return self.leader
        # The newest announcement (highest clock is not comparable across clients): the one
        # announced last in the room's dict order.
        return hosts[-1]

    def request(self, client_id: int, role: str, op: str, to: Any = None) -> bool:
        """Apply one participant's request according to the policy; True when it changed things
        (LeadError when `take` comes from a client id that is not present)."""
        leader = self.leader
        if not may(op, self.policy, role == "host", leader == client_id):
            return False
        if op == "take":
            if leader == client_id:
                return False
            self.set_leader(client_id)
            return True
        if op == "release":
            if leader is None:
                return False
            self.set_leader(None)
            return True
        if not isinstance(to, int) or isinstance(to, bool) or to not in self.board.awareness:
            return False  # hand: only to someone present
        self.set_leader(to)
        return True

    # -- awareness --

    def _on_awareness(self) -> None:
        awareness = self.board.awareness
        for client_id, entry in awareness.items():
            if entry.state is None or self._clocks.get(client_id) == entry.clock:
                continue
            self._clocks[client_id] = entry.clock
            if REQUEST_MARK in entry.state:
                self._maybe_request(client_id, entry.state)
        if len(self._clocks) > len(awareness):
            self._clocks = {cid: c for cid, c in self._clocks.items() if cid in awareness}
        self._check_leader()

    def _maybe_request(self, client_id: int, text: str) -> None:
        try:
            req = json.loads(text).get("leadRequest")
        except (ValueError, AttributeError):
            return
        if not isinstance(req, dict):
            return
        seq, op = req.get("seq"), req.get("op")
        if not isinstance(seq, int) or op not in OPS:
            return
        if seq <= self._seqs.get(client_id, 0):
            return  # already applied (a re-announcement after a reconnect carries it again)
        self._seqs[client_id] = seq
        self._seqs.move_to_end(client_id)
        while len(self._seqs) > MAX_REMEMBERED:
            self._seqs.popitem(last=False)
        owner = self.board.owners.get(client_id)
        role = owner.role if owner is not None else "guest"
        with contextlib.suppress(LeadError):
            self.request(client_id, role, op, req.get("to"))

    def _check_leader(self) -> None:
        leader = self.leader
        # The running cell (KERNEL_LEADER) has no awareness to lose: it leads until replaced.
        if leader is None or leader == KERNEL_LEADER or leader in self.board.awareness:
            self._cancel_grace()
            return
        if self._grace is None:
            loop = asyncio.get_running_loop()
            self._grace = loop.call_later(LEADER_GRACE, self._grace_over, leader)

    def _grace_over(self, leader: int) -> None:
        self._grace = None
        if self.leader == leader and leader not in self.board.awareness:
            with self.control.doc.transaction(origin="lead"):
                self._map["leader"] = None

    def _cancel_grace(self) -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None

    # -- telling the kernel side --

    def _schedule_notify(self) -> None:
        if self._notify_scheduled:
            return
        self._notify_scheduled = True
        asyncio.get_running_loop().call_soon(self._notify)

    def _notify(self) -> None:
        self._notify_scheduled = False
        self._check_leader()
        state = self.state()
        if state == self._last_state:
            return
        self._last_state = state
        if self.on_change is not None:
            try:
                self.on_change(dict(state))
            except Exception:
                log.exception("jupyterspot: lead state listener failed")

    def close(self) -> None:
        self._cancel_grace()
        self.on_change = None
