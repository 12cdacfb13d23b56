"""The board schema's decoder and checks, on their own (no server, no browser): what the rooms
rely on to refuse hostile updates without ever misreading an honest one."""

from __future__ import annotations

import random

import pytest
from pycrdt import Array, Doc, Map, Text

from jupyterspot_magic.collab.codec import Reader, decode_update, split_update
from jupyterspot_magic.collab.schema import (
    BOARD,
    CONTROL,
    SchemaError,
    Unresolved,
    Validator,
    check_awareness,
)
from jupyterspot_magic.persist.replay import client_ranges

from .. import forge
from ..room_server import valid_shape


def updates_of(build) -> list[bytes]:
    doc = Doc()
    out: list[bytes] = []
    doc.observe(lambda event: out.append(event.update))
    build(doc)
    return out


def accept_all(validator: Validator, updates: list[bytes]) -> None:
    for update in updates:
        validator.commit(validator.check(update))


def test_the_viewers_shapes_and_edits_are_accepted():
    def draw(doc: Doc) -> None:
        shapes = doc.get("shapes", type=Map)
        shapes["k1-mwq3h2cv-a1"] = valid_shape(t="pen", pts=bytes(48), d=3)
        shapes["k1-mwq3h2cv-a1"]["pts"] = bytes(96)  # grows while drawn
        shapes["k1-mwq3h2cv-a1"]["x"] = 5.5  # moved
        shapes["n2"] = valid_shape(t="note", text="hello <b>", w=120.0)
        del shapes["n2"]  # erased
        shapes["n2"] = valid_shape(t="text", text="again")  # same id, new map

    accept_all(Validator(BOARD), updates_of(draw))


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"t": "star"}, "out of bounds"),
        ({"c": "red"}, "out of bounds"),
        ({"pts": bytes(5)}, "out of bounds"),
        ({"pts": bytes(240_004)}, "out of bounds"),
        ({"x": float("nan")}, "out of bounds"),
        ({"ci": -1.0}, "out of bounds"),
        ({"d": 4.0}, "out of bounds"),
        ({"text": "x" * 4001}, "out of bounds"),
        ({"cell": ["a"]}, "out of bounds"),
        ({"zz": 1.0}, "unknown field"),
        ({"nested": Map({"a": 1.0})}, "unknown field"),
    ],
)
def test_fields_outside_the_documented_bounds_are_refused(fields, why):
    validator = Validator(BOARD)
    (update,) = updates_of(lambda d: d.get("shapes", type=Map).__setitem__("s", Map(fields)))
    with pytest.raises(SchemaError, match=why):
        validator.check(update)


def test_a_nested_map_inside_a_shape_field_is_refused():
    validator = Validator(BOARD)

    def build(doc: Doc) -> None:
        shape = valid_shape()
        doc.get("shapes", type=Map)["s"] = shape
        shape["c"] = Map({"x": 1.0})

    first, second = updates_of(build)
    validator.commit(validator.check(first))
    with pytest.raises(SchemaError, match="nested types"):
        validator.check(second)


def test_chains_other_roots_and_other_content_kinds_are_refused():
    validator = Validator(BOARD)
    with pytest.raises(SchemaError):
        validator.check(forge.nested_chain(7, 40_000))
    with pytest.raises(SchemaError, match="unknown root"):
        validator.check(forge.nested_chain(7, 0, root="strokes"))
    (text,) = updates_of(lambda d: d.get("shapes", type=Text).insert(0, "hi"))
    with pytest.raises(SchemaError, match="content kind"):
        validator.check(text)
    (items,) = updates_of(lambda d: d.get("shapes", type=Array).append(1))
    with pytest.raises(SchemaError, match="not a map entry"):
        validator.check(items)


def test_updates_must_come_in_causal_order():
    validator = Validator(BOARD)

    def build(doc: Doc) -> None:
        shapes = doc.get("shapes", type=Map)
        shapes["s"] = valid_shape()
        shapes["s"]["x"] = 9.0

    first, second = updates_of(build)
    with pytest.raises(Unresolved):
        validator.check(second)  # builds on the first, which the server never got
    # Deleting what does not exist yet is refused: yrs would keep it pending and erase client
    # 123's next writes as they arrive.
    with pytest.raises(SchemaError, match="do not exist yet"):
        validator.check(forge.deletion(123, 0, 1))
    validator.commit(validator.check(first))
    validator.commit(validator.check(second))
    validator.commit(validator.check(first))  # a repeat is integrated as nothing


