"""Cutting inline images out of a page (content/images.py) and keeping them (server/pages.py
ImageStore): what is cut, what the tag becomes, the sizes read from each format's header, and the
store's bound. Real PNG and GIF files (tests/pages_fixtures.py); JPEG and WebP headers are built
here (the browser test, tests/test_pages_images.py, uses Chromium's own encoders)."""

from __future__ import annotations

import base64
import hashlib
import re
import struct

import pytest

from ..pages_fixtures import data_uri, gif, img, png, svg

PREFIX = "x/img/"


def extract(html: str, min_bytes: int = 2048):
    from jupyterspot_magic.content.images import extract as cut  # new module

    return cut(html, PREFIX, min_bytes)


def size(data: bytes, mime: str):
    from jupyterspot_magic.content.images import image_size

    return image_size(data, mime)


def jpeg(width: int, height: int, exif: bool = False, progressive: bool = False) -> bytes:
    """The segments a JPEG starts with: SOI, APP0 (JFIF) or APP1 (Exif), DQT, SOFn."""
    app = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    if exif:
        app = b"\xff\xe1" + struct.pack(">H", 16) + b"Exif\x00\x00" + b"II*\x00\x08\x00\x00\x00"
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + bytes(65)
    sof = b"\xff\xc2" if progressive else b"\xff\xc0"
    frame = sof + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app + dqt + frame + b"\xff\xda" + bytes(3000)


def webp(kind: bytes, width: int, height: int, flags: int = 0) -> bytes:
    if kind == b"VP8 ":
        payload = b"\x00\x00\x00\x9d\x01\x2a" + struct.pack("<HH", width, height)
    elif kind == b"VP8L":
        bits = (width - 1) | ((height - 1) << 14)
        payload = b"\x2f" + struct.pack("<I", bits)
    else:
        payload = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little")
        payload += (height - 1).to_bytes(3, "little")
    payload += bytes(3000)
    chunk = kind + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


@pytest.mark.parametrize(
    ("data", "mime", "expected"),
    [
        (png(37, 21), "image/png", (37, 21)),
        (gif(45, 12), "image/gif", (45, 12)),
        (jpeg(640, 480), "image/jpeg", (640, 480)),
        (jpeg(300, 200, progressive=True), "image/jpeg", (300, 200)),
        (jpeg(640, 480, exif=True), "image/jpeg", None),  # orientation may swap the sides
        (webp(b"VP8 ", 320, 240), "image/webp", (320, 240)),
        (webp(b"VP8L", 1000, 7), "image/webp", (1000, 7)),
        (webp(b"VP8X", 4000, 3000), "image/webp", (4000, 3000)),
        (webp(b"VP8X", 400, 300, flags=0x08), "image/webp", None),  # Exif
        (svg(120, 80), "image/svg+xml", (120, 80)),
        (svg(None, None), "image/svg+xml", None),  # sized by its container: no size to add
        (svg(120, None), "image/svg+xml", None),
        (b'<svg width="10em" height="4em"/>', "image/svg+xml", None),
        (b'<svg width="100%" height="50"/>', "image/svg+xml", None),
        (b"<svg width='12px' height='7'></svg>", "image/svg+xml", (12, 7)),
        (b"<svg width='12.5' height='7'></svg>", "image/svg+xml", None),
        (b"not an image at all", "image/png", None),
        (b"\x89PNG\r\n\x1a\n", "image/png", None),  # cut short
        (jpeg(10, 10)[:30], "image/jpeg", None),
    ],
)
def test_sizes_from_headers(data: bytes, mime: str, expected) -> None:
    assert size(data, mime) == expected


def test_a_large_image_becomes_a_sized_lazy_url() -> None:
    data = png(200, 100)
    html, found = extract(f"<p>before</p>{img('image/png', data)}<p>after</p>")
    digest = hashlib.sha256(data).hexdigest()
    assert list(found) == [f"{digest}.png"] and found[f"{digest}.png"].data == data
    assert html == (
        f'<p>before</p><img alt="figure" class="" src="x/img/{digest}.png" width="200" '
        'height="100" loading="lazy" decoding="async"/><p>after</p>'
    )


