"""Issue 15, after review: the ngrok token never shown, interrupts, concurrent downloads, the
real cause of a failed download, the ngrok config kept, a failed start's widget.

STAND-INS (labelled): the ngrok agent is tests/fakes/ngrok (FAKE_NGROK_MODE=bad_token prints
ngrok's real ERR_NGROK_107 text, which quotes the token); the cloudflared release server is a
local HTTP server or a raw socket on loopback (GitHub is unreachable here). Everything else is
the real code: a real kernel, the real CLI in a subprocess, the built widget in Chromium.
"""

# ruff: noqa: F811 - `env` is test_tunnels.py's fixture, imported to be used here

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyterspot_magic.session import registry
from jupyterspot_magic.tunnel import TunnelError, cloudflared, download, make_tunnel, ngrok

from .conftest import DEMO, REPO, show_widget, wait_for
from .kernel import Kernel
from .processes import command
from .test_tunnels import FAKE_NGROK, closed_port, env  # noqa: F401

TOKEN = "2secretSECRETsecret_0123456789abcdef"


def leak_env(tmp_path: Path) -> dict[str, str]:
    """A kernel/CLI environment whose ngrok agent (stand-in) rejects the token, quoting it."""
    (tmp_path / "home").mkdir(exist_ok=True)
    return {
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
        "HOME": str(tmp_path / "home"),
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "PYNGROK_NGROK_PATH": str(FAKE_NGROK),
        "FAKE_NGROK_MODE": "bad_token",
        "FAKE_NGROK_ARGV": str(tmp_path / "argv"),
        "JUPYTERSPOT_CACHE_DIR": str(tmp_path / "cache"),
        "JUPYTERSPOT_CLOUDFLARED_RELEASES": f"http://127.0.0.1:{closed_port()}",
    }


def stderr(result: dict) -> str:
    return "".join(
        m["content"]["text"]
        for m in result["messages"]
        if m["msg_type"] == "stream" and m["content"]["name"] == "stderr"
    )


def test_ngrok_token_is_never_shown(tmp_path: Path) -> None:
    """/tmp/review15/kleak.py as a test: a real kernel, NGROK_AUTHTOKEN set, the agent
    (stand-in) fails with ERR_NGROK_107 quoting the token. Neither `--tunnel ngrok` (an error)
    nor auto (falls back, with a note) shows it: no stream (pyngrok's logger), no error, no
    widget trait, no note, no repr; the agent's command line does not carry it either."""
    k = Kernel(REPO, env={**leak_env(tmp_path), "NGROK_AUTHTOKEN": TOKEN})
    try:
        k.execute("%load_ext jupyterspot_magic")
        failed = k.execute(f"%jupyterspot share {DEMO} --tunnel ngrok", timeout=120)
        assert "UsageError: ngrok could not open a tunnel" in stderr(failed), failed["messages"]
        assert "ERR_NGROK_107" in stderr(failed)
        auto = k.execute(f"%jupyterspot share {DEMO}", timeout=120)
        assert auto["error"] is None, auto["error"]
        said = k.execute(
            "import jupyterspot_magic as j\n"
            "from jupyterspot_magic.frontends.widget import widget_of\n"
            "s = j.current(); print(s.notes, repr(s.tunnel), repr(s.tunnel.chosen))\n"
            "print(widget_of(s).message, widget_of(s).next_step)\n"
            "import logging; logging.getLogger('pyngrok').error('authtoken: %s', 'x1234567890y')"
        )
        assert "ngrok could not open a tunnel" in said["stdout"], said  # the note is there
        for result in (failed, auto, said):
            for message in result["messages"]:
                assert TOKEN not in json.dumps(message["content"]), message
        assert "x1234567890y" not in stderr(said)  # pyngrok's logger prints nothing
        argv = (tmp_path / "argv").read_text()
        assert argv.count("start") == 2 and TOKEN not in argv, argv
    finally:
        k.shutdown()


