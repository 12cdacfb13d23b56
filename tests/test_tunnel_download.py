"""Issue 15: a public link on the first try (tunnel/download.py, tunnel/ngrok.py, progress).

STAND-INS (labelled): GitHub's release server and ngrok's CDN are unreachable from the test
machine, so a local HTTP server on loopback (`ReleaseServer`) serves a FAKE cloudflared release
in the real asset formats (the linux-amd64 plain binary, the macOS .tgz) and a fake ngrok
archive; the "binaries" are small shell scripts that run the stand-ins of tests/fakes/ (which
forward the "public" URL to our server on loopback). The pinned SHA-256 table is pointed at the
fake files' digests (monkeypatched): the real digests match only Cloudflare's real files.
Everything else is the real code path: download, checksum, cache, the tunnel process, the
share's health check through the URL, the widget's traits.
"""

# ruff: noqa: F811 - `env` is test_tunnels.py's fixture, imported to be used here

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import stat
import sysconfig
import tarfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from jupyterspot_magic.session import registry
from jupyterspot_magic.tunnel import TunnelError, cloudflared, download, ngrok

from .conftest import DEMO, REPO, show_widget
from .kernel import Kernel
from .test_tunnels import FAKE_CLOUDFLARED, FAKE_NGROK, closed_port, env  # noqa: F401

VERSION = download.CLOUDFLARED_VERSION


