"""Cut large inline images out of rendered HTML: `<img src="data:image/…;base64,…">` -> a URL.

A rendered page carries its figures as base64 data URIs: a notebook of 120 PNGs is an 18 MB page
that barely compresses, sent whole on every load. :func:`extract` swaps each large data URI for
``<prefix><sha256>.<ext>`` and returns the decoded images by that name, so the server can send them
as separate, immutable resources (server/pages.py keeps them, server/app.py serves them). The
name is the SHA-256 of the bytes: the same image is the same URL in every page, every version of
the page and every cells answer of a live update.

Layout must not move when an image arrives later (the viewer places drawings by measured cell
geometry), so a tag without `width`/`height` gets the intrinsic size read from the image's header
(:func:`image_size`; nbconvert's own CSS for images is `max-width: 100%; height: auto`, which then
gives the loaded image's box before it loads). Only a tag whose box is known before loading gets
``loading="lazy"``; the others load eagerly, as the inline image did, so the page's `load` event
still waits for them. A tag with a `style` attribute is left without added size: its own CSS might
set one dimension, and a `width` attribute would then change the other.

Pure functions over text and bytes: no I/O, no state.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

# The raster formats browsers draw plus SVG; anything else stays inline.
EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/svg+xml": "svg",
}
MIME_OF = {ext: mime for mime, ext in EXTENSIONS.items()}
MIN_BYTES = 2048  # decoded: smaller images stay inline (a request costs more than their bytes)

_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
# The start of a data URI src; its end is the matching quote (found with str.find: a regex
# scanning 200 KB of base64 per tag was most of the cost).
_DATA_SRC = re.compile(
    r"""\ssrc\s*=\s*(["'])data:(image/(?:png|jpeg|gif|webp|svg\+xml));base64,""", re.IGNORECASE
)
_NAME = re.compile(r"^([0-9a-f]{64})\.(png|jpg|gif|webp|svg)$")


@dataclass(frozen=True)
class Image:
    """One image cut out of a page: its bytes, type and content-addressed name."""

    digest: str  # sha256 hex of `data`
    mime: str
    data: bytes

    @property
    def name(self) -> str:
        return f"{self.digest}.{EXTENSIONS[self.mime]}"


def parse_name(name: str) -> tuple[str, str] | None:
    """(digest, mime) of an image name `<sha256 hex>.<ext>`, or None when it is not one."""
    m = _NAME.match(name)
    return (m.group(1), MIME_OF[m.group(2)]) if m else None


def extract(html: str, prefix: str, min_bytes: int = MIN_BYTES) -> tuple[str, dict[str, Image]]:
    """`html` with every inline image of at least `min_bytes` (decoded) replaced by
    `prefix + image.name`, and those images by name."""
    found: dict[str, Image] = {}

    def swap(m: re.Match[str]) -> str:
        tag = m.group(0)
        src = _DATA_SRC.search(tag)
        end = tag.find(src.group(1), src.end()) if src else -1
        if src is None or end < 0:
            return tag
        image = _decode(tag[src.end() : end], src.group(2).lower(), min_bytes)
        if image is None:
            return tag
        found.setdefault(image.name, image)
        rest = tag[: src.start()] + tag[end + 1 :]  # the tag's other attributes
        return tag[: src.start()] + _attributes(rest, image, prefix) + tag[end + 1 :]

    return _IMG_TAG.sub(swap, html), found


def _decode(payload: str, mime: str, min_bytes: int) -> Image | None:
    if len(payload) * 3 // 4 < min_bytes:
        return None
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        try:  # line breaks inside the base64 are allowed; anything else leaves it inline
            data = base64.b64decode("".join(payload.split()), validate=True)
        except (binascii.Error, ValueError):
            return None
    return Image(hashlib.sha256(data).hexdigest(), mime, data)


def _has(tag: str, attribute: str) -> bool:
    return re.search(rf"\s{attribute}\s*=", tag, re.IGNORECASE) is not None


def _attributes(rest: str, image: Image, prefix: str) -> str:
    """What replaces the src attribute: the URL, the size when the tag has none, lazy loading
    when the box is known before the image arrives."""
    out = f' src="{prefix}{image.name}"'
    sized = _has(rest, "width") and _has(rest, "height")
    if not (_has(rest, "width") or _has(rest, "height") or _has(rest, "style")):
        size = image_size(image.data, image.mime)
        if size is not None:
            out += f' width="{size[0]}" height="{size[1]}"'
            sized = True
    if sized and not _has(rest, "loading"):
        out += ' loading="lazy"'
    if not _has(rest, "decoding"):
        out += ' decoding="async"'
    return out


# ---------------------------------------------------------------- image headers


def image_size(data: bytes, mime: str) -> tuple[int, int] | None:
    """The size in CSS px a browser gives the image in an `<img>` without size attributes, from
    its header; None when it cannot be told for sure (then no size is added)."""
    reader = {
        "image/png": _png_size,
        "image/gif": _gif_size,
        "image/jpeg": _jpeg_size,
        "image/webp": _webp_size,
        "image/svg+xml": _svg_size,
    }[mime]
    try:
        size = reader(data)
    except (struct.error, IndexError, ValueError):
        return None
    if size is None or not (0 < size[0] <= 65535 and 0 < size[1] <= 65535):
        return None
    return size


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def _gif_size(data: bytes) -> tuple[int, int] | None:
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        return None
    w, h = struct.unpack("<HH", data[6:10])
    return w, h


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """From the first SOF segment. A JPEG with Exif gives up: browsers apply its orientation
    (width and height swap) and may apply its resolution to the intrinsic size."""
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker == 0xE1 and data[pos + 4 : pos + 10] == b"Exif\x00\x00":
            return None
        if marker in _SOF:
            h, w = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return w, h
        if marker in (0xDA, 0xD9):  # scan data or end before any frame header
            return None
        pos += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        if data[20] != 0x2F:
            return None
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        if data[20] & 0x08:  # Exif: orientation may apply, as for JPEG
            return None
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    return None


_SVG_ROOT = re.compile(rb"<svg\b[^>]*>", re.IGNORECASE)
_PX = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(px)?\s*$")


def _svg_size(data: bytes) -> tuple[int, int] | None:
    """Only `width` and `height` on the root, both plain numbers (or px) and whole: an SVG without
    them has no intrinsic size and the browser sizes it from its container, which an attribute
    would change; em, % and the like depend on context."""
    root = _SVG_ROOT.search(data[:65536])
    if root is None:
        return None
    tag = root.group(0).decode("utf-8", "replace")
    sizes = []
    for name in ("width", "height"):
        attr = re.search(rf"""\s{name}\s*=\s*(["'])([^"']*)\1""", tag)
        value = _PX.match(attr.group(2)) if attr else None
        if value is None or not float(value.group(1)).is_integer():
            return None
        sizes.append(int(float(value.group(1))))
    return sizes[0], sizes[1]
