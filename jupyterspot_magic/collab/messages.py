"""y-websocket's messages as this server reads and writes them: the message types, lib0 values
at a position, the sync and awareness messages (y-protocols `sync.js` / `awareness.js`), and the
websocket frame the server writes itself. Pure: what a room does with them is room.py's job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .close_codes import CLOSE_BAD_FRAME
from .codec import Reader, SchemaError, write_var_bytes, write_var_uint

SYNC, AWARENESS, AUTH, QUERY_AWARENESS = 0, 1, 2, 3
STEP1, STEP2, UPDATE = 0, 1, 2
EMPTY_UPDATE = b"\x00\x00"


class ProtocolError(Exception):
    """A frame that is not valid y-websocket: the sender is disconnected."""

    code = CLOSE_BAD_FRAME


# --- lib0 encoding -------------------------------------------------------------------------


def _read_at(buf: bytes, pos: int, read: Callable[[Reader], Any]) -> tuple[Any, int]:
    """One lib0 value at `pos` (codec.Reader is the one decoder) and the position after it."""
    reader = Reader(buf)
    reader.pos = pos
    try:
        return read(reader), reader.pos
    except SchemaError as e:
        raise ProtocolError(str(e)) from None


def read_var_uint(buf: bytes, pos: int) -> tuple[int, int]:
    return _read_at(buf, pos, Reader.var_uint)


def read_var_bytes(buf: bytes, pos: int) -> tuple[bytes, int]:
    return _read_at(buf, pos, Reader.var_bytes)


def ws_frame(message: bytes) -> bytes:
    """A server-to-client binary websocket frame (final, unmasked, uncompressed)."""
    n = len(message)
    if n < 126:
        return bytes([0x82, n]) + message
    if n < 65536:
        return bytes([0x82, 126]) + n.to_bytes(2, "big") + message
    return bytes([0x82, 127]) + n.to_bytes(8, "big") + message


def sync_message(kind: int, payload: bytes) -> bytes:
    return bytes([SYNC, kind]) + write_var_bytes(payload)


# --- awareness -----------------------------------------------------------------------------


@dataclass
class AwarenessEntry:
    clock: int
    state: str | None  # the client's JSON text, relayed verbatim; None = removed


def decode_awareness(update: bytes) -> list[tuple[int, int, str]]:
    count, pos = read_var_uint(update, 0)
    entries = []
    for _ in range(count):
        client_id, pos = read_var_uint(update, pos)
        clock, pos = read_var_uint(update, pos)
        raw, pos = read_var_bytes(update, pos)
        try:
            entries.append((client_id, clock, raw.decode("utf-8")))
        except UnicodeDecodeError as e:
            raise ProtocolError("awareness state is not UTF-8") from e
    return entries


def encode_awareness(entries: Iterable[tuple[int, AwarenessEntry]]) -> bytes:
    items = list(entries)
    parts = [write_var_uint(len(items))]
    for client_id, entry in items:
        state = "null" if entry.state is None else entry.state
        parts += [write_var_uint(client_id), write_var_uint(entry.clock)]
        parts.append(write_var_bytes(state.encode()))
    update = b"".join(parts)
    return bytes([AWARENESS]) + write_var_bytes(update)
