"""The documents' schema, enforced on every update before the server applies it.

A Yjs update is a list of structs per client (items with content, GC and Skip ranges) and a
delete set. yrs and yjs integrate whatever structs arrive, at any depth, of any type: a guest
could build a chain of 40,000 nested maps (yrs' recursive delete then overflows the kernel's
stack) or 2,000 (every browser's `Item.gc` overflows). So the server decodes each incoming update
itself (codec.py) and accepts only what `docs/protocol.md` describes, before pycrdt ever sees
the bytes:

- board: the root map `shapes`; each entry a `Y.Map` (a shape) keyed by a shape id; inside a
  shape only the documented fields, each a plain value of the documented type and bound
  (`pts` as bytes; `jupyterspot_magic/contracts/shape.json`); deletions. Nothing nested deeper,
  no other root, no other content kind.
- control: the root map `control`; each entry a plain value of the documented field.

To know where an item lands, the server keeps an index of every struct it integrated: per client,
ranges of clocks and their slot (which map, which key). An item names its parent only when it has
no left origin; a map entry that overwrites a key names the item it replaces (its origin) and
inherits that item's parent and key, so the index answers where it goes. Updates are accepted
only in causal order (every origin and parent already known, no gap in a client's clocks), so
yrs never holds pending structs from a guest that the check could not see; a client that sends
one out of order (e.g. after view-only dropped its earlier writes) is asked to resync instead.

Everything here is pure and runs on the server thread; nothing is thread-safe on purpose.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..base.paths import CONTRACTS_DIR
from .codec import (
    ANY,
    BINARY,
    DELETED,
    GC_REF,
    ID,
    MAX_CLOCK,
    MAX_STRUCTS_PER_UPDATE,
    NOT_PLAIN,
    SKIP,
    TYPE,
    YMAP,
    SchemaError,
    Struct,
    Update,
    decode_update,
    write_var_uint,
)

# What one struct costs the server beyond its content bytes: yrs' item and map bookkeeping
# (~500 B for a shape map with a field, measured: 100,000 structs of 50,000 one-field shapes
# applied to a fresh Doc grew RSS by 48 MB) plus this module's index (< 300 B, less for a key
# overwritten again and again). Used for the room's budget, so memory follows decoded cost.
STRUCT_COST = 600


class Unresolved(SchemaError):
    """An update that depends on structs the server does not have (yet): ask for a resync."""


# --- what the documents may hold -----------------------------------------------------------

Check = Callable[[Any], bool]


def _number(lo: float, hi: float) -> Check:
    def check(v: Any) -> bool:
        return type(v) in (int, float) and math.isfinite(v) and lo <= v <= hi

    return check


def _integer(lo: int, hi: int) -> Check:
    """yjs writes integers as varints, pycrdt (yrs) as float64: both count."""

    def check(v: Any) -> bool:
        return (type(v) is int or (type(v) is float and v.is_integer())) and lo <= v <= hi

    return check


def _text(limit: int) -> Check:
    return lambda v: type(v) is str and len(v) <= limit


def _one_of(*allowed: str) -> Check:
    return lambda v: type(v) is str and v in allowed


def _color(pattern: str) -> Check:
    color = re.compile(pattern)
    return lambda v: type(v) is str and color.fullmatch(v) is not None


def _points(max_bytes: int) -> Check:
    return lambda v: type(v) is bytes and len(v) % 4 == 0 and len(v) <= max_bytes


# The board's shapes are defined once, in contracts/shape.json, which the viewer reads too
# (js/viewer/board): each field's type and bounds there become the check here.
SHAPE_CONTRACT = CONTRACTS_DIR / "shape.json"
SHAPE: dict[str, Any] = json.loads(SHAPE_CONTRACT.read_text(encoding="utf-8"))
MAX_POINT_BYTES: int = SHAPE["maxPointBytes"]  # shapes.ts MAX_POINTS x,y,pressure Float32
COORD = 1e7  # reference px, for awareness anchors (as the shapes' x, y); the viewer clamps to 1e6


def field_check(spec: dict[str, Any]) -> Check:
    """The check of one field of contracts/shape.json (its "type" and bounds)."""
    kind = spec["type"]
    if kind == "enum":
        return _one_of(*spec["values"])
    if kind == "string":
        return _text(spec["max"])
    if kind == "integer":
        return _integer(spec["min"], spec["max"])
    if kind == "number":
        return _number(spec["min"], spec["max"])
    if kind == "color":
        return _color(spec["pattern"])
    if kind == "points":
        return _points(MAX_POINT_BYTES)
    raise ValueError(f"{SHAPE_CONTRACT.name}: unknown field type {kind!r}")


SHAPE_ID = re.compile(SHAPE["id"])  # used with fullmatch, like the viewer's anchored pattern
SHAPE_FIELDS: dict[str, Check] = {key: field_check(spec) for key, spec in SHAPE["fields"].items()}
# Questions (kind "ask"): only hosts and the kernel mark one answered. A guest's update that
# sets or deletes `ans` breaks the schema (bad_frame), unless it deletes the whole shape.
ASK = "ask"
HOST_ONLY = frozenset({"ans"})

# Audience mode (collab/crowd.py): `floor` lists the client ids the host gave the floor to, as
# decimal ids separated by commas (plain values only: no arrays in the documents), at most
# MAX_FLOOR of them; hosts and the kernel write it. `audience`, `people` and `names` are the
# server's: whether audience mode is on, the head count, and the first names as a JSON array of
# strings (NAMES_TEXT characters at most).
MAX_FLOOR = 16  # people with the floor at once (besides the leader)
FLOOR = re.compile(rf"(?:\d{{1,16}}(?:,\d{{1,16}}){{0,{MAX_FLOOR - 1}}})?")
NAMES_TEXT = 4000


def _floor(v: Any) -> bool:
    return type(v) is str and FLOOR.fullmatch(v) is not None


CONTROL_FIELDS: dict[str, Check] = {
    "leader": lambda v: v is None or _integer(0, 2**53)(v),
    "leadPolicy": _one_of("anyone", "host"),
    "drawPolicy": _one_of("everyone", "host"),
    "version": _text(200),
    "title": _text(1000),
    "recall": _integer(0, 2**53),
    "floor": _floor,
    "audience": lambda v: type(v) is bool,
    "people": _integer(0, 10_000_000),
    "names": _text(NAMES_TEXT),
    # live outputs (session/stream.py): the kernel's state, written by the kernel only
    "live": _one_of("on", "paused", "off"),
    "kernel": _one_of("idle", "busy"),
    "running": lambda v: v is None or _text(200)(v),
    "runningSince": lambda v: v is None or _integer(0, 2**53)(v),
    "lastRun": lambda v: v is None or _text(200)(v),  # the cell run last (it may have ended)
    "lastRunAt": lambda v: v is None or _integer(0, 2**53)(v),
    "followRunning": lambda v: type(v) is bool,
    # host switch (issue 18): reactions, raised hands and cursor chat (collab/reactions.py)
    "reactions": lambda v: type(v) is bool,
    # questions (kind "ask", docs/protocol.md): the host's switch (absent = on), and "go there"
    # from the notebook widget: "<seq> <shape id>", the leading host page scrolls to the pin
    "questions": lambda v: type(v) is bool,
    "goto": _text(200),
}
# Written by the server only: an update from any connection (even a host's) that sets or deletes
# one of them breaks the schema (bad_frame). The kernel's own writes are not checked (learn()).
# The kernel's live-output state (session/stream.py), written through session/rooms.py.
LIVE_FIELDS = frozenset(
    {"live", "kernel", "running", "runningSince", "lastRun", "lastRunAt", "followRunning"}
)
CONTROL_SERVER_ONLY = frozenset({"audience", "people", "names"}) | LIVE_FIELDS


@dataclass(frozen=True)
class DocSchema:
    """One root map; its entries are maps of `fields` (board) or plain `fields` (control)."""

    root: str
    fields: dict[str, Check]
    entries_are_maps: bool
    entry_key: re.Pattern | None = None
    max_entries: int = 1_000_000
    server_only: frozenset[str] = frozenset()  # fields no connection may write
    host_only: frozenset[str] = frozenset()  # fields no guest connection may write


# What a view-only guest's new question may hold (contracts/shape.json kinds.ask.writes).
ASK_WRITES = frozenset(SHAPE["kinds"][ASK]["writes"])


@dataclass
class Asks:
    """What an update does with questions (shapes of kind "ask"), for the room's policy:
    `made` shapes it makes a question (new ones, or an existing one's kind set to "ask");
    `only` it does nothing but create whole new questions (what a view-only guest may send)."""

    made: int = 0
    only: bool = True
    new_shapes: set[ID] = field(default_factory=set)
    kinds: dict[ID, list[Any]] = field(default_factory=dict)  # each new shape's `t` items

    def note(self, s: Struct, slot: Slot, is_map: bool) -> None:
        if slot is None:
            return  # GC'd or discarded content: changes nothing
        parent, key = slot
        if parent == "":
            # An entry with an origin replaces an existing shape (its left neighbour under the
            # same id): that overwrites someone's shape, never only a new question.
            if is_map and s.origin is None:
                self.new_shapes.add((s.client, s.clock))
            else:
                self.only = False
            return
        assert not isinstance(parent, str)
        fresh = parent in self.new_shapes
        self.only = self.only and fresh and key in ASK_WRITES
        if key == "t":
            if s.values and s.values[-1] == ASK:
                self.made += 1
            if fresh:
                self.kinds.setdefault(parent, []).extend(s.values or [None])

    def only_creates_asks(self) -> bool:
        """Whole new shapes only, each with exactly one `t` item, "ask" (a second `t` in the
        same update would turn the question into any kind), and only the fields an ask has."""
        kinds = self.kinds
        return (
            self.only
            and bool(self.new_shapes)
            and all(kinds.get(shape) == [ASK] for shape in self.new_shapes)
        )


BOARD = DocSchema(
    SHAPE["root"],
    SHAPE_FIELDS,
    True,
    SHAPE_ID,
    max_entries=SHAPE["maxShapes"],
    host_only=HOST_ONLY,
)
CONTROL = DocSchema("control", CONTROL_FIELDS, False, server_only=CONTROL_SERVER_ONLY)


# --- the index: where every integrated struct lives ----------------------------------------

# A slot: (parent, key). parent is "" for the root map, or the ID of the shape map; GC ranges
# (content the sender no longer has) have slot None; `MAP` marks a root entry that is a Y.Map.
Slot = tuple[str | ID, str] | None
# Every root entry shares one slot: its key was checked when it was first set, and what may
# replace it does not depend on the key (a map or a deletion), so 100,000 shapes need no
# 100,000 key strings in the index.
ROOT_SLOT: Slot = ("", "")


@dataclass(slots=True)
class Span:
    start: int
    end: int
    slot: Slot
    is_map: bool = False


class StructIndex:
    """Per client: sorted, contiguous spans of integrated clocks and their slots."""

    def __init__(self) -> None:
        self.spans: dict[int, list[Span]] = {}
        self.starts: dict[int, list[int]] = {}
        self.entries = 0  # live-ever root entries (an upper bound of the shape count)

    def next_clock(self, client: int) -> int:
        spans = self.spans.get(client)
        return spans[-1].end if spans else 0

    def find(self, item: ID) -> Span | None:
        client, clock = item
        starts = self.starts.get(client)
        if not starts:
            return None
        i = bisect.bisect_right(starts, clock) - 1
        if i < 0:
            return None
        span = self.spans[client][i]
        return span if clock < span.end else None

    def merge(self, other: StructIndex) -> None:
        """Take in another index's spans (an accepted update's, all after ours per client)."""
        for client, spans in other.spans.items():
            for span in spans:
                self.add(client, span.start, span.end, span.slot, span.is_map)

    def add(self, client: int, start: int, end: int, slot: Slot, is_map: bool) -> None:
        spans = self.spans.setdefault(client, [])
        starts = self.starts.setdefault(client, [])
        last = spans[-1] if spans else None
        if last is not None and start < last.end:
            return  # already known (yrs skips it too)
        mergeable = last is not None and not is_map and not last.is_map
        if mergeable and last.end == start and last.slot == slot:
            last.end = end  # one key overwritten again and again: one span
            return
        spans.append(Span(start, end, slot, is_map))
        starts.append(start)


# --- checking an update against the schema and the index -----------------------------------


@dataclass
class Checked:
    """What an accepted update adds: its spans, to index once pycrdt integrated it, its cost."""

    spans: StructIndex
    cost: int
    entries: int
    asks: Asks = field(default_factory=Asks)
    own_deletes: bool = True  # every deletion is of a struct this update itself adds

    def without_foreign_deletes(self, data: bytes) -> bytes:
        """`data` with only the deletions of its own structs (a view-only guest's question:
        a reconnect's sync carries the page's whole delete set, which it may not apply)."""
        update = decode_update(data, max_structs=1 << 62)
        kept: dict[int, list[tuple[int, int]]] = {}
        for client, clock, length in update.deletes:
            if _covered(self.spans, client, clock, clock + length):
                kept.setdefault(client, []).append((clock, length))
        out = [write_var_uint(len(kept))]
        for client, ranges in kept.items():
            out += [write_var_uint(client), write_var_uint(len(ranges))]
            out += [write_var_uint(n) for r in ranges for n in r]
        return data[: update.delete_start] + b"".join(out)


class Validator:
    """Checks updates for one document; `commit` what the document actually integrated."""

    def __init__(
        self,
        schema: DocSchema,
        live_entries: Callable[[], int] | None = None,
        deleted: Callable[[], bytes] | None = None,
    ) -> None:
        self.schema = schema
        self.index = StructIndex()
        self.live_entries = live_entries  # the document's entry count now (max_entries check)
        # The document's delete set (an update holding only it): a deletion of what is
        # deleted already changes nothing (a reconnect's sync step 2 carries them all).
        self.deleted = deleted
        self._gone: dict[int, list[tuple[int, int]]] | None = None
        self._last: tuple[int, Span] | None = None  # the span _lookup found last
        self._trusted = False  # checking the server's own write: server-only fields allowed
        self._guest = False  # checking a guest's write: host-only fields refused
        self._asks = Asks()

    def check(
        self,
        data: bytes,
        max_structs: int = MAX_STRUCTS_PER_UPDATE,
        trusted: bool = False,
        guest: bool = False,
    ) -> Checked:
        """Raise SchemaError (or Unresolved) unless every struct fits the schema.

        Structs are taken in the order yrs integrates them (`BlockPicker` in yrs' update.rs):
        each client's in clock order, switching to another client of the same update when a
        struct names one of its structs not taken yet (yjs writes clients in descending id
        order, so an honest reconnect often names a later section)."""
        update = decode_update(data, max_structs)
        self._last = None  # spans of a rejected update must not be found again
        self._trusted = trusted
        self._guest = guest and not trusted
        self._asks = asks = Asks()
        self._gone = None
        queues = _client_queues(update)
        local = StructIndex()  # spans of this update (each client's in clock order)
        totals = [0, 0]  # cost, new root entries
        stack: list[int] = []
        while True:
            if not stack:
                client = next((c for c, q in queues.items() if q), None)
                if client is None:
                    break
                stack.append(client)
            queue = queues[stack[-1]]
            if not queue:
                stack.pop()
                continue
            needed = self._missing(queue[0], local)
            if needed is None:
                self._take(queue.popleft(), local, totals)
                if len(stack) > 1:
                    stack.pop()  # back to the struct that waited for this client
                continue
            waits_on = queues.get(needed[0])
            if not waits_on or waits_on[0].clock > needed[1] or needed[0] in stack:
                raise Unresolved(f"reference to unknown item {needed}")
            stack.append(needed[0])
        own = True
        for client, clock, length in update.deletes:
            if length < 1 or clock + length > MAX_CLOCK:
                raise SchemaError("bad delete range")
            # A deletion of clocks nobody has written yet would wait in the document (yrs keeps
            # a pending delete set) and erase that client's next writes as they arrive: the
            # presenter's coming strokes, the kernel's next control values.
            if clock + length > max(self.index.next_clock(client), local.next_clock(client)):
                raise SchemaError("a deletion of items that do not exist yet")
            own = own and _covered(local, client, clock, clock + length)
            if (self.schema.server_only or self._guest) and not trusted:
                for index in (self.index, local):
                    self._refuse_server_only(index, client, clock, clock + length, update)
        self._check_entries(totals[1])
        return Checked(local, totals[0], totals[1], asks, own)

    def _refuse_server_only(
        self, index: StructIndex, client: int, start: int, end: int, update: Update
    ) -> None:
        """A deletion may not touch a field only the server writes (its value would vanish
        until the server writes it again), nor, from a guest, a field only hosts write (unless
        the whole shape goes with it: erasing an answered question)."""
        spans = index.spans.get(client, [])
        i = max(0, bisect.bisect_right(index.starts.get(client, []), start) - 1)
        for span in spans[i:]:
            if span.start >= end:
                break
            key = span.slot[1] if span.slot is not None else None
            if span.end <= start:
                continue
            if index is self.index and self._already_deleted(
                client, max(start, span.start), min(end, span.end)
            ):
                continue
            if key in self.schema.server_only:
                raise SchemaError(f"field {key!r} is written by the server only")
            if self._guest and key in self.schema.host_only:
                parent = span.slot[0] if span.slot is not None else None
                if not isinstance(parent, tuple) or not _deletes(update, parent):
                    raise SchemaError(f"field {key!r} is written by hosts only")

    def _already_deleted(self, client: int, start: int, end: int) -> bool:
        """[start, end) of `client` is in the document's delete set (read once per check, and
        only when a deletion touches a protected field: rare)."""
        if self.deleted is None:
            return False
        if self._gone is None:
            self._gone = {}
            for c, clock, length in decode_update(self.deleted(), 1 << 62).deletes:
                self._gone.setdefault(c, []).append((clock, clock + length))
            for ranges in self._gone.values():
                ranges.sort()
        at = start
        for lo, hi in self._gone.get(client, []):
            if lo > at:
                break
            at = max(at, hi)
            if at >= end:
                return True
        return False

    def _missing(self, s: Struct, local: StructIndex) -> ID | None:
        """The first struct `s` builds on that is neither integrated nor taken, or None."""
        if s.ref in (GC_REF, SKIP):
            return None
        tail = local.next_clock(s.client) or self.index.next_clock(s.client)
        if s.clock > tail:
            return (s.client, tail)  # a gap: what fills it is not in this update either
        for ref in (s.origin, s.parent_id):
            if ref is not None and self.index.find(ref) is None and local.find(ref) is None:
                return ref
        return None

    def _take(self, s: Struct, local: StructIndex, totals: list[int]) -> None:
        tail = local.next_clock(s.client) or self.index.next_clock(s.client)
        end = s.clock + s.length
        if s.ref == SKIP or end <= tail:
            return  # nothing, or integrated already (yrs skips it too)
        if s.clock > tail:
            raise Unresolved(f"gap in client {s.client}'s clocks")
        if s.clock < tail and s.ref != GC_REF:
            # yrs would integrate the tail under the item's own parent with the neighbour's key:
            # honest encoders never send such a part (they start at the state vector). Refused.
            raise SchemaError("an item overlapping what the server has")
        slot, is_map = self._place(s, local)
        self._asks.note(s, slot, is_map)
        local.add(s.client, max(s.clock, tail), end, slot, is_map)
        totals[0] += STRUCT_COST + s.size
        totals[1] += slot is not None and slot[0] == "" and s.ref == TYPE

    def _check_entries(self, new: int) -> None:
        if self.index.entries + new <= self.schema.max_entries:
            return
        if self.live_entries is not None:  # erased shapes free their places: count the living
            self.index.entries = self.live_entries()
        if self.index.entries + new > self.schema.max_entries:
            raise SchemaError("too many shapes on the board")

    def commit(self, checked: Checked) -> None:
        self.index.merge(checked.spans)
        self.index.entries += checked.entries

    def tails(self) -> dict[int, int]:
        """Per client, the clock the index says the document has reached."""
        return {client: spans[-1].end for client, spans in self.index.spans.items() if spans}

    def learn(self, data: bytes) -> int:
        """Index an update the document integrated without a check (the kernel's own writes,
        or one whose integrated form differs from what was checked); returns its cost."""
        checked = self.check_trusted(data)
        self.commit(checked)
        return checked.cost

    def check_trusted(self, data: bytes) -> Checked:
        try:
            return self.check(data, max_structs=1 << 62, trusted=True)
        except SchemaError:
            # The server's own transaction: index its structs wherever they claim to go.
            update = decode_update(data, max_structs=1 << 62)
            spans = StructIndex()
            for s in update.structs:
                spans.add(s.client, s.clock, s.clock + s.length, None, False)
            return Checked(spans, sum(STRUCT_COST + s.size for s in update.structs), 0)

    # -- where a struct goes --

    def _lookup(self, item: ID, local: StructIndex) -> Span:
        last = self._last
        if last is not None and last[0] == item[0] and last[1].start <= item[1] < last[1].end:
            return last[1]  # a shape's fields all name the same parent: one lookup for all
        span = self.index.find(item) or local.find(item)
        if span is None:
            raise Unresolved(f"reference to unknown item {item}")
        self._last = (item[0], span)
        return span

    def _place(self, s: Struct, local: StructIndex) -> tuple[Slot, bool]:
        if s.ref in (GC_REF, SKIP):
            return None, False
        if s.right_origin is not None:
            raise SchemaError("maps have no right origins: not a map entry")
        origin_slot: Slot = None
        if s.origin is not None:
            origin = self._lookup(s.origin, local)
            if origin.slot is None:
                _check_inert(s)
                return None, False  # its left neighbour is gone: yrs and yjs discard it
            origin_slot = origin.slot
            parent, key = origin.slot
        elif s.parent_root is not None:
            if s.parent_root != self.schema.root:
                raise SchemaError(f"unknown root {s.parent_root!r}")
            parent, key = "", s.parent_sub
        else:
            assert s.parent_id is not None
            shape = self._lookup(s.parent_id, local)
            if not shape.is_map:
                raise SchemaError("only shapes may hold fields")
            parent, key = s.parent_id, s.parent_sub
        if key is None:
            raise SchemaError("not a map entry (no key)")
        is_map = self._check_value(s, parent == "", key, known=origin_slot is ROOT_SLOT)
        shared = parent == "" and self.schema.entries_are_maps
        return (ROOT_SLOT if shared else (parent, key)), is_map

    def _check_value(self, s: Struct, at_root: bool, key: str, known: bool = False) -> bool:
        """`known`: the entry replaces one whose key was checked (the shared ROOT_SLOT)."""
        schema = self.schema
        if at_root and schema.entries_are_maps:
            bad_id = schema.entry_key is not None and not schema.entry_key.fullmatch(key)
            if bad_id and not known:
                raise SchemaError("bad shape id")
            if s.ref == TYPE and s.type_ref == YMAP:
                return True
            if s.ref == DELETED:
                return False
            raise SchemaError("a shape must be a map")
        check = schema.fields.get(key)
        if check is None:
            raise SchemaError(f"unknown field {key[:40]!r}")
        if key in schema.server_only and not self._trusted:
            raise SchemaError(f"field {key!r} is written by the server only")
        if key in schema.host_only and self._guest:
            raise SchemaError(f"field {key!r} is written by hosts only")
        if s.ref == DELETED:
            return False
        if s.ref == TYPE:
            raise SchemaError("nested types are not allowed")
        for value in s.values:
            if value is NOT_PLAIN or not check(value):
                raise SchemaError(f"field {key!r} out of bounds")
        return False


def _client_queues(update: Update) -> dict[int, deque[Struct]]:
    """Each client's structs in clock order. A client in two sections is refused: yrs appends
    the second to the first, clocks repeating, and would integrate what a check skipped."""
    queues: dict[int, deque[Struct]] = {}
    for first, _start, count in update.sections:
        if count == 0:
            continue
        client = update.structs[first].client
        if client in queues:
            raise SchemaError(f"client {client} appears twice in one update")
        queues[client] = deque(update.structs[first : first + count])
    return queues


def _covered(index: StructIndex, client: int, start: int, end: int) -> bool:
    """Is every clock of start..end one of the index's spans (this update's own structs)?"""
    while start < end:
        span = index.find((client, start))
        if span is None:
            return False
        start = span.end
    return True


def _deletes(update: Update, item: ID) -> bool:
    client, clock = item
    return any(c == client and k <= clock < k + n for c, k, n in update.deletes)


def _check_inert(s: Struct) -> None:
    """An item after a garbage-collected neighbour is discarded by yrs and yjs; still, never
    let a nested type or an unknown kind through on that path."""
    if s.ref not in (DELETED, ANY, BINARY) or any(v is NOT_PLAIN for v in s.values):
        raise SchemaError("nested types are not allowed")


# --- awareness states (docs/protocol.md, "Awareness state of each client") -----------------


def _anchor(v: Any) -> bool:
    return v is None or (
        type(v) is dict
        and set(v) <= {"cell", "x", "y"}
        and _text(200)(v.get("cell"))
        and _number(-COORD, COORD)(v.get("x"))
        and _number(-COORD, COORD)(v.get("y"))
    )


def _user(v: Any) -> bool:
    return (
        type(v) is dict
        and set(v) <= {"name", "color", "role"}
        and (v.get("name") is None or _text(100)(v["name"]))
        and (v.get("color") is None or (type(v["color"]) is str and len(v["color"]) <= 32))
        and v.get("role", "guest") in ("guest", "host")
    )


def _scroll(v: Any) -> bool:
    return v is None or (
        type(v) is dict
        and set(v) <= {"cell", "offset", "index", "count"}
        and _text(200)(v.get("cell"))
        and _number(-COORD, COORD)(v.get("offset"))
        and (v.get("index") is None or _integer(0, 1_000_000)(v["index"]))
        and (v.get("count") is None or _integer(0, 1_000_000)(v["count"]))
    )


def _lead_request(v: Any) -> bool:
    return (
        type(v) is dict
        and set(v) <= {"seq", "op", "to"}
        and _integer(0, 2**53)(v.get("seq"))
        and v.get("op") in ("take", "release", "hand")
        and (v.get("to") is None or _integer(0, 2**53)(v["to"]))
    )


# Meeting tools (issue 18): a short-lived reaction at a cell-relative point (a new `seq` is a
# new reaction), a raised hand, a cursor chat line (shown as text only, js/viewer/reactions.ts).
REACTIONS = ("up", "what", "look", "yay", "hand")
CHAT_TEXT = 60
SEQ_MAX = 2**53 - 1  # a safe integer: JSON.parse rounds 2**53 + 1 (relay/awareness.mjs SEQ_MAX)


def _react(v: Any) -> bool:
    return v is None or (
        type(v) is dict
        and set(v) <= {"n", "seq", "cell", "x", "y"}
        and _one_of(*REACTIONS)(v.get("n"))
        and _integer(0, SEQ_MAX)(v.get("seq"))
        and _text(200)(v.get("cell"))
        and _number(-COORD, COORD)(v.get("x"))
        and _number(-COORD, COORD)(v.get("y"))
    )


def _chat(v: Any) -> bool:
    return v is None or (
        type(v) is dict
        and set(v) <= {"text", "seq"}
        and _text(CHAT_TEXT)(v.get("text"))
        and _integer(0, SEQ_MAX)(v.get("seq"))
    )


AWARENESS_FIELDS: dict[str, Check] = {
    "user": _user,
    "cursor": _anchor,
    "laser": _anchor,
    "scroll": _scroll,
    "following": lambda v: v is None or _integer(0, 2**53)(v),
    "leadRequest": _lead_request,
    "react": _react,
    "hand": lambda v: type(v) is bool,
    "chat": _chat,
}


def check_awareness(state: dict) -> None:
    """Raise SchemaError unless every field of a client's awareness state is documented."""
    for key, value in state.items():
        check = AWARENESS_FIELDS.get(key)
        if check is None:
            raise SchemaError(f"unknown awareness field {key[:40]!r}")
        if not check(value):
            raise SchemaError(f"awareness field {key!r} out of bounds")
