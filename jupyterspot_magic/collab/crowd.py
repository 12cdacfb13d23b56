"""One share's audience (docs/protocol.md, "Audience mode"): who speaks, and how many are here.

- Speakers: the leader (`control.leader`) and the client ids in `control.floor` (the host gives
  and takes the floor: the host page writes `floor`, the kernel calls give_floor / take_floor).
  Whenever the control document changes, the board room is told who they are (Room.set_speakers):
  in audience mode their presence goes to everyone and they hear everyone (audience.py).
- The head count: in audience mode a guest sees only hosts and speakers, so the server publishes
  `control.people` (present people), `control.names` (the first NAMES_SHOWN names, hosts and
  speakers first, as a JSON array of strings) and `control.audience` (whether the mode is on), at
  most once per PUBLISH_EVERY and only what changed. These three are the server's own: the
  control schema refuses them from every connection (schema.py CONTROL_SERVER_ONLY).

What a listener receives from this is bounded whatever N is: at most one control update a second
of at most NAMES_TEXT characters of names.

Everything here runs on the server thread's event loop.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from pycrdt import Map

from .reactions import switched_on
from .room import Room
from .schema import MAX_FLOOR, NAMES_TEXT

PUBLISH_EVERY = 1.0  # s between two writes of the head count (a join storm costs one a second)
NAMES_SHOWN = 20
USER_MARK = '"user"'  # a state with a user is a person (a JSON string value cannot hold it raw)


def parse_floor(value: Any) -> list[int]:
    """`control.floor` as client ids ("12,345"); anything else is no floor."""
    if not isinstance(value, str) or not value:
        return []
    ids = []
    for part in value.split(",")[:MAX_FLOOR]:
        if part.isdigit():
            ids.append(int(part))
    return ids


def as_client_id(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        return None
    return int(value)


class Crowd:
    """Speakers from the control document to the board's routing; the head count back."""

    def __init__(self, board: Room, control: Room, mode: str = "auto") -> None:
        self.board = board
        self.control = control
        self._map = control.doc.get("control", type=Map)
        self._timer: asyncio.TimerHandle | None = None
        self._last_publish = 0.0
        self._published: dict[str, Any] = {}
        board.on_awareness(self.schedule_publish)
        board.on_audience(self.schedule_publish)
        self._sub = self._map.observe(lambda _event: self._control_changed())
        board.set_audience_mode(mode)
        self._control_changed()

    # -- speakers --

    def floor(self) -> list[int]:
        return parse_floor(self._map.get("floor"))

    def speakers(self) -> frozenset[int]:
        leader = as_client_id(self._map.get("leader"))
        return frozenset(self.floor()) | (frozenset() if leader is None else {leader})

    def _control_changed(self) -> None:
        self.board.set_speakers(self.speakers())
        self.board.set_reactions(switched_on(self._map))

    def give_floor(self, client_id: int) -> bool:
        """Their presence goes to everyone again (audience mode). False when nobody with that
        client id is here, or MAX_FLOOR people have the floor already."""
        present = self.board.awareness
        if client_id not in present:
            return False
        floor = [cid for cid in self.floor() if cid in present]  # the departed give theirs up
        if client_id not in floor:
            if len(floor) >= MAX_FLOOR:
                return False
            floor.append(client_id)
        self._write_floor(floor)
        return True

    def take_floor(self, client_id: int) -> bool:
        """Back to the audience; False when they did not have the floor."""
        floor = self.floor()
        if client_id not in floor:
            return False
        self._write_floor([cid for cid in floor if cid != client_id])
        return True

    def _write_floor(self, floor: list[int]) -> None:
        value = ",".join(str(cid) for cid in floor)
        if self._map.get("floor") != value:
            with self.control.doc.transaction(origin="crowd"):
                self._map["floor"] = value

    # -- the head count --

    def schedule_publish(self) -> None:
        """Publish soon: now if the last write is PUBLISH_EVERY old, else when it will be."""
        if self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not on the server loop (a share being built): the first join publishes
        delay = max(0.0, self._last_publish + PUBLISH_EVERY - time.monotonic())
        self._timer = loop.call_later(delay, self._publish)

    def _publish(self) -> None:
        self._timer = None
        self._last_publish = time.monotonic()
        wanted = self.snapshot()
        changed = {k: v for k, v in wanted.items() if self._map.get(k) != v}
        if not changed:
            return
        with self.control.doc.transaction(origin="crowd"):
            for key, value in changed.items():
                self._map[key] = value

    def snapshot(self) -> dict[str, Any]:
        """What `control` should say now: {"audience", "people", "names"}."""
        speakers = self.board.audience.speakers
        first: list[int] = []  # hosts and speakers, then guests in the order they came
        rest: list[int] = []
        people = 0
        for client_id, entry in self.board.awareness.items():
            if entry.state is None or USER_MARK not in entry.state:
                continue
            people += 1
            if self.board.role_of(client_id) == "host" or client_id in speakers:
                first.append(client_id)
            elif len(rest) < NAMES_SHOWN:
                rest.append(client_id)
        names = [self._name(cid) for cid in (first + rest)[:NAMES_SHOWN]]
        text = json.dumps(names, ensure_ascii=False)
        while len(text) > NAMES_TEXT:  # names full of escapes: fewer of them
            names.pop()
            text = json.dumps(names, ensure_ascii=False)
        return {"audience": self.board.audience.active, "people": people, "names": text}

    def _name(self, client_id: int) -> str:
        entry = self.board.awareness.get(client_id)
        try:
            user = json.loads(entry.state).get("user") if entry and entry.state else None
        except ValueError:
            user = None
        name = user.get("name") if isinstance(user, dict) else None
        return name if isinstance(name, str) else ""

    def forget_loop(self) -> None:
        """After a server restart: the timer belonged to the dead loop."""
        self._timer = None
