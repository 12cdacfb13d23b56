"""The documents' schema, enforced on every update before the server applies it.

A Yjs update is a list of structs per client (items with content, GC and Skip ranges) and a
delete set. yrs and yjs integrate whatever structs arrive, at any depth, of any type: a guest
could build a chain of 40,000 nested maps (yrs' recursive delete then overflows the kernel's
stack) or 2,000 (every browser's `Item.gc` overflows). So the server decodes each incoming update
itself (Yjs update format v1, `yjs/src/utils/encoding.js`) and accepts only what
`docs/protocol.md` describes, before pycrdt ever sees the bytes:

- board: the root map `shapes`; each entry a `Y.Map` (a shape) keyed by a shape id; inside a
  shape only the documented fields, each a plain value of the documented type and bound
  (`pts` as bytes); deletions. Nothing nested deeper, no other root, no other content kind.
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
import math
import re
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Content refs (low 5 bits of an item's info byte), yjs/src/structs/Item.js `contentRefs`.
GC_REF, DELETED, JSON_REF, BINARY, STRING, EMBED, FORMAT, TYPE, ANY, DOC, SKIP = range(11)
YMAP = 1  # ContentType type ref of Y.Map (yjs/src/types/YMap.js YMapRefID)
BIT8, BIT7, BIT6, BITS5 = 0x80, 0x40, 0x20, 0x1F

# What one struct costs the server beyond its content bytes: yrs' item and map bookkeeping
# (~500 B for a shape map with a field, measured: 100,000 structs of 50,000 one-field shapes
# applied to a fresh Doc grew RSS by 48 MB) plus this module's index (< 300 B, less for a key
# overwritten again and again). Used for the room's budget, so memory follows decoded cost.
STRUCT_COST = 600
# One update is decoded on the server loop: ~10 us a struct idle (35 under load), so 50,000
# structs (about 4,000 shapes, e.g. a long offline session's reconnect) stall it <= 0.5-1.7 s.
MAX_STRUCTS_PER_UPDATE = 50_000
# yrs counts clocks in u32: a struct past it wraps around and corrupts yrs' memory (found by
# review: a 17-byte GC struct of length 2^32 - 2 then a read of the board: SIGSEGV).
MAX_CLOCK = 1 << 31


class SchemaError(Exception):
    """An update the documented schema does not allow; the message is one line for the log."""


class Unresolved(SchemaError):
    """An update that depends on structs the server does not have (yet): ask for a resync."""


# --- lib0 decoding -------------------------------------------------------------------------


class Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def uint8(self) -> int:
        if self.pos >= len(self.buf):
            raise SchemaError("truncated update")
        self.pos += 1
        return self.buf[self.pos - 1]

    def var_uint(self) -> int:
        buf, pos = self.buf, self.pos
        if pos < len(buf) and buf[pos] < 0x80:  # most are one byte: the fast path
            self.pos = pos + 1
            return buf[pos]
        value = shift = 0
        while True:
            if pos >= len(buf) or shift > 56:
                raise SchemaError("truncated or oversized varuint")
            byte = buf[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                self.pos = pos
                return value

    def var_int(self) -> int:
        first = self.uint8()
        value, sign = first & 0x3F, -1 if first & 0x40 else 1
        if first < 0x80:
            return sign * value
        shift = 6
        while True:
            byte = self.uint8()
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return sign * value
            if shift > 56:
                raise SchemaError("oversized varint")

    def raw(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.buf):
            raise SchemaError("truncated update")
        out = self.buf[self.pos : end]
        self.pos = end
        return out

    def var_bytes(self) -> bytes:
        return self.raw(self.var_uint())

    def string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise SchemaError("string is not UTF-8") from None


_NOT_PLAIN = object()  # an Any value that is an object, array or bigint: never allowed here
MAX_ANY_DEPTH = 32  # yrs reads nested values recursively: deeper is refused before it sees them


def read_any(r: Reader) -> Any:
    """One lib0 `writeAny` value. Objects, arrays and bigints are skipped over (every byte must
    be consumed exactly as yrs would, or what we check is not what yrs applies) and come back as
    _NOT_PLAIN: nothing in our schemas is one."""
    tag = r.uint8()
    if tag in (122, 118, 117):
        _skip_compound(r, tag)
        return _NOT_PLAIN
    return _read_plain(r, tag)


def _read_plain(r: Reader, tag: int) -> Any:
    if tag == 127 or tag == 126:
        return None
    if tag == 125:
        return r.var_int()
    if tag == 124:
        return struct.unpack(">f", r.raw(4))[0]
    if tag == 123:
        return struct.unpack(">d", r.raw(8))[0]
    if tag == 121 or tag == 120:
        return tag == 120
    if tag == 119:
        return r.string()
    if tag == 116:
        return r.var_bytes()
    raise SchemaError(f"unknown value tag {tag}")


def _skip_compound(r: Reader, tag: int) -> None:
    """Walk a bigint, object or array without recursion; refuse nesting past MAX_ANY_DEPTH."""
    stack: list[list[int]] = []  # open objects (118) / arrays (117) and the values left in each
    while True:
        if tag == 122:
            r.raw(8)
        elif tag in (118, 117):
            if len(stack) >= MAX_ANY_DEPTH:
                raise SchemaError("value nested too deeply")
            stack.append([tag, r.var_uint()])
        else:
            _read_plain(r, tag)
        while stack and stack[-1][1] == 0:
            stack.pop()
        if not stack:
            return
        stack[-1][1] -= 1
        if stack[-1][0] == 118:
            r.string()  # an object entry's key
        tag = r.uint8()


# --- structs -------------------------------------------------------------------------------

ID = tuple[int, int]  # (client, clock)


@dataclass(slots=True)
class Struct:
    client: int
    clock: int
    length: int
    ref: int  # content ref; GC_REF / SKIP for non-items
    origin: ID | None = None
    right_origin: ID | None = None
    parent_root: str | None = None
    parent_id: ID | None = None
    parent_sub: str | None = None
    type_ref: int | None = None  # ContentType
    values: list[Any] = field(default_factory=list)  # ContentAny / ContentBinary
    size: int = 0  # content bytes (for the cost)
    end: int = 0  # where its encoding ends in the update (split_update copies the bytes)


@dataclass
class Update:
    structs: list[Struct]
    deletes: list[tuple[int, int, int]]  # (client, clock, length)
    sections: list[tuple[int, int, int]] = field(default_factory=list)  # (first struct, start, n)
    delete_start: int = 0


def decode_update(
    data: bytes, max_structs: int = MAX_STRUCTS_PER_UPDATE, permissive: bool = False
) -> Update:
    """Decode a Yjs v1 update. `permissive`: also walk content kinds our documents never hold
    (text, JSON, embeds, formats, subdocs) instead of refusing them: for reading clock ranges
    of stored rows, never for accepting content."""
    r = Reader(data)
    structs: list[Struct] = []
    sections = []
    for _ in range(r.var_uint()):
        count, client, clock = r.var_uint(), r.var_uint(), r.var_uint()
        if len(structs) + count > max_structs:
            raise SchemaError("too many structs in one update")
        sections.append((len(structs), r.pos, count))
        for _ in range(count):
            s = _read_struct(r, client, clock, permissive)
            s.end = r.pos
            structs.append(s)
            clock += s.length
            if clock > MAX_CLOCK:
                raise SchemaError("clock out of range")
    delete_start = r.pos
    deletes = []
    for _ in range(r.var_uint()):
        client = r.var_uint()
        for _ in range(r.var_uint()):
            deletes.append((client, r.var_uint(), r.var_uint()))
    if r.pos != len(data):
        raise SchemaError("trailing bytes after the update")
    return Update(structs, deletes, sections, delete_start)


def split_update(data: bytes, limit: int) -> list[bytes]:
    """Cut one (trusted, server-made) update into updates of about `limit` bytes, in order:
    runs of one client's structs, the delete set last. Applied in order they equal `data`; a
    piece whose references come later waits in the client's pending structs until they do."""
    update = decode_update(data, max_structs=1 << 62)  # the server's own state: no cap
    pieces: list[bytes] = []
    empty_deletes = b"\x00"
    for first, start, count in update.sections:
        run = update.structs[first : first + count]
        i = 0
        while i < count:
            j, begin = i, start if i == 0 else run[i - 1].end
            while j < count and (j == i or run[j].end - begin <= limit):
                j += 1
            head = write_var_uint(1) + write_var_uint(j - i) + write_var_uint(run[i].client)
            head += write_var_uint(run[i].clock)
            pieces.append(head + data[begin : run[j - 1].end] + empty_deletes)
            i = j
    pieces.append(b"\x00" + data[update.delete_start :])  # no structs, every deletion
    return pieces


