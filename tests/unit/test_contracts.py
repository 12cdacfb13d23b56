"""The JSON contracts (jupyterspot_magic/contracts/) against their readers and their docs.

`python -m tests.unit.test_contracts` rewrites docs/protocol.md's close-code table from the JSON.
"""

from __future__ import annotations

import base64
import json
import math
import re
import shutil
import struct
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from pycrdt import Doc, Map

from jupyterspot_magic.collab import close_codes
from jupyterspot_magic.collab.schema import (
    BOARD,
    SHAPE,
    SHAPE_FIELDS,
    SHAPE_ID,
    SchemaError,
    Validator,
)

from ..processes import REPO

PROTOCOL = REPO / "docs" / "protocol.md"
TABLE = re.compile(r"(<!-- close-codes:[^\n]*-->\n)(.*?)(<!-- /close-codes -->)", re.S)


def close_code_table() -> str:
    """docs/protocol.md's close-code table, as the JSON says it (sorted by code)."""
    rows = ["| code | name | retry | meaning |", "|---|---|---|---|"]
    for name, entry in sorted(close_codes.CLOSE_CODES.items(), key=lambda kv: kv[1]["code"]):
        rows.append(f"| **{entry['code']}** | `{name}` | {entry['retry']} | {entry['meaning']} |")
    return "\n".join(rows) + "\n"


def test_close_codes_json_is_well_formed() -> None:
    raw = json.loads(close_codes.CONTRACT.read_text(encoding="utf-8"))
    codes = [entry["code"] for entry in raw.values()]
    assert len(set(codes)) == len(codes), "two names share a code"
    for name, entry in raw.items():
        assert re.fullmatch(r"[a-z][a-z_]*", name), name
        assert set(entry) == {"code", "retry", "meaning"}, name
        code = entry["code"]
        assert type(code) is int and (code in (1001, 1013) or 4000 <= code < 5000), name
        assert entry["retry"] in close_codes.RETRY_POLICIES, name
        assert entry["meaning"] and "|" not in entry["meaning"], name


def test_python_constants_equal_the_json() -> None:
    constants = {
        name[len("CLOSE_") :].lower(): value
        for name, value in vars(close_codes).items()
        if name.startswith("CLOSE_") and name != "CLOSE_CODES"
    }
    assert constants == {name: entry["code"] for name, entry in close_codes.CLOSE_CODES.items()}


def test_protocol_md_table_equals_the_json() -> None:
    found = TABLE.search(PROTOCOL.read_text(encoding="utf-8"))
    assert found, "docs/protocol.md lost its <!-- close-codes --> markers"
    assert found.group(2) == close_code_table(), (
        "docs/protocol.md's close-code table differs from contracts/close_codes.json; "
        "run `python -m tests.unit.test_contracts` to rewrite it"
    )


# --- contracts/shape.json -------------------------------------------------------------------

# collab/schema.py's SHAPE_FIELDS as written by hand before the JSON existed (issue 11): the
# contract must keep every check and bound the server enforced.
SHAPE_BEFORE: dict[str, tuple] = {
    "t": ("enum", ("pen", "hl", "arrow", "rect", "ellipse", "text", "note", "ask")),  # ask: 18
    "cell": ("string", 200),
    "ci": ("integer", 0, 1_000_000),
    "x": ("number", -1e7, 1e7),
    "y": ("number", -1e7, 1e7),
    "pts": ("points",),
    "d": ("integer", 2, 3),
    "w": ("number", -1e7, 1e7),
    "h": ("number", -1e7, 1e7),
    "c": ("color", "#[0-9a-fA-F]{6}"),
    "s": ("number", 0, 1000),
    "text": ("string", 4000),
    "by": ("string", 200),
    "at": ("number", 0, 1e14),
    "ans": ("number", 0, 1e14),  # issue 18: when a question was answered
}


