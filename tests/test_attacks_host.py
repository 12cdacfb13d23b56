"""Issue 11, rows 7, 8, 12, 13: what a guest can do to the host's side of a share.

- Row 7: two concurrent exports of a 20,000-shape board keep the server loop responsive (the
  build runs in a child process; the loop only snapshots the board).
- Row 8: TeX in a sticky note is never typeset, live (guest, other guest, host) or in the export:
  no request to the URL it names, no `javascript:` link, the text shown as typed.
- Row 12: a guest who copies a name cannot hide behind it: `status` shows client ids,
  `%jupyterspot kick #ID` removes exactly that connection, an ambiguous name says which ids match.
- Row 13: escape sequences in a name never reach the host's terminal or notebook output.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import shutil
import subprocess
import threading
import time

import pytest

from jupyterspot_magic.collab.close_codes import CLOSE_REMOVED

from .conftest import DEMO, REPO, wait_for
from .kernel import share_info, sharing_kernel

LIVE = "window.jupyterspot && window.jupyterspot.connection.status.state === 'live'"
# s: what two exports may add to the server loop's longest pause (before: 5.6-10 s; now measured
# 0.1-0.25 s, up to 0.64 s at load average 12 on 2 cores). Added to the pause measured idle just
# before, since a shared 2-core machine stalls threads by itself.
STALL_BOUND = 0.75
SHAPES = 20_000
BATCH = 25  # shapes per kernel transaction (the server indexes every write it makes)


# ----------------------------------------------------------------------------- row 7


def _shape_batch(doc, start: int, count: int) -> None:
    from pycrdt import Map

    shapes = doc.get("shapes", type=Map)
    with doc.transaction():
        for i in range(start, start + count):
            shapes[f"s{i}"] = Map(
                {"t": "rect", "cell": "a", "ci": 0, "x": 1.0, "y": 2.0, "w": 10.0, "h": 10.0,
                 "c": "#e03131", "s": 4, "by": "Ana", "at": 1700000000000}
            )  # fmt: skip


def _lag_probe(lags: list[float], stop: threading.Event):
    """A coroutine factory: sleeps 10 ms on the server loop over and over, records overshoot."""

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            t = loop.time()
            await asyncio.sleep(0.01)
            lags.append(loop.time() - t - 0.01)

    return lambda: asyncio.ensure_future(probe())


def test_two_exports_of_a_big_board_do_not_freeze_the_server_loop(tmp_path, in_process_server):
    from jupyterspot_magic.session import registry as sharing

    from .inside import inside

    nb = tmp_path / "demo.ipynb"
    shutil.copy(DEMO, nb)
    s = sharing.share(nb, tunnel="none", store=False, watch=False)
    lags: list[float] = []
    stop = threading.Event()
    try:
        doc = inside(s).shared.board.doc
        for start in range(0, SHAPES, BATCH * 40):

            async def fill(start=start) -> None:
                for j in range(start, min(start + BATCH * 40, SHAPES), BATCH):
                    _shape_batch(doc, j, BATCH)
                    await asyncio.sleep(0)

            s.host.server.call(fill, timeout=60)
        s.host.server.call_soon(_lag_probe(lags, stop))
        time.sleep(2.0)
        idle = max(lags)
        bound = min(1.0, STALL_BOUND + idle)
        base = s.url.split("?")[0] + f"x/export?token={s.token}"
        for fmt in ("&format=json", ""):
            lags.clear()
            curls = [
                subprocess.Popen(
                    ["curl", "-s", "-o", tmp_path / f"out{i}", "-w", "%{http_code}", base + fmt],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for i in range(2)
            ]
            t0 = time.monotonic()
            codes = [c.communicate(timeout=120)[0] for c in curls]
            seconds = time.monotonic() - t0
            got = sorted(lags)
            p95 = got[int(len(got) * 0.95)]
            print(
                f"\nexport{fmt or ' html'} x2 of {SHAPES} shapes: {seconds:.1f} s, loop lag "
                f"max {got[-1] * 1000:.0f} ms p95 {p95 * 1000:.0f} ms ({len(got)} probes); "
                f"idle max {idle * 1000:.0f} ms"
            )
            assert codes == ["200", "200"], codes
            assert got[-1] < bound, f"the server loop stalled {got[-1]:.2f} s"
            sizes = {(tmp_path / f"out{i}").stat().st_size for i in range(2)}
            assert len(sizes) == 1 and sizes.pop() > 1_000_000  # both got the whole export
        fetched = subprocess.run(["curl", "-s", base + "&format=json"], capture_output=True)
        board = json.loads(fetched.stdout)
        assert board["count"] == SHAPES
        assert board["shapes"]["s7"]["c"] == "#e03131" and board["shapes"]["s7"]["x"] == 1.0
    finally:
        stop.set()
        s.stop()


# ----------------------------------------------------------------------------- row 8


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def leak_listener():
    """A local server counting every request: the attacker's URL."""
    _Counter.hits = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address[1], _Counter.hits
    srv.shutdown()


