"""The websocket close codes the server sends, read from their single source.

`jupyterspot_magic/contracts/close_codes.json` is read by the viewer too (its reconnect policy
follows each code's "retry": "never" stops for good, "slow" retries every ~15 s, "backoff"
reconnects with y-websocket's normal backoff) and the close-code table in docs/protocol.md is
checked against it (tests/unit/test_contracts.py). The constants are spelled out, not generated,
so a reader (and ruff) sees every name; `CLOSE_CODES` keeps them equal to the JSON at import.

Numbering follows y-websocket >= 3.1, whose clients stop reconnecting after any code in
4400-4499 and retry every other code: "never" codes live in 4400-4499, every retryable 4xxx code
in 4500-4599 (same last two digits as the HTTP status it mirrors). A client that does not know
our contract (a script, a relay's clients) then still retries or stops as we mean it
(tests/unit/test_closecodes_ranges.py, tests/test_closecodes_clients.py).
"""

from __future__ import annotations

import json

from ..base.paths import CONTRACTS_DIR

CONTRACT = CONTRACTS_DIR / "close_codes.json"
RETRY_POLICIES = ("never", "slow", "backoff")

CLOSE_CODES: dict[str, dict] = json.loads(CONTRACT.read_text(encoding="utf-8"))


def _code(name: str) -> int:
    return int(CLOSE_CODES[name]["code"])


CLOSE_GOING_AWAY = _code("going_away")  # 1001: the share stopped
CLOSE_TRY_AGAIN = _code("try_again")  # 1013, RFC 6455 "try again later": the pool is full now
CLOSE_BAD_FRAME = _code("bad_frame")  # 4500
CLOSE_INVALID_TOKEN = _code("invalid_token")  # 4401
CLOSE_REMOVED = _code("removed")  # 4403
CLOSE_NOT_FOUND = _code("not_found")  # 4404
CLOSE_ENCRYPTED = _code("encrypted")  # 4406: an encrypted share, a socket without handshake
CLOSE_TOO_SLOW = _code("too_slow")  # 4508
CLOSE_ROOM_FULL = _code("room_full")  # 4509
CLOSE_TOO_LARGE = _code("too_large")  # 4513
CLOSE_TOO_MANY = _code("too_many")  # 4529



MAX_REASON = 123  # bytes: what a websocket close frame can carry after its 2-byte code


def close_reason(text: str) -> str:
    """`text` cut to MAX_REASON UTF-8 bytes on a character boundary. Refusal reasons quote what
    a guest sent (a root map's name), so 100 characters can be 400 bytes: a close frame cannot
    carry that, and the websocket library raises instead of closing (relay/relay.mjs cuts
    again: it trusts no sender)."""
    return text.encode()[:MAX_REASON].decode(errors="ignore")
