"""Audience mode's pure parts: the auto threshold with hysteresis (collab/audience.py), the
control schema's floor and server-only fields (collab/schema.py) and the head count's names
(collab/crowd.py)."""

from __future__ import annotations

import json

import pytest
from pycrdt import Doc, Map

from jupyterspot_magic.collab import audience
from jupyterspot_magic.collab.audience import Audience
from jupyterspot_magic.collab.codec import SchemaError
from jupyterspot_magic.collab.crowd import NAMES_SHOWN, Crowd, parse_floor
from jupyterspot_magic.collab.messages import AwarenessEntry
from jupyterspot_magic.collab.room import Room
from jupyterspot_magic.collab.schema import CONTROL, MAX_FLOOR, NAMES_TEXT, Validator


def test_auto_switches_on_above_50_and_off_below_40() -> None:
    a = Audience("auto")
    seen = []
    for people in [*range(1, 60), *range(60, 30, -1)]:
        a.active = a.wanted(people)
        seen.append((people, a.active))
    on = [p for p, active in seen[:59] if active]
    assert on[0] == audience.AUTO_ON_ABOVE + 1 == 51
    going_down = seen[59:]
    assert all(active for p, active in going_down if p >= audience.AUTO_OFF_BELOW)
    assert not any(active for p, active in going_down if p < audience.AUTO_OFF_BELOW)
    assert Audience("on").wanted(1) and not Audience("off").wanted(10_000)
    with pytest.raises(ValueError, match="audience must be one of"):
        Audience("sometimes")


def test_who_is_visible_and_who_hears_all() -> None:
    a = Audience("on", active=True, speakers=frozenset({7}))
    assert a.visible(1, "host") and a.visible(7, "guest") and not a.visible(8, "guest")
    assert a.hears_all("host", set()) and a.hears_all("guest", {7})
    assert not a.hears_all("guest", {8})
    off = Audience("off")
    assert off.visible(8, "guest") and off.hears_all("guest", {8})


def update(key: str, value) -> bytes:
    doc = Doc()
    doc.get("control", type=Map)[key] = value
    return doc.get_update()


@pytest.mark.parametrize("key", ["people", "names", "audience"])
def test_only_the_server_writes_the_head_count(key: str) -> None:
    value = {"people": 3, "names": "[]", "audience": True}[key]
    with pytest.raises(SchemaError, match="server only"):
        Validator(CONTROL).check(update(key, value))  # any connection, hosts included
    Validator(CONTROL).check_trusted(update(key, value))  # the kernel's own write


def test_no_connection_deletes_what_only_the_server_writes() -> None:
    """A host's `del control["people"]` passed the schema (deletions were only range-checked):
    the head count vanished until the server's next write."""
    server, host = Doc(), Doc()
    control = server.get("control", type=Map)
    control["people"] = 3
    control["leader"] = None
    validator = Validator(CONTROL)
    validator.commit(validator.check_trusted(server.get_update()))
    host.apply_update(server.get_update())
    before = host.get_state()
    del host.get("control", type=Map)["people"]
    with pytest.raises(SchemaError, match="server only"):
        validator.check(host.get_update(before))
    host2 = Doc()
    host2.apply_update(server.get_update())
    before = host2.get_state()
    host2.get("control", type=Map)["leader"] = 7  # replacing a host field deletes its old item
    validator.check(host2.get_update(before))


def test_the_floor_holds_at_most_16_decimal_ids() -> None:
    ok = ",".join(str(i) for i in range(MAX_FLOOR))
    for value in ("", "12", "1,22,333", ok):
        Validator(CONTROL).check(update("floor", value))
    for value in (ok + ",99", "1,", ",1", "1;2", "x", "1 2", 5):
        with pytest.raises(SchemaError):
            Validator(CONTROL).check(update("floor", value))
    assert parse_floor(ok + ",99") == list(range(MAX_FLOOR))
    assert parse_floor("1,x,2") == [1, 2] and parse_floor(None) == []


def test_names_list_hosts_first_and_stay_within_the_schema() -> None:
    board, control = Room("board"), Room("control", writers=frozenset({"host"}))
    crowd = Crowd(board, control, "on")
    for cid in range(1, 40):
        name = "\u0001" * 100 if cid % 2 else f"G{cid}"  # names that escape to 6 chars each
        state = json.dumps({"user": {"name": name}})
        board.awareness[cid] = AwarenessEntry(1, state)
    board.awareness[99] = AwarenessEntry(1, json.dumps({"user": {"name": "Host"}}))

    class HostConn:
        role = "host"

    board.owners[99] = HostConn()  # type: ignore[assignment]
    snap = crowd.snapshot()
    names = json.loads(snap["names"])
    assert snap["people"] == 40 and names[0] == "Host"
    assert len(snap["names"]) <= NAMES_TEXT and 1 < len(names) <= NAMES_SHOWN


def test_the_viewer_and_the_server_allow_the_same_floor() -> None:
    """js/viewer/follow/audience.ts keeps its own MAX_FLOOR (the viewer reads no Python):
    it must be the server's, or the host's page would write floors the server refuses."""
    import re

    from jupyterspot_magic.base.paths import PACKAGE_DIR

    ts = (PACKAGE_DIR.parent / "js" / "viewer" / "follow" / "audience.ts").read_text()
    found = re.search(r"export const MAX_FLOOR = (\d+);", ts)
    assert found is not None and int(found.group(1)) == MAX_FLOOR