MATHJAX_DONE = """async () => {
  const t0 = Date.now();
  while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
    if (Date.now() - t0 > 15000) return 'no mathjax';
    await new Promise(r => setTimeout(r, 50));
  }
  await MathJax.startup.promise;
  return document.querySelectorAll('.jp-Cell mjx-container').length;
}"""
# Everything a typeset could leave behind: a javascript: link anywhere, math in our layers.
INSPECT = """(id) => {
  const el = document.querySelector(`[data-shape-id="${id}"]`);
  const links = [...document.querySelectorAll('[href]')]
    .map(e => e.getAttribute('href')).filter(h => /^\\s*javascript:/i.test(h || ''));
  return {
    text: el ? el.textContent : null,
    math: document.querySelectorAll(
      '.jupyterspot-board mjx-container, .jupyterspot-detached mjx-container').length,
    links,
  };
}"""


def _typeset_everything(page) -> None:
    """Whatever else might call MathJax on the page: the default elements, the whole root."""
    page.evaluate(
        "async () => { await MathJax.typesetPromise();"
        " await MathJax.typesetPromise([document.getElementById('jupyterspot-root')]); }"
    )


def test_tex_in_a_note_is_never_typeset_live_or_exported(browser, tmp_path, leak_listener):
    from jupyterspot_magic.session import registry as sharing

    port, hits = leak_listener
    payload = (
        f"look $\\style{{background-image:url(http://127.0.0.1:{port}/leak)}}{{x}}$ "
        "and $\\href{javascript:alert(1)}{y}$"
    )
    nb = tmp_path / "demo.ipynb"
    shutil.copy(DEMO, nb)
    s = sharing.share(nb, tunnel="none", store=False, watch=False)
    contexts = []
    try:
        pages = {}
        for who, url in (("mallory", s.url), ("other", s.url), ("host", s.host_url)):
            ctx = browser.new_context(viewport={"width": 1200, "height": 800})
            contexts.append(ctx)
            page = ctx.new_page()
            page.goto(f"{url}&name={who}")
            page.wait_for_function(LIVE, timeout=20000)
            pages[who] = page
        cell = pages["mallory"].evaluate("document.querySelector('.jp-Cell').id.slice(8)")
        sid = pages["mallory"].evaluate(
            "([cell, text]) => window.jupyterspot.board.add({t: 'note', c: '#e03131', s: 3,"
            " w: 200, h: 80, cell, ci: 0, x: 10, y: 10, text})",
            [cell, payload],
        )
        for who, page in pages.items():
            page.wait_for_selector(f'[data-shape-id="{sid}"]', timeout=10000)
            assert isinstance(page.evaluate(MATHJAX_DONE), int), who
            assert page.evaluate(MATHJAX_DONE) > 0, f"{who}: the notebook's own math typesets"
            _typeset_everything(page)
            seen = page.evaluate(INSPECT, sid)
            assert seen["math"] == 0 and not seen["links"], (who, seen)
            assert payload in seen["text"], (who, seen["text"])

        # Defense in depth: even TeX that does get typeset (here: put into a cell on purpose)
        # cannot fetch or link, thanks to MathJax's safe extension.
        host = pages["host"]
        host.evaluate(
            "async (tex) => { const d = document.createElement('div'); d.textContent = tex;"
            " document.querySelector('.jp-Cell').append(d); await MathJax.typesetPromise([d]); }",
            payload,
        )
        assert host.evaluate(INSPECT, sid)["links"] == []
        exported = s.export(tmp_path / "notes.html")
    finally:
        for ctx in contexts:
            ctx.close()
        s.stop()

    offline = browser.new_context(viewport={"width": 1200, "height": 800})
    try:
        page = offline.new_page()
        page.goto(exported.as_uri())
        page.wait_for_selector(f'[data-shape-id="{sid}"]', timeout=15000)
        assert page.evaluate(MATHJAX_DONE) > 0
        _typeset_everything(page)
        seen = page.evaluate(INSPECT, sid)
        assert seen["math"] == 0 and not seen["links"], seen
        assert payload in seen["text"]
    finally:
        offline.close()
    time.sleep(0.5)  # a late image fetch would land here
    assert hits == [], f"participants' browsers fetched the attacker's URL: {hits}"
    assert "javascript:alert" not in exported.read_text().split("jupyterspot-board")[0]


