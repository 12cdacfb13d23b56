"""End-to-end encryption of a share: the one source of its wire format (docs/security.md).

The share key (32 random bytes) travels only in the link's fragment, `#k=<base64url>`, which
browsers never send to a server: the tunnel carries ciphertext it cannot read. The kernel (and
the share server it starts, its own child process) holds the key, so it still validates, stores
and renders everything; only what crosses the wire changes. AES-256-GCM throughout, a fresh
random 96-bit nonce per message; the additional data (AAD) binds each ciphertext to its share,
its purpose and its place in a stream, so nothing can be moved from one to another.

HTTP bodies that carry content (the page, changed cells, the export) are *blobs*:

    blob = nonce:12 || AES-GCM(key, nonce, gzip(body), aad = "jsp-e2e/1|" room "|" kind)

(`kind` is "page", "cells" or "export"; compressed before encryption, as ciphertext does not
compress.) The images cut out of the page and of cells answers are blobs of their own, not
compressed (PNG and JPEG are already), under keyed names (a plain content hash in the URL would
let the tunnel confirm a known picture):

    image = nonce:12 || AES-GCM(key, nonce, bytes, aad = "jsp-e2e/1|" room "|img|" name)
    name  = hex(HMAC-SHA256(key, "img|" sha256-hex of the bytes))[:32] "." ext

Every websocket message of both rooms is a *frame*:

    frame = seq:u64be || nonce:12 || AES-GCM(key, nonce, message, aad)
    aad   = "jsp-e2e/1|" room "|" doc "|down|" E:16 seq:u64be       (server -> browser)
          = "jsp-e2e/1|" room "|" doc "|up|" S:16 seq:u64be         (browser -> server)

`doc` is "board" or "control". A connection starts with a handshake that costs no round trip:
the browser puts 16 fresh random bytes C in the socket's URL (`?e2e=<32 hex>`); the server's first
frame is the *hello*, seq 0, aad "jsp-e2e/1|" room "|" doc "|hello|" C, carrying S:16 (fresh
random, this connection's id), floor:u64be and E:16 (fresh random per room each time the server
opens the share: the key outlives a server, a shared-again share and a restart, its counters do
not, so a frame recorded in an earlier session never opens in a later one). Then:
- browser -> server: seq 1, 2, 3... exactly; a frame out of order, replayed, tampered with, or
  sealed for another connection (another S) fails and closes the connection (bad_frame);
- server -> browser: seq strictly increasing above `floor`. The room seals a message it sends to
  many people once, with the room's own counter, so every connection sees a subsequence of one
  sequence; a replayed hello cannot fool a browser that chose a new C.
"""

from __future__ import annotations

import base64
import gzip
import hmac
import os
import re
import secrets
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
ID_BYTES = 16  # C (chosen by the browser) and S (by the server)
SEQ = struct.Struct(">Q")
HEADER = SEQ.size + NONCE_BYTES
# What sealing adds to a websocket message: the socket layer allows this much beyond a room's
# message limit, which the room checks on the opened message (the limit stays exact).
OVERHEAD = HEADER + TAG_BYTES
PREFIX = b"jsp-e2e/1|"
BLOB_KINDS = ("page", "cells", "export")
DOCS = ("board", "control")
GZIP_LEVEL = 6


class SealError(ValueError):
    """A frame or blob that does not open: tampered, replayed, out of order or for elsewhere."""


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def key_text(key: bytes) -> str:
    """The key as the link's fragment carries it (`#k=` + this): base64url, no padding."""
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode()


def key_from_text(text: str) -> bytes:
    key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(key) != KEY_BYTES:
        raise ValueError("a share key is 32 bytes")
    return key


def fragment(key: bytes | None) -> str:
    """What a link to an encrypted share ends with ("" when the share is not encrypted)."""
    return f"#k={key_text(key)}" if key is not None else ""


def _aad(room: str, *parts: bytes) -> bytes:
    return PREFIX + room.encode() + b"|" + b"|".join(parts)


# --- blobs ---------------------------------------------------------------------------------


def seal_blob(key: bytes, room: str, kind: str, body: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    packed = gzip.compress(body, GZIP_LEVEL, mtime=0)
    return nonce + AESGCM(key).encrypt(nonce, packed, _aad(room, kind.encode()))


def open_blob(key: bytes, room: str, kind: str, blob: bytes) -> bytes:
    """The body of a blob (tests, and the kernel reading its own export)."""
    try:
        packed = AESGCM(key).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(room, kind.encode())
        )
    except (InvalidTag, ValueError) as e:
        raise SealError("this content does not open with the share's key") from e
    return gzip.decompress(packed)


def image_name(key: bytes, digest: str, ext: str) -> str:
    """An image's name on an encrypted share (its URL says nothing of its bytes)."""
    mac = hmac.new(key, b"img|" + digest.encode(), "sha256").hexdigest()[:32]
    return f"{mac}.{ext}"


def seal_image(key: bytes, room: str, name: str, data: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, data, _aad(room, b"img", name.encode()))


def open_image(key: bytes, room: str, name: str, blob: bytes) -> bytes:
    try:
        aad = _aad(room, b"img", name.encode())
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError) as e:
        raise SealError("this image does not open with the share's key") from e


