"""The live-output keys of the control document (docs/protocol.md, "control"): the kernel writes
them through the server; no connection, not even a host's, may set or delete them, and even the
kernel's own writes must be of the documented shape."""

from __future__ import annotations

import pytest
from pycrdt import Doc, Map

from jupyterspot_magic.collab.codec import SchemaError
from jupyterspot_magic.collab.schema import CONTROL, Validator

GOOD = {
    "live": "paused",
    "kernel": "busy",
    "running": "cell-7",
    "runningSince": 1_790_000_000_000,
    "lastRun": "cell-7",
    "lastRunAt": 1_790_000_000_000,
    "followRunning": True,
}
BAD = {
    "live": "sometimes",
    "kernel": "asleep",
    "running": "x" * 201,
    "runningSince": -5,
    "lastRun": 7,
    "lastRunAt": "now",
    "followRunning": "yes",
}


def update(key: str, value) -> bytes:
    doc = Doc()
    doc.get("control", type=Map)[key] = value
    return doc.get_update()


@pytest.mark.parametrize("key", sorted(GOOD))
def test_no_connection_writes_the_kernels_live_state(key: str) -> None:
    with pytest.raises(SchemaError, match="server only"):
        Validator(CONTROL).check(update(key, GOOD[key]))  # a guest's or a host's page
    Validator(CONTROL).check_trusted(update(key, GOOD[key]))  # the kernel's own write


@pytest.mark.parametrize("key", sorted(BAD))
def test_the_live_state_has_a_documented_shape(key: str) -> None:
    """The kernel's writes are trusted (not checked on the way in); the field checks are the
    contract the viewer reads against (js/viewer), and what a check of the document enforces."""
    check = CONTROL.fields[key]
    assert check(GOOD[key]) and not check(BAD[key])
    if key in ("running", "runningSince", "lastRun", "lastRunAt"):
        assert check(None)  # nothing runs
