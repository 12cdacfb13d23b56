"""The share widget in a real JupyterLab 4, driven by headless Chromium.

The test starts JupyterLab on loopback (temp root dir, token auth, no browser), opens a notebook
whose only cell is `%load_ext jupyterspot_magic` + `%jupyterspot share --tunnel none`, runs it
with Shift+Enter (the notebook is found through JPY_SESSION_NAME, which Jupyter Server sets), and
checks what the user sees: the widget's link and QR code, then the participant list updating
when a viewer opens that link and leaves, then the widget's Stop button ending the share (a
message from the front end to the kernel: this caught ShareWidget shadowing ipywidgets' own
`_handle_msg`, which silently dropped every click)."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import free_port
from .processes import end_process

CELL = "%load_ext jupyterspot_magic\n%jupyterspot share --tunnel none --name Host"


def notebook(source: str) -> dict:
    return {
        "cells": [
            {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# Lab test\n$x^2$"},
            {
                "cell_type": "code",
                "id": "share",
                "metadata": {},
                "source": source,
                "outputs": [],
                "execution_count": None,
            },
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """JupyterLab on a free loopback port: (base url, token, root dir)."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "meeting.ipynb").write_text(json.dumps(notebook(CELL)))
    state = tmp_path / "state"
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(state / "config"),
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
        "JUPYTERSPOT_CACHE_DIR": str(state / "cache"),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.open_browser=False",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "lab.log").open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/status?token={token}", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start:\n{(tmp_path / 'lab.log').read_text()}")
            time.sleep(0.2)
        yield base, token, root
    finally:
        # Shut the kernels down through the API first (as the Lab UI does), then the server.
        try:
            for k in httpx.get(f"{base}/api/kernels?token={token}", timeout=5).json():
                httpx.delete(f"{base}/api/kernels/{k['id']}?token={token}", timeout=15)
        except httpx.HTTPError:
            pass
        end_process(proc, 20)


def test_widget_in_jupyterlab_shows_link_and_people(lab, browser) -> None:
    base, token, _root = lab
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{base}/lab/tree/meeting.ipynb?token={token}")
    # The notebook is open and its kernel is ready (asked from the server, not guessed).
    page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=60000)
    deadline = time.monotonic() + 60
    while True:
        sessions = httpx.get(f"{base}/api/sessions?token={token}", timeout=5).json()
        states = [s["kernel"]["execution_state"] for s in sessions if s.get("kernel")]
        if states == ["idle"]:
            break
        assert time.monotonic() < deadline, f"the notebook's kernel never became idle: {sessions}"
        time.sleep(0.2)
    page.locator(".jp-CodeCell .jp-InputArea-editor").first.click()
    page.keyboard.press("Shift+Enter")

    link = page.locator('[data-testid="widget-link"]')
    try:
        link.wait_for(state="visible", timeout=60000)
    except Exception:
        page.screenshot(path=str(_root.parent / "lab.png"))
        outputs = page.locator(".jp-OutputArea").all_inner_texts()
        raise AssertionError(f"no widget link; outputs: {outputs}") from None
    url = link.get_attribute("href")
    assert url and url.startswith("http://127.0.0.1:") and "/s/" in url and "token=" in url
    assert link.inner_text() == url
    # A loopback link: no QR code (no phone can open it), a note saying so (issue 15)
    assert "only works on this machine" in page.locator('[data-testid="widget-reach"]').inner_text()
    assert not page.locator('[data-testid="widget-qr"]').is_visible()
    people = page.locator('[data-testid="widget-participants"]')
    assert page.locator(".jupyterspot-link a").first.get_attribute("href") == url  # plain link

    viewer = context.new_page()
    viewer.goto(url + "&name=Carol")
    viewer.locator('[data-testid="participants"]').wait_for(timeout=30000)
    # The notebook found through JPY_SESSION_NAME is the one this Lab page runs.
    assert "Lab test" in viewer.locator("#jupyterspot-root").inner_text()
    assert "meeting" in page.locator(".jupyterspot-widget").inner_text()
    deadline = time.monotonic() + 15
    while "Carol" not in people.inner_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Carol" in people.inner_text()
    viewer.close()
    deadline = time.monotonic() + 15
    while "Carol" in people.inner_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Carol" not in people.inner_text(), "the list did not update when the viewer left"

    page.locator('[data-testid="widget-stop"]').click()
    page.locator('[data-testid="widget-status"][data-status="stopped"]').wait_for(timeout=15000)
    assert not link.is_visible(), "a stopped share's link is not offered any more"
    deadline = time.monotonic() + 10
    while _port_open(url) and time.monotonic() < deadline:  # the kernel may still be closing it
        time.sleep(0.1)
    assert not _port_open(url), "the share's port is closed after Stop"
    context.close()


def _port_open(url: str) -> bool:
    port = int(url.split(":")[2].split("/")[0])
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