def test_values_are_consumed_exactly_as_yrs_reads_them():
    """An object or array value must be walked, not just refused: otherwise the bytes after it
    are read as structs the server checks while yrs reads something else."""
    (update,) = updates_of(
        lambda d: d.get("shapes", type=Map).__setitem__(
            "s", Map({"cell": {"a": [1, {"b": None}], "c": "x"}, "x": 1.0})
        )
    )
    decoded = decode_update(update)
    assert [s.parent_sub for s in decoded.structs] == ["s", "cell", "x"]
    assert decoded.structs[-1].values == [1.0]
    deep: object = 1
    for _ in range(40):
        deep = [deep]
    (nested,) = updates_of(lambda d: d.get("m", type=Map).__setitem__("k", deep))
    with pytest.raises(SchemaError, match="nested too deeply"):
        decode_update(nested)


def test_control_accepts_only_its_fields():
    validator = Validator(CONTROL)

    def lead(doc: Doc) -> None:
        control = doc.get("control", type=Map)
        control["leader"] = 12345
        control["leadPolicy"] = "host"
        control["leader"] = None

    accept_all(validator, updates_of(lead))
    (bad,) = updates_of(lambda d: d.get("control", type=Map).__setitem__("leader", "me"))
    with pytest.raises(SchemaError):
        Validator(CONTROL).check(bad)


def test_a_big_board_cut_in_pieces_rebuilds_the_same_board():
    doc = Doc()
    shapes = doc.get("shapes", type=Map)
    for i in range(600):
        shapes[f"s{i}"] = valid_shape(t="pen", pts=bytes(400), x=float(i))
    for i in range(0, 600, 7):
        del shapes[f"s{i}"]
    pieces = split_update(doc.get_update(), 20_000)
    assert len(pieces) > 10
    again = Doc()
    for piece in pieces:
        again.apply_update(piece)
    assert again.get("shapes", type=Map).to_py() == shapes.to_py()


def test_awareness_states_hold_only_documented_fields():
    check_awareness(
        {
            "user": {"name": "Ana", "color": "#e03131", "role": "guest"},
            "cursor": {"cell": "c1", "x": 1, "y": 2.5},
            "scroll": {"cell": "c1", "offset": 3, "index": 0, "count": 10},
            "following": 42,
            "leadRequest": {"seq": 3, "op": "hand", "to": 42},
            "laser": None,
        }
    )
    for bad in (
        {"f": 1},
        {"user": {"name": "x" * 101}},
        {"cursor": {"cell": "c", "x": "1", "y": 2}},
        {"leadRequest": {"seq": 1, "op": "steal"}},
        {"user": {"name": "A", "avatar": "http://x"}},
    ):
        with pytest.raises(SchemaError):
            check_awareness(bad)


def test_clock_ranges_of_stored_rows_match_yrs_on_any_document():
    """persist/replay.py reads stored rows' clock ranges with the schema's decoder (permissive
    mode): on documents with text (emoji), arrays and nested values it must agree with yrs."""
    for seed in range(40):
        rng = random.Random(seed)
        doc = Doc()
        text = doc.get("t", type=Text)
        items = doc.get("a", type=Array)
        entries = doc.get("m", type=Map)
        for _ in range(60):
            op = rng.randrange(4)
            if op == 0:
                text.insert(rng.randrange(len(str(text)) + 1), rng.choice(["x", "é", "😀", "ab"]))
            elif op == 1:
                items.append(rng.choice([1, "s", {"k": [1, {"z": None}]}, 2.5]))
            elif op == 2:
                entries[f"k{rng.randrange(5)}"] = rng.choice([1, "v", [1, 2]])
            elif len(str(text)) > 1:
                del text[0:1]
        r = Reader(doc.get_state())
        state = {r.var_uint(): r.var_uint() for _ in range(r.var_uint())}
        ours = {client: end for client, (_, end) in client_ranges(doc.get_update()).items()}
        assert ours == state, seed


