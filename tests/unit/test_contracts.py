"""The JSON contracts (jupyterspot_magic/contracts/) against their readers and their docs.

`python -m tests.unit.test_contracts` rewrites docs/protocol.md's close-code table from the JSON.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from jupyterspot_magic.collab import close_codes

REPO = Path(__file__).resolve().parents[2]
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


def test_viewer_retry_policy_as_before() -> None:
    """What js/viewer/connection.ts did before the JSON existed: stop on a dead link or a
    removal, retry slowly when stopped or full, reconnect with backoff otherwise."""
    policy = {code: close_codes.retry_policy(code) for code in (1001, 1013, 4400, 4401, 4403)}
    policy |= {code: close_codes.retry_policy(code) for code in (4404, 4408, 4409, 4413, 4429)}
    assert policy == {
        1001: "slow",
        1013: "backoff",
        4400: "backoff",
        4401: "never",
        4403: "never",
        4404: "never",
        4408: "backoff",
        4409: "slow",
        4413: "backoff",
        4429: "backoff",
    }


def test_protocol_md_table_equals_the_json() -> None:
    found = TABLE.search(PROTOCOL.read_text(encoding="utf-8"))
    assert found, "docs/protocol.md lost its <!-- close-codes --> markers"
    assert found.group(2) == close_code_table(), (
        "docs/protocol.md's close-code table differs from contracts/close_codes.json; "
        "run `python -m tests.unit.test_contracts` to rewrite it"
    )


if __name__ == "__main__":
    text = PROTOCOL.read_text(encoding="utf-8")
    PROTOCOL.write_text(
        TABLE.sub(lambda m: m.group(1) + close_code_table() + m.group(3), text), encoding="utf-8"
    )
