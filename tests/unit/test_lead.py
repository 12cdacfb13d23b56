"""Scroll leadership's policy (collab/lead.py) on real rooms and real pycrdt documents, without a
server or a browser: the table of who may do what, `Lead.request`, requests arriving in
awareness (each `seq` applied once), recall, and the leader's grace period."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pycrdt import Map

from jupyterspot_magic.collab import lead as lead_module
from jupyterspot_magic.collab.lead import OPS, POLICIES, WHO_MAY, Lead, LeadError, may
from jupyterspot_magic.collab.room import AwarenessEntry, Connection, Room, encode_awareness

GUEST_A, GUEST_B, HOST = 101, 202, 303


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Rooms and the lead live on an event loop (the server thread's); here, a fresh one on its
    own thread: in a full run the browser tests' Playwright (sync API) keeps a loop running on
    the main thread, where asyncio.run refuses to start another."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result()


async def settle() -> None:
    """Let the room flush awareness (call_soon) and the lead react to it."""
    for _ in range(3):
        await asyncio.sleep(0)


async def _sent(_data: bytes) -> None:
    """Where a page would receive the room's messages: nowhere, nobody reads them here."""


async def _closed(_code: int, _reason: str) -> None:
    """Where a page's socket would be closed."""


class Share:
    """A board and a control room with their Lead, and a page per client id."""

    def __init__(self) -> None:
        self.board = Room("board")
        self.control = Room("control", writers=frozenset({"host"}))
        self.changes: list[dict[str, Any]] = []
        self.lead = Lead(self.board, self.control, self.changes.append)
        self.pages: dict[int, Connection] = {}
        self.clocks: dict[int, int] = {}

    def page(self, client_id: int, role: str = "guest") -> Connection:
        conn = Connection(_sent, _closed, role, pid=f"browser-{client_id}")
        assert self.board.join(conn)
        self.pages[client_id] = conn
        return conn

    def announce(self, client_id: int, request: dict | None = None, **user: Any) -> None:
        """The page's awareness state, as its browser sends it (a higher clock each time)."""
        self.clocks[client_id] = self.clocks.get(client_id, 0) + 1
        state: dict[str, Any] = {"user": {"name": f"p{client_id}", **user}}
        if request is not None:
            state["leadRequest"] = request
        entry = AwarenessEntry(self.clocks[client_id], json.dumps(state))
        self.board.receive(self.pages[client_id], encode_awareness([(client_id, entry)]))

    def leave(self, client_id: int) -> None:
        self.board.leave(self.pages.pop(client_id))

    def control_doc(self) -> dict[str, Any]:
        return self.control.doc.get("control", type=Map).to_py()


async def three_people(policy: str = "anyone") -> Share:
    share = Share()
    for client_id, role in ((GUEST_A, "guest"), (GUEST_B, "guest"), (HOST, "host")):
        share.page(client_id, role)
        share.announce(client_id)
    share.lead.set_policy(policy)
    await settle()
    return share


# --- the table -----------------------------------------------------------------------------


def test_who_may_is_the_documented_table() -> None:
    """docs/protocol.md, "Scroll leadership": take needs policy anyone or a host; release the
    leader or a host; hand a host, or the leader under policy anyone."""
    for op, policy, host, is_leader in itertools.product(
        OPS, POLICIES, (False, True), (False, True)
    ):
        if op == "take":
            expected = policy == "anyone" or host
        elif op == "release":
            expected = is_leader or host
        else:
            expected = host or (is_leader and policy == "anyone")
        assert may(op, policy, host, is_leader) is expected, (op, policy, host, is_leader)
    assert set(WHO_MAY) == set(itertools.product(OPS, POLICIES))
    assert not may("recall", "anyone", True, True)  # not a participant's request
    assert not may("take", "nobody", True, True)


# --- Lead.request --------------------------------------------------------------------------


