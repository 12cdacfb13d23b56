"""HTTP caching for the share's routes: entity tags, `If-None-Match`, `Accept-Encoding` (RFC 9110).

Every cacheable answer (page, bundle file, cells answer, image) is a `Representation`: its bytes,
their content coding and an entity tag from a hash of the content. The tag differs per
representation: a role's page and its gzip encoding are different bytes, so they get different
tags (one tag for both encodings would let a cache answer a gzip request with identity bytes
or the reverse). `respond` turns one into a 200 or, when the client already holds it, a 304.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.responses import Response

# The page: private (it differs per role and carries the token's view; no shared cache such as
# a tunnel's or a proxy's may keep it) and revalidated on every use (no-cache: it changes on
# live updates and a rotated link must get its 403), so a reload costs a 304 when nothing
# changed. Bundle files: public (the same for everyone), revalidated too (fixed names).
PAGE_CACHE = "private, no-cache"
BUNDLE_CACHE = "no-cache"
# An image's URL names its content: it can never change, so it is never revalidated.
IMMUTABLE_CACHE = "private, max-age=31536000, immutable"


@dataclass(frozen=True)
class Representation:
    body: bytes
    media_type: str
    etag: str  # quoted, as sent: "…"
    encoding: str | None = None  # "gzip" or None (identity)


def content_tag(body: bytes) -> str:
    """A strong entity tag from the content (128 bits of its SHA-256)."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def gzipped(plain: Representation, level: int = 6) -> Representation:
    """The gzip encoding of `plain`: its own bytes and its own tag (the identity tag + -gzip)."""
    body = gzip.compress(plain.body, level, mtime=0)
    return Representation(body, plain.media_type, plain.etag[:-1] + '-gzip"', "gzip")


# ---------------------------------------------------------------- If-None-Match

# One member of the list (empty members, as in `"a", , "b"`, are allowed by RFC 9110 5.6.1).
_ETAG = re.compile(r'[\s,]*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


def none_match(header: str | None, etag: str) -> bool:
    """True when `If-None-Match` names `etag` (weak comparison, RFC 9110 13.1.2): `*`, or a
    comma list of tags, each possibly `W/`. A malformed field matches nothing (a full answer is
    always safe)."""
    if header is None:
        return False
    value = header.strip()
    if value == "*":
        return True
    opaque = etag[2:] if etag.startswith("W/") else etag
    pos = 0
    while pos < len(value):
        m = _ETAG.match(value, pos)
        if m is None or m.end() == pos:
            return False
        if m.group(2) == opaque:
            return True
        pos = m.end()
    return False


# ---------------------------------------------------------------- Accept-Encoding

_CODING = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(?:;\s*[qQ]\s*=\s*([0-9.]+))?\s*$")
_QVALUE = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")


def codings(header: str) -> dict[str, float]:
    """Accept-Encoding as {coding (lower case): q}; entries that do not parse are left out."""
    out: dict[str, float] = {}
    for item in header.split(","):
        m = _CODING.match(item.strip())
        if m is None or (m.group(2) is not None and not _QVALUE.match(m.group(2))):
            continue
        q = float(m.group(2)) if m.group(2) is not None else 1.0
        out[m.group(1).lower()] = q
    return out


def choose_encoding(header: str | None) -> str | None:
    """The coding to answer with: "gzip", "identity", or None when neither is acceptable (406).

    No header: identity (RFC 9110 allows any coding then, but clients that send none rarely
    decode one). Otherwise gzip when acceptable, unless identity is named (or covered by `*`)
    with a higher q; names are case-insensitive, `x-gzip` is gzip, `*` covers what is not named,
    `q=0` refuses; identity is acceptable unless refused by `identity;q=0` or by `*;q=0` without
    an `identity` entry (RFC 9110 12.5.3).
    """
    if header is None:
        return "identity"
    accepted = codings(header)
    star = accepted.get("*")
    gzip_q = accepted.get("gzip", accepted.get("x-gzip", star if star is not None else 0.0))
    identity_q = accepted.get("identity", star)  # None: acceptable, no stated preference
    if gzip_q > 0 and (identity_q is None or gzip_q >= identity_q):
        return "gzip"
    if identity_q is None or identity_q > 0:
        return "identity"
    return None


# ---------------------------------------------------------------- answers


def respond(
    request_headers: Mapping[str, str],
    rep: Representation,
    cache_control: str,
    vary: bool = True,
    extra: dict[str, str] | None = None,
) -> Response:
    """200 with `rep`, or 304 (no body; the same validators and caching headers, as RFC 9110
    15.4.5 asks) when the request's If-None-Match names it."""
    headers = {"Cache-Control": cache_control, "ETag": rep.etag, **(extra or {})}
    if vary:
        headers["Vary"] = "Accept-Encoding"
    if none_match(request_headers.get("if-none-match"), rep.etag):
        return Response(status_code=304, headers=headers)
    if rep.encoding:
        headers["Content-Encoding"] = rep.encoding
    return Response(rep.body, media_type=rep.media_type, headers=headers)
