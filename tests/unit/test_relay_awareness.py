"""The relay's awareness check (relay/awareness.mjs) says what the share server's says
(collab/room.py checked_state, collab/schema.py AWARENESS_FIELDS) on the same states: awareness
fans out on the relay without the kernel, so the two copies must not drift."""

from __future__ import annotations

import json
import subprocess

from jupyterspot_magic.collab.messages import ProtocolError
from jupyterspot_magic.collab.room import checked_state

from ..processes import REPO

ANCHOR = {"cell": "c-1", "x": 10.5, "y": -3}
SAMPLES: list[object] = [
    {},
    {"user": {"name": "Ana", "color": "#e03131", "role": "guest"}},
    {"user": {"name": "Host", "role": "host"}, "cursor": ANCHOR, "laser": None},
    {"user": {"name": None, "color": None}},
    {"scroll": {"cell": "c", "offset": 2.5, "index": 3, "count": 10}},
    {"scroll": {"cell": "c", "offset": 0, "index": 3.5}},
    {"scroll": None, "following": 12345, "cursor": None},
    {"following": -1},
    {"following": 1.5},
    {"leadRequest": {"seq": 1, "op": "take"}},
    {"leadRequest": {"seq": 2, "op": "hand", "to": 7}},
    {"leadRequest": {"seq": 2, "op": "steal"}},
    {"leadRequest": {"seq": -1, "op": "take"}},
    {"user": {"name": "x" * 101}},
    {"user": {"name": "Ana", "role": "admin"}},
    {"user": {"name": "Ana", "role": None}},
    {"user": {"name": "Ana", "avatar": "http://x"}},
    {"user": "Ana"},
    {"cursor": {"cell": "c", "x": 1e8, "y": 0}},
    {"cursor": {"cell": "c", "x": 1}},
    {"cursor": {"cell": "c" * 201, "x": 1, "y": 2}},
    {"cursor": {"cell": 5, "x": 1, "y": 2}},
    {"cursor": {"cell": "c", "x": True, "y": 2}},
    {"cursor": {"cell": "c", "x": 1, "y": 2, "z": 3}},
    {"evil": 1},
    {"user": {"name": "a" * 100}, "cursor": {"cell": "c" * 200, "x": 1, "y": 2}},
    {"user": {"name": "é" * 100}, "scroll": {"cell": "ü" * 200, "offset": 1}},
    [1, 2],
    "text",
    # issue 18: reactions, raised hand, cursor chat
    {"react": {"n": "up", "seq": 3, "cell": "c-1", "x": 10, "y": 2.5}, "hand": True},
    {"react": None, "chat": None, "hand": False},
    {"react": {"n": "boo", "seq": 3, "cell": "c", "x": 1, "y": 2}},
    {"react": {"n": "up", "seq": 1.5, "cell": "c", "x": 1, "y": 2}},
    {"react": {"n": "up", "seq": 1, "cell": "c", "x": 1}},
    {"react": {"n": "up", "seq": 1, "cell": "c", "x": 1, "y": 2e7}},
    {"react": {"n": "up", "seq": 1, "cell": "c", "x": 1, "y": 2, "html": "<b>"}},
    {"hand": "yes"},
    {"hand": None},
    {"hand": 1},
    {"chat": {"text": "a" * 60, "seq": 1}},
    {"chat": {"text": "a" * 61, "seq": 1}},
    {"chat": {"text": "\U0001f600" * 60, "seq": 2}},  # 60 code points, 120 UTF-16 units
    {"chat": {"text": "\U0001f600" * 61, "seq": 2}},
    {"chat": {"text": "<img src=x onerror=alert(1)>", "seq": 0}},
    {"chat": {"text": "hi", "seq": -1}},
    {"chat": {"text": 5, "seq": 1}},
    {"chat": "hi"},
    # the cell in code points (an emoji is one, as Python counts), the seq a safe integer
    {"react": {"n": "up", "seq": 1, "cell": "\U0001f600" * 200, "x": 1, "y": 2}},
    {"react": {"n": "up", "seq": 1, "cell": "\U0001f600" * 201, "x": 1, "y": 2}},
    {"react": {"n": "up", "seq": 2**53 - 1, "cell": "c", "x": 1, "y": 2}},
    {"react": {"n": "up", "seq": 2**53 + 1, "cell": "c", "x": 1, "y": 2}},  # JS reads 2**53
    {"react": {"n": "up", "seq": 2**53, "cell": "c", "x": 1, "y": 2}},
    {"chat": {"text": "hi", "seq": 2**53 - 1}},
    {"chat": {"text": "hi", "seq": 2**53 + 1}},
]


def python_accepts(state: object) -> bool:
    try:
        checked_state(json.dumps(state, ensure_ascii=False), "host")
    except ProtocolError:
        return False
    return True


def relay_accepts(states: list[object]) -> list[bool]:
    script = (
        "import { awarenessRefusal } from './relay/awareness.mjs';"
        "let t='';process.stdin.on('data',d=>t+=d).on('end',()=>{"
        "console.log(JSON.stringify(JSON.parse(t).map(s=>awarenessRefusal(s)===null)))})"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        input=json.dumps(states),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
        check=True,
    )
    return json.loads(out.stdout)


def test_relay_and_share_server_agree_on_every_sample() -> None:
    relay = relay_accepts(SAMPLES)
    python = [python_accepts(s) for s in SAMPLES]
    disagree = [(s, r) for s, r, p in zip(SAMPLES, relay, python, strict=True) if r != p]
    assert not disagree, disagree
    assert any(python) and not all(python)  # both kinds are in the samples


def test_both_count_the_4_kib_limit_on_the_json_text() -> None:
    """Control characters are written as 6-character escapes: 3 anchors of 200 of them and a
    name of 100 make 4,300 characters of JSON, within every field's own bound."""
    ctl = "\x01"
    anchor = {"cell": ctl * 200, "x": 1, "y": 2}
    within = {"user": {"name": ctl * 100}, "cursor": anchor, "laser": anchor}
    over = within | {"scroll": {"cell": ctl * 200, "offset": 1}}
    assert len(json.dumps(over)) > 4096 > len(json.dumps(within))
    assert relay_accepts([within, over]) == [True, False]
    assert [python_accepts(within), python_accepts(over)] == [True, False]


def test_both_rate_new_reactions_alike() -> None:
    """The relay's per-socket budget of new reactions and chat lines is the share server's."""
    from jupyterspot_magic.collab.reactions import RATES

    script = "import { RATES } from './relay/awareness.mjs'; console.log(JSON.stringify(RATES))"
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
        check=True,
    )
    assert {k: list(v) for k, v in RATES.items()} == json.loads(out.stdout)