def test_what_stays_inline() -> None:
    small = img("image/png", png(4, 4))  # under the threshold: a request costs more
    bmp = f'<img src="data:image/bmp;base64,{base64.b64encode(bytes(9000)).decode()}">'
    broken = '<img src="data:image/png;base64,' + "@" * 9000 + '">'
    linked = '<img src="https://example.org/a.png">'
    css = f"<div style=\"background:url('{data_uri('image/png', png(40, 40))}')\"></div>"
    text = f"&lt;img src=&quot;{data_uri('image/png', png(40, 40))}&quot;&gt;"
    html = small + bmp + broken + linked + css + text
    assert extract(html) == (html, {})


def test_existing_size_attributes_are_kept_and_decide_lazy_loading() -> None:
    data = png(80, 60)
    both, _ = extract(img("image/png", data, ' width="40" height="30"'))
    assert ' width="40" height="30"' in both and 'loading="lazy"' in both
    assert both.count("width=") == 1
    # One side only: the other comes from the image once loaded, so it loads eagerly.
    one, _ = extract(img("image/png", data, ' width="40"'))
    assert one.count("width=") == 1 and "height=" not in one and "loading=" not in one
    styled, _ = extract(img("image/png", data, ' style="height:20px"'))
    assert "width=" not in styled and "loading=" not in styled and 'decoding="async"' in styled
    own, _ = extract(img("image/png", data, ' loading="eager"'))
    assert own.count("loading=") == 1 and 'loading="eager"' in own


def test_unsized_images_load_eagerly() -> None:
    html, found = extract(img("image/svg+xml", svg(None, None)))
    assert len(found) == 1 and "loading=" not in html and "width=" not in html


def test_tags_in_any_form_and_repeats() -> None:
    data = gif(60, 60)
    uri = data_uri("image/gif", data)
    wrapped = "\n".join(re.findall(".{1,76}", uri.split(",", 1)[1]))
    html = (
        f"<IMG SRC='{uri}'>"
        f'<img\nsrc = "data:image/gif;base64,{wrapped}" alt=x>'
        f'<img src="{uri}" />'
    )
    out, found = extract(html)
    name = f"{hashlib.sha256(data).hexdigest()}.gif"
    assert list(found) == [name]
    assert out.count(f"x/img/{name}") == 3 and "base64" not in out


def test_names_parse_only_as_written() -> None:
    from jupyterspot_magic.content.images import parse_name

    digest = "ab" * 32
    assert parse_name(f"{digest}.png") == (digest, "image/png")
    assert parse_name(f"{digest}.svg") == (digest, "image/svg+xml")
    for bad in (f"{digest}.bmp", f"{digest[:-1]}.png", f"{digest.upper()}.png", "../x.png"):
        assert parse_name(bad) is None


def test_the_store_keeps_two_generations_and_each_image_once() -> None:
    from jupyterspot_magic.content.images import extract as cut
    from jupyterspot_magic.server.pages import ImageStore

    store = ImageStore()
    pages = [cut(img("image/png", png(50, 50, seed)), PREFIX)[1] for seed in range(4)]
    shared = cut(img("image/png", png(50, 50, 99)), PREFIX)[1]
    store.add(pages[0] | shared, whole_page=True)
    store.next_generation()
    store.add(shared)  # a cells answer: not a whole page yet
    store.next_generation()  # ... so the previous generation stays
    assert store.names() == set(pages[0]) | set(shared)
    store.add(pages[1] | shared, whole_page=True)
    assert store.names() == set(pages[0]) | set(pages[1]) | set(shared)
    for page in pages[2:]:
        store.next_generation()
        store.add(page | shared, whole_page=True)
    assert store.names() == set(pages[2]) | set(pages[3]) | set(shared)
    kept = [pages[2], pages[3], shared]
    # The shared image is counted once, though it is in both generations.
    assert store.nbytes() == sum(len(i.data) for found in kept for i in found.values())
    assert store.get(next(iter(pages[0]))) is None


