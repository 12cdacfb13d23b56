"""Participant rows as the host sees them (names made printable, roles, where they are), and
the one rule that finds a participant from what the host typed: `kick` and `hand_lead` both
resolve people with `find_participant`."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..collab.room import Room

NAME_LIMIT = 80  # characters of a participant's name we ever print
# Unicode categories never printed: controls (C0, C1, DEL: ESC starts ANSI/OSC sequences), format
# characters (bidi overrides U+202A-202E / U+2066-2069, zero-width U+200B-200F, U+FEFF), line and
# paragraph separators, surrogates, private use, unassigned.
_UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}
# Whole ANSI CSI / OSC / other ESC sequences go, not just their ESC: no "[31m" left behind.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI (7- and 8-bit): colors, cursor moves, clears
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC: titles, hyperlinks
    r"|\x1b.?"  # any other escape
)


def printable(text: str, limit: int = NAME_LIMIT) -> str:
    """Text a participant chose (a name), safe to print in a terminal or a notebook: no escape
    sequence can recolor, move the cursor, set the terminal title (OSC) or reorder what is
    printed after it. Whitespace runs become one space; cut to `limit` characters with "…"."""
    kept = []
    for ch in _ESCAPES.sub("", str(text)):
        if ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch) not in _UNPRINTABLE:
            kept.append(ch)
    clean = " ".join("".join(kept).split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def participant_row(client_id: int, state: dict, role: str, person: str | None = None) -> dict:
    """One `participants` entry. The name is made printable here, once, so every place that
    shows it (status, kick messages, the CLI, the widget) gets no escape sequences."""
    user = state.get("user") if isinstance(state.get("user"), dict) else {}
    scroll = state.get("scroll") if isinstance(state.get("scroll"), dict) else {}
    following = state.get("following")
    raw = user.get("name")
    return {
        "client_id": client_id,
        "name": printable(raw if isinstance(raw, str) else "") or "Guest",
        "color": str(user.get("color") or "#888888")[:16],
        "role": role,
        "cell": scroll.get("cell") if isinstance(scroll.get("cell"), str) else None,
        "cell_index": scroll.get("index") if isinstance(scroll.get("index"), int) else None,
        "cell_count": scroll.get("count") if isinstance(scroll.get("count"), int) else None,
        "following": following if isinstance(following, int) else None,
        # issue 18 (the server checked both: collab/schema.py): a raised hand, the last reaction
        "hand": state.get("hand") is True,
        "react": _react(state.get("react")),
        # the socket speaking for this id (a page may announce several ids): an opaque key,
        # never the browser key a kick bans; session/reactions.py counts per person
        "person": person or f"id-{client_id}",
    }


def _react(value: object) -> dict | None:
    """The last reaction's name, seq and cell (session/reactions.py counts them)."""
    if not isinstance(value, dict):
        return None
    return {key: value.get(key) for key in ("n", "seq", "cell")}


def rows(board: Room) -> list[dict]:
    """Server thread: everyone on the board as `participant_row`s, hosts first, then by name.
    A follower publishes no scroll while it follows (js/viewer/presence.ts): its row says where
    the one it follows is."""
    states = board.states()
    scrolls = {cid: state.get("scroll") for cid, state, _role in states}
    people = []
    for cid, state, role in states:
        followed = state.get("following")
        if isinstance(followed, int) and isinstance(scrolls.get(followed), dict):
            state = {**state, "scroll": scrolls[followed]}
        owner = board.owners.get(cid)
        person = f"c{id(owner):x}" if owner is not None else None
        people.append(participant_row(cid, state, role, person))
    people.sort(key=lambda p: (p["role"] != "host", p["name"].lower(), p["client_id"]))
    return people


def find_participant(people: Sequence[dict], who: int | str) -> dict:
    """The participant the host means: by client id (`123`, `"123"`, `"#123"`) or by name.

    One rule for every host power. Ids first: `"#123"` is only ever an id; `123` / `"123"` fall
    back to a name when no client has that id. A name is compared as it is stored (made
    printable by `participant_row`: stripped, whitespace runs as one space) and casefolded, so
    `" Ana"`, `"ana"` and `"ANA"` all mean Ana. Names are chosen by guests, so two people can
    share one: then LookupError lists the matching client ids and the host picks one.
    """
    cid = _client_id_of(who)
    matches = [p for p in people if p["client_id"] == cid] if cid is not None else []
    if not matches and not (isinstance(who, int) or str(who).strip().startswith("#")):
        wanted = printable(str(who)).casefold()
        matches = [p for p in people if p["name"].casefold() == wanted]
    if not matches:
        names = ", ".join(_label(p) for p in people) or "nobody"
        raise LookupError(f"No participant {printable(str(who))!r}; connected: {names}")
    if len(matches) > 1:
        ids = ", ".join(_label(p) for p in matches)
        raise LookupError(
            f"Several participants are called {matches[0]['name']!r}: {ids}; "
            f"name one by its id, e.g. #{matches[0]['client_id']}"
        )
    return matches[0]


def _client_id_of(who: int | str) -> int | None:
    """`123`, `"123"`, `"#123"` -> 123; anything else None (then it is a name)."""
    if isinstance(who, bool):
        return None
    if isinstance(who, int):
        return who
    digits = str(who).strip().removeprefix("#")
    return int(digits) if digits.isdigit() and len(digits) <= 20 else None


def _label(person: dict) -> str:
    return f"{person['name']} (#{person['client_id']}, {person['role']})"
