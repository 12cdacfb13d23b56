"""Audience mode: who hears whose presence in a big room.

Everyone's cursor going to everyone costs N² bytes: measured 20 MB/s out at 100 people moving,
86 MB/s at 200, 354 MB/s at 400 (a home uplink or a free tunnel saturates long before the CPU).
In audience mode a guest's presence (awareness) goes only to host connections and to the
connections of the speakers (the current leader and those the host gave the floor); the presence
of hosts and speakers still goes to everyone, and the documents (board strokes, control) are not
touched. So what a listener receives no longer depends on N: it is the presence of at most
HOST_SLOTS hosts (server/shared.py), one leader and MAX_FLOOR speakers (schema.py), each within
its own presence budget (room.py RoomLimits.presence_per_second).

This module is the policy only (pure); room.py routes by it, crowd.py feeds it the speakers.

Threshold (mode "auto"): on above AUTO_ON_ABOVE people (board connections), off again below
AUTO_OFF_BELOW. Fifty: a class or a meeting up to that size keeps seeing each other's cursors,
which is what the board is for; at fifty people all moving the tunnel already carries ~5 MB/s
(quadratic: 20 MB/s at 100, measured), the top of a typical home uplink, and fifty cursors on one
page are noise rather than information. The ten people of hysteresis keep a room hovering around
fifty from flipping with every join and leave (each flip resends or removes every hidden state).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MODES = ("auto", "on", "off")  # base/options.py AUDIENCE_MODES, the user's --audience
AUTO_ON_ABOVE = 50
AUTO_OFF_BELOW = 40


@dataclass
class Audience:
    """The routing policy of one room: whether audience mode is on, and who speaks."""

    mode: str = "off"
    active: bool = False
    speakers: frozenset[int] = frozenset()  # client ids: the leader and those with the floor

    def __post_init__(self) -> None:
        self.set_mode(self.mode)

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"audience must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode  # `active` follows at the room's next count (Room._recount)

    def wanted(self, people: int) -> bool:
        """Whether audience mode should be on with `people` in the room (hysteresis in auto)."""
        if self.mode != "auto":
            return self.mode == "on"
        return people >= AUTO_OFF_BELOW if self.active else people > AUTO_ON_ABOVE

    def visible(self, client_id: int, role: str) -> bool:
        """Whether this client's presence goes to everyone."""
        return not self.active or role == "host" or client_id in self.speakers

    def hears_all(self, role: str, client_ids: Iterable[int]) -> bool:
        """Whether a connection gets everyone's presence (hosts and speakers do)."""
        return not self.active or role == "host" or not self.speakers.isdisjoint(client_ids)