def test_ngrok_token_from_the_config_is_never_shown_by_the_cli(tmp_path: Path) -> None:
    """The token in ngrok's config file (`jupyterspot token ngrok`): the CLI's error and its
    output name the cause (ERR_NGROK_107), never the token; the agent's argv does not hold it."""
    environ = {**os.environ, **leak_env(tmp_path)}
    environ.pop("NGROK_AUTHTOKEN", None)
    saved = subprocess.run(
        [*command(), "token", "ngrok", TOKEN], env=environ, capture_output=True, text=True
    )
    assert saved.returncode == 0 and TOKEN not in saved.stdout + saved.stderr
    done = subprocess.run(
        [*command(), "share", str(DEMO), "--tunnel", "ngrok"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "ERR_NGROK_107" in done.stderr, done.stderr
    assert TOKEN not in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert TOKEN not in (tmp_path / "argv").read_text()


def test_ngrok_error_and_repr_are_redacted(env, tmp_path: Path) -> None:
    """In-process: the TunnelError and the provider's repr."""
    env.setenv("NGROK_AUTHTOKEN", TOKEN)
    env.setenv("PYNGROK_NGROK_PATH", str(FAKE_NGROK))
    env.setenv("FAKE_NGROK_MODE", "bad_token")
    tunnel = make_tunnel("ngrok")
    assert TOKEN not in repr(tunnel)
    with pytest.raises(TunnelError) as e:
        tunnel.open("127.0.0.1", closed_port())
    assert "ERR_NGROK_107" in str(e.value) and TOKEN not in str(e.value), str(e.value)
    assert "\n" not in str(e.value) and "\\n" not in str(e.value)
    assert any("<redacted>" in line for line in ngrok.PYNGROK_LOG.lines)


# --- the ngrok config file (save_token) -----------------------------------------------------


def test_save_token_keeps_the_config_as_it_was(env, tmp_path: Path) -> None:
    """A v2 file gets its top-level authtoken (v2 layout kept: its agent reads no `agent:`),
    other keys and comments kept; a v3 file its agent.authtoken; a symlinked config (a dotfiles
    repo) stays a link and its target gets the token, mode 0600."""
    import yaml

    config = tmp_path / "config" / "ngrok" / "ngrok.yml"
    config.parent.mkdir(parents=True)
    config.write_text('version: "2"\nregion: eu\n# my comment\n')
    ngrok.save_token("2abcdefghijklmnopqrstuvwxyz")
    assert yaml.safe_load(config.read_text()) == {
        "version": "2",
        "region": "eu",
        "authtoken": "2abcdefghijklmnopqrstuvwxyz",
    }
    assert "# my comment" in config.read_text()
    ngrok.save_token("2second_token_0123456789")  # its authtoken line edited in place
    assert yaml.safe_load(config.read_text())["authtoken"] == "2second_token_0123456789"
    assert config.read_text().count("authtoken") == 1

    real = tmp_path / "dotfiles" / "ngrok.yml"
    real.parent.mkdir()
    real.write_text(
        'version: "3"\n# mine\nagent:\n    authtoken: old_token_123456\n    region: us\n'
        "tunnels: {}\n"
    )
    config.unlink()
    config.symlink_to(real)
    ngrok.save_token("2newtokennewtokennewtoken")
    assert config.is_symlink() and config.resolve() == real
    assert yaml.safe_load(real.read_text()) == {
        "version": "3",
        "agent": {"authtoken": "2newtokennewtokennewtoken", "region": "us"},
        "tunnels": {},
    }
    assert "# mine" in real.read_text() and (real.stat().st_mode & 0o777) == 0o600


# --- the cloudflared download ----------------------------------------------------------------


class Trickle:
    """STAND-IN release server that announces `total` bytes and sends `first` of them at once,
    then the rest only when `go` is set (a slow link held still; `hold_first`: only the first
    connection is held), or closes the connection after `first` bytes when `cut` (a dropped
    connection). Counts its connections."""

    def __init__(
        self, total: int, first: int, cut: bool = False, body: bytes = b"", hold_first=False
    ) -> None:
        self.hold_first = hold_first
        self.go = threading.Event()
        self.connections = 0
        self.body = body or b"x" * total
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.total, self.first, self.cut = total, first, cut
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            args = (conn, self.connections)
            threading.Thread(target=self._answer, args=args, daemon=True).start()

    def _answer(self, conn: socket.socket, number: int) -> None:
        with conn, contextlib.suppress(OSError):
            conn.recv(4096)
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {self.total}\r\nConnection: close\r\n\r\n"
            conn.sendall(head.encode() + self.body[: self.first])
            if self.cut:
                return
            if number == 1 or not self.hold_first:
                self.go.wait(60)
            conn.sendall(self.body[self.first :])

    def close(self) -> None:
        self.go.set()
        self.sock.close()


@pytest.fixture
def trickle(env) -> Iterator[Callable[..., Trickle]]:
    servers: list[Trickle] = []

    def start(total: int = 40_000_000, first: int = 100_000, **kw: Any) -> Trickle:
        servers.append(Trickle(total, first, **kw))
        env.setenv("JUPYTERSPOT_CLOUDFLARED_RELEASES", servers[-1].url)
        return servers[-1]

    env.setattr(download, "this_platform", lambda: ("linux", "amd64"))
    env.setattr(download, "_unreachable_since", None, raising=False)
    yield start
    for server in servers:
        server.close()


def download_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "jupyterspot-download" and t.is_alive()]


def parts() -> list[Path]:
    return list(download.cache_dir().glob(".part-*"))


def test_interrupted_download_is_cancelled(trickle) -> None:
    """Ctrl-C / the kernel's Interrupt during the download (raised from the progress callback,
    on the caller's thread, as the real one is): the download thread ends and its part file
    is deleted at once, not left trickling on (it was: alive, its .part growing)."""
    trickle()

    def interrupt(line: str) -> None:
        if line.endswith("%"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download.ensure_cloudflared(interrupt)
    wait_for(lambda: not download_threads() and not parts(), 3, "the download to end")


def test_download_past_its_deadline_is_cancelled(trickle, env) -> None:
    """The caller gives up (deadline): a read that trickles does not hold the thread on."""
    trickle()
    env.setattr(download, "DOWNLOAD_DEADLINE", 1.0)
    with pytest.raises(TunnelError, match="did not finish within 1 s"):
        download.ensure_cloudflared()
    wait_for(lambda: not download_threads() and not parts(), 3, "the download to end")


def test_two_downloads_at_once_both_succeed(trickle, env) -> None:
    """/tmp/review15/race.py: A is slow (held mid-way), B starts and finishes meanwhile; A's
    part file must survive B's clean-up (it was deleted: A failed with FileNotFoundError, a
    traceback, and auto did not fall back)."""
    body = b"#!/bin/sh\necho hi\n" + b"x" * 300_000
    env.setitem(
        download.ASSETS,
        ("linux", "amd64"),
        download.Asset("cloudflared-linux-amd64", hashlib.sha256(body).hexdigest()),
    )
    server = trickle(total=len(body), first=50_000, body=body, hold_first=True)
    results: dict[str, object] = {}
    a_started = threading.Event()

    def run(name: str, progress: Callable[[str], None]) -> None:
        try:
            results[name] = download.ensure_cloudflared(progress)
        except BaseException as e:
            results[name] = e

    a = threading.Thread(
        target=run, args=("A", lambda line: line.endswith("%") and a_started.set())
    )
    a.start()
    assert a_started.wait(10)
    b = threading.Thread(target=run, args=("B", lambda _line: None))
    b.start()
    b.join(30)
    server.go.set()  # A's download goes on only once B is done (and has cleaned up)
    a.join(30)
    assert results["A"] == results["B"] == str(download.program_path()), results
    assert not parts()


def test_stale_part_files_are_swept(trickle, env) -> None:
    """A part file older than a whole download (a process that died mid-way) is removed."""
    body = b"#!/bin/sh\n"
    env.setitem(
        download.ASSETS,
        ("linux", "amd64"),
        download.Asset("cloudflared-linux-amd64", hashlib.sha256(body).hexdigest()),
    )
    trickle(total=len(body), first=len(body), cut=True, body=body)
    download.cache_dir().mkdir(parents=True)
    stale = download.cache_dir() / ".part-1-old"
    stale.write_bytes(b"x")
    os.utime(stale, (0, 0))
    download.ensure_cloudflared()
    assert not stale.exists()


def test_unexpected_error_is_one_line(trickle, env) -> None:
    """STAND-IN fault: the checksum step raises something unforeseen: still a TunnelError."""
    trickle(total=10, first=10, cut=True)

    def broken(_path: Path) -> str:
        raise RuntimeError("something odd")

    env.setattr(download, "sha256_of", broken)
    with pytest.raises(TunnelError, match=r"could not be downloaded \(RuntimeError: something"):
        download.ensure_cloudflared()


def test_download_failures_name_their_real_cause(trickle, env) -> None:
    """Cut off at 40 %: said so (not a checksum mismatch "a proxy or mirror may have changed
    it"); more than the size limit: not the release (not "offline"); the disk full (STAND-IN:
    the write raises ENOSPC): said so."""
    trickle(total=1_000_000, first=400_000, cut=True)
    with pytest.raises(TunnelError) as e:
        download.ensure_cloudflared()
    assert "cut off at 40%" in str(e.value), str(e.value)
    assert "SHA-256" not in str(e.value) and "offline" not in str(e.value)

    env.setattr(download, "MAX_BYTES", 100_000)
    trickle(total=300_000, first=300_000, cut=True)
    with pytest.raises(TunnelError) as e:
        download.ensure_cloudflared()
    assert "more than" in str(e.value) and "not the cloudflared release" in str(e.value)
    assert "offline" not in str(e.value)

    env.setattr(download, "MAX_BYTES", 200_000_000)

    class FullDisk:
        def write(self, _chunk: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    write = download._Download._write
    env.setattr(download._Download, "_write", staticmethod(lambda _f, c: write(FullDisk(), c)))
    trickle(total=300_000, first=300_000, cut=True)
    with pytest.raises(TunnelError) as e:
        download.ensure_cloudflared()
    assert "the disk is full" in str(e.value) and "offline" not in str(e.value)
    assert not parts()


def test_wrong_cloudflared_path_is_said_not_downloaded(trickle, env, tmp_path: Path) -> None:
    """JUPYTERSPOT_CLOUDFLARED naming no executable file: said, and nothing downloaded (it
    silently downloaded another one)."""
    server = trickle(total=10, first=10, cut=True)
    env.setenv("JUPYTERSPOT_CLOUDFLARED", str(tmp_path / "typo" / "cloudflared"))
    with pytest.raises(TunnelError, match="is not an executable file"):
        registry.share(DEMO, tunnel="cloudflared")
    share = registry.share(DEMO, tunnel="auto")
    try:
        assert "is not an executable file" in " ".join(share.notes)
    finally:
        registry.stop()
    assert server.connections == 0


def test_unreachable_download_is_remembered_by_auto(trickle, env) -> None:
    """Air-gapped: auto's first share waits for the release server (CONNECT_TIMEOUT), the next
    one within 10 minutes does not try again and says so; --tunnel cloudflared still tries."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    env.setenv("JUPYTERSPOT_CLOUDFLARED_RELEASES", f"http://127.0.0.1:{silent.getsockname()[1]}")
    env.setattr(download, "CONNECT_TIMEOUT", 1.0)
    try:
        for _ in range(2):
            share = registry.share(DEMO, tunnel="auto", fresh=True)
            notes = " ".join(share.notes)
            registry.stop()
        assert "Not tried again" in notes and "--tunnel cloudflared tries now" in notes, notes
        with pytest.raises(TunnelError, match="no answer within 1 s"):
            registry.share(DEMO, tunnel="cloudflared")
    finally:
        silent.close()


def test_no_unverified_cloudflared_from_another_package(env, tmp_path: Path) -> None:
    """STAND-IN pycloudflared module with an executable `cloudflared` beside it: not used
    (nothing checked it against a pinned digest)."""
    package = tmp_path / "pycloudflared"
    package.mkdir()
    (package / "__init__.py").write_text("")
    program = package / "cloudflared-linux-amd64"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    env.syspath_prepend(str(tmp_path))
    env.delitem(sys.modules, "pycloudflared", raising=False)
    assert cloudflared.cloudflared_binary() is None


# --- Ctrl-C / Interrupt while the share starts -------------------------------------------------


def download_env(tmp_path: Path, server: Trickle) -> dict[str, str]:
    return {
        "JUPYTERSPOT_CACHE_DIR": str(tmp_path / "cache"),
        "JUPYTERSPOT_CLOUDFLARED_RELEASES": server.url,
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
    }


def test_interrupt_while_the_widget_starts(tmp_path: Path) -> None:
    """A real kernel: the share downloads cloudflared (STAND-IN server, held at 0 %), the user
    presses Interrupt. The widget says so (it stayed on "Starting…" forever), the error is the
    interrupt, and the kernel's download thread and its part file are gone."""
    server = Trickle(40_000_000, 100_000)
    environ = download_env(tmp_path, server)
    environ.pop("JUPYTERSPOT_CLOUDFLARED", None)
    k = Kernel(REPO, env=environ)
    try:
        k.execute("%load_ext jupyterspot_magic")
        msg_id = k.start(f"%jupyterspot share {DEMO} --tunnel cloudflared")
        seen: list[dict] = []

        def downloading() -> bool:
            msg = k.kc.get_iopub_msg(timeout=60)
            if msg["msg_type"] in ("comm_open", "comm_msg"):
                seen.append(msg["content"]["data"].get("state", {}))
            return any(str(s.get("message", "")).endswith("%") for s in seen)

        wait_for(downloading, 60, "the widget to show the download", step=0)
        k.km.interrupt_kernel()
        result = k.collect(msg_id)
        assert result["error"] and "KeyboardInterrupt" in result["error"], result["error"]
        seen += [
            m["content"]["data"].get("state", {})
            for m in result["messages"]
            if m["msg_type"] == "comm_msg"
        ]
        final = [s for s in seen if "status" in s][-1]
        assert final["status"] == "error", seen
        assert "Interrupted" in [s for s in seen if "message" in s][-1]["message"]
        left = (
            "import threading, pathlib, os, json; print(json.dumps([t.name for t in "
            "threading.enumerate() if t.name == 'jupyterspot-download'] + [str(p) for p in "
            "pathlib.Path(os.environ['JUPYTERSPOT_CACHE_DIR']).rglob('.part-*')]))"
        )
        wait_for(lambda: k.json(left) == [], 5, "the download thread and its part to go")
    finally:
        k.shutdown()
        server.close()


def test_cli_ctrl_c_while_the_share_starts(tmp_path: Path) -> None:
    """/tmp/review15/trickle2.py: `jupyterspot share` downloading cloudflared (STAND-IN server,
    held): Ctrl-C ends it within about a second with one line and exit code 130 (it was
    ignored until the download's 180 s deadline)."""
    server = Trickle(40_000_000, 100_000)
    environ = {**os.environ, **download_env(tmp_path, server)}
    environ.pop("JUPYTERSPOT_CLOUDFLARED", None)
    proc = subprocess.Popen(
        [*command(), "share", str(DEMO), "--tunnel", "cloudflared"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: list[str] = []
        while not (lines and lines[-1].rstrip().endswith("%")):
            lines.append(proc.stderr.readline())
            assert lines[-1], lines
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 130
        took = time.monotonic() - t0
        print(f"Ctrl-C to exit: {took:.2f} s")
        assert took < 2.0
        rest = proc.stderr.read()
        assert rest == "jupyterspot: interrupted\n", rest
        assert proc.stdout.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
        server.close()


# --- the widget of a share that does not exist (yet) -----------------------------------------

VISIBLE_CONTROLS = """() => [...document.querySelectorAll('button, a, select, li')]
  .filter((e) => !e.closest('[hidden]') && e.offsetParent !== null)
  .map((e) => (e.tagName === 'SELECT' ? 'policy' : (e.textContent || '').trim()))"""


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("starting", "downloading cloudflared 2026.9.3 (38 MB)… 40%"),
        ("rendering", ""),
        ("error", "cloudflared is not installed and could not be downloaded"),
    ],
)
def test_widget_without_a_share_offers_no_controls(browser, status: str, message: str) -> None:
    """/tmp/review15/wid.py: Chromium, the built widget with a stand-in model (conftest
    widget_mock): while starting or after a failure there is no share, so no Stop, Take lead,
    Pause live, Follow running cell, lead policy nor people (they were all offered)."""
    page = browser.new_page()
    try:
        show_widget(
            page,
            status=status,
            message=message,
            url="",
            host_url="",
            live_mode="on",
            participants=[{"client_id": 7, "name": "Ana", "role": "guest"}],
        )
        shown = page.evaluate(VISIBLE_CONTROLS)
        for control in ("Stop", "Take lead", "Pause live", "Follow running cell", "policy", "Ana"):
            assert not any(control in text for text in shown), (control, shown)
        assert page.get_by_test_id("widget-status").is_visible()

        page.evaluate("() => window.__set('status', 'live')")  # the same widget, once live
        page.evaluate("() => window.__set('url', 'http://127.0.0.1:1/s/r/?token=g')")
        page.evaluate("() => window.__set('host_url', 'http://127.0.0.1:1/s/r/?token=h')")
        shown = page.evaluate(VISIBLE_CONTROLS)
        for control in ("Stop sharing", "Pause live", "policy"):
            assert any(control in text for text in shown), (control, shown)
    finally:
        page.close()


# --- lesser: the notes where no widget renders, who can open a link, the next step -----------


def test_plain_link_carries_the_notes(tmp_path: Path) -> None:
    """A real kernel, auto with no tunnel possible (no ngrok token; the cloudflared release
    server is a closed port): the plain link, all a front end without widgets shows, says why
    there is no public link (it said nothing: the notes were only in the widget); the widget
    does not repeat them."""
    environ = leak_env(tmp_path)
    k = Kernel(REPO, env=environ)
    try:
        k.execute("%load_ext jupyterspot_magic")
        result = k.execute(f"%jupyterspot share {DEMO}", timeout=120)
        assert result["error"] is None, result["error"]
        links = [o["data"]["text/html"] for o in result["outputs"] if "text/html" in o["data"]]
        assert len(links) == 1 and "No public tunnel" in links[0], links
        assert "could not be downloaded" in links[0]
        said = k.json(
            "import json, jupyterspot_magic as j; from jupyterspot_magic.frontends.widget import "
            "widget_of; w = widget_of(j.current()); print(json.dumps([w.message, w.next_step]))"
        )
        assert "No public tunnel" not in said[0] and "For a public link" in said[1], said
    finally:
        k.shutdown()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://100.100.7.9:8765/s/r/", "lan"),  # Tailscale / carrier-grade NAT
        ("http://100.63.255.1:8765/", "public"),  # just below the shared space
        ("http://jupyter-box.local:8765/", "lan"),  # mDNS
        ("http://jupyter-box:8765/", "lan"),  # a single-label name
        ("https://abc.trycloudflare.com", "public"),
        ("http://192.168.1.20:8765/", "lan"),
        ("http://127.0.0.1:8765/", "local"),
    ],
)
def test_reach_of_lan_names_and_cgnat(url: str, expected: str) -> None:
    from jupyterspot_magic.tunnel import reach

    assert reach(url) == expected


def test_next_step_of_a_loopback_public_url(env) -> None:
    """--public-url on loopback: the step is the proxy's outside address, not --tunnel auto
    (which --public-url overrides)."""
    from jupyterspot_magic.frontends.widget import next_step

    share = registry.share(DEMO, public_url="http://127.0.0.1:{port}/")
    try:
        step = next_step(share)
        assert "--public-url" in step and "--tunnel auto" not in step, step
    finally:
        registry.stop()
