"""What a share tells whoever shows it: typed events and a tiny emitter.

The share never calls upward: frontends/ (the widget, the plain link, the terminal) and the
registry subscribe with `share.events.on(EventType, callback)`. A callback runs synchronously on
the thread that emitted the event (each event says which); it must be quick and may not call
`ServerThread.call` when it runs on the server thread (it would wait on itself). An exception in a
callback is logged, never raised into the share: a broken display must not stop a share, nor kill
the server thread or the tunnel keeper.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkChanged:
    """Event "link": the links changed. Kernel thread (`rotate()`), or the tunnel keeper's
    thread (the tunnel was reopened under a new URL: `note` says so, for a person to read)."""

    url: str
    host_url: str
    note: str | None = None


@dataclass(frozen=True)
class PeopleChanged:
    """Event "participants": someone joined, left, renamed or scrolled. Server thread, at most every
    PARTICIPANTS_DEBOUNCE (session/mirror.py); `people` is the new `Share.participants`."""

    people: list[dict]


@dataclass(frozen=True)
class LeadChanged:
    """Event "lead": who leads or the lead policy changed. Server thread (collab/lead.py)."""

    leader: int | None
    policy: str


@dataclass(frozen=True)
class QuestionsChanged:
    """Event "questions": a question was asked, answered or erased. Server thread, at most every
    QUESTIONS_DEBOUNCE (session/mirror.py); `questions` is the new `Share.questions`."""

    questions: list[dict]


@dataclass(frozen=True)
class LiveChanged:
    """Event "live": live outputs paused or resumed, or "follow the running cell" switched
    (`Share.live`, `Share.follow_running`). The thread that set them (a cell, the widget)."""

    live: bool
    follow_running: bool


@dataclass(frozen=True)
class SwitchesChanged:
    """Event "switches": the host's reactions or questions switch changed (`Share.reactions`,
    `Share.questions_enabled`: set from a cell, the magic, the widget, or a host page). The
    thread that set them; for a host page's switch, the thread that receives the server's news
    (`jupyterspot-channel`, or the server thread when the server runs in this process)."""

    reactions: bool
    questions: bool


@dataclass(frozen=True)
class StatusMessage:
    """Event "status": a one-line message while the share stays live (the tunnel is down and being
    reopened: the tunnel keeper's thread; a live update made the notebook huge, its size and
    what a guest downloads: a thread of its own, session/footprint.py)."""

    message: str


@dataclass(frozen=True)
class Stopped:
    """Event "stopped": the share stopped. The thread that called `Share.stop()` (the kernel's:
    a cell, the widget's Stop button; the main thread at exit). `problem`: the board's last
    write failed, and where the drawings were saved instead."""

    problem: str | None


Event = (
    LinkChanged
    | PeopleChanged
    | LeadChanged
    | LiveChanged
    | StatusMessage
    | Stopped
    | QuestionsChanged
    | SwitchesChanged
)
E = TypeVar(
    "E",
    LinkChanged,
    PeopleChanged,
    LeadChanged,
    LiveChanged,
    StatusMessage,
    Stopped,
    QuestionsChanged,
    SwitchesChanged,
)


class Events:
    """Subscribers per event type. Safe to subscribe from one thread while another emits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[type, list[Callable]] = {}

    def on(self, kind: type[E], callback: Callable[[E], object]) -> Callable[[], None]:
        """Call `callback(event)` for every event of `kind`; returns the unsubscribe function."""
        with self._lock:
            self._listeners.setdefault(kind, []).append(callback)
        return lambda: self.off(kind, callback)

    def off(self, kind: type[E], callback: Callable[[E], object]) -> None:
        with self._lock:
            listeners = self._listeners.get(kind, [])
            if callback in listeners:
                listeners.remove(callback)

    def emit(self, event: Event) -> None:
        with self._lock:  # a copy: a callback may subscribe or unsubscribe
            listeners = list(self._listeners.get(type(event), ()))
        for callback in listeners:
            try:
                callback(event)
            except Exception:
                log.exception("jupyterspot: a %s listener failed", type(event).__name__)