def write_var_bytes(data: bytes) -> bytes:
    return write_var_uint(len(data)) + data


def write_var_uint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    out.append(n)
    return bytes(out)


def _read_struct(r: Reader, client: int, clock: int, permissive: bool = False) -> Struct:
    info = r.uint8()
    ref = info & BITS5
    if ref in (GC_REF, SKIP):
        return Struct(client, clock, _length(r.var_uint()), ref)
    s = Struct(client, clock, 1, ref)
    if info & BIT8:
        s.origin = _id(r)
    if info & BIT7:
        s.right_origin = _id(r)
    if not info & (BIT8 | BIT7):
        if r.var_uint() == 1:
            s.parent_root = r.string()
        else:
            s.parent_id = _id(r)
        if info & BIT6:
            s.parent_sub = r.string()
    _read_content(r, s, permissive)
    return s


def _skip_other_content(r: Reader, ref: int) -> int:
    """Walk content our schemas refuse; its clock length (a string counts UTF-16 units)."""
    if ref == JSON_REF:
        n = _length(r.var_uint())
        for _ in range(n):
            r.var_bytes()
        return n
    if ref == STRING:
        text = r.var_bytes().decode("utf-8", "surrogatepass")
        return len(text.encode("utf-16-le", "surrogatepass")) // 2  # yrs writes empty ones too
    if ref == FORMAT:
        r.var_bytes()
    r.var_bytes()  # embed / format: JSON text; doc: its guid
    if ref == DOC:
        read_any(r)
    return 1