def as_before(spec: dict[str, Any]) -> tuple:
    kind = spec["type"]
    if kind == "enum":
        return kind, tuple(spec["values"])
    if kind == "string":
        return kind, spec["max"]
    if kind in ("integer", "number"):
        return kind, spec["min"], spec["max"]
    if kind == "color":
        return kind, spec["pattern"].removeprefix("^").removesuffix("$")
    return (kind,)


def test_shape_contract_keeps_the_servers_bounds() -> None:
    assert {key: as_before(spec) for key, spec in SHAPE["fields"].items()} == SHAPE_BEFORE
    assert (SHAPE["root"], SHAPE["maxShapes"], SHAPE["maxPointBytes"]) == (
        "shapes",
        100_000,
        20_000 * 3 * 4,
    )
    assert SHAPE["id"] == "^[A-Za-z0-9_.:-]{1,100}$"
    assert (BOARD.root, BOARD.max_entries, BOARD.entry_key) == ("shapes", 100_000, SHAPE_ID)


def test_shape_kinds_name_documented_fields() -> None:
    fields = SHAPE["fields"]
    assert list(SHAPE["kinds"]) == fields["t"]["values"]
    for kind, spec in SHAPE["kinds"].items():
        assert set(spec) == {"required", "writes"}, kind
        assert spec["required"] == ["t"], kind  # readShape defaults every other field
        assert set(spec["writes"]) <= set(fields) and "t" in spec["writes"], kind
        assert ("pts" in spec["writes"]) == (kind in ("pen", "hl")), kind
        assert ("text" in spec["writes"]) == (kind in ("text", "note", "ask")), kind


def probes(spec: dict[str, Any]) -> Iterator[tuple[Any, bool]]:
    """Values at and just past each bound of one field, with whether the JSON allows them."""
    kind = spec["type"]
    wrong_types = [None, True, ["a"], {"a": 1}]
    yield from ((v, False) for v in wrong_types)
    if kind == "enum":
        yield from ((v, True) for v in spec["values"])
        yield from (("star", False), (spec["values"][0].upper(), False), (b"pen", False))
    elif kind == "string":
        n = spec["max"]
        yield from (("", True), ("x" * n, True), ("x" * (n + 1), False), (1, False))
    elif kind in ("integer", "number"):
        lo, hi = spec["min"], spec["max"]
        yield from ((lo, True), (hi, True), (float(lo), True), (float(hi), True))
        yield from ((lo - 1, False), (hi + 1, False), (math.nan, False), (math.inf, False))
        yield from ((-math.inf, False), (str(lo), False))
        yield (lo + 0.5, kind == "number")  # yjs writes integers as varints, yrs as float64
    elif kind == "color":
        yield from (("#a1B2c3", True), ("#a1b2c", False), ("#a1b2c3\n", False))
        yield from ((" #a1b2c3", False), ("red", False), ("#a1b2c3f", False))
    elif kind == "points":
        n = SHAPE["maxPointBytes"]
        yield from ((b"", True), (bytes(4), True), (bytes(n), True), (bytes(n + 4), False))
        yield from ((bytes(5), False), (bytearray(4), False), ("abcd", False))
    else:
        raise AssertionError(f"no probes for {kind!r}")


@pytest.mark.parametrize("key", list(SHAPE["fields"]))
def test_each_python_check_equals_its_json_field(key: str) -> None:
    check = SHAPE_FIELDS[key]
    for value, allowed in probes(SHAPE["fields"][key]):
        assert check(value) is allowed, (key, value)


