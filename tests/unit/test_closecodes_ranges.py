"""The close-code contract keeps y-websocket 3.1's ranges (docs/protocol.md, "Routes").

y-websocket >= 3.1 stops reconnecting after any close code in 4400-4499 and reconnects after every
other one (`defaultShouldReconnect` in node_modules/y-websocket/src/y-websocket.js). A client that
does not read our contract must still stop exactly on the "never" codes, so: every "never" code is
in 4400-4499, every other application code in 4500-4599. tests/test_closecodes_clients.py checks
the same against real y-websocket clients; this is the quick check.
"""

from __future__ import annotations

import json

from jupyterspot_magic.collab import close_codes

from ..processes import REPO

PERMANENT = range(4400, 4500)  # y-websocket 3.1: no reconnect
TRANSIENT = range(4500, 4600)  # y-websocket 3.1 README: the "try again later" range


def test_never_codes_are_exactly_the_ones_y_websocket_stops_on() -> None:
    for name, entry in close_codes.CLOSE_CODES.items():
        code, retry = entry["code"], entry["retry"]
        assert (code in PERMANENT) == (retry == "never"), (name, code, retry)


def test_retryable_application_codes_are_in_the_try_again_range() -> None:
    for name, entry in close_codes.CLOSE_CODES.items():
        code = entry["code"]
        if code >= 4000 and entry["retry"] != "never":
            assert code in TRANSIENT, (name, code)


def test_the_pinned_y_websocket_is_the_one_these_ranges_describe() -> None:
    """package.json pins y-websocket 3.1.x exactly (a caret could pull a release with another
    rule); the lock file holds the same version, so `npm ci` installs it."""
    pkg = json.loads((REPO / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((REPO / "package-lock.json").read_text(encoding="utf-8"))
    pinned = pkg["dependencies"]["y-websocket"]
    assert pinned.startswith("3.1."), pinned
    assert lock["packages"]["node_modules/y-websocket"]["version"] == pinned
    for exact in ("yjs", "y-protocols", "lib0"):
        version = pkg["dependencies"][exact]
        assert version[0].isdigit(), (exact, version)  # no ranges: one yjs for the whole bundle
        assert lock["packages"][f"node_modules/{exact}"]["version"] == version, exact
