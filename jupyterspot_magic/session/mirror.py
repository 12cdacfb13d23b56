"""The kernel's view of a share's rooms: who is here and who leads.

The server (in its own process, or on its own thread) owns the rooms; the kernel must read
`Share.participants` and `Share.leader` while a cell runs, without waiting on the server. So the
server side (`MirrorSource`, in the server's process) publishes snapshots through
`server.notify` (server/host.py carries them), and the kernel side (`Mirror`) swaps each in whole
(a reader never sees half an update) and emits the matching event (session/events.py) for
whoever shows them.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from pycrdt import Map

from ..collab.asks import OpenQuestions
from .events import Events, LeadChanged, PeopleChanged, QuestionsChanged, SwitchesChanged
from .participants import rows
from .reactions import ReactionTally

if TYPE_CHECKING:
    from ..collab.room import Room
    from ..server.thread import ServerThread

PARTICIPANTS_DEBOUNCE = 0.1  # s: cursor storms must not rebuild the list hundreds of times a second
PEOPLE_PER_DEBOUNCE = 50  # above this many, the wait grows with the room (300 people: 0.6 s)
QUESTIONS_DEBOUNCE = 0.2  # s: a burst of questions (a reconnect's sync) is one list
SWITCHES = ("reactions", "questions")  # the host's switches in control (on unless False)


class MirrorSource:
    """Server side: one share's people and lead, sent to the kernel as they change."""

    def __init__(self, server: ServerThread, room: str, board: Room) -> None:
        self.server = server
        self.room = room
        self.board = board
        self.live = True  # False once the share stopped: a restarted loop schedules nothing
        self._publish_scheduled = False
        self._people: list[dict] | None = None
        self._questions: OpenQuestions | None = None
        self._questions_scheduled = False
        self._switches: dict[str, bool] | None = None  # as last published
        self._switches_sub: Any = None

    def watch_questions(self) -> None:
        """Server thread: publish the board's open questions now and whenever they change."""
        self._questions = OpenQuestions(self.board.doc, self._questions_changed)
        self._publish_questions()

    def watch_switches(self, control: Room) -> None:
        """Server thread: publish the host's switches (control `reactions`, `questions`; absent
        = on) now and whenever they change, also when a host page flips one: the kernel keeps
        the last copy, which a server started again after a crash is told (hosted.OpenSpec)."""
        switches = control.doc.get("control", type=Map)

        def publish(_event: Any = None) -> None:
            now = {key: switches.get(key) is not False for key in SWITCHES}
            if now != self._switches and self.live:
                self._switches = now
                self.server.notify(("switches", self.room, now))

        self._switches_sub = switches.observe(publish)
        publish()

    def _questions_changed(self) -> None:
        if self._questions_scheduled or not self.live:
            return
        self._questions_scheduled = True
        self.server.call_later(QUESTIONS_DEBOUNCE, self._publish_questions)

    def _publish_questions(self) -> None:
        self._questions_scheduled = False
        if self._questions is not None and self.live:
            self.server.notify(("questions", self.room, self._questions.listed()))

    def on_awareness(self) -> None:
        """Server thread: coalesce a burst of awareness changes into one rebuild."""
        if self._publish_scheduled or not self.live:
            return
        self._publish_scheduled = True
        # A lecture's list is rebuilt less often: 300 rows every 0.1 s took a fifth of the
        # server's CPU while only the presenter's cursor moved (py-spy, bench/lecture.py).
        crowd = max(1.0, len(self.board.awareness) / PEOPLE_PER_DEBOUNCE)
        self.server.call_later(PARTICIPANTS_DEBOUNCE * crowd, self._publish_people)

    def after_restart(self) -> None:
        """Publications scheduled on the crashed loop died with it: schedule them on the new one
        (else the people, or the open questions, would never be published again)."""
        self._publish_scheduled = False
        self._questions_scheduled = False
        if self.live:
            self.on_awareness()
            self._questions_changed()

    def on_lead(self, state: dict[str, Any]) -> None:
        """collab/lead.py: the control document's lead state changed."""
        if self.live:
            self.server.notify(("lead", self.room, dict(state)))

    def _publish_people(self) -> None:
        self._publish_scheduled = False
        people = rows(self.board)
        if people != self._people:
            self._people = people
            self.server.notify(("people", self.room, people))


class Mirror:
    """Kernel side: the last snapshots of one share's people and lead, and their events."""

    def __init__(self, room: str, events: Events) -> None:
        self.room = room
        self.events = events
        self.people: list[dict] = []
        self.lead: dict[str, Any] = {"leader": None, "leadPolicy": "anyone"}
        self.questions: list[dict] = []  # the board's open questions, oldest first
        self.reactions = ReactionTally()  # per cell, the last minute (issue 18)
        # The host's switches as the server last said (or the kernel last wrote): kept across a
        # crash (forget() leaves them) so the restarted server is told them again.
        self.switches: dict[str, bool] = dict.fromkeys(SWITCHES, True)
        self._switches_lock = threading.RLock()  # a listener may set a switch

    def set_switches(self, changed: dict[str, bool]) -> None:
        """The host's switches as the server said or the kernel wrote; an event when one moved.
        Both the kernel's thread (a setter) and the channel's (the server) call this: one at a
        time, so no change is lost and the last event is the last state."""
        with self._switches_lock:
            before = self.switches
            self.switches = {**before, **changed}
            if self.switches != before:
                self.events.emit(SwitchesChanged(**self.switches))

    def forget(self) -> None:
        """The server these snapshots came from is gone (a crash)."""
        self.people = []
        self.lead = {"leader": None, "leadPolicy": self.lead.get("leadPolicy", "anyone")}
        self.events.emit(PeopleChanged([]))

    def receive(self, message: tuple) -> None:
        """A server message (server/host.py `subscribe`): the channel's thread, or the server
        thread when the server runs in this process."""
        kind, room, value = message
        if room != self.room:
            return
        if kind == "people":
            self.people = value
            self.reactions.observe(value)  # before the event: its listeners read the counts
            self.events.emit(PeopleChanged(value))
        elif kind == "switches":
            self.set_switches(value)
        elif kind == "questions":
            self.questions = value
            self.events.emit(QuestionsChanged(value))
        elif kind == "lead":
            self.lead = value
            self.events.emit(LeadChanged(value["leader"], value["leadPolicy"]))