def at_the_bounds(kind: str) -> dict[str, Any]:
    """A shape of `kind` with every field its encoder writes at the JSON's upper bound."""
    fields: dict[str, Any] = {}
    for key in SHAPE["kinds"][kind]["writes"]:
        spec = SHAPE["fields"][key]
        if key == "t":
            fields[key] = kind
        elif spec["type"] == "string":
            fields[key] = "é" * spec["max"]  # bounds count characters, not UTF-8 bytes
        elif spec["type"] in ("integer", "number"):
            fields[key] = float(spec["max"])  # what pycrdt writes for every number
        elif spec["type"] == "color":
            fields[key] = "#C2255c"
        elif spec["type"] == "points":
            d = 3
            values = [float(i % 977) / 8 for i in range(SHAPE["maxPointBytes"] // 4)]
            fields[key] = struct.pack(f"<{len(values)}f", *values)
            fields["d"] = float(d)
    return fields


def shape_update(shape_id: str, fields: dict[str, Any]) -> bytes:
    doc = Doc()
    doc.get("shapes", type=Map)[shape_id] = Map(fields)
    return doc.get_update()


@pytest.mark.parametrize("kind", list(SHAPE["kinds"]))
def test_a_shape_at_the_bounds_round_trips_through_the_checked_room(kind: str) -> None:
    fields = at_the_bounds(kind)
    shape_id = "A" * 100
    update = shape_update(shape_id, fields)
    validator = Validator(BOARD)
    validator.commit(validator.check(update))  # accepted as a guest's write
    doc = Doc()
    doc.apply_update(update)
    back = doc.get("shapes", type=Map)[shape_id].to_py()
    assert back == fields
    if "pts" in fields:  # Float32 little-endian, d numbers per point, as the viewer reads them
        n = len(back["pts"]) // 4
        points = struct.unpack(f"<{n}f", back["pts"])
        assert n % int(back["d"]) == 0 and points[:4] == (0.0, 0.125, 0.25, 0.375)


@pytest.mark.parametrize("key", list(SHAPE["fields"]))
def test_every_value_past_a_bound_is_refused_by_the_room(key: str) -> None:
    refused = [v for v, allowed in probes(SHAPE["fields"][key]) if not allowed]
    for value in refused:
        if type(value) is bytearray:
            continue  # pycrdt cannot write one; the check above refuses it
        shape = {"t": "pen", key: value} if key != "t" else {key: value}
        with pytest.raises(SchemaError, match="out of bounds"):
            Validator(BOARD).check(shape_update("s1", shape))


def test_shape_id_pattern_is_anchored() -> None:
    for shape_id, allowed in [("k1-mwq3h2cv-a1", True), ("A" * 100, True), ("A" * 101, False)]:
        validator = Validator(BOARD)
        update = shape_update(shape_id, {"t": "pen"})
        if allowed:
            validator.check(update)
        else:
            with pytest.raises(SchemaError, match="bad shape id"):
                validator.check(update)
    assert SHAPE_ID.fullmatch("a1\n") is None and SHAPE_ID.fullmatch("") is None


BENCH_STROKES = """
import * as Y from 'yjs'
import { addShape, penFields, penPoints } from './bench/board_writes.mjs'
const doc = new Y.Doc(); const out = []
doc.on('update', (u) => out.push(Buffer.from(u).toString('base64')))
let seed = 3; const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647
for (const d of [2, 3]) addShape(doc, penFields({ k: d, points: penPoints(64, d, rnd), d }))
console.log(JSON.stringify(out))
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_the_benchmarks_write_shapes_the_contract_allows() -> None:
    """bench/strokes.mjs, fanout.mjs, soak.mjs and schema_updates.mjs write their strokes with
    bench/board_writes.mjs: each is accepted and holds exactly the pen encoder's fields."""
    out = subprocess.run(
        ["node", "--input-type=module", "-e", BENCH_STROKES],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    validator, doc = Validator(BOARD), Doc()
    for update in map(base64.b64decode, json.loads(out)):
        validator.commit(validator.check(update))
        doc.apply_update(update)
    shapes = doc.get("shapes", type=Map).to_py()
    assert len(shapes) == 2
    for shape in shapes.values():
        assert sorted(shape) == sorted(SHAPE["kinds"]["pen"]["writes"])


if __name__ == "__main__":
    text = PROTOCOL.read_text(encoding="utf-8")
    PROTOCOL.write_text(
        TABLE.sub(lambda m: m.group(1) + close_code_table() + m.group(3), text), encoding="utf-8"
    )