def test_updates_faster_than_any_page_build_stay_within_the_budget(monkeypatch) -> None:
    """50 live updates, each with a new figure, and no whole page built in between: the store
    kept all 50 generations (the review found it); now it stays within IMAGE_STORE_MAX."""
    from jupyterspot_magic.content.images import extract as cut
    from jupyterspot_magic.server import pages

    store = pages.ImageStore()
    first = cut(img("image/png", png(50, 50, 1000)), PREFIX)[1]
    store.add(first, whole_page=True)
    one = len(next(iter(first.values())).data)
    monkeypatch.setattr(pages, "IMAGE_STORE_MAX", 5 * one)
    for seed in range(50):
        store.next_generation()
        store.add(cut(img("image/png", png(50, 50, seed)), PREFIX)[1])  # a cells answer
        assert store.nbytes() <= 6 * one
    assert len(store.names()) <= 6


def test_a_page_built_across_a_content_change_answers_but_is_not_kept() -> None:
    """PageCache builds in a worker thread: a build that ends after `clear` (new content, a
    rotated token) still answers its request, is not served to the next one, and its images
    do not end the previous generation."""
    import asyncio
    import threading

    from jupyterspot_magic.server.pages import PageCache
    from jupyterspot_magic.server.thread import ServerThread

    from ..conftest import wait_for
    from ..pages_fixtures import page

    release = threading.Event()
    versions = iter([png(30, 30, 1), png(30, 30, 2)])
    built: list[bytes] = []

    def build(role: str) -> bytes:
        data = next(versions)
        built.append(data)
        if len(built) == 1:
            release.wait(10)
        return page([img("image/png", data)]).encode()

    srv = ServerThread().start()
    try:
        cache = srv.call(PageCache, build)
        tasks: list[asyncio.Future] = []
        srv.call(lambda: tasks.append(asyncio.ensure_future(cache.representation("guest", False))))
        wait_for(lambda: len(built) == 1, 5, "the first build started")
        srv.call(cache.clear)
        release.set()
        old = srv.call(lambda: asyncio.wait_for(tasks[0], 5))
        new = srv.call(cache.representation, "guest", False)
        assert len(built) == 2  # the old build was not kept: the next request built again
        first, second = (f"{hashlib.sha256(d).hexdigest()}.png" for d in built)
        assert first.encode() in old.body and second.encode() in new.body
        assert srv.call(cache.representation, "guest", False) is new  # kept: current content
        assert srv.call(cache.representation, "guest", True).etag == new.etag[:-1] + '-gzip"'
        assert srv.call(cache.images.names) == {first, second}
    finally:
        release.set()
        srv.stop()


def test_an_answers_images_are_never_the_ones_trimmed(monkeypatch) -> None:
    """A kept cell fragment's images were re-added where they were (the oldest end): the next
    image of the same answer pushed the store over its budget and the trim dropped an image the
    answer had just named (a 404 for the page). Now they move to the newest end, and the batch
    an answer names is never trimmed (the second review of issue 12 found it)."""
    from jupyterspot_magic.content.images import extract as cut
    from jupyterspot_magic.server import pages

    store = pages.ImageStore()
    old = cut(img("image/png", png(50, 50, 1)), PREFIX)[1]
    store.add(old)
    one = len(next(iter(old.values())).data)
    monkeypatch.setattr(pages, "IMAGE_STORE_MAX", 3 * one)
    for seed in range(2, 5):  # fills the budget: `old` is now the oldest
        store.add(cut(img("image/png", png(50, 50, seed)), PREFIX)[1])
    answer = {**old, **cut(img("image/png", png(50, 50, 99)), PREFIX)[1]}
    store.add(answer)  # `old` again (a kept fragment) with a new one: over the budget
    assert all(store.get(name) is not None for name in answer)
    assert store.nbytes() <= 3 * one + one