def test_every_honest_yjs_sequence_is_accepted_in_order():
    """Real yjs (tests/js/honest_updates.mjs): undo/redo, two people, reconnects in yjs' client
    order, merged concurrent edits, offline edits, a reconnect to a server restarted empty."""
    import base64
    import json
    import subprocess

    from ..processes import REPO

    out = subprocess.run(
        ["node", str(REPO / "tests" / "js" / "honest_updates.mjs")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    sequences = {k: v for k, v in json.loads(out).items() if isinstance(v, list)}
    assert len(sequences) >= 8
    for name, updates in sequences.items():
        validator, doc = Validator(BOARD), Doc()
        for update in map(base64.b64decode, updates):
            checked = validator.check(update)  # raises on refusal: the test names the sequence
            doc.apply_update(update)
            validator.commit(checked)
        assert validator.tails(), name


def test_a_client_in_two_sections_is_refused():
    """yrs appends a repeated section to the first and integrates it: an earlier check skipped
    it as 'known already' and a nested map reached the document (found by review)."""
    shape = [forge.a_map(root="shapes", key="s"), forge.a_value(1.0, parent=(77, 0), key="x")]
    first = (77, 0, shape)
    second = (77, 0, [forge.a_map(root="evil", key="k"), forge.a_map(parent=(77, 0), key="deep")])
    with pytest.raises(SchemaError, match="twice"):
        Validator(BOARD).check(forge.update([first, second]))


def test_an_item_overlapping_what_the_server_has_is_refused():
    validator = Validator(BOARD)
    shape = forge.update([(5, 0, [forge.a_map(root="shapes", key="s")])])
    validator.commit(validator.check(shape))
    # clocks 0..1 where the server has clock 0: yrs would keep the encoded parent (another
    # root) for the new part, with the neighbour's key
    overlap = forge.item(8, b"\x02" + forge.plain(1.0) + forge.plain(2.0), root="evil", key="k")
    with pytest.raises(SchemaError, match="overlapping"):
        validator.check(forge.update([(5, 0, [overlap])]))


def test_clocks_past_u32_are_refused():
    with pytest.raises(SchemaError):
        wrap = [forge.gc(2**32 - 2), forge.a_map(root="shapes", key="s")]
        decode_update(forge.update([(9, 0, wrap)]))
    with pytest.raises(SchemaError):
        decode_update(forge.update([(9, 2**32 - 1, [forge.a_map(root="shapes", key="s")])]))


def test_a_checkpoint_with_cross_client_edits_restores_whole():
    """yrs writes clients in descending order too: a checkpoint where a higher client edited a
    lower client's shape must restore (it came back empty the second time, found by review)."""
    low, high = Doc(client_id=1000), Doc(client_id=2000)
    low.get("shapes", type=Map)["s1"] = valid_shape()
    high.apply_update(low.get_update())
    high.get("shapes", type=Map)["s1"]["x"] = 50.0
    validator = Validator(BOARD)
    validator.commit(validator.check(high.get_update()))
    again = Validator(BOARD)
    again.commit(again.check(high.get_update()))


def test_a_deletion_ahead_of_a_clients_writes_is_refused():
    """The attack: delete clocks the presenter has not written yet. yrs keeps such a deletion
    pending and applies it to those writes when they arrive (shown here with pycrdt alone), so
    the presenter's next strokes would vanish for everyone. The check refuses it; a deletion of
    what exists, or of what the same update writes, still passes."""
    presenter = Doc(client_id=777)
    presenter.get("shapes", type=Map)["first"] = valid_shape()
    first = presenter.get_update()
    target = Doc()
    target.apply_update(first)
    target.apply_update(forge.deletion(777, 2, 1_000_000))  # ahead of the presenter's clock
    state = presenter.get_state()
    presenter.get("shapes", type=Map)["next"] = valid_shape()
    target.apply_update(presenter.get_update(state))
    assert "next" not in target.get("shapes", type=Map).to_py(), "yrs applied it after all"

    validator = Validator(BOARD)
    validator.commit(validator.check(first))
    tail = validator.tails()[777]
    with pytest.raises(SchemaError, match="do not exist yet"):
        validator.check(forge.deletion(777, tail, 1_000_000))
    with pytest.raises(SchemaError, match="do not exist yet"):
        validator.check(forge.deletion(777, tail - 1, 2), guest=True)  # straddles the end
    validator.check(forge.deletion(777, 0, tail))  # what exists: an erase
    erase = Doc(client_id=888)
    erase.get("shapes", type=Map)["x"] = valid_shape()
    del erase.get("shapes", type=Map)["x"]
    validator.check(erase.get_update())  # its own new items, deleted in the same update
