"""Shared fixtures: real Node yjs/y-websocket peers, headless Chromium, the corpus location."""

from __future__ import annotations

import json
import os
import queue
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .processes import REPO, LineProcess

# Boards are stored by default (issue 6): never in the user's real data dir from tests. Kernels
# started by module-scoped fixtures inherit this; each test also gets its own (below).
os.environ["JUPYTERSPOT_DATA_DIR"] = tempfile.mkdtemp(prefix="jupyterspot-test-data-")
SHARED = REPO.parent / "shared"
NOTEBOOKS = SHARED / "notebooks"
DEMO = REPO / "examples" / "demo.ipynb"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Browser contexts (playwright's new_context arguments): a laptop and a 390x844 touch phone.
DESKTOP = {"viewport": {"width": 1400, "height": 900}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


def wait_for(
    cond: Callable[[], object], timeout: float = 10.0, what: str = "condition", step: float = 0.05
):
    """Poll until cond() is truthy and return its value; fail saying what did not happen."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        last = cond()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")


def wait_names(page, expected: set[str], timeout: float = 5.0) -> float:
    """Wait until the page's participant list names exactly `expected` of Alice and Bob: the
    seconds it took."""
    t0 = time.monotonic()
    text = ""
    while time.monotonic() - t0 < timeout:
        text = page.locator('[data-testid="participants"]').inner_text()
        present = {n for n in ("Alice", "Bob") if n in text}
        if present == expected:
            return time.monotonic() - t0
        time.sleep(0.05)
    raise AssertionError(f"participants never became {expected}: {text!r}")


def save_notebook(path: Path, nb: dict) -> None:
    """Save like Jupyter does: a temporary file renamed over the notebook."""
    tmp = path.with_name(f".~{path.name}")
    tmp.write_text(json.dumps(nb, indent=1))
    tmp.replace(path)


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Nothing listens on the port: connecting is refused and a server could listen there."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        pass
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen(1)
        except OSError:
            return False
    return True


class NodePeer(LineProcess):
    """A real y-websocket client (tests/js/peer.mjs) in a Node process: one JSON event a line."""

    def __init__(self, ws_base: str, room: str, token: str | None, pid: str = "") -> None:
        peer = str(REPO / "tests" / "js" / "peer.mjs")
        super().__init__(["node", peer, ws_base, room, token or "", pid], stdin=True)
        self.history: list[dict] = []
        self.client_id = self.wait(lambda e: e["event"] == "ready")["clientID"]

    def send(self, **cmd) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def wait(self, predicate: Callable[[dict], bool], timeout: float = 10.0) -> dict:
        """The first event (new or already seen) matching the predicate."""
        for event in self.history:
            if predicate(event):
                return event
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = json.loads(self.lines.get(timeout=left))
            except queue.Empty:
                break
            self.history.append(event)
            if predicate(event):
                return event
        raise AssertionError(f"no matching event within {timeout}s; last: {self.history[-3:]}")

    def dump(self) -> dict:
        self.send(cmd="dump")
        n = len(self.history)
        return self.wait(lambda e: e["event"] == "dump" and self.history.index(e) >= n)


@pytest.fixture(autouse=True)
def _own_board_store(tmp_path_factory, monkeypatch) -> None:
    """Each test gets its own board store: boards and links must not leak between tests."""
    monkeypatch.setenv("JUPYTERSPOT_DATA_DIR", str(tmp_path_factory.mktemp("data")))


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Any]:
    """A real kernel (tests/kernel.py) working in the test's folder; afterwards the share it
    runs is stopped (a silent request: no cell of any notebook) and it shuts down. A test file
    with a `kernel` fixture of its own uses that one."""
    from .kernel import Kernel
    from .live_helpers import query

    k = Kernel(tmp_path)
    yield k
    try:
        query(k, "%jupyterspot stop", timeout=30)
    finally:
        k.shutdown()


@pytest.fixture
def nb(tmp_path: Path, monkeypatch) -> Iterator[Path]:
    """A copy of the demo notebook, with its own render cache; the current share (shared in
    this process) is stopped afterwards."""
    import shutil

    from jupyterspot_magic.session import registry

    monkeypatch.setenv("JUPYTERSPOT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "demo.ipynb"
    shutil.copy(DEMO, path)
    yield path
    registry.stop()


def widget_mock(**traits: Any) -> str:
    """A page function for `page.evaluate(widget_mock(...), widget_js_source)`: renders the
    built widget (static/widget.js) with a stand-in anywidget model holding these traits over
    the defaults; `window.__set(k, v)` changes a trait, `window.__msg(m)` delivers a custom
    message, `window.__sent` holds what the widget sent."""
    base = {
        "url": "http://127.0.0.1:1/s/r/?token=g",
        "host_url": "http://127.0.0.1:1/s/r/?token=h",
        "qr_data_uri": "",
        "status": "live",
        "message": "",
        "title": "Euler",
        "leader": None,
        "lead_policy": "anyone",
        "participants": [],
    }
    return WIDGET_MOCK.replace("TRAITS", json.dumps({**base, **traits}))


def show_widget(page: Any, **traits: Any) -> None:
    """Render the built widget (static/widget.js) in `page`, a blank document, with
    widget_mock's stand-in model holding these traits."""
    page.set_content("<!doctype html><body></body>")
    page.evaluate(widget_mock(**traits), (REPO / "jupyterspot_magic/static/widget.js").read_text())


WIDGET_MOCK = """async (src) => {
  const traits = TRAITS;
  const handlers = {};
  window.__sent = [];
  const model = {
    get: (k) => traits[k],
    on: (e, cb) => (handlers[e] ??= []).push(cb),
    off: () => undefined,
    send: (c) => window.__sent.push(c),
  };
  window.__set = (k, v) => { traits[k] = v; (handlers['change:' + k] || []).forEach((f) => f()); };
  window.__msg = (m) => (handlers['msg:custom'] || []).forEach((f) => f(m, []));
  const url = URL.createObjectURL(new Blob([src], {type: 'text/javascript'}));
  const mod = await import(url);
  const el = document.createElement('div');
  document.body.append(el);
  mod.default.render({model, el});
}"""


@pytest.fixture
def node_peers() -> Iterator[Callable[..., NodePeer]]:
    peers: list[NodePeer] = []

    def make(ws_base: str, room: str, token: str | None, pid: str = "") -> NodePeer:
        peer = NodePeer(ws_base, room, token, pid)
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.kill()


@pytest.fixture
def server():
    """A share server on loopback with one room (room1, tokens guest-token / host-token)."""
    from jupyterspot_magic.server.thread import ServerThread

    from .room_server import new_shared, register

    srv = ServerThread("127.0.0.1", 0).start()
    shared = new_shared("room1")
    register(srv, shared)
    yield srv, shared
    srv.stop()


@pytest.fixture
def in_process_server(monkeypatch) -> Iterator[None]:
    """Shares made by the test run their server on a thread of this process
    (JUPYTERSPOT_SERVER=thread), for tests that patch, time or crash its inside (tests/inside.py).
    The registry reuses a running server: the current share stops before the switch (its idle
    server with it) and after the test."""
    from jupyterspot_magic.session import registry

    registry.stop()
    monkeypatch.setenv("JUPYTERSPOT_SERVER", "thread")
    yield
    registry.stop()


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Any]:
    """The one Playwright of the run: its sync API keeps an event loop on the main thread, so a
    second `sync_playwright()` while this one lives fails ("Sync API inside the asyncio loop")."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_session: Any) -> Iterator[Any]:
    b = playwright_session.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture
def live_pages(browser) -> Iterator[Callable[..., Any]]:
    """Open viewer pages, each in a browser context of its own (DESKTOP unless given), returned
    once its rooms are live; the contexts close after the test."""
    contexts = []

    def open_live(url: str, **ctx: Any) -> Any:
        context = browser.new_context(**(ctx or DESKTOP))
        contexts.append(context)
        page = context.new_page()
        page.goto(url)
        page.wait_for_function(
            "window.jupyterspot && window.jupyterspot.connection.status.state === 'live'",
            timeout=20000,
        )
        return page

    yield open_live
    for context in contexts:
        context.close()


def corpus() -> list[Path]:
    """The corpus notebooks (collected even when the corpus is missing: the test then fails)."""
    return sorted([*NOTEBOOKS.glob("*.ipynb"), *(NOTEBOOKS / "generated").glob("*.ipynb")])


@pytest.fixture(scope="module")
def fresh_render_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Renders go to a fresh cache dir for the module: the pages tested are rendered by this
    code (a module uses it with an autouse fixture of its own)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTERSPOT_CACHE_DIR", str(tmp_path_factory.mktemp("render-cache")))
        yield


@pytest.fixture(scope="module")
def offline_browser(playwright_session: Any) -> Iterator[Any]:
    """One Chromium for the module that resolves no host but loopback (tests/offline_browser.py
    OFFLINE_ARGS): a CDN fails as on an air-gapped network."""
    from .offline_browser import OFFLINE_ARGS

    args = [*CHROMIUM_ARGS, *OFFLINE_ARGS]
    b = playwright_session.chromium.launch(executable_path=CHROMIUM, args=args)
    yield b
    b.close()


def require_corpus() -> Path:
    if not NOTEBOOKS.is_dir():
        pytest.fail(f"The shared notebook corpus is missing: expected {NOTEBOOKS}")
    return NOTEBOOKS