def _length(n: int) -> int:
    if n < 1 or n > MAX_CLOCK:
        raise SchemaError("bad struct length")
    return n


def _id(r: Reader) -> ID:
    client, clock = r.var_uint(), r.var_uint()
    if clock >= MAX_CLOCK:
        raise SchemaError("clock out of range")
    return client, clock


def _read_content(r: Reader, s: Struct, permissive: bool = False) -> None:
    start = r.pos
    if s.ref == DELETED:
        s.length = _length(r.var_uint())
    elif s.ref == BINARY:
        s.values = [r.var_bytes()]
    elif s.ref == ANY:
        s.length = _length(r.var_uint())
        if s.length > 64 and not permissive:  # an array's run; a map entry holds one value
            raise SchemaError("too many values in one item")
        s.values = [read_any(r) for _ in range(s.length)]
    elif s.ref == TYPE:
        s.type_ref = r.var_uint()
        if s.type_ref in (3, 5):  # XmlElement / XmlHook carry a name
            r.string()
        elif s.type_ref > 6:  # e.g. yrs' weak links carry more: unknown bytes are never skipped
            raise SchemaError(f"type {s.type_ref} is not allowed")
    elif s.ref in (JSON_REF, STRING, EMBED, FORMAT, DOC):
        if not permissive:
            raise SchemaError(f"content kind {s.ref} is not allowed")
        s.length = _skip_other_content(r, s.ref)
    else:
        raise SchemaError(f"unknown content kind {s.ref}")
    s.size = r.pos - start


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


def _points(v: Any) -> bool:
    return type(v) is bytes and len(v) % 4 == 0 and len(v) <= MAX_POINT_BYTES


