"""Tunnels: ngrok, cloudflared, none, auto; health check, reopening a dead tunnel, clean stop.

The real ngrok and Cloudflare services are unreachable from the test machine, so the ngrok and
cloudflared providers run against STAND-INS of their local side (tests/fakes/): a fake `ngrok`
agent that pyngrok starts and drives through its real agent API on loopback, and a fake
`cloudflared` that prints cloudflared's real log format. Both forward to our server through a
loopback TCP forwarder whose http://127.0.0.1:PORT plays the public URL. Everything the provider
code does (pyngrok's process and API handling, parsing cloudflared's output, errors, watching the
process, reopening it) is the real code path; only the far side of the tunnel is simulated.
cloudflared's real banner (a https://*.trycloudflare.com URL) is parsed in its own test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

import jupyterspot_magic
from jupyterspot_magic import tunnel
from jupyterspot_magic.collab.seal import ClientSeal, fragment
from jupyterspot_magic.session import registry as sharing
from jupyterspot_magic.tunnel import TunnelError, cloudflared, direct, ngrok
from jupyterspot_magic.tunnel.cloudflared import QuickTunnelOutput

from .conftest import DEMO, REPO, wait_for
from .kernel import Kernel
from .processes import Cli

FAKES = REPO / "tests" / "fakes"
FAKE_NGROK = FAKES / "ngrok"
FAKE_CLOUDFLARED = FAKES / "cloudflared"

REAL_BANNER = """\
2026-01-01T10:00:00Z INF Thank you for trying Cloudflare Tunnel. Doing so, without a Cloudflare \
account, is a quick way to experiment and try it out.
2026-01-01T10:00:00Z INF Requesting new quick Tunnel on trycloudflare.com...
2026-01-01T10:00:01Z INF +--------------------------------------------------------------------+
2026-01-01T10:00:01Z INF |  Your quick Tunnel has been created! Visit it at (it may take some \
time to be reachable):  |
2026-01-01T10:00:01Z INF |  https://gentle-river-quiet-maple.trycloudflare.com                 |
2026-01-01T10:00:01Z INF +--------------------------------------------------------------------+
2026-01-01T10:00:02Z INF Registered tunnel connection connIndex=0 connection=ab12 event=0 \
ip=198.41.200.13 location=ams01 protocol=quic
"""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def assert_reachable(share: sharing.Share) -> None:
    """The page and a room websocket both answer through the share's public URL. A tunnel's
    link is end-to-end encrypted (base/options.py): the page is the loader, and the room's
    first frames open only with the key the link's fragment carries (collab/seal.py)."""
    assert share.key is not None and share.url.endswith(fragment(share.key))
    response = httpx.get(share.url, timeout=10)
    assert response.status_code == 200
    assert "jupyterspot-e2e" in response.text and "jupyterspot-config" not in response.text
    seal = ClientSeal(share.key, share.room, "board")
    url = f"{share.ws_url}/board?token={share.token}&{seal.query()}"
    with ws_connect(url, open_timeout=10) as ws:
        seal.open_hello(ws.recv(timeout=10))
        first = seal.down(ws.recv(timeout=10))
        assert first[0] == 0  # y-websocket sync step 1


