"""Images and pages for the page-delivery tests (tests/test_pages_*.py, tests/unit/test_pages_*).

PNG and GIF files are made here byte by byte (real, decodable files); JPEG and WebP come from
Chromium's own encoders in the browser tests (`canvas.toDataURL`). `serve` registers a page on a
real server thread on loopback; `get` fetches from it with the headers given.
"""

from __future__ import annotations

import base64
import random
import struct
import urllib.error
import urllib.request
import zlib

from jupyterspot_magic.content.render import CONFIG_PLACEHOLDER, RenderedNotebook
from jupyterspot_magic.server.shared import SharedNotebook
from jupyterspot_magic.server.thread import ServerThread

GUEST, HOST = "guest-token-pages", "host-token-pages"


def png(width: int, height: int, seed: int = 0) -> bytes:
    """An RGB PNG of random pixels (barely compressible, like a photo or a dense plot)."""
    rng = random.Random(seed)
    rows = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 1))
        + chunk(b"IEND", b"")
    )


def gif(width: int, height: int, seed: int = 0) -> bytes:
    """A 256-colour GIF of random pixels, LZW with a clear code every 250 codes (9-bit codes)."""
    rng = random.Random(seed)
    palette = rng.randbytes(256 * 3)
    pixels = rng.randbytes(width * height)
    codes: list[int] = []
    for i in range(0, len(pixels), 250):
        codes.append(256)  # clear
        codes.extend(pixels[i : i + 250])
    codes.append(257)  # end of information
    bits = acc = 0
    stream = bytearray()
    for code in codes:
        acc |= code << bits
        bits += 9
        while bits >= 8:
            stream.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        stream.append(acc & 0xFF)
    blocks = b"".join(
        bytes([len(stream[i : i + 255])]) + stream[i : i + 255] for i in range(0, len(stream), 255)
    )
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", width, height, 0xF7, 0, 0)
        + palette
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, width, height, 0)
        + b"\x08"
        + blocks
        + b"\x00\x3b"
    )


def svg(width: int | None, height: int | None, script: bool = False, pad: int = 4000) -> bytes:
    """An SVG document (padded past the inline threshold with a long comment)."""
    size = ""
    if width is not None:
        size += f' width="{width}"'
    if height is not None:
        size += f' height="{height}"'
    body = f'<rect x="0" y="0" width="{width or 50}" height="{height or 50}" fill="#3b5"/>'
    if script:
        body += "<script>document.title='svg script ran';fetch('/ran-svg-script')</script>"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg"{size} viewBox="0 0 {width or 50} '
        f'{height or 50}"><!-- {"x" * pad} -->{body}</svg>'
    ).encode()


def data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def img(mime: str, data: bytes, attrs: str = "") -> str:
    """An `<img>` tag as nbconvert writes an image output."""
    return f'<img alt="figure" class=""{attrs} src="{data_uri(mime, data)}"/>'


def page(cells: list[str]) -> str:
    """A page shaped like a rendered one: cells with anchors in the root, the config slot."""
    body = "".join(f'<div class="jp-Cell" id="cell-id=c{i}">{c}</div>' for i, c in enumerate(cells))
    return (
        f"<html><body><main id='jupyterspot-root'>{body}</main>{CONFIG_PLACEHOLDER}</body></html>"
    )


def rendered(html: str, content_hash: str = "v1") -> RenderedNotebook:
    ids = [f"c{i}" for i in range(html.count('id="cell-id='))]
    return RenderedNotebook(html, content_hash, ids, "t", [], 0.0, False)


def serve(html: str, room: str = "room1") -> tuple[ServerThread, SharedNotebook]:
    """A server thread on loopback with one share showing `html`; stop it when done."""
    srv = ServerThread("127.0.0.1", 0).start()
    shared = SharedNotebook(room=room, token=GUEST, host_token=HOST, rendered=rendered(html))
    srv.call(srv.registry.register, shared)
    return srv, shared


def get(srv: ServerThread, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of a GET; no content decoding."""
    names = {k.replace("_", "-"): v for k, v in headers.items()}
    req = urllib.request.Request(f"http://127.0.0.1:{srv.port}{path}", headers=names)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()
