"""Tests for content/locate.py: every route through its real or documented interface."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import types
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jupyter_client import BlockingKernelClient, KernelManager

from jupyterspot_magic.content.locate import HINT, Located, LocateError, locate

from .conftest import free_port
from .processes import end_process

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": ["# Hello"]},
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "code",
            "metadata": {},
            "outputs": [],
            "source": ["1 + 1"],
        },
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}

# Runs inside a kernel; prints one JSON line with what locate() found and how long it took.
LOCATE_IN_KERNEL = f"""
import json, os, sys, time
sys.path.insert(0, {str(REPO)!r})  # until the package is pip-installed (editable)
from jupyterspot_magic.content.locate import LocateError, locate
_t0 = time.perf_counter()
try:
    _found = locate()
    _result = {{"route": _found.route, "path": str(_found.path), "note": _found.note}}
except LocateError as _e:
    _result = {{"error": str(_e)}}
_result["ms"] = (time.perf_counter() - _t0) * 1000
_result["env"] = os.environ.get("JPY_SESSION_NAME")
print(json.dumps(_result))
"""


def write_notebook(path: Path, nb: dict | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb or NOTEBOOK), encoding="utf-8")
    return path


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No session variable, an empty runtime dir: no real server on this machine is consulted."""
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- explicit path -----------------------------------------------------------------------