def jupyterspot_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("jupyterspot"))


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No real ngrok/cloudflared config or binary can leak in; a private render cache."""
    monkeypatch.setenv("JUPYTERSPOT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("NGROK_AUTHTOKEN", raising=False)
    monkeypatch.delenv("JUPYTERSPOT_CLOUDFLARED", raising=False)
    monkeypatch.setenv("PYNGROK_NGROK_PATH", str(tmp_path / "no-ngrok-here"))
    monkeypatch.setenv("FAKE_CLOUDFLARED_LOG", str(tmp_path / "cloudflared.log"))
    monkeypatch.setenv("FAKE_NGROK_LOG", str(tmp_path / "ngrok.log"))
    # No cloudflared download either (tunnel/download.py): its release server is a closed port
    monkeypatch.setenv("JUPYTERSPOT_CLOUDFLARED_RELEASES", f"http://127.0.0.1:{closed_port()}")
    return monkeypatch


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def stop_after() -> Iterator[None]:
    yield
    jupyterspot_magic.stop()


def starts(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


# --- cloudflared -----------------------------------------------------------------------------


def test_cloudflared_real_output_is_parsed() -> None:
    out = QuickTunnelOutput()
    for line in REAL_BANNER.splitlines():
        out.feed(line)
    assert out.url == "https://gentle-river-quiet-maple.trycloudflare.com"
    assert out.registered


def test_cloudflared_failures_are_explained() -> None:
    limited = QuickTunnelOutput()
    limited.feed(
        "2026-01-01T10:00:01Z ERR Error unmarshaling QuickTunnel response: error code: 1015 "
        "error=\"invalid character 'e' looking for beginning of value\" "
        'status_code="429 Too Many Requests"'
    )
    assert "rate limited" in limited.error() and "ngrok" in limited.error()
    blocked = QuickTunnelOutput()
    blocked.feed(
        'failed to request quick Tunnel: Post "https://api.trycloudflare.com/tunnel": dial tcp: '
        "lookup api.trycloudflare.com on 127.0.0.53:53: no such host"
    )
    assert "cannot reach Cloudflare" in blocked.error()


def test_cloudflared_binary_missing_and_not_downloadable(env: pytest.MonkeyPatch) -> None:
    """No cloudflared and its download refused (the release server is a closed port)."""
    steps: list[float] = []  # when the tunnel began (the page is rendered before)
    with pytest.raises(TunnelError) as e:
        sharing.share(DEMO, tunnel="cloudflared", progress=lambda _: steps.append(time.monotonic()))
    assert "not installed and could not be downloaded" in str(e.value)
    assert "token ngrok" in str(e.value) and "\n" not in str(e.value)
    assert time.monotonic() - steps[-1] < 5
    assert sharing.current() is None


def test_cloudflared_standin_share_reachable_and_reopened(env, stop_after, tmp_path) -> None:
    """Stand-in cloudflared: link through it, health checked, and it comes back after dying."""
    env.setenv("JUPYTERSPOT_CLOUDFLARED", str(FAKE_CLOUDFLARED))
    share = jupyterspot_magic.share(DEMO, tunnel="cloudflared")
    assert share.tunnel.name == "cloudflared"
    first_url = share.url
    assert first_url.startswith("http://127.0.0.1:") and f":{share.host.port}/" not in first_url
    assert share.health is None, share.notes  # the page answered through the tunnel
    assert_reachable(share)

    from jupyterspot_magic.frontends.widget import ShareWidget, connect

    widget = ShareWidget()
    widget.set_link(share.url, share.host_url)
    old_qr = widget.qr_data_uri
    connect(widget, share)

    proc = share.tunnel.proc
    proc.kill()  # the tunnel drops
    wait_for(lambda: share.url != first_url, 15, "the tunnel to be reopened")
    assert starts(tmp_path / "cloudflared.log") == 2
    # The keeper thread sets the share's new URL, then tells each listener in turn: the widget
    # follows a moment later, on that thread (this test read it in between once, in CI).
    wait_for(lambda: widget.url == share.url, 5, "the widget to show the new link")
    assert widget.url == share.url and widget.qr_data_uri != old_qr
    assert widget.host_url == share.host_url and "reopened" in widget.message
    assert_reachable(share)
    new_pid = share.tunnel.proc.pid

    share.stop()
    assert not pid_alive(new_pid)
    wait_for(lambda: not jupyterspot_threads(), 5, "jupyterspot threads to end")


@pytest.mark.parametrize(
    ("mode", "expected"), [("ratelimit", "rate limited"), ("blocked", "cannot reach Cloudflare")]
)
def test_cloudflared_failure_is_a_clear_error(env, mode: str, expected: str, tmp_path) -> None:
    env.setenv("JUPYTERSPOT_CLOUDFLARED", str(FAKE_CLOUDFLARED))
    env.setenv("FAKE_CLOUDFLARED_MODE", mode)
    t0 = time.monotonic()
    with pytest.raises(TunnelError) as e:
        jupyterspot_magic.share(DEMO, tunnel="cloudflared")
    assert expected in str(e.value)
    assert time.monotonic() - t0 < 10
    assert sharing.current() is None
    assert sharing._host is None, "a failed tunnel must not leave the server running"
    wait_for(lambda: not jupyterspot_threads(), 5, "jupyterspot threads to end")


def test_cloudflared_that_prints_nothing_times_out(env, tmp_path) -> None:
    env.setenv("JUPYTERSPOT_CLOUDFLARED", str(FAKE_CLOUDFLARED))
    env.setenv("FAKE_CLOUDFLARED_MODE", "silent")
    env.setattr(cloudflared, "CLOUDFLARED_URL_TIMEOUT", 2.0)
    t0 = time.monotonic()
    with pytest.raises(TunnelError) as e:
        jupyterspot_magic.share(DEMO, tunnel="cloudflared")
    assert "within 2 s" in str(e.value)
    assert time.monotonic() - t0 < 8
    pid = int((tmp_path / "cloudflared.log").read_text().split()[1])
    wait_for(lambda: not pid_alive(pid), 5, "the silent cloudflared to be ended")


# --- ngrok -----------------------------------------------------------------------------------


def test_ngrok_without_token_says_how_to_get_one(env: pytest.MonkeyPatch) -> None:
    t0 = time.monotonic()
    with pytest.raises(TunnelError) as e:
        jupyterspot_magic.share(DEMO, tunnel="ngrok")
    message = str(e.value)
    assert "NGROK_AUTHTOKEN" in message and "free ngrok account" in message
    assert "dashboard.ngrok.com" in message and "cloudflared" in message
    assert time.monotonic() - t0 < 2
    assert sharing.current() is None


def test_ngrok_token_is_read_from_the_ngrok_config(env, tmp_path: Path) -> None:
    config = tmp_path / "config" / "ngrok" / "ngrok.yml"
    config.parent.mkdir(parents=True)
    config.write_text("version: '3'\nagent:\n  authtoken: tok_from_config\n")
    assert ngrok.ngrok_token() == ("tok_from_config", config)
    legacy = tmp_path / "home" / ".ngrok2" / "ngrok.yml"
    legacy.parent.mkdir(parents=True)
    legacy.write_text("authtoken: legacy_tok\n")
    config.unlink()
    assert ngrok.ngrok_token() == ("legacy_tok", legacy)


def test_ngrok_standin_share_reachable_and_reopened(env, stop_after, tmp_path) -> None:
    """Stand-in ngrok agent driven by pyngrok: link, health, reopened after the agent dies."""
    env.setenv("NGROK_AUTHTOKEN", "test-token")
    env.setenv("PYNGROK_NGROK_PATH", str(FAKE_NGROK))
    share = jupyterspot_magic.share(DEMO, tunnel="ngrok")
    assert share.tunnel.name == "ngrok"
    first_url = share.url
    assert share.health is None, share.notes
    assert any("warning page" in n for n in share.notes)
    assert_reachable(share)

    from pyngrok import process

    agent = process.get_process(share.tunnel._config)
    agent.proc.kill()  # the agent dies: its tunnel with it
    wait_for(lambda: share.url != first_url, 15, "the ngrok tunnel to be reopened")
    assert starts(tmp_path / "ngrok.log") == 2
    assert_reachable(share)
    new_pid = process.get_process(share.tunnel._config).proc.pid

    share.stop()
    wait_for(lambda: not pid_alive(new_pid), 5, "the ngrok agent to be ended")
    wait_for(lambda: not jupyterspot_threads(), 5, "jupyterspot threads to end")
    wait_for(
        lambda: not [t for t in threading.enumerate() if "_monitor_process" in t.name],
        5,
        "pyngrok's log monitor thread to end",
    )


def test_ngrok_on_path_is_used_when_pyngrok_has_none(env, stop_after, tmp_path) -> None:
    """An `ngrok` the user installed (stand-in on PATH) is used instead of downloading one."""
    env.delenv("PYNGROK_NGROK_PATH")
    env.setattr("pyngrok.conf.DEFAULT_NGROK_PATH", str(tmp_path / "pyngrok-has-none"))
    env.setenv("PATH", f"{FAKES}:/usr/bin:/bin")
    env.setenv("NGROK_AUTHTOKEN", "test-token")
    share = jupyterspot_magic.share(DEMO, tunnel="ngrok")
    assert share.tunnel._config.ngrok_path == str(FAKE_NGROK)
    assert share.health is None and starts(tmp_path / "ngrok.log") == 1


def test_ngrok_binary_download_fails_fast_offline(env, tmp_path: Path) -> None:
    """No binary at PYNGROK_NGROK_PATH: pyngrok's download (pointed at loopback) cannot happen."""
    from pyngrok import installer

    env.setenv("NGROK_AUTHTOKEN", "test-token")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]  # nothing listens once closed
    env.setattr(
        installer, "get_ngrok_cdn_url", lambda *_: f"http://127.0.0.1:{dead_port}/ngrok.zip"
    )
    t0 = time.monotonic()
    with pytest.raises(TunnelError) as e:
        jupyterspot_magic.share(DEMO, tunnel="ngrok")
    assert time.monotonic() - t0 < 5
    assert "could not be downloaded" in str(e.value) and "PYNGROK_NGROK_PATH" in str(e.value)
    assert sharing._host is None


