"""What a tunnel sees of a share (issue 14): a recording reverse proxy on loopback, and a decoder
that undoes everything on its capture that is NOT encryption.

`RecordingProxy` forwards a loopback port to the share's port byte for byte (its own thread and
asyncio loop) and keeps every byte of every TCP connection, per direction. `decode` parses each
connection like the tunnel could: HTTP/1.1 with h11 (bodies de-chunked, gunzipped), and after a
101 upgrade the websocket frames (client frames unmasked, permessage-deflate inflated if it was
negotiated). `leaks` searches the decoded parts AND the raw bytes for secrets. `open_sealed`
opens a capture of an encrypted share with its key (collab/seal.py): every blob and websocket
message must open, and what they carried is where the secrets went.
"""

from __future__ import annotations

import asyncio
import base64
import re
import struct
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote_to_bytes, urlsplit, urlunsplit

import h11

UP, DOWN = "up", "down"  # browser -> share, share -> browser
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


# --- the proxy ---------------------------------------------------------------------------------


class Recorded:
    """One TCP connection through the proxy: its bytes in each direction, in order."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.up = bytearray()
        self.down = bytearray()

    def add(self, direction: str, data: bytes) -> None:
        (self.up if direction == UP else self.down).extend(data)


class RecordingProxy:
    """127.0.0.1:<port> -> 127.0.0.1:<target_port>, recording everything (a context manager)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._conns: list[Recorded] = []
        self._upstream: dict[int, asyncio.StreamWriter] = {}
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def url(self, share_url: str) -> str:
        """The same link (path, query, #fragment) through the proxy."""
        parts = urlsplit(share_url)
        return urlunsplit(parts._replace(netloc=f"127.0.0.1:{self.port}"))

    def connections(self) -> list[Recorded]:
        """A copy of what was recorded so far."""
        with self._lock:
            copies = []
            for c in self._conns:
                copy = Recorded(c.index)
                copy.up, copy.down = bytearray(c.up), bytearray(c.down)
                copies.append(copy)
            return copies

    def total(self) -> int:
        with self._lock:
            return sum(len(c.up) + len(c.down) for c in self._conns)

    def replay_last_frame(self, index: int) -> bytes:
        """Send connection `index`'s last websocket message from the browser to the share again,
        byte for byte (what a tunnel could do): the frame it sent. ValueError while the browser
        is in the middle of a frame (try again)."""
        future = asyncio.run_coroutine_threadsafe(self._replay(index), self._loop)
        return future.result(10)

    async def _replay(self, index: int) -> bytes:
        # On the loop, between two writes of the pump: what was recorded is what went out.
        with self._lock:
            conn = self._conns[index]
            data = bytes(conn.up)
        frames = list(_ws_frame_spans(data[data.index(b"\r\n\r\n") + 4 :]))
        if not frames or frames[-1] is None:
            raise ValueError("not at a frame boundary")
        frame = frames[-1]
        self._upstream[index].write(frame)
        with self._lock:
            conn.add(UP, frame)
        return frame

    async def _listen(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            conn = Recorded(len(self._conns))
            self._conns.append(conn)
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._upstream[conn.index] = up_w
        try:
            await asyncio.gather(
                self._pump(reader, up_w, conn, UP), self._pump(up_r, writer, conn, DOWN)
            )
        finally:
            for w in (writer, up_w):
                w.close()

    async def _pump(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, conn: Recorded, way: str
    ) -> None:
        try:
            while data := await src.read(65536):
                with self._lock:
                    conn.add(way, data)
                dst.write(data)
                await dst.drain()
            if dst.can_write_eof():
                dst.write_eof()  # pass the half-close on, as a TCP forwarder does
        except (ConnectionError, OSError):
            dst.close()


# --- the decoder -------------------------------------------------------------------------------


@dataclass
class Part:
    """One decoded piece of a connection: what it is and the bytes a reader gets from it."""

    conn: int
    direction: str
    # "head" (request line/status + headers), "body", "ws" (a message), "close", "control"
    # (ping/pong), "base64" (what base64 runs in a body decode to)
    kind: str
    label: str  # e.g. "GET /s/r/x/cells?..." or "ws /ws/r/board"
    data: bytes
    meta: dict = field(default_factory=dict)

    def where(self) -> str:
        return f"conn {self.conn} {self.direction} {self.kind} [{self.label[:90]}]"


@dataclass
class Decoded:
    parts: list[Part]
    raw: list[Recorded]
    incomplete: list[str]  # connections whose last message was cut (decoded as far as it went)

    def of(self, kind: str, direction: str | None = None) -> list[Part]:
        return [p for p in self.parts if p.kind == kind and direction in (None, p.direction)]


def decode(conns: Iterable[Recorded]) -> Decoded:
    out = Decoded([], [], [])
    for conn in conns:
        out.raw.append(conn)
        _decode_http(conn, out)
    # Base64 is encoding, not encryption: the export embeds the board's Yjs state that way.
    out.parts += [
        Part(p.conn, p.direction, "base64", p.label, unbase64(p.data))
        for p in list(out.parts)
        if p.kind == "body"
    ]
    return out


BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{24,}={0,2}")


def unbase64(data: bytes) -> bytes:
    """Every long base64 (or base64url) run in `data`, decoded, one after another."""
    out = bytearray()
    for run in BASE64_RUN.findall(data):
        text = run.rstrip(b"=").replace(b"-", b"+").replace(b"_", b"/")
        try:
            out += base64.b64decode(text + b"=" * (-len(text) % 4)) + b"\n"
        except ValueError:
            continue
    return bytes(out)


def _events(conn: h11.Connection) -> Iterator:
    while True:
        event = conn.next_event()
        if event in (h11.NEED_DATA, h11.PAUSED):
            return
        yield event
        if isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            return


def _head(event: h11.Request | h11.Response | h11.InformationalResponse) -> bytes:
    if isinstance(event, h11.Request):
        line = event.method + b" " + event.target
    else:
        line = str(event.status_code).encode() + b" " + event.reason
    return line + b"\r\n" + b"".join(k + b": " + v + b"\r\n" for k, v in event.headers)


def _header(event, name: bytes) -> bytes:
    return b", ".join(v for k, v in event.headers if k.lower() == name)


def _decode_http(conn: Recorded, out: Decoded) -> None:
    reader_up = h11.Connection(h11.SERVER)  # parses what the browser sent
    reader_down = h11.Connection(h11.CLIENT)  # parses what the share answered
    for reader, data in ((reader_up, conn.up), (reader_down, conn.down)):
        if data:  # (no bytes would mean "closed" to h11: a live capture may just be early)
            reader.receive_data(bytes(data))
    while True:
        request, body, done = _message(reader_up)
        if request is None:
            return
        target = unquote_to_bytes(request.target)
        label = (request.method + b" " + request.target).decode("latin-1")
        # The target percent-decoded too: a name or a title in a query string is a leak.
        out.parts.append(Part(conn.index, UP, "head", label, _head(request) + b"\r\n" + target))
        if body:
            out.parts.append(Part(conn.index, UP, "body", label, _content(request, body)))
        if not done:
            out.incomplete.append(f"conn {conn.index}: request cut")
            return
        # The client-side reader must have "sent" the request to read its response.
        _feed(reader_down, request, body)
        response, rbody, done = _message(reader_down)
        if response is None:
            if conn.down:
                out.incomplete.append(f"conn {conn.index}: response cut ({label})")
            return
        meta = {"status": response.status_code, "type": _header(response, b"content-type")}
        out.parts.append(Part(conn.index, DOWN, "head", label, _head(response), meta))
        if response.status_code == 101:
            reader_up.send(response)  # both readers switch: the rest is websocket
            _decode_ws(conn, out, label, response, reader_up, reader_down)
            return
        out.parts.append(Part(conn.index, DOWN, "body", label, _content(response, rbody), meta))
        if not done:
            out.incomplete.append(f"conn {conn.index}: response cut ({label})")
            return
        _feed(reader_up, response, rbody)
        if reader_up.our_state is h11.MUST_CLOSE or reader_down.our_state is h11.MUST_CLOSE:
            return
        reader_up.start_next_cycle()
        reader_down.start_next_cycle()


def _feed(reader: h11.Connection, head: h11.Request | h11.Response, body: bytes) -> None:
    """Tell `reader` its own side sent this message (h11 must see it before the answer)."""
    reader.send(head)
    if body:
        reader.send(h11.Data(data=body))
    reader.send(h11.EndOfMessage())


def _message(reader: h11.Connection):
    """(head event, body bytes, complete?) of the next message; (None, b"", False) if none."""
    head, body = None, bytearray()
    for event in _events(reader):
        if isinstance(event, (h11.Request, h11.Response)):
            head = event
        elif isinstance(event, h11.InformationalResponse):
            if event.status_code == 101:
                return event, b"", True
        elif isinstance(event, h11.Data):
            body.extend(event.data)
        elif isinstance(event, h11.EndOfMessage):
            return head, bytes(body), True
    return head, bytes(body), False


def _content(event, body: bytes) -> bytes:
    """The body as the application sees it (a cut gzip body: as far as it goes)."""
    coding = _header(event, b"content-encoding").strip().lower()
    if coding in (b"", b"identity"):
        return body
    if coding in (b"gzip", b"x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body)
    if coding == b"deflate":
        return zlib.decompressobj().decompress(body)
    # A coding this decoder cannot undo must fail the test, not hide a leak.
    raise AssertionError(f"cannot decode Content-Encoding {coding!r}")


def _deflate_params(response) -> dict[str, bool] | None:
    """permessage-deflate as the 101 answered it: which sides reset their window per message."""
    ext = _header(response, b"sec-websocket-extensions").decode().lower()
    if "permessage-deflate" not in ext:
        return None
    return {
        UP: "client_no_context_takeover" in ext,
        DOWN: "server_no_context_takeover" in ext,
    }


def _decode_ws(conn, out: Decoded, label: str, response, reader_up, reader_down) -> None:
    target = label.split(" ", 1)[1]
    deflate = _deflate_params(response)
    for direction, reader in ((UP, reader_up), (DOWN, reader_down)):
        data, _closed = reader.trailing_data
        inflater = _Inflater(deflate[direction]) if deflate else None
        for opcode, payload, cut in _ws_messages(data, inflater):
            if cut:
                out.incomplete.append(f"conn {conn.index}: websocket frame cut ({direction})")
                continue
            kind = {OP_CLOSE: "close", OP_PING: "control", OP_PONG: "control"}.get(opcode, "ws")
            meta = {"opcode": opcode, "target": target}
            if opcode == OP_CLOSE and len(payload) >= 2:
                meta["code"] = struct.unpack(">H", payload[:2])[0]
                meta["reason"] = payload[2:].decode("utf-8", "replace")
            out.parts.append(Part(conn.index, direction, kind, f"ws {target}", payload, meta))


class _Inflater:
    def __init__(self, reset_each_message: bool) -> None:
        self.reset = reset_each_message
        self.z = zlib.decompressobj(-zlib.MAX_WBITS)

    def message(self, data: bytes) -> bytes:
        if self.reset:
            self.z = zlib.decompressobj(-zlib.MAX_WBITS)
        return self.z.decompress(data + b"\x00\x00\xff\xff")


def _ws_messages(data: bytes, inflater: _Inflater | None) -> Iterator[tuple[int, bytes, bool]]:
    """(opcode, payload, cut) per message: fragments joined, masks removed, deflate undone."""
    pos, parts, first_op, compressed = 0, bytearray(), None, False
    while pos < len(data):
        frame = _ws_frame(data, pos)
        if frame is None:
            yield -1, data[pos:], True
            return
        fin, rsv1, opcode, payload, pos = frame
        if opcode >= OP_CLOSE:  # control frames may sit between fragments
            yield opcode, payload, False
            continue
        if opcode != OP_CONT:
            first_op, compressed, parts = opcode, rsv1, bytearray()
        parts.extend(payload)
        if fin:
            message = bytes(parts)
            if compressed:
                if inflater is None:
                    raise AssertionError("a compressed frame without permessage-deflate")
                message = inflater.message(message)
            yield first_op if first_op is not None else opcode, message, False


def _ws_frame_spans(data: bytes) -> Iterator[bytes | None]:
    """The raw bytes of each whole frame; None last if the data ends inside a frame."""
    pos = 0
    while pos < len(data):
        frame = _ws_frame(data, pos)
        if frame is None:
            yield None
            return
        end = frame[4]
        yield data[pos:end]
        pos = end


def _ws_frame(data: bytes, pos: int):
    if len(data) - pos < 2:
        return None
    b0, b1 = data[pos], data[pos + 1]
    n, at = b1 & 0x7F, pos + 2
    if n == 126:
        if len(data) < at + 2:
            return None
        n, at = struct.unpack_from(">H", data, at)[0], at + 2
    elif n == 127:
        if len(data) < at + 8:
            return None
        n, at = struct.unpack_from(">Q", data, at)[0], at + 8
    mask = b""
    if b1 & 0x80:
        mask, at = data[at : at + 4], at + 4
    if len(data) < at + n or len(mask) not in (0, 4):
        return None
    payload = data[at : at + n]
    if mask:
        payload = _unmask(payload, mask)
    return bool(b0 & 0x80), bool(b0 & 0x40), b0 & 0x0F, payload, at + n


def _unmask(payload: bytes, mask: bytes) -> bytes:
    key = int.from_bytes((mask * (len(payload) // 4 + 1))[: len(payload)], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(len(payload), "big")


# --- searching ---------------------------------------------------------------------------------


def leaks(decoded: Decoded, secrets: dict[str, str]) -> dict[str, list[str]]:
    """Where each secret occurs: decoded parts and raw bytes, both directions ({} = nowhere)."""
    found: dict[str, list[str]] = {}
    for name, secret in secrets.items():
        needle = secret.encode()
        hits = [p.where() for p in decoded.parts if needle in p.data]
        for conn in decoded.raw:
            hits += [
                f"conn {conn.index} raw {d}"
                for d, b in ((UP, conn.up), (DOWN, conn.down))
                if needle in b
            ]
        if hits:
            found[name] = hits
    return found


def directions(hits: list[str]) -> set[str]:
    return {UP for h in hits if f" {UP} " in h} | {DOWN for h in hits if f" {DOWN} " in h}


# --- opening an encrypted share's capture with its key (tests only) ----------------------------


BLOB_ROUTES = {"x/page": "page", "x/cells": "cells", "x/export": "export"}


def blob_kind(label: str) -> str | None:
    path = urlsplit(label.split(" ", 1)[1]).path
    return next((k for route, k in BLOB_ROUTES.items() if path.endswith("/" + route)), None)


def open_sealed(decoded: Decoded, key: bytes, room: str) -> tuple[list[bytes], list[str]]:
    """Every blob and websocket message of the capture opened with the key: (plaintexts, what
    did not open). A message that does not open is one that was not sealed for this share."""
    from jupyterspot_magic.collab import seal

    opened: list[bytes] = []
    failed: list[str] = []
    for part in decoded.of("body", DOWN):
        kind = blob_kind(part.label)
        if kind and part.meta.get("status") == 200:
            try:
                opened.append(seal.open_blob(key, room, kind, part.data))
            except seal.SealError:
                failed.append(part.where())
    by_socket: dict[int, list[Part]] = {}
    for part in decoded.of("ws"):
        by_socket.setdefault(part.conn, []).append(part)
    for parts in by_socket.values():
        got, bad = _open_socket(parts, key, room)
        opened += got
        failed += bad
    return opened, failed


def _open_socket(parts: list[Part], key: bytes, room: str) -> tuple[list[bytes], list[str]]:
    from jupyterspot_magic.collab import seal

    target = urlsplit(parts[0].meta["target"])
    doc = target.path.rstrip("/").rsplit("/", 1)[-1]
    nonce = seal.client_nonce_from((parse_qs(target.query).get("e2e") or [None])[0])
    if nonce is None:
        return [], [f"{p.where()}: socket without e2e" for p in parts]
    down = seal.ClientSeal(key, room, doc)
    down.client_nonce = nonce
    up = seal.RoomSeal(key, room, doc).connection(nonce)
    opened, failed = [], []
    downs = [p for p in parts if p.direction == DOWN]
    if not downs:
        return [], [f"{parts[0].where()}: no hello"]
    try:  # the hello first: it holds S, which the up frames are sealed with
        down.open_hello(downs[0].data)
    except seal.SealError as e:
        return [], [f"{downs[0].where()}: hello: {e}"]
    up.server_nonce = down.server_nonce
    for part in parts:
        if part is downs[0]:
            continue
        try:
            if part.direction == DOWN:
                opened.append(down.down(part.data))
            else:
                opened.append(up.open(part.data))
        except (seal.SealError, AssertionError, struct.error) as e:
            failed.append(f"{part.where()}: {e}")
    return opened, failed