def launcher(target: Path, marker: Path) -> bytes:
    """A stand-in 'binary': a shell script that leaves `marker` (proof it ran) and runs the
    stand-in `target` with the test's interpreter."""
    python = shutil.which("python3") or "/usr/bin/python3"
    return (
        f'#!/bin/sh\necho ran >> "{marker}"\nexec "{os.path.realpath(python)}" "{target}" "$@"\n'
    ).encode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tgz(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class ReleaseServer:
    """STAND-IN for github.com/cloudflare/cloudflared/releases/download (and ngrok's CDN): serves
    `files` (path -> bytes) on loopback, with Content-Length, in small chunks."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for i in range(0, len(body), 4096):
                    self.wfile.write(body[i : i + 4096])

            def log_message(self, *_: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def release(env: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[ReleaseServer, Path]]:
    """A stand-in release of the linux-amd64 asset whose pinned digest is the fake's."""
    marker = tmp_path / "ran-marker"
    body = launcher(FAKE_CLOUDFLARED, marker)
    server = ReleaseServer({f"/{VERSION}/cloudflared-linux-amd64": body})
    env.setattr(download, "this_platform", lambda: ("linux", "amd64"))
    env.setitem(
        download.ASSETS, ("linux", "amd64"), download.Asset("cloudflared-linux-amd64", sha(body))
    )
    env.setenv("JUPYTERSPOT_CLOUDFLARED_RELEASES", server.url)
    yield server, marker
    registry.stop()
    server.close()


def test_auto_downloads_verifies_and_runs_cloudflared(release, tmp_path: Path) -> None:
    """No cloudflared anywhere: `auto` fetches the pinned release (stand-in server), checks it,
    caches it, runs it, and the share's link answers through it; the next share reuses it."""
    server, marker = release
    seen: list[str] = []
    share = registry.share(DEMO, tunnel="auto", progress=seen.append)
    assert share.tunnel.name == "auto:cloudflared" and share.health is None, share.notes
    assert httpx.get(share.url, timeout=10).status_code == 200
    cached = download.program_path()
    assert cached.parent.is_relative_to(tmp_path / "cache")
    assert stat.S_IMODE(cached.stat().st_mode) == 0o755 and marker.exists()
    assert server.requests == [f"/{VERSION}/cloudflared-linux-amd64"]
    assert any(line.startswith(f"downloading cloudflared {VERSION} (") for line in seen), seen
    assert any(line.endswith("100%") for line in seen), seen
    steps = ["starting cloudflared…", "waiting for Cloudflare…", "checking the link from outside…"]
    assert [line for line in seen if line in steps] == steps
    assert not list(cached.parent.glob(".part-*"))
    registry.stop()

    again = registry.share(DEMO, tunnel="cloudflared")  # from the cache: no second download
    assert again.health is None and len(server.requests) == 1


def test_wrong_checksum_is_refused_and_never_run(release, env, tmp_path: Path) -> None:
    """The served file differs from the pinned digest: refused, deleted, never executed."""
    server, marker = release
    server.files[f"/{VERSION}/cloudflared-linux-amd64"] += b"# tampered\n"
    with pytest.raises(TunnelError) as e:
        registry.share(DEMO, tunnel="cloudflared")
    message = str(e.value)
    assert "does not match its pinned SHA-256" in message and "not run" in message
    assert "\n" not in message
    assert not marker.exists(), "a file whose checksum did not match was executed"
    assert not (tmp_path / "cloudflared.log").exists()
    folder = download.cache_dir()
    assert not download.program_path().exists() and not list(folder.glob(".part-*"))
    assert registry.current() is None


def test_macos_tgz_is_checked_then_its_program(env, tmp_path: Path) -> None:
    """The macOS asset format (.tgz): the archive's digest, then the program's inside it."""
    marker = tmp_path / "ran-marker"
    program = launcher(FAKE_CLOUDFLARED, marker)
    archive = tgz("cloudflared", program)
    server = ReleaseServer({f"/{VERSION}/cloudflared-darwin-arm64.tgz": archive})
    env.setenv("JUPYTERSPOT_CLOUDFLARED_RELEASES", server.url)
    env.setattr(download, "this_platform", lambda: ("darwin", "arm64"))
    name = "cloudflared-darwin-arm64.tgz"
    try:
        env.setitem(
            download.ASSETS, ("darwin", "arm64"), download.Asset(name, sha(archive), "0" * 64)
        )
        with pytest.raises(TunnelError, match="does not match its pinned SHA-256"):
            download.ensure_cloudflared()
        assert not download.program_path().exists() and not marker.exists()

        env.setitem(
            download.ASSETS, ("darwin", "arm64"), download.Asset(name, sha(archive), sha(program))
        )
        path = Path(download.ensure_cloudflared())
        assert path.read_bytes() == program and os.access(path, os.X_OK)
        assert download.cached() == str(path)
        path.write_bytes(program + b"#")  # changed on disk: no longer trusted
        assert download.cached() is None
    finally:
        server.close()


def test_offline_fails_within_5_s_with_what_to_do(env, tmp_path: Path) -> None:
    """A closed port (refused at once) through the share, and a server that accepts and never
    answers (a blackholed network): one line saying what to do, within 5 s."""
    started: list[float] = []  # when the download began (the page is rendered before)
    with pytest.raises(TunnelError) as e:
        registry.share(
            DEMO, tunnel="cloudflared", progress=lambda line: started.append(time.monotonic())
        )
    assert started and time.monotonic() - started[-1] < 5
    assert "could not be downloaded" in str(e.value) and "token ngrok" in str(e.value)

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    env.setenv("JUPYTERSPOT_CLOUDFLARED_RELEASES", f"http://127.0.0.1:{silent.getsockname()[1]}")
    try:
        t0 = time.monotonic()
        with pytest.raises(TunnelError) as e:
            download.ensure_cloudflared()
        assert time.monotonic() - t0 < 5
        assert "no answer within" in str(e.value) and "JUPYTERSPOT_CLOUDFLARED" in str(e.value)
    finally:
        silent.close()


def test_hanging_cloudflared_shows_progress_then_says_it_did_not_answer(env) -> None:
    """Stand-in cloudflared that prints its URL and never connects: progress within 1 s, and
    the failure says the tunnel did not answer (it is installed), for --tunnel and for auto."""
    env.setenv("JUPYTERSPOT_CLOUDFLARED", str(FAKE_CLOUDFLARED))
    env.setenv("FAKE_CLOUDFLARED_MODE", "hang")
    env.setattr(cloudflared, "CLOUDFLARED_CONNECT_TIMEOUT", 2.0)
    opened: list[float] = []  # when the tunnel's opening began (after the page's render)
    real_open = cloudflared.CloudflaredTunnel.open

    def spied_open(self, *args, **kwargs):  # the real open, its start time noted
        opened.append(time.monotonic())
        return real_open(self, *args, **kwargs)

    env.setattr(cloudflared.CloudflaredTunnel, "open", spied_open)
    seen: list[tuple[float, str]] = []
    with pytest.raises(TunnelError) as e:
        registry.share(
            DEMO, tunnel="cloudflared", progress=lambda s: seen.append((time.monotonic(), s))
        )
    starting = [t for t, line in seen if line == "starting cloudflared…"]
    assert opened and starting and starting[0] - opened[0] < 1.0, (opened, seen)
    message = str(e.value)
    assert "cloudflared started but the tunnel did not answer within 2 s" in message
    assert "7844" in message and "install" not in message.lower()

    share = registry.share(DEMO, tunnel="auto")
    try:
        note = " ".join(share.notes)
        assert share.tunnel.name == "auto:none" and "did not answer within 2 s" in note
        assert "not installed" not in note
    finally:
        registry.stop()


# --- ngrok -----------------------------------------------------------------------------------


def pyngrok_launcher(folder: Path) -> Path:
    """pyngrok's real `ngrok` console script (this interpreter's), copied into `folder`; or, if
    this install has none, the one pip writes for its entry point `ngrok = pyngrok.ngrok:main`."""
    folder.mkdir(parents=True, exist_ok=True)
    real = Path(sysconfig.get_path("scripts")) / "ngrok"
    target = folder / "ngrok"
    if real.is_file():
        shutil.copy2(real, target)
    else:
        target.write_text(
            f"#!{os.path.realpath(shutil.which('python3') or '/usr/bin/python3')}\n"
            "import sys\nfrom pyngrok.ngrok import main\nif __name__ == '__main__':\n"
            "    sys.exit(main())\n"
        )
        target.chmod(0o755)
    return target


def test_pyngrok_launcher_is_not_the_agent(tmp_path: Path) -> None:
    assert ngrok.is_pyngrok_launcher(str(pyngrok_launcher(tmp_path / "bin")))
    assert not ngrok.is_pyngrok_launcher(str(FAKE_NGROK))  # a stand-in agent, not a launcher


def test_ngrok_in_a_virtualenv_downloads_the_agent(env, tmp_path: Path, capfd) -> None:
    """A virtualenv's bin/ first on PATH holding pyngrok's launcher, no agent: `--tunnel ngrok`
    downloads the agent (STAND-IN CDN serving a stand-in agent) instead of running the launcher,
    and the share gets its link; no traceback anywhere."""
    from pyngrok import installer

    venv_bin = tmp_path / "venv" / "bin"
    pyngrok_launcher(venv_bin)
    env.setenv("PATH", f"{venv_bin}:/usr/bin:/bin")
    env.delenv("PYNGROK_NGROK_PATH")
    agent_path = tmp_path / "pyngrok-dir" / "ngrok"
    env.setattr("pyngrok.conf.DEFAULT_NGROK_PATH", str(agent_path))
    env.setenv("NGROK_AUTHTOKEN", "test-token-1234")
    archive = tgz("ngrok", launcher(FAKE_NGROK, tmp_path / "ngrok-ran"))
    server = ReleaseServer({"/ngrok-v3-stable-linux-amd64.tgz": archive})
    env.setattr(
        installer, "get_ngrok_cdn_url", lambda *_: f"{server.url}{next(iter(server.files))}"
    )
    seen: list[str] = []
    try:
        share = registry.share(DEMO, tunnel="ngrok", progress=seen.append)
        assert share.tunnel._config.ngrok_path == str(agent_path)
        assert share.health is None, share.notes
        assert "downloading the ngrok agent…" in seen and server.requests
        assert httpx.get(share.url, timeout=10).status_code == 200
        printed = capfd.readouterr()  # this process's stdout/stderr, the agent's included
        assert "Traceback" not in printed.out + printed.err + " ".join(seen + share.notes)
    finally:
        registry.stop()
        server.close()


def test_ngrok_errors_are_one_line(env, tmp_path: Path) -> None:
    """pyngrok's launcher named as the agent is refused in one line; an agent that prints
    nothing (stand-in: a script that sleeps) is cut off at the deadline, in one line."""
    env.setenv("NGROK_AUTHTOKEN", "test-token-1234")
    env.setenv("PYNGROK_NGROK_PATH", str(pyngrok_launcher(tmp_path / "bin")))
    with pytest.raises(TunnelError) as e:
        registry.share(DEMO, tunnel="ngrok")
    assert "launcher script, not the ngrok agent" in str(e.value) and "\n" not in str(e.value)

    mute = tmp_path / "mute-ngrok"
    mute.write_text("#!/bin/sh\nexec sleep 60\n")
    mute.chmod(0o755)
    env.setenv("PYNGROK_NGROK_PATH", str(mute))
    env.setattr(ngrok, "NGROK_START_TIMEOUT", 1)
    t0 = time.monotonic()
    with pytest.raises(TunnelError) as e:
        registry.share(DEMO, tunnel="ngrok")
    assert "did not finish within 6 s" in str(e.value) and "\n" not in str(e.value)
    assert time.monotonic() - t0 < 20
    assert registry.current() is None


def test_token_is_stored_like_ngrok_and_used_at_once(env, tmp_path: Path, capsys) -> None:
    """`%jupyterspot token ngrok TOKEN` (the magic's function) and share(ngrok_token=): the
    ngrok config file, mode 0600, v3 layout; never printed back; the next share uses it."""
    import yaml

    from jupyterspot_magic.frontends import magic

    token = "2abcDEFghiJKLmnoPQRstu_vwxYZ1234567890"
    magic.run_token(["ngrok", token])
    out = capsys.readouterr().out
    assert token not in out and "2abc…7890" in out and "guests see" in out
    config = tmp_path / "config" / "ngrok" / "ngrok.yml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert yaml.safe_load(config.read_text()) == {"version": "3", "agent": {"authtoken": token}}
    assert ngrok.ngrok_token() == (token, config)
    with pytest.raises(Exception, match="does not look like an ngrok authtoken"):
        magic.run_token(["ngrok", "<TOKEN>"])

    env.setenv("PYNGROK_NGROK_PATH", str(FAKE_NGROK))
    try:
        share = registry.share(DEMO, tunnel="auto", ngrok_token="second_token_0123456789")
        assert share.tunnel.name == "auto:ngrok" and share.health is None
        assert ngrok.ngrok_token()[0] == "second_token_0123456789"
        assert share.tunnel.chosen.token == "second_token_0123456789"
    finally:
        registry.stop()


# --- the widget while a share starts ---------------------------------------------------------


def test_notebook_widget_shows_progress_while_the_share_starts(tmp_path: Path) -> None:
    """A real kernel: `%jupyterspot share` with a hanging cloudflared (stand-in). The widget is
    on the page while the share starts ("starting", then each step), then says why it failed."""
    k = Kernel(
        REPO,
        env={
            "JUPYTERSPOT_CACHE_DIR": str(tmp_path / "cache"),
            "JUPYTERSPOT_CLOUDFLARED": str(FAKE_CLOUDFLARED),
            "FAKE_CLOUDFLARED_MODE": "hang",
        },
    )
    try:
        k.execute(
            "%load_ext jupyterspot_magic\n"
            "from jupyterspot_magic.tunnel import cloudflared\n"
            "cloudflared.CLOUDFLARED_CONNECT_TIMEOUT = 2"
        )
        result = k.collect(k.start(f"%jupyterspot share {DEMO} --tunnel cloudflared"))
        states = [
            m["content"]["data"].get("state", {})
            for m in result["messages"]
            if m["msg_type"] in ("comm_open", "comm_msg")
        ]
        opened = [s for s in states if s.get("status") == "starting"]
        assert opened, "no widget was shown while the share started"
        messages = [s["message"] for s in states if "message" in s]
        assert "starting cloudflared…" in messages and "waiting for Cloudflare…" in messages
        assert messages.index("starting cloudflared…") < len(messages) - 1
        final = [s for s in states if s.get("status") == "error"]
        assert final and "did not answer within 2 s" in json.dumps(states[-1])
    finally:
        k.shutdown()


def test_widget_page_shows_starting_and_local_only(browser) -> None:
    """Chromium, the built widget with a stand-in model (conftest widget_mock): the starting
    state and its progress line, then a loopback link: no QR code, 'this machine only' on the
    QR's place and on Copy, and the next step; a LAN link keeps its QR code, marked LAN only."""
    page = browser.new_page()
    try:
        show_widget(page, status="starting", message="waiting for Cloudflare…", url="", host_url="")
        status = page.get_by_test_id("widget-status")
        assert status.inner_text() == "Starting…"
        assert page.get_by_test_id("widget-message").inner_text() == "waiting for Cloudflare…"
        assert page.get_by_test_id("widget-next-step").is_hidden()

        step = "For a public link: run `%jupyterspot token ngrok` with a free ngrok token"
        page.evaluate(
            """([step]) => {
              window.__set('url', 'http://127.0.0.1:8765/s/r/?token=g');
              window.__set('qr_data_uri', 'data:image/svg+xml;base64,PHN2Zy8+');
              window.__set('reach', 'local');
              window.__set('next_step', step);
              window.__set('status', 'live');
            }""",
            [step],
        )
        assert "only works on this machine" in page.get_by_test_id("widget-reach").inner_text()
        assert page.get_by_test_id("widget-qr").is_hidden()
        assert page.get_by_test_id("widget-copy").inner_text() == "Copy link (this machine only)"
        assert page.get_by_test_id("widget-next-step").inner_text() == step

        page.evaluate("() => window.__set('reach', 'lan')")
        assert page.get_by_test_id("widget-qr").is_visible()
        assert "(LAN)" in page.get_by_test_id("widget-reach").inner_text()
        assert page.get_by_test_id("widget-copy").inner_text() == "Copy link (LAN only)"

        page.evaluate("() => window.__set('reach', 'public')")
        assert page.get_by_test_id("widget-reach").is_hidden()
        assert page.get_by_test_id("widget-next-step").is_hidden()
        assert page.get_by_test_id("widget-copy").inner_text() == "Copy link"
    finally:
        page.close()