def test_ngrok_download_that_hangs_is_cut_off(env, tmp_path: Path) -> None:
    """A download server that accepts and never answers: the kernel waits the deadline, no more."""
    from pyngrok import installer

    env.setenv("NGROK_AUTHTOKEN", "test-token")
    env.setattr(ngrok, "NGROK_DOWNLOAD_DEADLINE", 2.0)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    port = silent.getsockname()[1]
    env.setattr(installer, "get_ngrok_cdn_url", lambda *_: f"http://127.0.0.1:{port}/ngrok.zip")
    steps: list[float] = []  # when the download began (the page is rendered before)
    try:
        with pytest.raises(TunnelError) as e:
            sharing.share(DEMO, tunnel="ngrok", progress=lambda _: steps.append(time.monotonic()))
        assert time.monotonic() - steps[-1] < 5
        assert "did not finish within 2 s" in str(e.value)
    finally:
        silent.close()


# --- auto, none ------------------------------------------------------------------------------


def test_auto_prefers_ngrok_then_cloudflared_then_none(env, stop_after) -> None:
    share = jupyterspot_magic.share(DEMO, tunnel="auto")
    assert share.tunnel.name == "auto:none"
    assert share.url.startswith(f"http://127.0.0.1:{share.host.port}/")
    note = " ".join(share.notes)
    assert "No public tunnel" in note and "could not be downloaded" in note
    assert "token ngrok" in note and share.tunnel.next_step
    jupyterspot_magic.stop()

    env.setenv("JUPYTERSPOT_CLOUDFLARED", str(FAKE_CLOUDFLARED))
    share = jupyterspot_magic.share(DEMO, tunnel="auto")
    assert share.tunnel.name == "auto:cloudflared" and share.health is None
    assert share.keeper is not None
    jupyterspot_magic.stop()

    env.setenv("NGROK_AUTHTOKEN", "test-token")
    env.setenv("PYNGROK_NGROK_PATH", str(FAKE_NGROK))
    share = jupyterspot_magic.share(DEMO, tunnel="auto")
    assert share.tunnel.name == "auto:ngrok" and share.health is None
    assert_reachable(share)


