"""End-to-end encryption as the tunnel sees it (issue 14, "Must show"): a recording reverse proxy
on loopback (tests/e2e_proxy.py) stands where the tunnel would, between two real Chromium pages
and a share made by a real kernel. Through it the pages load, see each other, set their names,
draw, type a note, follow the host, receive a live cell update and download the export. The
capture, decoded of everything that is not encryption (HTTP framing, chunking, gzip, websocket
framing and masks), holds none of the notebook's sources, outputs, title, the note or the names
in either direction; opened with the share's key, every blob and message opens and carries them.

The positive control runs the same scenario on a plain share (e2e=False): the decoded capture
must show every secret, in the direction it travels, or the check above proves nothing.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import DESKTOP, REPO
from .e2e_proxy import (
    DOWN,
    UP,
    Decoded,
    RecordingProxy,
    decode,
    directions,
    leaks,
    open_sealed,
    unbase64,
)
from .kernel import Kernel
from .test_annotations import mouse_drag, newest, pick, show_cell, wait_shape, wave

LIVE = "window.jupyterspot && window.jupyterspot.connection.status.state === 'live'"
TOP = "() => window.jupyterspot.layout.topVisible()"
FILLER = 40  # cells: the page is long enough that following means scrolling
FOLLOW_CELL = 30  # the host leads the guest to this cell
UPDATED_CELL = 20  # the kernel changes this one


@dataclass
class Run:
    """What one scenario left behind."""

    secrets: dict[str, str]
    decoded: Decoded
    info: dict
    export: bytes
    urls: list[str] = field(default_factory=list)


def make_secrets() -> dict[str, str]:
    """Words that occur nowhere else: each a single token, so highlighting and escaping keep it
    whole in the page (the control run proves they appear when nothing is encrypted)."""
    r = secrets.token_hex(4)
    return {
        "title": f"Quillmarsh_Ledger_{r}",
        "markdown source": f"Brackwaterlumen{r}",
        "code source (name)": f"zephyr_tally_{r}",
        "code source (comment)": f"Cormorantsong{r}",
        "stream output": f"Halcyonfigure{r}",
        "result output": f"Marzipanorbit{r}",
        "far cell source": f"Thistledownquay{r}",
        "updated source": f"rewritten_gull_{r}",
        "updated output": f"Lanternfishtide{r}",
        "note": f"Periwinkleaccord{r}",
        "host name": f"Ottoline{r}",
        "guest name": f"Barnaby{r}",
    }


def notebook(s: dict[str, str], updated: bool = False) -> dict:
    def md(i: int, text: str) -> dict:
        return {"cell_type": "markdown", "id": f"m{i}", "metadata": {}, "source": text}

    cells = [
        md(i, f"## Section {i}\n\nPlain filler text for scrolling, part {i}.\n\n" * 2)
        for i in range(FILLER)
    ]
    cells[0] = md(0, f"# Report\n\n{s['markdown source']} is the subject here.")
    cells[1] = {
        "cell_type": "code",
        "id": "c1",
        "metadata": {},
        "execution_count": 1,
        "source": f"{s['code source (name)']} = 41  # {s['code source (comment)']}\nresult()",
        "outputs": [
            {"output_type": "stream", "name": "stdout", "text": f"{s['stream output']}\n"},
            {
                "output_type": "execute_result",
                "execution_count": 1,
                "metadata": {},
                "data": {"text/plain": f"'{s['result output']}'"},
            },
        ],
    }
    cells[FOLLOW_CELL] = md(FOLLOW_CELL, f"## Far away\n\n{s['far cell source']} lives here.")
    cells[UPDATED_CELL] = {
        "cell_type": "code",
        "id": "c20",
        "metadata": {},
        "execution_count": 2,
        "source": f"{s['updated source']} = 2" if updated else "x = 1",
        "outputs": [
            {
                "output_type": "stream",
                "name": "stdout",
                "text": f"{s['updated output']}\n" if updated else "1\n",
            }
        ],
    }
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}


def cid(page) -> int:
    return page.evaluate("window.jupyterspot.awareness.clientID")


def open_page(context, url: str, name: str, urls: list[str], host: bool = False):
    page = context.new_page()
    page.on("request", lambda r: urls.append(r.url))
    page.on("websocket", lambda ws: urls.append(ws.url))
    page.goto(url)
    page.wait_for_function(LIVE, timeout=30000)
    # The name in the page, never as ?name= (that would put it in the request line): a guest
    # through the viewer's own dialog; the presenter's page asks nothing (it starts with the
    # login name's default, issue 16), so it renames itself as "change your name" does.
    if host:
        page.evaluate("n => window.jupyterspot.setName(n)", name)
    else:
        page.get_by_test_id("name-input").fill(name)
        page.get_by_test_id("name-submit").click()
    return page


def sees(page, names: list[str]) -> None:
    page.wait_for_function(
        "names => { const t = document.querySelector('[data-testid=\"participants\"]')"
        ".innerText; return names.every(n => t.includes(n)); }",
        arg=names,
        timeout=15000,
    )


def draw_and_note(drawer, other, note_text: str) -> None:
    """A pen stroke and a typed sticky note on cell 2, both seen by the other page."""
    cell = "c1"
    box = show_cell(drawer, cell)
    pick(drawer, "tool-pen")
    mouse_drag(drawer, wave(box, 0.5))
    stroke = newest(drawer, "pen")
    wait_shape(other, stroke["id"], timeout=15000)
    pick(drawer, "tool-note")
    drawer.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.3)
    drawer.get_by_test_id("note-editor").wait_for()
    drawer.keyboard.type(note_text)
    drawer.keyboard.press("Escape")
    note = newest(drawer, "note")
    assert note["text"] == note_text
    other.wait_for_function(
        '([id, t]) => { const e = document.querySelector(`[data-shape-id="${id}"]`);'
        " return !!e && e.textContent.includes(t); }",
        arg=[note["id"], note_text],
        timeout=15000,
    )


def follow(host, guest) -> None:
    """The host leads, the guest follows him to a far cell."""
    host.get_by_test_id("take-lead").click()
    h = cid(host)
    guest.wait_for_function(
        "h => window.jupyterspot.follow.state().following === h", arg=h, timeout=15000
    )
    host.evaluate("window.jupyterspot.layout.scrollToCell('m30', 4)")
    host.wait_for_function(f"({TOP})().cell === 'm{FOLLOW_CELL}'", timeout=15000)
    guest.wait_for_function(f"({TOP})().cell === 'm{FOLLOW_CELL}'", timeout=15000)


def share_in_kernel(kernel: Kernel, path: Path, e2e: bool) -> dict:
    return kernel.json(
        "import json, jupyterspot_magic\n"
        f"s = jupyterspot_magic.share({str(path)!r}, tunnel='none', store=False, watch=False,"
        f" display=False, e2e={e2e})\n"
        "print(json.dumps(s.info()))"
    )


def scenario(browser, tmp_path: Path, e2e: bool) -> Run:
    s = make_secrets()
    path = tmp_path / f"{s['title']}.ipynb"
    path.write_text(json.dumps(notebook(s)))
    kernel = Kernel(REPO, {"JUPYTERSPOT_DATA_DIR": str(tmp_path / "data")})
    contexts = []
    urls: list[str] = []
    try:
        info = share_in_kernel(kernel, path, e2e)
        port = int(info["url"].split("/")[2].rsplit(":", 1)[1])
        with RecordingProxy(port) as proxy:
            contexts = [browser.new_context(**DESKTOP, accept_downloads=True) for _ in range(2)]
            host = open_page(
                contexts[0], proxy.url(info["host_url"]), s["host name"], urls, host=True
            )
            guest = open_page(contexts[1], proxy.url(info["url"]), s["guest name"], urls)
            for page in (host, guest):
                sees(page, [s["host name"], s["guest name"]])
            draw_and_note(guest, host, s["note"])
            follow(host, guest)

            path.write_text(json.dumps(notebook(s, updated=True)))
            assert kernel.json("print(json.dumps(s.update()))") is True
            for page in (host, guest):
                page.wait_for_function(
                    "t => document.body.textContent.includes(t)",
                    arg=s["updated output"],
                    timeout=15000,
                )

            with guest.expect_download(timeout=30000) as download:
                guest.get_by_test_id("export").click()
            export = Path(download.value.path()).read_bytes()
            for context in contexts:
                context.close()
            contexts = []
            decoded = decode(proxy.connections())
    finally:
        for context in contexts:
            context.close()
        kernel.execute("import jupyterspot_magic; jupyterspot_magic.stop()")
        kernel.shutdown()
    return Run(s, decoded, info, export, urls)


def check_routed(run: Run, routes: tuple[str, ...]) -> None:
    """Every request and socket of the pages went to the proxy, none around it, and the proxy
    answered each of `routes` (the live update's cells, the export download...) with 200."""
    share_port = run.info["url"].split("/")[2]
    assert run.urls, "the pages made no requests"
    assert not [u for u in run.urls if share_port in u], "a request bypassed the proxy"
    answered = [p.label for p in run.decoded.of("head", DOWN) if p.meta.get("status") == 200]
    for route in routes:
        assert [a for a in answered if f"/{route}?" in a], f"no {route} through the proxy"


def check_export(run: Run) -> None:
    """The download is the real export: the notebook with the note drawn on it."""
    text = (run.export + unbase64(run.export)).decode("utf-8", "replace")
    for name in ("note", "markdown source", "updated output"):
        assert run.secrets[name] in text, f"the export lacks the {name}"


@pytest.fixture(scope="module")
def plain_run(browser, tmp_path_factory) -> Run:
    return scenario(browser, tmp_path_factory.mktemp("plain"), e2e=False)


@pytest.fixture(scope="module")
def sealed_run(browser, tmp_path_factory) -> Run:
    return scenario(browser, tmp_path_factory.mktemp("sealed"), e2e=True)


# Which way each secret must travel when nothing is encrypted: the page and the cells go down,
# what a person types goes up (and down again to the other page).
GOES_UP = {"note", "host name", "guest name"}


def test_control_plain_share_shows_every_secret_in_the_capture(plain_run):
    """The positive control: without encryption the decoded capture holds every secret, each in
    the direction it travels, so the encrypted run below can fail."""
    check_routed(plain_run, ("x/cells", "x/export"))
    check_export(plain_run)
    found = leaks(plain_run.decoded, plain_run.secrets)
    missing = sorted(set(plain_run.secrets) - set(found))
    assert not missing, f"the decoder did not find {missing} in a plain share's capture"
    for name, hits in found.items():
        want = {UP, DOWN} if name in GOES_UP else {DOWN}
        assert want <= directions(hits), (name, hits)
    # What the decoder adds: what people type goes up in masked frames, unreadable raw.
    raw = leaks(_raw_only(plain_run.decoded), plain_run.secrets)
    raw_up = sorted(n for n in GOES_UP if UP in directions(raw.get(n, [])))
    print(
        f"\nplain share: {len(found)}/{len(plain_run.secrets)} secrets in the decoded capture"
        f" ({len(plain_run.decoded.raw)} connections); of those typed, {raw_up or 'none'}"
        " visible in the raw up bytes"
    )


def _raw_only(decoded: Decoded) -> Decoded:
    return Decoded([], decoded.raw, [])


def test_encrypted_share_shows_the_tunnel_no_secret(sealed_run):
    run = sealed_run
    check_routed(run, ("x/page", "x/cells", "x/export"))
    check_export(run)
    found = leaks(run.decoded, run.secrets)
    assert not found, f"plaintext crossed the proxy: {json.dumps(found, indent=1)}"
    key = run.info["key"]
    assert key and not leaks(run.decoded, {"key": key}), "the key crossed the proxy"
    # The content did cross, sealed: every blob and websocket message opens with the key, and
    # together they carry every secret (so the pages really did all of the above through it).
    from jupyterspot_magic.collab import seal

    opened, failed = open_sealed(run.decoded, seal.key_from_text(key), run.info["room"])
    assert not failed, failed
    plain = b"\n".join(opened)
    assert not [n for n, v in run.secrets.items() if v.encode() not in plain], (
        "the sealed traffic did not carry everything the pages showed"
    )
    sockets = {p.conn for p in run.decoded.of("ws")}
    assert len(sockets) >= 4, "both pages' two rooms"
    size = sum(len(c.up) + len(c.down) for c in run.decoded.raw)
    print(
        f"\nencrypted share: 0/{len(run.secrets)} secrets in the decoded capture"
        f" ({len(run.decoded.raw)} connections, {size} bytes); {len(opened)} sealed blobs and"
        " messages opened with the key carry all of them"
    )


def test_decoder_undoes_chunking_gzip_masks_fragments_and_deflate():
    """The decoder on bytes built here: a secret hidden by HTTP chunking + gzip, by a masked
    websocket message split into fragments, and by permessage-deflate is found in each."""
    import gzip
    import os
    import zlib

    from .e2e_proxy import Recorded, _unmask

    secret = b"Sesquipedalian" + secrets.token_hex(4).encode()
    body = gzip.compress(b"<p>" + secret + b"</p>")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:7], body[7:]))
    http = Recorded(0)
    http.up += b"GET /s/r/x/cells?since=1 HTTP/1.1\r\nHost: x\r\n\r\n"
    http.down += (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunks
        + b"0\r\n\r\n"
    )

    def frame(fin: bool, opcode: int, payload: bytes, masked: bool, rsv1: bool = False) -> bytes:
        head = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
        mask = os.urandom(4) if masked else b""
        n = len(payload)
        size = bytes([n]) if n < 126 else b"\x7e" + n.to_bytes(2, "big")
        size = bytes([size[0] | (0x80 if masked else 0)]) + size[1:]
        return head + size + mask + (_unmask(payload, mask) if masked else payload)

    z = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    deflated = (z.compress(b"hello " + secret) + z.flush(zlib.Z_SYNC_FLUSH))[:-4]
    ws = Recorded(1)
    ws.up += (
        b"GET /ws/r/board?token=t HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
        b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Key: a2V5a2V5a2V5a2V5a2V5aw==\r\n\r\n"
    )
    ws.up += frame(False, 2, b"abc" + secret[:5], True) + frame(True, 0, secret[5:], True)
    ws.down += (
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Accept: x\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    )
    ws.down += frame(True, 2, deflated, False, rsv1=True) + frame(True, 8, b"\x11\x94bad", False)
    decoded = decode([http, ws])
    assert not decoded.incomplete
    hits = leaks(decoded, {"s": secret.decode()})["s"]
    assert "conn 0 down body [GET /s/r/x/cells?since=1]" in hits
    assert any(h.startswith("conn 1 up ws") for h in hits)
    assert any(h.startswith("conn 1 down ws") for h in hits)
    assert not [h for h in hits if " raw " in h], "hidden from a plain search of the bytes"
    assert decoded.of("close")[0].meta["code"] == 4500
