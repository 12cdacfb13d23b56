"""Caching headers of the share's HTTP answers (server/caching.py), through a real server thread
on loopback: entity tags per representation, If-None-Match in every form RFC 9110 allows, and
Accept-Encoding with q-values. The old code answered every page `no-store` without a tag, sent
gzip to `gzip;q=0`, and compared If-None-Match as one exact string (the bundle only)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest

from jupyterspot_magic.server.thread import ServerThread

from ..pages_fixtures import GUEST, HOST, get, img, page, png, serve

PAGE = f"/s/room1/?token={GUEST}"
HOST_PAGE = f"/s/room1/?token={HOST}"


@pytest.fixture(scope="module")
def srv() -> Iterator[ServerThread]:
    server, _ = serve(page(["<p>text</p>", img("image/png", png(64, 48))]))
    yield server
    server.stop()


def tag_of(srv: ServerThread, path: str, **headers: str) -> str:
    status, h, _ = get(srv, path, **headers)
    assert status == 200, status
    return h["etag"]


def test_page_has_a_tag_per_representation_and_private_revalidation(srv: ServerThread) -> None:
    status, h, body = get(srv, PAGE)
    assert status == 200 and "content-encoding" not in h
    assert h["cache-control"] == "private, no-cache"  # not no-store: a reload can be a 304
    assert h["vary"] == "Accept-Encoding"
    tags = {
        tag_of(srv, PAGE),
        tag_of(srv, PAGE, Accept_Encoding="gzip"),
        tag_of(srv, HOST_PAGE),
        tag_of(srv, HOST_PAGE, Accept_Encoding="gzip"),
    }
    assert len(tags) == 4, tags  # role x encoding: four representations, four tags
    assert all(t.startswith('"') and t.endswith('"') for t in tags)
    assert tag_of(srv, PAGE) == h["etag"]  # stable


@pytest.mark.parametrize(
    "form",
    [
        "{t}",
        "W/{t}",
        '"other", {t}',
        '"other",W/{t} , "more"',
        ", ,{t},",
        "*",
        "  *  ",
    ],
)
def test_if_none_match_forms_answer_304(srv: ServerThread, form: str) -> None:
    etag = tag_of(srv, PAGE)
    status, h, body = get(srv, PAGE, If_None_Match=form.format(t=etag))
    assert status == 304 and body == b""
    assert h["etag"] == etag and h["cache-control"] == "private, no-cache"
    assert h["vary"] == "Accept-Encoding"


@pytest.mark.parametrize("form", ['"other"', 'W/"other", "x"', "garbage", "{t}x", ""])
def test_if_none_match_naming_another_tag_gets_the_page(srv: ServerThread, form: str) -> None:
    etag = tag_of(srv, PAGE)
    status, h, body = get(srv, PAGE, If_None_Match=form.format(t=etag[:-1]))
    assert status == 200 and b"jupyterspot-root" in body


def test_a_tag_validates_only_its_own_representation_and_token(srv: ServerThread) -> None:
    gz = tag_of(srv, PAGE, Accept_Encoding="gzip")
    assert get(srv, PAGE, If_None_Match=gz)[0] == 200  # identity request, gzip tag
    assert get(srv, PAGE, Accept_Encoding="gzip", If_None_Match=gz)[0] == 304
    guest = tag_of(srv, PAGE)
    assert get(srv, HOST_PAGE, If_None_Match=guest)[0] == 200  # the host's page is another
    # The token is checked before any 304: a rotated link gets its 403, not "not modified".
    status, h, _ = get(srv, "/s/room1/?token=nope", If_None_Match="*")
    assert status == 403 and h["cache-control"] == "no-store" and "etag" not in h


# Accept-Encoding -> the coding of the answer (None: identity). Forms the old code got right
# ("gzip" anywhere in the text meant gzip) stand beside the ones it got wrong.
ACCEPT_FORMS = [
    ("gzip", "gzip"),
    ("GZip", "gzip"),
    ("deflate, gzip;q=1.0, br", "gzip"),
    ("gzip;Q=0.5", "gzip"),
    ("x-gzip", "gzip"),
    ("*", "gzip"),
    ("br;q=1, *;q=0.1", "gzip"),
    ("gzip;q=0", None),
    ("gzip;q=0.000", None),
    ("gzip;q=0, *", None),
    ("*;q=0.5, gzip;q=0", None),
    ("gzip;q=0.4, identity;q=0.5", None),
    ("gzip;q=2", None),  # not a q-value: the entry is ignored
    ("deflate, br", None),
    ("", None),
    ("identity", None),
    ("identity;q=0, gzip", "gzip"),
]


def test_accept_encoding_forms(srv: ServerThread) -> None:
    wrong = []
    for accept, coding in ACCEPT_FORMS:
        status, h, body = get(srv, PAGE, Accept_Encoding=accept)
        html = gzip.decompress(body) if h.get("content-encoding") == "gzip" else body
        if status != 200 or h.get("content-encoding") != coding or b"jupyterspot-root" not in html:
            wrong.append((accept, status, h.get("content-encoding")))
    assert wrong == []


@pytest.mark.parametrize("accept", ["identity;q=0", "*;q=0", "gzip;q=0, identity;q=0"])
def test_nothing_acceptable_is_406(srv: ServerThread, accept: str) -> None:
    status, h, _ = get(srv, PAGE, Accept_Encoding=accept)
    assert status == 406 and h["cache-control"] == "no-store"


def test_bundle_files_get_tags_per_encoding_and_the_same_conditional_rules(
    srv: ServerThread,
) -> None:
    path = "/s/room1/static/viewer.css"
    plain = tag_of(srv, path)
    gz = tag_of(srv, path, Accept_Encoding="gzip")
    assert plain != gz
    status, h, _ = get(srv, path, Accept_Encoding="gzip;q=0")
    assert status == 200 and "content-encoding" not in h
    assert h["cache-control"] == "no-cache" and h["vary"] == "Accept-Encoding"
    assert get(srv, path, If_None_Match=f'"x", W/{plain}')[0] == 304
    assert get(srv, path, Accept_Encoding="gzip", If_None_Match=plain)[0] == 200
    assert get(srv, path, If_None_Match="*")[0] == 304


# ---------------------------------------------------------------- the parsers alone


def test_none_match_parser() -> None:
    from jupyterspot_magic.server.caching import none_match  # here: the HTTP tests run without it

    t = '"abc"'
    assert none_match('"abc"', t) and none_match('W/"abc"', t) and none_match("*", t)
    assert none_match('"a", W/"b",  "abc"', t) and none_match(',,"abc"', t)
    assert none_match('"abc"', 'W/"abc"')  # weak comparison: either side may be weak
    assert not none_match(None, t) and not none_match("", t)
    assert not none_match('"ab"', t) and not none_match('w/"abc"', t)  # W/ is case-sensitive
    assert not none_match("abc", t) and not none_match('"a" "abc"', t)  # malformed: no match


def test_choose_encoding_parser() -> None:
    from jupyterspot_magic.server.caching import choose_encoding

    assert choose_encoding(None) == "identity"  # no header: what every client can read
    assert choose_encoding("gzip, deflate, br, zstd") == "gzip"  # Chromium's
    assert choose_encoding("gzip;q=1.0, identity; q=0.5, *;q=0") == "gzip"  # RFC 9110's example
    assert choose_encoding("identity;q=1, *;q=0") == "identity"
    assert choose_encoding("*;q=0") is None