def test_auto_falls_back_when_cloudflared_fails(env, stop_after) -> None:
    env.setenv("JUPYTERSPOT_CLOUDFLARED", str(FAKE_CLOUDFLARED))
    env.setenv("FAKE_CLOUDFLARED_MODE", "ratelimit")
    share = jupyterspot_magic.share(DEMO, tunnel="auto")
    assert share.tunnel.name == "auto:none"
    assert "rate limited" in " ".join(share.notes)


def test_none_on_all_interfaces_shows_the_lan_address(monkeypatch) -> None:
    monkeypatch.setattr(direct, "lan_address", lambda: "192.0.2.7")  # no packet is sent
    assert tunnel.NoTunnel().open("0.0.0.0", 8765) == "http://192.0.2.7:8765"
    monkeypatch.setattr(direct, "lan_address", lambda: None)
    t = tunnel.NoTunnel()
    assert t.open("0.0.0.0", 8765) == "http://127.0.0.1:8765" and "No LAN address" in t.note


def test_public_url_placeholder_and_validation() -> None:
    t = tunnel.make_tunnel("auto", public_url="https://hub.example.org/user/ana/proxy/{port}/")
    assert t.open("127.0.0.1", 4321) == "https://hub.example.org/user/ana/proxy/4321"
    doubled = tunnel.make_tunnel("none", public_url="https://h.example/proxy/{{port}}?x=1")
    assert doubled.open("127.0.0.1", 4321) == "https://h.example/proxy/4321"
    with pytest.raises(TunnelError):
        tunnel.make_tunnel("auto", public_url="hub.example.org/proxy")


