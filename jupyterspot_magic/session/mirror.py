"""The kernel's view of a share's rooms: who is here and who leads.

The server thread owns the rooms; the kernel must read `Share.participants` and `Share.leader`
while a cell runs, without waiting on the server. So the server thread publishes snapshots here,
each an immutable value swapped in whole (a reader never sees half an update), and emits the
matching event (session/events.py) for whoever shows them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .events import Events, LeadChanged, PeopleChanged
from .participants import rows

if TYPE_CHECKING:
    from ..collab.room import Room
    from ..server.thread import ServerThread

PARTICIPANTS_DEBOUNCE = 0.1  # s: cursor storms must not rebuild the list hundreds of times a second


class Mirror:
    """Snapshots of one share's people and lead state, written by the server thread."""

    def __init__(self, server: ServerThread, board: Room, events: Events) -> None:
        self.server = server
        self.board = board
        self.events = events
        self.people: list[dict] = []
        self.lead: dict[str, Any] = {"leader": None, "leadPolicy": "anyone"}
        self.live = True  # False once the share stopped: a restarted loop schedules nothing
        self._publish_scheduled = False

    # -- server thread --

    def on_awareness(self) -> None:
        """Coalesce a burst of awareness changes into one rebuild."""
        if self._publish_scheduled:
            return
        self._publish_scheduled = True
        self.server.call_later(PARTICIPANTS_DEBOUNCE, self._publish_people)

    def after_restart(self) -> None:
        """A rebuild scheduled on the crashed loop died with it: schedule one on the new loop."""
        self._publish_scheduled = False
        if self.live:
            self.on_awareness()

    def on_lead(self, state: dict[str, Any]) -> None:
        """collab/lead.py: the control document's lead state changed."""
        self.lead = state
        self.events.emit(LeadChanged(state["leader"], state["leadPolicy"]))

    def _publish_people(self) -> None:
        self._publish_scheduled = False
        people = rows(self.board)
        if people != self.people:
            self.people = people
            self.events.emit(PeopleChanged(people))
