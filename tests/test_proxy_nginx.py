"""`--public-url` behind a real reverse proxy: Debian's nginx, started by the test on loopback,
proxies the path prefix /proxy/abc/ (websocket upgrade included) to the share server, the way
jupyter-server-proxy or a company gateway does. Two Chromium pages open the link through nginx,
their websockets go through nginx too, and each sees the other in its participants list."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import jupyterspot_magic
from jupyterspot_magic.collab.seal import fragment

from .conftest import DEMO, free_port, wait_names
from .processes import end_process

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PREFIX = "/proxy/abc"

CONFIG = """
{user}
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen 127.0.0.1:{port};
        location {prefix}/ {{
            proxy_pass http://127.0.0.1:{upstream}/;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_read_timeout 3600s;
            proxy_buffering off;
        }}
        location / {{ return 404; }}
    }}
}}
"""


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port} after {timeout}s")


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """nginx on a free loopback port, proxying PREFIX to `upstream` (a port the share takes)."""
    if not os.path.exists(NGINX):
        pytest.fail("nginx is missing: .ci/run installs Debian's nginx")
    port, upstream = free_port(), free_port()
    # as root, nginx's workers would drop to `nobody`, who cannot read this private temp dir
    user = "user root;" if os.geteuid() == 0 else ""
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        CONFIG.format(user=user, tmp=tmp_path, port=port, upstream=upstream, prefix=PREFIX)
    )
    proc = subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_port(port)
        yield port, upstream
    finally:
        end_process(proc, 10)
        errors = (tmp_path / "error.log").read_text() if (tmp_path / "error.log").exists() else ""
        assert "[emerg]" not in errors, errors


def test_two_pages_meet_through_nginx_under_a_path_prefix(nginx, browser, tmp_path, monkeypatch):
    port, upstream = nginx
    monkeypatch.setenv("JUPYTERSPOT_CACHE_DIR", str(tmp_path / "cache"))
    public = f"http://127.0.0.1:{port}{PREFIX}"
    share = jupyterspot_magic.share(
        DEMO, tunnel="none", port=upstream, public_url=public + "/", name="Bob"
    )
    try:
        assert share.tunnel.name == "url"
        assert share.health is None, share.notes  # the page answered through nginx
        info = share.info()
        for key in ("url", "host_url"):
            assert info[key].startswith(f"{public}/s/{share.room}/?token="), info
        assert info["ws_url"] == f"ws://127.0.0.1:{port}{PREFIX}/ws/{share.room}"
        assert info["local_url"].startswith(f"http://127.0.0.1:{upstream}/s/")

        # Without the prefix nginx has nothing; the room without its slash redirects in-prefix.
        assert httpx.get(f"http://127.0.0.1:{port}/s/{share.room}/").status_code == 404
        bare = httpx.get(f"{public}/s/{share.room}?token={share.token}", follow_redirects=True)
        assert bare.status_code == 200 and str(bare.url).startswith(f"{public}/s/{share.room}/")

        context = browser.new_context(viewport={"width": 1200, "height": 800})
        alice, bob = context.new_page(), context.new_page()
        # A link through a proxy is end-to-end encrypted by default: the key is its fragment,
        # and a name after it stays in the browser too (js/viewer/config.ts linkParam).
        assert share.key is not None and share.url.endswith(fragment(share.key))
        alice.goto(share.url + "&name=Alice")
        bob.goto(share.host_url)  # the presenter link (with its name) goes through nginx too
        for page in (alice, bob):
            wait_names(page, {"Alice", "Bob"}, timeout=10)
            ws = page.evaluate("window.jupyterspot.provider.ws.url")
            assert ws.startswith(f"ws://127.0.0.1:{port}{PREFIX}/ws/{share.room}/"), ws
        # The viewer's own files came through the prefix as well (relative URLs).
        scripts = alice.evaluate(
            "performance.getEntriesByType('resource').map(e => e.name)"
            ".filter(n => n.endsWith('viewer.js'))"
        )
        assert scripts and all(s.startswith(f"{public}/s/{share.room}/static/") for s in scripts)

        names = {p["name"] for p in share.participants}
        deadline = time.monotonic() + 5
        while names != {"Alice", "Bob"} and time.monotonic() < deadline:
            time.sleep(0.05)
            names = {p["name"] for p in share.participants}
        assert names == {"Alice", "Bob"}
        bob.close()
        wait_names(alice, {"Alice"}, timeout=10)
        context.close()
    finally:
        share.stop()