# ----------------------------------------------------------------------------- rows 12, 13

# 99 characters: the server's awareness schema refuses names over 100
EVIL = "\x1b[2J\x1b]0;pwned\x07Eve\u202eevil\u2066\x9b31m\u200b\x7f" + "x" * 70


@pytest.fixture(scope="module")
def kernel():
    with sharing_kernel(REPO, DEMO) as k:
        yield k


def _joined(ws_base: str, room: str, token: str, node_peers, name: str):
    peer = node_peers(ws_base, room, token)
    peer.wait(lambda e: e["event"] == "synced")
    peer.send(cmd="awareness", state={"user": {"name": name, "color": "#e03131", "role": "guest"}})
    return peer


def _said(result: dict) -> str:
    """Everything a cell printed (stdout, stderr, error)."""
    streams = [m["content"]["text"] for m in result["messages"] if m["msg_type"] == "stream"]
    return "".join(streams) + (result["error"] or "")


def _has_ids(kernel, ids: set[int]) -> bool:
    seen = kernel.json(
        "import json, jupyterspot_magic as j\n"
        "print(json.dumps([p['client_id'] for p in j.current().participants]))"
    )
    return ids <= set(seen)


def test_copied_names_and_escape_sequences(kernel, node_peers):
    info = share_info(kernel)
    ws_base = info["ws_url"]
    ana = _joined(ws_base, "board", info["token"], node_peers, "Ana")
    copycat = _joined(ws_base, "board", info["token"], node_peers, "ana")  # same, other case
    eve = _joined(ws_base, "board", info["token"], node_peers, EVIL)
    ids = {ana.client_id, copycat.client_id, eve.client_id}
    wait_for(lambda: _has_ids(kernel, ids), what="the kernel sees all three")

    # Row 13: nothing the guest typed reaches the output as a control or bidi character.
    out = kernel.execute("%jupyterspot status")["stdout"]
    print(out)
    for bad in ("\x1b", "\x07", "\x9b", "\x7f", "\u202e", "\u2066", "\u200b"):
        assert bad not in out, repr(bad)
    assert "Eveevil" + "x" * 70 in out  # what is left is readable
    # Row 12: every id is shown, so the host can pick one.
    for cid in ids:
        assert f"#{cid}" in out, (cid, out)

    ambiguous = _said(kernel.execute("%jupyterspot kick Ana"))  # a UsageError, on stderr
    assert "Several participants" in ambiguous, ambiguous
    for cid in (ana.client_id, copycat.client_id):
        assert f"#{cid}" in ambiguous, ambiguous

    out = kernel.execute(f"%jupyterspot kick #{copycat.client_id}")
    assert out["error"] is None, out
    assert f"removed ana (#{copycat.client_id})" in out["stdout"]
    copycat.wait(lambda e: e["event"] == "close" and e["code"] == CLOSE_REMOVED)
    wait_for(
        lambda: not _has_ids(kernel, {copycat.client_id}) and _has_ids(kernel, {ana.client_id}),
        what="only the copycat is gone",
    )

    # Share.kick(int) from Python, and the kick message of an escape-laden name.
    name = kernel.json(
        f"import json, jupyterspot_magic as j; print(json.dumps(j.current().kick({eve.client_id})))"
    )
    assert "\x1b" not in name and "\u202e" not in name and name.startswith("Eveevil")
    eve.wait(lambda e: e["event"] == "close" and e["code"] == CLOSE_REMOVED)
    kernel.execute("%jupyterspot allow")


def test_printable_removes_every_control_kind():
    from jupyterspot_magic.session.participants import printable

    assert printable("\x1b[31mRed\x1b[0m") == "Red"
    assert printable("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b") == "alinkb"  # OSC 8 hyperlink
    assert printable("a\x9b1;31mb\x9d0;t\x07c") == "abc"  # 8-bit CSI and OSC
    assert printable("a\u202eb\u2066c\u200dd\ufeffe\x00f\x85g") == "abcdef g"  # NEL: a break
    assert printable("two\nlines\tand  tabs") == "two lines and tabs"
    assert len(printable("y" * 1000)) == 80
    assert printable("Zoë 名前 🙂") == "Zoë 名前 🙂"
