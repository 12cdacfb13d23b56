"""`jupyterspot share NOTEBOOK` from a terminal: the installed console script in a real
subprocess, its --json line, the link answering over loopback, a clean exit on SIGINT/SIGTERM
that frees the port, and a one-line error for a missing notebook."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import pytest

from .conftest import DEMO, REPO, NodePeer, free_port, port_is_free
from .processes import Cli, command

JSON_KEYS = {"url", "host_url", "local_url", "ws_url", "room", "token", "host_token", "key"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The CLI's environment, with its own render cache (never a stale user cache)."""
    cache = tmp_path_factory.mktemp("render-cache")
    return {**os.environ, "JUPYTERSPOT_CACHE_DIR": str(cache)}


@pytest.fixture
def cli(env: dict[str, str]) -> Iterator[Callable[..., Cli]]:
    started: list[Cli] = []

    def run(*args: str) -> Cli:
        started.append(Cli(list(args), env))
        return started[-1]

    yield run
    for c in started:
        c.kill()


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_json_line_then_clean_exit_on_signal(cli: Callable[..., Cli], sig: signal.Signals) -> None:
    """`--json` prints exactly one JSON line with the documented keys; the link answers; the
    signal ends the process with code 0 within seconds, the link dies and the port is freed."""
    port = free_port()
    proc = cli("share", str(DEMO), "--tunnel", "none", "--port", str(port), "--json")
    info = json.loads(proc.readline())
    assert set(info) == JSON_KEYS
    assert info["url"].startswith(f"http://127.0.0.1:{port}/s/{info['room']}/")
    assert info["token"] in info["url"] and info["host_token"] in info["host_url"]
    assert get(info["url"]) == 200
    assert get(info["host_url"]) == 200

    t0 = time.monotonic()
    assert proc.stop(sig) == 0
    assert time.monotonic() - t0 < 5
    assert proc.lines.empty(), "more than one line on stdout"
    with pytest.raises(urllib.error.URLError):
        get(info["url"])
    assert port_is_free(port)


def test_plain_output_prints_the_link(cli: Callable[..., Cli]) -> None:
    """Without --json the link is printed for a person to copy, and it opens the page."""
    proc = cli("share", str(DEMO), "--tunnel", "none")
    printed = ""
    while "Ctrl-C" not in printed:
        printed += proc.readline()
    match = re.search(r"link:\s+(http://127\.0\.0\.1:\d+/s/\S+\?token=\S+)", printed)
    assert match, printed
    assert get(match.group(1)) == 200
    assert proc.stop(signal.SIGINT) == 0


def test_missing_notebook_exit_2_one_line(env: dict[str, str], tmp_path: Path) -> None:
    """A notebook that does not exist: exit code 2, one stderr line naming it, last, after the
    start's progress lines (each starting "jupyterspot:"), no traceback."""
    missing = tmp_path / "missing.ipynb"
    done = subprocess.run(
        [*command(), "share", str(missing), "--tunnel", "none", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    # the start's progress lines (frontends/cli.py print_progress) come first, then the error
    assert lines and all(line.startswith("jupyterspot:") for line in lines), done.stderr
    assert str(missing) in lines[-1]
    assert done.stdout == ""


# --- issue 16 ---------------------------------------------------------------------------------


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*command(), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


def test_version(env: dict[str, str]) -> None:
    """Item 7: `jupyterspot --version` (was "unrecognized arguments")."""
    done = run_cli(env, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"jupyterspot {metadata.version('jupyterspot-magic')}"


@pytest.mark.parametrize("action", ["share", "token"])
def test_help_for_every_action(env: dict[str, str], action: str) -> None:
    done = run_cli(env, action, "--help")
    assert done.returncode == 0 and f"usage: jupyterspot {action}" in done.stdout, done


def test_python_script_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    """Item 7: a .py said `Not valid JSON … (line 1, column 1)`."""
    script = tmp_path / "analysis.py"
    script.write_text("import pandas\n", encoding="utf-8")
    done = run_cli(env, "share", str(script), "--tunnel", "none")
    assert done.returncode == 2 and done.stdout == ""
    last = done.stderr.splitlines()[-1]
    assert last == (
        "jupyterspot: analysis.py is a Python script, not a notebook — "
        "`jupytext --to ipynb analysis.py` converts it"
    ), done.stderr
    assert "Traceback" not in done.stderr


def plain_share(cli: Callable[..., Cli]) -> tuple[Cli, str]:
    """A plain-output CLI share of the demo: the process and its guest link."""
    proc = cli("share", str(DEMO), "--tunnel", "none")
    printed = ""
    while "Ctrl-C" not in printed:
        printed += proc.readline()
    match = re.search(r"link:\s+(http://127\.0\.0\.1:\d+/s/\S+\?token=\S+)", printed)
    assert match, printed
    return proc, match.group(1)


def next_line(proc: Cli, wanted: str) -> str:
    """Read stdout until a line holding `wanted` (the lines before it go)."""
    while wanted not in (line := proc.readline(timeout=15)):
        pass
    return line.strip()


def test_joins_and_leaves_printed(cli: Callable[..., Cli]) -> None:
    """Item 8: the CLI printed `people: 0` once and never again; now each join and leave is a
    line as it happens (a real y-websocket client joins as Ana, then closes)."""
    proc, url = plain_share(cli)
    match = re.match(r"http://(127\.0\.0\.1:\d+)/s/([^/]+)/\?token=(\S+)", url)
    assert match, url
    host, room, token = match.groups()
    ana = NodePeer(f"ws://{host}/ws/{room}", "board", token)
    try:
        ana.send(cmd="awareness", state={"user": {"name": "Ana", "color": "#112233"}})
        assert next_line(proc, "Ana") == "+ Ana joined (1 here)"
    finally:
        ana.kill()
    assert next_line(proc, "Ana") == "- Ana left (0 here)"


def test_favicon_served(cli: Callable[..., Cli]) -> None:
    """Item 9: /favicon.ico was a 404. The page names its icon beside itself (a path prefix
    keeps it on the share's server) and the root answers too; an SVG, cacheable, no token."""
    _proc, url = plain_share(cli)
    with urllib.request.urlopen(url, timeout=10) as response:
        page = response.read().decode()
    icon_links = re.findall(r"<link[^>]*>", page)
    assert any('rel="icon"' in tag and 'href="favicon.ico"' in tag for tag in icon_links), page
    origin = url.split("/s/")[0]
    room_dir = url.split("?")[0]
    for icon in (f"{origin}/favicon.ico", f"{room_dir}favicon.ico"):
        with urllib.request.urlopen(icon, timeout=10) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "image/svg+xml"
            assert "max-age=86400" in response.headers["Cache-Control"]
            assert response.read().startswith(b"<svg")
