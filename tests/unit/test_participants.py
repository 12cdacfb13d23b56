"""One participant lookup (session/participants.py find_participant) for every host power:
`Share.kick` and `Share.hand_lead` find the same person from the same words.

Before, kick used its own lookup and hand_lead collab/lead.py's `Lead.resolve`: " Ana" matched
the raw (unprintable) name there, "#123" was a name, and "123" meant a guest *called* "123"
rather than client 123. The second test drives both methods on a real server and rooms (no
browser: awareness states are put in the board room as a connection would)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from jupyterspot_magic.base.options import ShareOptions
from jupyterspot_magic.collab.room import AwarenessEntry
from jupyterspot_magic.content.locate import Located
from jupyterspot_magic.server.host import InProcessHost
from jupyterspot_magic.server.thread import ServerThread
from jupyterspot_magic.session import hosted
from jupyterspot_magic.session.events import Events
from jupyterspot_magic.session.mirror import Mirror
from jupyterspot_magic.session.participants import find_participant, participant_row
from jupyterspot_magic.session.share import Share
from jupyterspot_magic.tunnel import make_tunnel

from ..room_server import new_shared

# client id -> the name that client announced (raw, as a guest typed it)
PEOPLE = {123: " Ana", 77: "Bob", 88: "bob  ", 5: "123", 9: "Zoë\u202e"}
ROWS = [participant_row(cid, {"user": {"name": name}}, "guest") for cid, name in PEOPLE.items()]

# what the host types -> the client id meant, or None: LookupError (nobody / several)
CASES = {
    " Ana": 123,
    "ana": 123,
    "ANA ": 123,
    "#123": 123,
    "123": 123,  # an id first: the guest called "123" is "#5"
    123: 123,
    "#5": 5,
    "zoë": 9,  # names compare as they are shown: the bidi override is gone
    "bob": None,  # two people are called Bob
    "#999": None,
    "nobody": None,
}


@pytest.mark.parametrize(("who", "cid"), CASES.items(), ids=[repr(k) for k in CASES])
def test_find_participant(who: int | str, cid: int | None) -> None:
    if cid is None:
        with pytest.raises(LookupError):
            find_participant(ROWS, who)
    else:
        assert find_participant(ROWS, who)["client_id"] == cid


def test_ambiguous_name_lists_the_ids() -> None:
    with pytest.raises(LookupError, match="Several participants") as e:
        find_participant(ROWS, "BOB")
    assert "#77" in str(e.value) and "#88" in str(e.value)


@pytest.fixture
def share() -> Iterator[Share]:
    server = ServerThread().start()
    host = InProcessHost(server)  # the same calls as a child process, without one
    rendered = new_shared().rendered
    spec = hosted.OpenSpec(rendered=rendered, key="t", store=False, fresh=False, notebook=None)
    opened = host.call(hosted.open_share, spec)

    def join() -> None:
        board = hosted.get(opened.room).shared.board
        for clock, (cid, name) in enumerate(PEOPLE.items(), 1):
            state = json.dumps({"user": {"name": name}})
            board.awareness[cid] = AwarenessEntry(clock, state)

    server.call(join)
    events = Events()
    s = Share(
        located=Located(path=None, contents={"cells": []}, route="colab", note=None),
        rendered=rendered,
        options=ShareOptions(tunnel="none", watch=False),
        host=host,
        links=(opened.room, opened.token, opened.host_token, opened.key),
        tunnel=make_tunnel("none"),
        base_url=f"http://127.0.0.1:{server.port}",
        events=events,
        mirror=Mirror(opened.room, events),
    )
    try:
        yield s
    finally:
        s.stop()
        server.stop()


def test_kick_and_hand_lead_find_the_same_person(share: Share) -> None:
    names = {cid: row["name"] for cid, row in ((r["client_id"], r) for r in ROWS)}
    for who, cid in CASES.items():
        if cid is None:
            with pytest.raises(LookupError):
                share.hand_lead(who)
            with pytest.raises(LookupError):
                share.kick(who)
            continue
        assert share.hand_lead(who) == cid, who
        assert share.leader is not None and share.leader["client_id"] == cid
        assert share.kick(who) == names[cid], who  # nobody is connected: nothing is closed
        assert share.find_participant(who)["client_id"] == cid