def test_anyone_takes_releases_and_hands() -> None:
    async def scenario() -> None:
        share = await three_people("anyone")
        lead = share.lead
        assert lead.request(GUEST_A, "guest", "take")
        assert lead.leader == GUEST_A and share.control_doc()["leader"] == GUEST_A
        assert not lead.request(GUEST_A, "guest", "take")  # already leads: nothing changes
        assert lead.request(GUEST_B, "guest", "take")  # anyone may take it over
        assert not lead.request(GUEST_A, "guest", "release")  # not the leader
        assert not lead.request(GUEST_A, "guest", "hand", GUEST_A)  # nor may it hand
        for to in (999, None, True, str(GUEST_A)):  # absent, missing, a bool, not an id
            assert not lead.request(GUEST_B, "guest", "hand", to)
        assert lead.request(GUEST_B, "guest", "hand", GUEST_A)
        assert lead.leader == GUEST_A
        assert lead.request(HOST, "host", "release")  # a host may release anyone's lead
        assert lead.leader is None
        assert not lead.request(HOST, "host", "release")  # nobody leads: nothing to release
        assert not lead.request(GUEST_A, "guest", "recall")  # not a request op
        await settle()
        assert share.changes[-1] == {"leader": None, "leadPolicy": "anyone", "recall": 0}

    run(scenario)


def test_host_decides() -> None:
    async def scenario() -> None:
        share = await three_people("host")
        lead = share.lead
        assert not lead.request(GUEST_A, "guest", "take")
        assert lead.leader is None
        assert lead.request(HOST, "host", "take")
        assert not lead.request(GUEST_A, "guest", "hand", GUEST_A)  # a guest cannot hand
        assert lead.request(HOST, "host", "hand", GUEST_A)
        assert lead.leader == GUEST_A
        # The guest leads now, yet under "host decides" it may not hand the lead on ...
        assert not lead.request(GUEST_A, "guest", "hand", GUEST_B)
        # ... but anyone may still release their own lead.
        assert lead.request(GUEST_A, "guest", "release")
        assert lead.leader is None
        assert share.control_doc()["leadPolicy"] == "host"

    run(scenario)


def test_the_kernels_operations() -> None:
    async def scenario() -> None:
        share = await three_people()
        lead = share.lead
        with pytest.raises(LeadError):
            lead.request(999, "host", "take")  # a take from nobody present
        with pytest.raises(LeadError):
            lead.set_leader(999)
        with pytest.raises(LeadError):
            lead.set_policy("everyone")
        assert lead.host_client() == HOST
        assert lead.recall() == 1 and lead.recall() == 2
        assert share.control_doc()["recall"] == 2
        await settle()
        assert share.changes[-1]["recall"] == 2

    run(scenario)


# --- requests in awareness -----------------------------------------------------------------


def test_a_request_is_applied_once_per_seq() -> None:
    async def scenario() -> None:
        share = await three_people()
        share.announce(GUEST_A, {"seq": 1, "op": "take"})
        await settle()
        assert share.lead.leader == GUEST_A
        share.lead.set_leader(None)  # the kernel releases it
        share.announce(GUEST_A, {"seq": 1, "op": "take"})  # re-announced (a reconnect)
        await settle()
        assert share.lead.leader is None, "a replayed request was applied again"
        share.announce(GUEST_A, {"seq": 2, "op": "take"})
        await settle()
        assert share.lead.leader == GUEST_A
        share.announce(GUEST_B, {"seq": 1, "op": "take"})  # seqs are per client id
        await settle()
        assert share.lead.leader == GUEST_B
        share.announce(GUEST_B, {"seq": 2, "op": "hand", "to": GUEST_A})
        await settle()
        assert share.lead.leader == GUEST_A

    run(scenario)


def test_a_request_speaks_with_the_role_its_connection_proved() -> None:
    async def scenario() -> None:
        share = await three_people("host")
        share.announce(GUEST_A, {"seq": 1, "op": "take"}, role="host")  # claims to be host
        await settle()
        assert share.lead.leader is None
        share.announce(HOST, {"seq": 1, "op": "take"}, role="host")
        await settle()
        assert share.lead.leader == HOST

    run(scenario)


def test_the_lead_is_released_after_the_grace_unless_the_leader_is_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lead_module, "LEADER_GRACE", 0.05)

    async def scenario() -> None:
        share = await three_people()
        share.lead.set_leader(GUEST_A)
        share.leave(GUEST_A)  # tab closed ...
        await settle()
        share.page(GUEST_A)  # ... and back with the same client id before the grace ends
        share.announce(GUEST_A)
        await asyncio.sleep(0.1)
        assert share.lead.leader == GUEST_A
        share.leave(GUEST_A)
        await asyncio.sleep(0.1)
        assert share.lead.leader is None
        assert share.control_doc()["leader"] is None

    run(scenario)
