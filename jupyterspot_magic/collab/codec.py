"""The Yjs update format v1 (`yjs/src/utils/encoding.js`) and lib0's primitives, decoded by the
server itself: what pycrdt would integrate, read before pycrdt ever sees the bytes.

Decoding is strict and bounded (struct count, clock range, nesting depth of values, content kinds
our documents never hold unless `permissive`), so a hostile update costs a bounded walk and
nothing recursive. What the decoded structs may contain is schema.py's job; y-websocket's
messages are built from the same lib0 primitives (messages.py).

Everything here is pure; nothing is thread-safe on purpose.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

# Content refs (low 5 bits of an item's info byte), yjs/src/structs/Item.js `contentRefs`.
GC_REF, DELETED, JSON_REF, BINARY, STRING, EMBED, FORMAT, TYPE, ANY, DOC, SKIP = range(11)
YMAP = 1  # ContentType type ref of Y.Map (yjs/src/types/YMap.js YMapRefID)
BIT8, BIT7, BIT6, BITS5 = 0x80, 0x40, 0x20, 0x1F

# One update is decoded on the server loop: ~10 us a struct idle (35 under load), so 50,000
# structs (about 4,000 shapes, e.g. a long offline session's reconnect) stall it <= 0.5-1.7 s.
MAX_STRUCTS_PER_UPDATE = 50_000
# yrs counts clocks in u32: a struct past it wraps around and corrupts yrs' memory (found by
# review: a 17-byte GC struct of length 2^32 - 2 then a read of the board: SIGSEGV).
MAX_CLOCK = 1 << 31


class SchemaError(Exception):
    """An update the server refuses, malformed here or outside the documented schema (schema.py);
    the message is one line for the log."""


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


NOT_PLAIN = object()  # an Any value that is an object, array or bigint: never allowed here
MAX_ANY_DEPTH = 32  # yrs reads nested values recursively: deeper is refused before it sees them


def read_any(r: Reader) -> Any:
    """One lib0 `writeAny` value. Objects, arrays and bigints are skipped over (every byte must
    be consumed exactly as yrs would, or what we check is not what yrs applies) and come back as
    NOT_PLAIN: nothing in our schemas is one."""
    tag = r.uint8()
    if tag in (122, 118, 117):
        _skip_compound(r, tag)
        return NOT_PLAIN
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
