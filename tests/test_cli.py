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
from pathlib import Path

import pytest

from .conftest import DEMO, REPO, free_port, port_is_free
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
    """A notebook that does not exist: exit code 2, one stderr line starting "jupyterspot:"."""
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
    assert len(lines) == 1 and lines[0].startswith("jupyterspot:"), done.stderr
    assert str(missing) in lines[0]
    assert done.stdout == ""
