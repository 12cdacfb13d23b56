"""Reading stored Yjs updates defensively: one row at a time, a bad row skipped, not fatal.

An unreadable row, or one the board schema rejects, is skipped and counted; the hole it leaves in
its client's clock range is filled with a GC struct, else yjs clients would hold every later change
of that client back as "missing".
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..base.text import one_line
from ..collab.codec import SchemaError, decode_update, write_var_uint


class BadRow(Exception):
    """One stored update that cannot be applied (undecodable, or rejected by the board schema)."""


def client_ranges(update: bytes) -> dict[int, tuple[int, int]]:
    """Per client, the clock range [first, end) of its structs in a Yjs v1 update.

    ValueError when the bytes are not a well-formed update (what yrs would refuse too). The
    walk is the board schema's decoder (jupyterspot_magic/collab/codec.py), in its permissive mode.
    """
    try:
        decoded = decode_update(update, max_structs=1 << 62, permissive=True)
    except SchemaError as e:
        raise ValueError(str(e)) from None
    ranges: dict[int, tuple[int, int]] = {}
    for s in decoded.structs:
        start, end = ranges.get(s.client, (s.clock, s.clock + s.length))
        ranges[s.client] = (min(start, s.clock), max(end, s.clock + s.length))
    return ranges


def clock_ends(update: bytes) -> dict[int, int]:
    """Per client, the clock an update reaches ({} if it cannot be walked)."""
    try:
        return {client: end for client, (_, end) in client_ranges(update).items()}
    except ValueError:
        return {}


def gc_fill(client: int, start: int, length: int) -> bytes:
    """An update holding one GC struct: what a lost row's clock range becomes (gone for good)."""
    w = write_var_uint  # one section, one struct: GC (info 0) of `length`; no deletions
    return b"\x01\x01" + w(client) + w(start) + b"\x00" + w(length) + b"\x00"


def apply_one(target: Any, update: bytes) -> None:
    """Apply one stored update to a Room (through its board schema when it has one) or a Doc.

    Raises BadRow for anything pycrdt or the schema refuses. yrs panics surface as pyo3's
    PanicException, a BaseException: caught too, but a Ctrl-C still stops us.
    """
    apply = getattr(target, "apply_stored", None)
    if apply is None:
        apply = getattr(target, "doc", target).apply_update
    try:
        apply(update)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:
        raise BadRow(one_line(e, kind=True)) from None


def apply_checkpoint(target: Any, checkpoint: bytes | None) -> tuple[dict[int, int], BadRow | None]:
    """Apply a stored checkpoint (if any) first: (per client, the clock it reaches; None).

    ({}, why) when it cannot be used: then every row must be replayed, not only those after it.
    """
    if checkpoint is None:
        return {}, None
    try:
        apply_one(target, checkpoint)
    except BadRow as e:
        return {}, e
    return clock_ends(checkpoint), None


@dataclass
class Replay:
    """What restoring a run of rows did."""

    applied: int = 0
    skipped: int = 0
    filled: int = 0  # lost clock ranges replaced by GC structs
    reasons: list[str] = field(default_factory=list)
    ends: dict[int, int] = field(default_factory=dict)  # per client, the clock reached


def replay(target: Any, rows: Iterable[bytes], ends: dict[int, int] | None = None) -> Replay:
    """Apply rows in order, each on its own: a bad row is skipped, every other row is kept."""
    doc = getattr(target, "doc", target)
    out = Replay(ends=dict(ends or {}))
    for row in rows:
        try:
            ranges = client_ranges(row)
        except ValueError as e:
            out.skipped += 1
            out.reasons.append(f"undecodable: {e}")
            continue
        for client, (start, _) in ranges.items():
            have = out.ends.get(client, 0)
            if start > have:  # a skipped row held [have, start): yjs would wait for it forever
                with contextlib.suppress(Exception):
                    doc.apply_update(gc_fill(client, have, start - have))
                    out.ends[client] = start
                    out.filled += 1
        try:
            apply_one(target, row)
        except BadRow as e:
            out.skipped += 1
            out.reasons.append(str(e))
            continue
        out.applied += 1
        for client, (_, end) in ranges.items():
            out.ends[client] = max(out.ends.get(client, 0), end)
    return out