# --- a real kernel: stop and shutdown leave nothing behind -----------------------------------

PROBE = """
import json, os, threading, jupyterspot_magic
def _children():
    out = []
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        try:
            with open(f"/proc/{os.getpid()}/task/{task}/children") as f:
                out += [int(p) for p in f.read().split()]
        except FileNotFoundError:  # that thread has just ended
            pass
    return sorted(out)
def _probe():
    s = jupyterspot_magic.current()
    return {
        "threads": sorted(t.name for t in threading.enumerate()),
        "children": _children(),
        "port": s.host.port if s else None,
        "url": s.url if s else None,
        "pid": s.tunnel.proc.pid if s and getattr(s.tunnel, "proc", None) else None,
        "server_pid": s.host.proc.pid if s and getattr(s.host, "proc", None) else None,
    }
print(json.dumps(_probe()))
"""


@pytest.fixture
def tunnel_kernel(tmp_path: Path) -> Iterator[Kernel]:
    k = Kernel(
        REPO,
        env={
            "JUPYTERSPOT_CACHE_DIR": str(tmp_path / "cache"),
            "JUPYTERSPOT_CLOUDFLARED": str(FAKE_CLOUDFLARED),
            "FAKE_CLOUDFLARED_LOG": str(tmp_path / "cloudflared.log"),
        },
    )
    yield k
    k.shutdown()


def ours(threads: list[str]) -> list[str]:
    return [t for t in threads if t.startswith("jupyterspot")]


def others(threads: list[str]) -> list[str]:
    return [t for t in threads if not t.startswith("jupyterspot")]


def test_stop_in_a_kernel_leaves_no_thread_process_or_port(tunnel_kernel: Kernel) -> None:
    k = tunnel_kernel
    before = k.json("%load_ext jupyterspot_magic\n" + PROBE)
    # %load_ext starts the share server's process in the background (registry.prestart)
    assert ours(before["threads"]) == ["jupyterspot-channel"] and len(before["children"]) == 1
    result = k.execute(f"%jupyterspot share {DEMO} --tunnel cloudflared")
    assert result["error"] is None, result["error"]
    during = k.json("print(json.dumps(_probe()))")
    assert during["pid"] in during["children"] and during["server_pid"] in during["children"]
    # the share server is a child process (server/host.py): the kernel holds its channel's reader
    assert {"jupyterspot-channel", "jupyterspot-tunnel", "jupyterspot-cloudflared"} <= set(
        during["threads"]
    )
    tunnel_port = int(during["url"].split(":")[2].split("/")[0])
    assert port_open(during["port"]) and port_open(tunnel_port)

    assert "stopped" in k.execute("%jupyterspot stop")["stdout"]
    after = wait_for(
        lambda: not ours((p := k.json("print(json.dumps(_probe()))"))["threads"]) and p,
        10,
        "no jupyterspot thread left in the kernel",
    )
    assert others(after["threads"]) == others(before["threads"]) and after["children"] == []
    assert not pid_alive(during["pid"]) and not pid_alive(during["server_pid"])
    assert not port_open(during["port"]) and not port_open(tunnel_port)


def test_kernel_shutdown_ends_the_tunnel_process(tunnel_kernel: Kernel, tmp_path: Path) -> None:
    k = tunnel_kernel
    k.execute("%load_ext jupyterspot_magic")
    assert k.execute(f"%jupyterspot share {DEMO} --tunnel cloudflared")["error"] is None
    pid = int((tmp_path / "cloudflared.log").read_text().split()[1])
    assert pid_alive(pid)
    k.kc.stop_channels()
    k.km.shutdown_kernel(now=False)  # a normal shutdown (the Jupyter "Shut down kernel")
    wait_for(lambda: not pid_alive(pid), 10, "cloudflared to end with the kernel")


def test_killed_kernel_takes_its_tunnel_process_along(tunnel_kernel: Kernel, tmp_path) -> None:
    """SIGKILL leaves no chance to clean up: the child gets SIGTERM as its parent dies."""
    k = tunnel_kernel
    k.execute("%load_ext jupyterspot_magic")
    assert k.execute(f"%jupyterspot share {DEMO} --tunnel cloudflared")["error"] is None
    pid = int((tmp_path / "cloudflared.log").read_text().split()[1])
    os.kill(k.km.provisioner.process.pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(pid), 10, "cloudflared to end with the killed kernel")