def test_explicit_path_relative_absolute_and_home(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = write_notebook(clean_env / "dir" / "nb.ipynb")
    monkeypatch.setenv("HOME", str(clean_env))
    monkeypatch.setenv("USERPROFILE", str(clean_env))
    for given in ("dir/nb.ipynb", str(nb), nb, "~/dir/nb.ipynb", "dir/../dir/nb.ipynb"):
        assert locate(given) == Located(path=nb, contents=None, route="path", note=None)


@pytest.mark.parametrize("given", ["missing.ipynb", "."])
def test_explicit_path_not_a_file(clean_env: Path, given: str) -> None:
    with pytest.raises(LocateError, match="^Notebook not found: ") as err:
        locate(given)
    assert "\n" not in str(err.value)


# --- VS Code -----------------------------------------------------------------------------


def test_vscode(clean_env: Path) -> None:
    """VS Code itself is not running here: this uses its documented interface, the
    `__vsc_ipynb_file__` variable that the VS Code Jupyter extension puts in the user namespace."""
    nb = write_notebook(clean_env / "nb.ipynb")
    found = locate(user_ns={"__vsc_ipynb_file__": str(nb)})
    assert (found.route, found.path, found.contents) == ("vscode", nb, None)


def test_vscode_untitled_falls_through(clean_env: Path) -> None:
    """VS Code is not running here. An untitled notebook has no file: say so, ask for a path."""
    with pytest.raises(LocateError) as err:
        locate(user_ns={"__vsc_ipynb_file__": str(clean_env / "Untitled-1.ipynb")})
    message = str(err.value)
    assert "Untitled-1.ipynb" in message and HINT in message and "\n" not in message


# --- Colab -------------------------------------------------------------------------------


@pytest.fixture
def colab(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """A stand-in for Colab's documented `google.colab._message` API (Colab is not running
    here): `blocking_request("get_ipynb", ...)` answers `{"ipynb": <notebook>}`, or None when
    the frontend does not answer in time."""
    state = types.SimpleNamespace(reply={"ipynb": NOTEBOOK}, calls=[])

    def blocking_request(request_type: str, request: Any = "", timeout_sec: float = 5, **kw: Any):
        state.calls.append((request_type, request, timeout_sec))
        return state.reply

    google = types.ModuleType("google")
    google_colab = types.ModuleType("google.colab")
    message = types.ModuleType("google.colab._message")
    message.blocking_request = blocking_request  # type: ignore[attr-defined]
    google.colab = google_colab  # type: ignore[attr-defined]
    google_colab._message = message  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", google_colab)
    monkeypatch.setitem(sys.modules, "google.colab._message", message)
    return state


def test_colab_live_contents(clean_env: Path, colab: types.SimpleNamespace) -> None:
    """Colab is not running here; the fixture stands in for its documented `_message` API."""
    found = locate()
    assert found == Located(path=None, contents=NOTEBOOK, route="colab", note=None)
    assert colab.calls and colab.calls[0][0] == "get_ipynb"


def test_colab_timeout_falls_through(clean_env: Path, colab: types.SimpleNamespace) -> None:
    """Colab is not running here (stand-in `_message` API). No answer: try the next routes and
    mention Colab in the final message."""
    colab.reply = None
    nb = write_notebook(clean_env / "nb.ipynb")
    assert locate(user_ns={"__vsc_ipynb_file__": str(nb)}).route == "vscode"
    with pytest.raises(LocateError, match="Colab did not send the notebook"):
        locate(user_ns={})


def test_colab_off_main_thread(clean_env: Path, colab: types.SimpleNamespace) -> None:
    """Colab is not running here (stand-in `_message` API). Its replies arrive on the main thread
    only, so another thread gets a clear error instead of a hang."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            locate()
        except BaseException as e:
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert len(errors) == 1 and isinstance(errors[0], LocateError)
    assert "main thread" in str(errors[0]) and not colab.calls


# --- JPY_SESSION_NAME in this process ----------------------------------------------------


def test_session_name_absolute_and_stale(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = write_notebook(clean_env / "nb.ipynb")
    monkeypatch.setenv("JPY_SESSION_NAME", str(nb))
    assert locate(user_ns={}).route == "jpy_session_name"
    nb.rename(clean_env / "renamed.ipynb")  # the variable keeps the old name until a restart
    with pytest.raises(LocateError, match="JPY_SESSION_NAME .* is gone"):
        locate(user_ns={})


# --- against a real Jupyter Server -------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[types.SimpleNamespace]:
    """A real jupyter_server on loopback, with its own runtime dir."""
    base = tmp_path_factory.mktemp("server")
    runtime, root, config = base / "runtime", base / "root", base / "config"
    for d in (runtime, root, config):
        d.mkdir()
    token = uuid.uuid4().hex
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTER_CONFIG_DIR": str(config)}
    env.pop("JPY_SESSION_NAME", None)
    cmd = [
        *(sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root"),
        f"--port={free_port()}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.ip=127.0.0.1",
    ]
    log = (base / "server.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        info = wait_for_server_file(runtime, proc, base / "server.log")
        yield types.SimpleNamespace(
            url=info["url"], headers={"Authorization": f"token {token}"}, root=root, runtime=runtime
        )
    finally:
        stop_server(proc, info["url"] if "info" in locals() else None, token)
        log.close()


def wait_for_server_file(runtime: Path, proc: subprocess.Popen, log: Path) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"jupyter_server exited: {log.read_text()[-2000:]}"
        for f in runtime.glob("jpserver-*.json"):
            try:
                return json.loads(f.read_text())
            except ValueError:
                pass  # still being written
        time.sleep(0.05)
    raise AssertionError(f"jupyter_server did not start: {log.read_text()[-2000:]}")


def stop_server(proc: subprocess.Popen, url: str | None, token: str) -> None:
    # /api/shutdown stops the kernels too; terminate/kill only if it does not.
    if url and proc.poll() is None:
        try:
            httpx.post(f"{url}api/shutdown", headers={"Authorization": f"token {token}"})
            proc.wait(15)
        except Exception:
            pass
    end_process(proc, 10)


class Kernel(types.SimpleNamespace):
    client: BlockingKernelClient

    def run(self, code: str) -> dict:
        """Execute code in the kernel; return the last line it printed, parsed as JSON."""
        out: list[str] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                out.append(msg["content"]["text"])

        reply = self.client.execute_interactive(code, timeout=30, output_hook=hook)
        assert reply["content"]["status"] == "ok", reply["content"].get("traceback")
        return json.loads("".join(out).strip().splitlines()[-1]) if out else {}


def connect(connection_file: Path) -> BlockingKernelClient:
    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    # No heartbeat: a kernel still starting on a loaded machine misses its first beats, and
    # jupyter_client then calls it dead ("Kernel died before replying to kernel_info", seen in
    # two clean-clone runs); a kernel that really died fails the 30 s wait instead.
    client.start_channels(hb=False)
    client.wait_for_ready(timeout=30)
    return client


@pytest.fixture
def kernel(server: types.SimpleNamespace) -> Iterator[Kernel]:
    """A notebook session started through the server's REST API, as JupyterLab does."""
    path = write_notebook(server.root / "sub" / f"nb-{uuid.uuid4().hex[:6]}.ipynb")
    api_path = path.relative_to(server.root).as_posix()
    body = {"path": api_path, "type": "notebook", "name": path.name, "kernel": {"name": "python3"}}
    r = httpx.post(f"{server.url}api/sessions", json=body, headers=server.headers, timeout=30)
    r.raise_for_status()
    session = r.json()
    client = connect(server.runtime / f"kernel-{session['kernel']['id']}.json")
    try:
        yield Kernel(client=client, path=path, session=session, server=server)
    finally:
        client.stop_channels()
        url = f"{server.url}api/sessions/{session['id']}"
        httpx.delete(url, headers=server.headers, timeout=30)


def same_file(found: dict, expected: Path) -> bool:
    path = Path(found["path"])
    return path.is_absolute() and path.exists() and os.path.samefile(path, expected)


def test_server_session_name_then_sessions_api(kernel: Kernel) -> None:
    first = kernel.run(LOCATE_IN_KERNEL)
    assert first["route"] == "jpy_session_name", first
    assert same_file(first, kernel.path) and Path(first["env"]).is_absolute()
    second = kernel.run('import os; del os.environ["JPY_SESSION_NAME"]\n' + LOCATE_IN_KERNEL)
    assert second["route"] == "sessions_api", second
    assert same_file(second, kernel.path)


def test_server_rename_makes_session_name_stale(kernel: Kernel) -> None:
    """Rename as JupyterLab does (contents API, then the session's path): the kernel's
    JPY_SESSION_NAME keeps the old name, so the sessions API must answer."""
    server, old = kernel.server, kernel.path
    new = old.with_name("renamed-" + old.name)
    for url, body in (
        (f"api/contents/{old.relative_to(server.root).as_posix()}", {}),
        (f"api/sessions/{kernel.session['id']}", {"name": new.name}),
    ):
        body["path"] = new.relative_to(server.root).as_posix()
        httpx.patch(server.url + url, json=body, headers=server.headers).raise_for_status()
    found = kernel.run(LOCATE_IN_KERNEL)
    assert found["route"] == "sessions_api" and same_file(found, new), found
    assert found["env"] == str(old)


def test_server_relative_session_name(kernel: Kernel) -> None:
    """Servers before 2.0.7 give a path relative to their root; the kernel's cwd is elsewhere."""
    rel = kernel.path.relative_to(kernel.server.root).as_posix()
    found = kernel.run(f"import os; os.environ['JPY_SESSION_NAME'] = {rel!r}\n" + LOCATE_IN_KERNEL)
    assert found["route"] == "jpy_session_name" and same_file(found, kernel.path), found


def test_server_note_when_cells_ran_after_the_save(kernel: Kernel) -> None:
    assert kernel.run(LOCATE_IN_KERNEL)["note"] is None  # cell 1: nothing ran before it
    note = kernel.run(LOCATE_IN_KERNEL)["note"]  # cell 2: cell 1 ran after the file was saved
    assert note.startswith(f"Showing the last saved version of {kernel.path.name} (saved ")
    # Save as the frontend would after cell 2 finished, then run a comment-only cell (ignored).
    saved = json.loads(json.dumps(NOTEBOOK))
    saved["cells"][1]["execution_count"] = 2
    write_notebook(kernel.path, saved)
    kernel.run("# only a comment")  # cell 3
    assert kernel.run(LOCATE_IN_KERNEL)["note"] is None  # cell 4: last real cell (2) is saved
    assert kernel.run(LOCATE_IN_KERNEL)["note"] is not None  # cell 5: cell 4 is not


@pytest.mark.parametrize("with_server", [False, True], ids=["no-server", "server-not-ours"])
def test_no_route_asks_for_the_path(
    with_server: bool, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch
) -> None:
    """A plain kernel (jupyter_client KernelManager): no session variable, and no server (or a
    server that does not know this kernel)."""
    runtime = request.getfixturevalue("server").runtime if with_server else tmp_path
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    env = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}
    # Named as a server names them, so the kernel has an id to look up.
    connection_file = runtime / f"kernel-{uuid.uuid4()}.json"
    manager = KernelManager(kernel_name="python3", connection_file=str(connection_file))
    manager.start_kernel(env=env, cwd=str(tmp_path))
    try:
        client = connect(Path(manager.connection_file))
        try:
            found = Kernel(client=client).run(LOCATE_IN_KERNEL)
        finally:
            client.stop_channels()
    finally:
        manager.shutdown_kernel(now=False)
    message = found.get("error", "")
    assert message.startswith("Could not tell which notebook this kernel runs"), found
    assert HINT in message and "\n" not in message
    expected = "lists kernel" if with_server else "no running Jupyter server found"
    assert expected in message