# --- websocket frames ----------------------------------------------------------------------


def _frame(aead: AESGCM, seq: int, message: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return SEQ.pack(seq) + nonce + aead.encrypt(nonce, message, aad)


class RoomSeal:
    """One room (board or control) of an encrypted share: the key and the room's counter of
    frames sent. Server thread only."""

    def __init__(self, key: bytes, room: str, doc: str) -> None:
        self.aead = AESGCM(key)
        self.room = room
        self.doc = doc.encode()
        self.sent = 0  # the last seq used by any frame of this room
        self.epoch = os.urandom(ID_BYTES)  # this room's counter in this server's life

    def down(self, message: bytes) -> bytes:
        """A message sealed once for everyone who receives it."""
        self.sent += 1
        seq = SEQ.pack(self.sent)
        aad = _aad(self.room, self.doc, b"down", self.epoch + seq)
        return _frame(self.aead, self.sent, message, aad)

    def connection(self, client_nonce: bytes) -> ConnectionSeal:
        return ConnectionSeal(self, client_nonce)


class ConnectionSeal:
    """One socket's side of the handshake and its incoming sequence."""

    def __init__(self, room: RoomSeal, client_nonce: bytes) -> None:
        if len(client_nonce) != ID_BYTES:
            raise SealError("the socket's handshake nonce is 16 bytes")
        self.room = room
        self.client_nonce = client_nonce
        self.server_nonce = os.urandom(ID_BYTES)
        self.received = 0

    def hello(self) -> bytes:
        """The first frame this socket receives: its S, the room's counter now and epoch."""
        r = self.room
        body = self.server_nonce + SEQ.pack(r.sent) + r.epoch
        return _frame(r.aead, 0, body, _aad(r.room, r.doc, b"hello", self.client_nonce))

    def open(self, frame: bytes) -> bytes:
        """The message inside a frame this socket sent; SealError for anything else."""
        if len(frame) < HEADER + TAG_BYTES:
            raise SealError("a sealed frame is at least 36 bytes")
        (seq,) = SEQ.unpack_from(frame)
        if seq != self.received + 1:
            raise SealError("frame out of order or replayed")
        r = self.room
        aad = _aad(r.room, r.doc, b"up", self.server_nonce + frame[: SEQ.size])
        try:
            message = r.aead.decrypt(frame[SEQ.size : HEADER], frame[HEADER:], aad)
        except InvalidTag as e:
            raise SealError("frame does not open with the share's key") from e
        self.received = seq
        return message


HEX_NONCE = re.compile(f"[0-9a-fA-F]{{{2 * ID_BYTES}}}")


def client_nonce_from(text: str | None) -> bytes | None:
    """The `e2e` query parameter of a socket's URL: exactly 32 hex digits, or None (fromhex
    alone would skip spaces and give fewer bytes)."""
    if text is None or not HEX_NONCE.fullmatch(text):
        return None
    return bytes.fromhex(text)


class ClientSeal:
    """The browser's side, in Python: what js/viewer/e2e/ does, for tests and Python clients."""

    def __init__(self, key: bytes, room: str, doc: str) -> None:
        self.aead = AESGCM(key)
        self.room = room
        self.doc = doc.encode()
        self.client_nonce = os.urandom(ID_BYTES)
        self.server_nonce: bytes | None = None
        self.epoch = b""
        self.sent = 0
        self.last = -1  # the last downlink seq accepted (hello sets it to the floor)

    def query(self) -> str:
        return f"e2e={self.client_nonce.hex()}"

    def open_hello(self, frame: bytes) -> None:
        aad = _aad(self.room, self.doc, b"hello", self.client_nonce)
        body = self._open(frame, aad, 0)
        if len(body) != 2 * ID_BYTES + SEQ.size:
            raise SealError("a hello is S:16 || floor:8 || E:16")
        self.server_nonce, self.epoch = body[:ID_BYTES], body[ID_BYTES + SEQ.size :]
        (self.last,) = SEQ.unpack_from(body, ID_BYTES)

    def up(self, message: bytes) -> bytes:
        assert self.server_nonce is not None, "the hello comes first"
        self.sent += 1
        seq = SEQ.pack(self.sent)
        aad = _aad(self.room, self.doc, b"up", self.server_nonce + seq)
        return _frame(self.aead, self.sent, message, aad)

    def down(self, frame: bytes) -> bytes:
        if self.server_nonce is None:
            raise SealError("the hello comes first")
        if len(frame) < HEADER + TAG_BYTES:
            raise SealError("a sealed frame is at least 36 bytes")
        (seq,) = SEQ.unpack_from(frame)
        if seq <= self.last:
            raise SealError("frame out of order or replayed")
        aad = _aad(self.room, self.doc, b"down", self.epoch + frame[: SEQ.size])
        message = self._open(frame, aad, seq)
        self.last = seq
        return message

    def _open(self, frame: bytes, aad: bytes, seq: int) -> bytes:
        if len(frame) < HEADER + TAG_BYTES or SEQ.unpack_from(frame)[0] != seq:
            raise SealError("not the frame expected here")
        try:
            return self.aead.decrypt(frame[SEQ.size : HEADER], frame[HEADER:], aad)
        except InvalidTag as e:
            raise SealError("frame does not open with the share's key") from e
