"""The connection guard's bounds follow --max-people (server/guard.py, server/shared.py): the
socket cap grows with the registered shares' seats, the soft fd limit is raised to fit them, and
one address behind which a whole audience arrives (a reverse proxy on another machine) is never
refused, while it still holds at most WAITING_PER_ADDRESS idle sockets."""

from __future__ import annotations

import json
import subprocess
import sys

from jupyterspot_magic.server import guard
from jupyterspot_magic.server.shared import HOST_SLOTS, Registry

from ..room_server import new_shared


def test_the_cap_follows_the_seats_within_the_fd_budget() -> None:
    seats = 2 * (500 + HOST_SLOTS)  # one share at the default max_people
    assert guard.connection_cap(100_000, seats) == seats + guard.WAITING_CAP == 1288
    assert guard.connection_cap(100_000, 2 * (600 + HOST_SLOTS)) == 1488
    assert guard.connection_cap(100_000, 0) == guard.BASE_CAP  # small shares keep the old cap
    assert guard.connection_cap(1024, seats) == (1024 - guard.FDS_RESERVED) // 2  # fd budget


def test_registry_seats_count_both_rooms_of_every_share() -> None:
    registry = Registry()
    registry.register(new_shared("a"))
    registry.register(new_shared("b"))
    registry.shares["b"].set_max_people(600)
    assert registry.seats() == 2 * (500 + HOST_SLOTS) + 2 * (600 + HOST_SLOTS)
    g = guard.ConnectionGuard(seats=registry.seats)
    assert g.cap == registry.seats() + guard.WAITING_CAP
    g.cap = 12  # a test's fixed cap still wins
    assert g.cap == 12
    # A lecture opening the link at once: every socket waits a moment for its head to be read.
    assert g.waiting_cap == registry.seats() > guard.WAITING_CAP
    assert guard.ConnectionGuard().waiting_cap == guard.WAITING_CAP


def test_a_join_storm_is_not_dropped_as_idle() -> None:
    g = guard.ConnectionGuard(cap=10_000, seats=lambda: 2 * (600 + HOST_SLOTS))
    storm = [FakeProtocol() for _ in range(2 * 600)]
    for p in storm:  # accepted, heads not read yet: all "waiting"
        assert g.admit(p, set(), "127.0.0.1")
        g.start_waiting(p, "127.0.0.1")
    assert not any(p.transport.aborted for p in storm)  # old cap of 256: 944 dropped


def test_the_soft_fd_limit_is_raised_for_the_seats() -> None:
    """In a child process: the limit is per process, and this one must stay as it was."""
    code = """
import json, resource
from jupyterspot_magic.server import guard
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
before = guard.connection_cap(seats=2 * (600 + 16))
after_soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
print(json.dumps([before, after_soft, hard]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    cap, soft, hard = json.loads(out.stdout)
    wanted = 2 * (600 + HOST_SLOTS) + guard.WAITING_CAP
    if hard == -1 or hard >= 2 * wanted + guard.FDS_RESERVED:
        assert cap == wanted and soft == 2 * wanted + guard.FDS_RESERVED
    else:  # a hard limit below what the seats need: the cap says what fits
        assert cap == (hard - guard.FDS_RESERVED) // 2


class FakeTransport:
    def __init__(self) -> None:
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True


class FakeProtocol:
    def __init__(self) -> None:
        self.transport = FakeTransport()


def test_one_address_is_never_refused_and_holds_at_most_its_share() -> None:
    g = guard.ConnectionGuard(cap=10_000)
    proxy = "192.0.2.7"  # not loopback: the per-address bound applies
    protocols = [FakeProtocol() for _ in range(guard.WAITING_PER_ADDRESS + 40)]
    for p in protocols:
        assert g.admit(p, set(), proxy)  # old code: refused from the 33rd on
        g.start_waiting(p, proxy)
        assert g.per_address[proxy] <= guard.WAITING_PER_ADDRESS
    dropped = [p for p in protocols if p.transport.aborted]
    assert dropped == protocols[:40]  # the oldest idle ones went, never the newcomer
    assert g.refused == 0
    # Another address is untouched by the proxy's churn.
    other = FakeProtocol()
    assert g.admit(other, set(), "198.51.100.1")
    g.start_waiting(other, "198.51.100.1")
    assert not other.transport.aborted