def share_and_kill_the_tunnel(k: Kernel) -> tuple[dict, dict]:
    """A kernel share whose cloudflared is killed: the probes before, and once the tunnel keeper
    reopened it (a new tunnel URL)."""
    k.execute("%load_ext jupyterspot_magic\n" + PROBE)
    assert k.execute(f"%jupyterspot share {DEMO} --tunnel cloudflared")["error"] is None
    first = k.json("print(json.dumps(_probe()))")
    os.kill(first["pid"], signal.SIGKILL)
    second = wait_for(
        lambda: (p := k.json("print(json.dumps(_probe()))"))["url"] != first["url"] and p,
        15,
        "the kernel's share to get a new tunnel URL",
    )
    return first, second


def test_a_reopened_tunnel_process_also_dies_with_a_killed_kernel(
    tunnel_kernel: Kernel,
) -> None:
    """The tunnel keeper reopens a dead tunnel from its own thread; the parent-death signal
    follows the thread that started the child, so that cloudflared once outlived a kill -9 of
    the kernel. It is now started by the thread that reads it for its whole life."""
    k = tunnel_kernel
    first, second = share_and_kill_the_tunnel(k)
    assert second["pid"] not in (None, first["pid"]) and pid_alive(second["pid"])
    os.kill(k.km.provisioner.process.pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(second["pid"]), 10, "the reopened cloudflared ends too")


def test_dead_tunnel_in_a_kernel_updates_widget_and_plain_link(tunnel_kernel: Kernel) -> None:
    """The tunnel process dies under a live notebook share: it is reopened, the widget's link and
    QR code and the plain HTML link all switch to the new URL without any cell running."""
    k = tunnel_kernel
    first, second = share_and_kill_the_tunnel(k)
    assert second["pid"] != first["pid"] and second["pid"] in second["children"]
    new_url = second["url"]

    # The updates come from the tunnel keeper's thread: they may reach IOPub after the probe
    # that saw the new URL finished (seen under load), so the kernel is asked again meanwhile.
    def widget_updates() -> list[dict]:
        return [
            m["content"]["data"]["state"]
            for m in k.iopub
            if m["msg_type"] == "comm_msg" and "url" in m["content"]["data"].get("state", {})
        ]

    def link_updates() -> list[str]:
        return [
            m["content"]["data"]["text/html"]
            for m in k.iopub
            if m["msg_type"] == "update_display_data"
        ]

    def updated() -> bool:
        k.execute("pass")  # collects what IOPub has meanwhile
        widget = any(
            s["url"] == new_url and s.get("qr_data_uri", "").startswith("data:image/svg")
            for s in widget_updates()
        )
        return widget and any(new_url.replace("&", "&amp;") in h for h in link_updates())

    wait_for(updated, 10, "the widget and the plain link to show the new URL")
    response = httpx.get(new_url, timeout=10)
    assert response.status_code == 200
    k.execute("%jupyterspot stop")


def test_cli_public_tunnel_ends_with_the_cli(tmp_path: Path) -> None:
    """`jupyterspot share NB --tunnel cloudflared --json` (stand-in): the JSON carries the tunnel's
    links; SIGTERM stops the share, the tunnel process with it, and the CLI exits 0."""
    env = {
        **os.environ,
        "JUPYTERSPOT_CACHE_DIR": str(tmp_path / "cache"),
        "JUPYTERSPOT_CLOUDFLARED": str(FAKE_CLOUDFLARED),
        "FAKE_CLOUDFLARED_LOG": str(tmp_path / "cloudflared.log"),
    }
    cli = Cli(["share", str(DEMO), "--tunnel", "cloudflared", "--json"], env)
    try:
        info = json.loads(cli.readline())
        local_port = int(info["local_url"].split(":")[2].split("/")[0])
        assert info["url"].startswith("http://127.0.0.1:") and f":{local_port}/" not in info["url"]
        assert info["ws_url"].startswith("ws://127.0.0.1:") and info["ws_url"].endswith(
            info["room"]
        )
        assert httpx.get(info["url"], timeout=10).status_code == 200
        pid = int((tmp_path / "cloudflared.log").read_text().split()[1])
        assert cli.stop(signal.SIGTERM, 15) == 0
        wait_for(lambda: not pid_alive(pid), 5, "cloudflared to end with the CLI")
    finally:
        cli.kill()
