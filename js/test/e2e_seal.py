"""Python's side of js/test/e2e-*.test.ts: jupyterspot_magic/collab/seal.py driven by one JSON
command on stdin, answering JSON on stdout (bytes as hex). Loads seal.py by path, so it needs only
`cryptography`, not the package's other dependencies."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "seal", Path(__file__).resolve().parents[2] / "jupyterspot_magic" / "collab" / "seal.py"
)
assert _SPEC is not None and _SPEC.loader is not None
seal = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(seal)

H = bytes.fromhex


def server(c: dict) -> dict:
    """A room that sent `before` frames, then a connection of client nonce C: its hello and the
    room's frames of `messages`."""
    room = seal.RoomSeal(H(c["key"]), c["room"], c["doc"])
    for _ in range(c.get("before", 0)):
        room.down(b"earlier")
    conn = room.connection(H(c["client_nonce"]))
    hello = conn.hello()
    downs = [room.down(H(m)).hex() for m in c["messages"]]
    return {"hello": hello.hex(), "downs": downs, "server_nonce": conn.server_nonce.hex()}


def open_up(c: dict) -> dict:
    """The server opening a browser's up frames (its S forced to the one its hello gave)."""
    room = seal.RoomSeal(H(c["key"]), c["room"], c["doc"])
    conn = room.connection(H(c["client_nonce"]))
    conn.server_nonce = H(c["server_nonce"])
    out = []
    for f in c["frames"]:
        try:
            out.append(conn.open(H(f)).hex())
        except seal.SealError:
            out.append("SealError")
    return {"messages": out}


def client(c: dict) -> dict:
    """Python's reference client (ClientSeal) against a room: all the bytes of a session."""
    key = H(c["key"])
    room = seal.RoomSeal(key, c["room"], c["doc"])
    for _ in range(c.get("before", 0)):
        room.down(b"earlier")
    me = seal.ClientSeal(key, c["room"], c["doc"])
    conn = room.connection(me.client_nonce)
    hello = conn.hello()
    downs = [room.down(H(m)) for m in c["downs"]]
    me.open_hello(hello)
    assert [me.down(f).hex() for f in downs] == c["downs"]
    ups = [me.up(H(m)) for m in c["ups"]]
    assert [conn.open(f).hex() for f in ups] == c["ups"]
    return {
        "client_nonce": me.client_nonce.hex(),
        "hello": hello.hex(),
        "downs": [f.hex() for f in downs],
        "ups": [f.hex() for f in ups],
    }


def client_open(c: dict) -> dict:
    """ClientSeal (client nonce forced) opening a hello and down frames sealed elsewhere."""
    me = seal.ClientSeal(H(c["key"]), c["room"], c["doc"])
    me.client_nonce = H(c["client_nonce"])
    me.open_hello(H(c["hello"]))
    return {"messages": [me.down(H(f)).hex() for f in c["downs"]]}


def seal_blob(c: dict) -> dict:
    return {"blob": seal.seal_blob(H(c["key"]), c["room"], c["kind"], H(c["body"])).hex()}


def open_blob(c: dict) -> dict:
    try:
        return {"body": seal.open_blob(H(c["key"]), c["room"], c["kind"], H(c["blob"])).hex()}
    except seal.SealError:
        return {"body": "SealError"}


def key_text(c: dict) -> dict:
    return {"texts": [seal.key_text(H(k)) for k in c["keys"]]}


OPS = {
    f.__name__: f for f in (server, open_up, client, client_open, seal_blob, open_blob, key_text)
}


def run(command: dict) -> dict:
    return OPS[command.pop("op")](command)


if __name__ == "__main__":
    # A list of commands runs in this one process (starting Python is the slow part).
    commands = json.load(sys.stdin)
    json.dump([run(c) for c in commands], sys.stdout)