COLOR = re.compile(r"#[0-9a-fA-F]{6}")
SHAPE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
MAX_POINT_BYTES = 20_000 * 3 * 4  # js/viewer/board/shapes.ts MAX_POINTS x,y,pressure Float32
COORD = 1e7  # reference px; the viewer clamps to 1e6 when drawing

SHAPE_FIELDS: dict[str, Check] = {
    "t": _one_of("pen", "hl", "arrow", "rect", "ellipse", "text", "note"),
    "cell": _text(200),
    "ci": _integer(0, 1_000_000),
    "x": _number(-COORD, COORD),
    "y": _number(-COORD, COORD),
    "pts": _points,
    "d": _integer(2, 3),
    "w": _number(-COORD, COORD),
    "h": _number(-COORD, COORD),
    "c": lambda v: type(v) is str and COLOR.fullmatch(v) is not None,
    "s": _number(0, 1000),
    "text": _text(4000),
    "by": _text(200),
    "at": _number(0, 1e14),
}

CONTROL_FIELDS: dict[str, Check] = {
    "leader": lambda v: v is None or _integer(0, 2**53)(v),
    "leadPolicy": _one_of("anyone", "host"),
    "drawPolicy": _one_of("everyone", "host"),
    "version": _text(200),
    "title": _text(1000),
    "recall": _integer(0, 2**53),
}


@dataclass(frozen=True)
class DocSchema:
    """One root map; its entries are maps of `fields` (board) or plain `fields` (control)."""

    root: str
    fields: dict[str, Check]
    entries_are_maps: bool
    entry_key: re.Pattern | None = None
    max_entries: int = 1_000_000


BOARD = DocSchema("shapes", SHAPE_FIELDS, True, SHAPE_ID, max_entries=100_000)
CONTROL = DocSchema("control", CONTROL_FIELDS, False)


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


class Validator:
    """Checks updates for one document; `commit` what the document actually integrated."""

    def __init__(self, schema: DocSchema, live_entries: Callable[[], int] | None = None) -> None:
        self.schema = schema
        self.index = StructIndex()
        self.live_entries = live_entries  # the document's entry count now (max_entries check)
        self._last: tuple[int, Span] | None = None  # the span _lookup found last

    def check(self, data: bytes, max_structs: int = MAX_STRUCTS_PER_UPDATE) -> Checked:
        """Raise SchemaError (or Unresolved) unless every struct fits the schema.

        Structs are taken in the order yrs integrates them (`BlockPicker` in yrs' update.rs):
        each client's in clock order, switching to another client of the same update when a
        struct names one of its structs not taken yet (yjs writes clients in descending id
        order, so an honest reconnect often names a later section)."""
        update = decode_update(data, max_structs)
        self._last = None  # spans of a rejected update must not be found again
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
        for _client, clock, length in update.deletes:
            if length < 1 or clock + length > MAX_CLOCK:
                raise SchemaError("bad delete range")
        self._check_entries(totals[1])
        return Checked(local, totals[0], totals[1])

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
            return self.check(data, max_structs=1 << 62)
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
        if s.ref == DELETED:
            return False
        if s.ref == TYPE:
            raise SchemaError("nested types are not allowed")
        for value in s.values:
            if value is _NOT_PLAIN or not check(value):
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


def _check_inert(s: Struct) -> None:
    """An item after a garbage-collected neighbour is discarded by yrs and yjs; still, never
    let a nested type or an unknown kind through on that path."""
    if s.ref not in (DELETED, ANY, BINARY) or any(v is _NOT_PLAIN for v in s.values):
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


AWARENESS_FIELDS: dict[str, Check] = {
    "user": _user,
    "cursor": _anchor,
    "laser": _anchor,
    "scroll": _scroll,
    "following": lambda v: v is None or _integer(0, 2**53)(v),
    "leadRequest": _lead_request,
}


def check_awareness(state: dict) -> None:
    """Raise SchemaError unless every field of a client's awareness state is documented."""
    for key, value in state.items():
        check = AWARENESS_FIELDS.get(key)
        if check is None:
            raise SchemaError(f"unknown awareness field {key[:40]!r}")
        if not check(value):
            raise SchemaError(f"awareness field {key!r} out of bounds")
