"""Hand-made Yjs v1 updates for the attack tests: what no honest encoder writes (a client in two
sections, an item overlapping what the server has, clocks past u32, chains of maps) and yrs would
still integrate. Layout as in yjs/src/utils/encoding.js and yjs/src/structs/Item.js."""

from __future__ import annotations

import struct

from jupyterspot_magic.collab.codec import ANY, GC_REF, TYPE, YMAP, write_var_bytes, write_var_uint

ID = tuple[int, int]


def plain(value: object) -> bytes:
    """One lib0 `writeAny` value (float, str or None)."""
    if value is None:
        return b"\x7e"
    if isinstance(value, float):
        return b"\x7b" + struct.pack(">d", value)
    if isinstance(value, str):
        return b"\x77" + write_var_bytes(value.encode())
    raise TypeError(value)


def item(
    ref: int,
    content: bytes,
    origin: ID | None = None,
    root: str | None = None,
    parent: ID | None = None,
    key: str | None = None,
) -> bytes:
    info, body = ref, b""
    if origin is not None:
        info |= 0x80
        body += write_var_uint(origin[0]) + write_var_uint(origin[1])
    else:
        if key is not None:
            info |= 0x20
        if root is not None:
            body += b"\x01" + write_var_bytes(root.encode())
        else:
            assert parent is not None
            body += b"\x00" + write_var_uint(parent[0]) + write_var_uint(parent[1])
        if key is not None:
            body += write_var_bytes(key.encode())
    return bytes([info]) + body + content


def a_map(**where: object) -> bytes:
    return item(TYPE, bytes([YMAP]), **where)  # type: ignore[arg-type]


def a_value(value: object, **where: object) -> bytes:
    return item(ANY, b"\x01" + plain(value), **where)  # type: ignore[arg-type]


def gc(length: int) -> bytes:
    return bytes([GC_REF]) + write_var_uint(length)


def update(
    sections: list[tuple[int, int, list[bytes]]], deletes: list[tuple[int, int, int]] = ()
) -> bytes:
    """sections: (client, first clock, structs); deletes: (client, clock, length), one each."""
    w = write_var_uint
    out = w(len(sections))
    for client, clock, structs in sections:
        out += w(len(structs)) + w(client) + w(clock) + b"".join(structs)
    out += w(len(deletes))
    for client, clock, length in deletes:
        out += w(client) + b"\x01" + w(clock) + w(length)
    return out


def deletion(client: int, clock: int, length: int) -> bytes:
    """An update that only deletes (the 15-byte trigger of issue 11 row 1)."""
    return update([], [(client, clock, length)])


def nested_chain(client: int, depth: int, root: str = "shapes") -> bytes:
    """A shape `evil` holding `depth` maps each inside the previous one (issue 11 rows 1, 2)."""
    chain = [a_map(parent=(client, clock), key="k") for clock in range(depth)]
    return update([(client, 0, [a_map(root=root, key="evil"), *chain])])
