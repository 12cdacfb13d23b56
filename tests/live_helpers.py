"""Helpers for the live-streaming acceptance tests (issue 12): an HTTP guest that reads a share's
cells as a page does, a control-room log, execute_requests carrying a front-end's metadata, and
notebooks in the shapes JupyterLab, Colab and VS Code save.

`JSP_LIVE_TESTS_SHARE_FLAGS` (e.g. `--no-live`) is appended to every share these tests make: run
them with it to see that each fails without live streaming."""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from .conftest import NodePeer
from .kernel import Kernel

EXTRA_FLAGS = os.environ.get("JSP_LIVE_TESTS_SHARE_FLAGS", "")
PRIVATE_PLACEHOLDER = "# private cell (not shared)"
_TAGS = re.compile(r"<[^>]+>")
_ANCHOR = re.compile(r'<div\b([^>]*)\bid="cell-id=([^"]*)"([^>]*)>')


def share_command(notebook: Path | str | None, *flags: str) -> str:
    """The share cell's source: `%jupyterspot share [NOTEBOOK] --tunnel none [flags]`."""
    where = f" {notebook}" if notebook else ""
    extra = " ".join([*flags, EXTRA_FLAGS]).strip()
    return f"%load_ext jupyterspot_magic\n%jupyterspot share{where} --tunnel none {extra}".rstrip()


# ---------------------------------------------------------------- notebooks


def code(cid: str | None, source: str, **metadata) -> dict:
    cell = {
        "cell_type": "code",
        "metadata": metadata,
        "source": source,
        "outputs": [],
        "execution_count": None,
    }
    if cid is not None:
        cell["id"] = cid
    return cell


def markdown(cid: str | None, source: str) -> dict:
    cell = {"cell_type": "markdown", "metadata": {}, "source": source}
    if cid is not None:
        cell["id"] = cid
    return cell


def nb45(cells: list[dict]) -> dict:
    """A notebook as JupyterLab, Notebook 7 and VS Code save it: nbformat 4.5, cell ids."""
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def colab_nb(cells: list[tuple[str, str, str]]) -> dict:
    """A notebook as Colab exports it: nbformat 4.0, no top-level cell ids, Colab's own id in
    each cell's `metadata.id`. `cells`: (kind, colab id, source)."""
    out = []
    for kind, colab_id, source in cells:
        cell = code(None, source, id=colab_id) if kind == "code" else markdown(None, source)
        cell["metadata"] = {"id": colab_id}
        out.append(cell)
    return {
        "cells": out,
        "metadata": {
            "colab": {"provenance": []},
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 0,
    }


def write_nb(path: Path, nb: dict) -> Path:
    """Save like Jupyter does: a temporary file renamed over the notebook."""
    tmp = path.with_name(f".~{path.name}")
    tmp.write_text(json.dumps(nb, indent=1))
    tmp.replace(path)
    return path


def vscode_cell_uri(notebook: Path, handle: int) -> str:
    """VS Code's `vscode-notebook-cell:` URI of the cell with this handle (CellUri.generate in
    VS Code: handle in radix 7 after a length letter, then the notebook's scheme in base64)."""
    digits = ""
    n = handle
    while True:
        digits = "0123456"[n % 7] + digits
        n //= 7
        if not n:
            break
    letter = "WXYZabcdef"[len(digits) - 1]
    return f"vscode-notebook-cell:{notebook}#{letter}{digits}sZmlsZQ%3D%3D"


# ---------------------------------------------------------------- the kernel side


def run_as(kernel: Kernel, source: str, metadata: dict, timeout: float = 60) -> dict:
    """Run `source` through an execute_request whose metadata is a front-end's (built with
    jupyter_client's own session, as a front-end's is); wait until the kernel is idle again."""
    return kernel.collect(send_as(kernel, source, metadata), timeout)


def send_as(kernel: Kernel, source: str, metadata: dict) -> str:
    """Send the execute_request without waiting; its msg_id (collect it later)."""
    content = {
        "code": source,
        "silent": False,
        "store_history": True,
        "user_expressions": {},
        "allow_stdin": False,
        "stop_on_error": True,
    }
    msg = kernel.kc.session.msg("execute_request", content, metadata=metadata)
    kernel.kc.shell_channel.send(msg)
    return msg["header"]["msg_id"]


def lab_meta(cell_id: str) -> dict:
    """JupyterLab 4 / Notebook 7: the nbformat id in `metadata.cellId`."""
    return {"cellId": cell_id, "deletedCells": [], "recordTiming": False}


def colab_meta(colab_id: str) -> dict:
    return {"colab": {"cell_id": colab_id}}


def vscode_meta(uri: str) -> dict:
    return {"cellId": uri}


def query(kernel: Kernel, source: str, timeout: float = 60) -> str:
    """Run test-only code as a silent request (no cell: IPython runs no pre_run_cell hook for
    it, and front-ends never show it); its stdout."""
    content = {"code": source, "silent": True, "store_history": False, "user_expressions": {}}
    content |= {"allow_stdin": False, "stop_on_error": False}
    msg = kernel.kc.session.msg("execute_request", content)
    kernel.kc.shell_channel.send(msg)
    result = kernel.collect(msg["header"]["msg_id"], timeout)
    assert result["error"] is None, result["error"]
    return result["stdout"]


def share_info(kernel: Kernel) -> dict:
    out = query(
        kernel, "import json, jupyterspot_magic as j; print(json.dumps(j.current().info()))"
    )
    return json.loads(out.strip().splitlines()[-1])


def stop_share(kernel: Kernel) -> None:
    kernel.execute("%jupyterspot stop")


# ---------------------------------------------------------------- the guest side


class Guest:
    """What a guest page fetches (js/viewer/live.ts): `x/cells?since=<a version it never had>`
    answers every cell of the current content with its HTML, in order."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.token = parse_qs(parts.query)["token"][0]
        self.client = httpx.Client(timeout=30)

    def payload(self) -> dict:
        r = self.client.get(f"{self.base}/x/cells", params={"token": self.token, "since": "-"})
        r.raise_for_status()
        return r.json()

    def cells(self) -> list[dict]:
        """[{id, html, text, unsaved}] in page order; [] while the server has no per-cell view."""
        reply = self.payload()
        return [cell_view(c["id"], c["html"]) for c in reply.get("cells") or []]

    def cell(self, cid: str) -> dict | None:
        return next((c for c in self.cells() if c["id"] == cid), None)

    def get(self, path: str) -> httpx.Response:
        return self.client.get(f"{self.base}/{path}")

    def close(self) -> None:
        self.client.close()


def cell_view(cid: str, html: str | None) -> dict:
    html = html or ""
    anchor = _ANCHOR.search(html)
    attrs = (anchor.group(1) + anchor.group(3)) if anchor else ""
    return {
        "id": cid,
        "html": html,
        "text": html_lib.unescape(_TAGS.sub("", html)),
        "unsaved": "data-jsp-unsaved" in attrs,
    }


def wait_cell(
    guest: Guest, cid: str, pred: Callable[[dict], object], timeout: float = 10, what: str = ""
) -> dict:
    """Poll the guest until cell `cid` satisfies `pred`; fail saying what it held last."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = guest.cell(cid)
        if last is not None and pred(last):
            return last
        time.sleep(0.05)
    text = " ".join(last["text"].split())[:600] if last else None
    raise AssertionError(f"{what or cid}: not within {timeout}s; the cell showed: {text!r}")


def wait_cells(
    guest: Guest, pred: Callable[[list[dict]], object], timeout: float = 10, what: str = ""
) -> list[dict]:
    deadline = time.monotonic() + timeout
    last: list[dict] = []
    while time.monotonic() < deadline:
        last = guest.cells()
        if pred(last):
            return last
        time.sleep(0.05)
    brief = [(c["id"], " ".join(c["text"].split())[:80]) for c in last]
    raise AssertionError(f"{what}: not within {timeout}s; cells: {brief}")


def never_within(cond: Callable[[], object], seconds: float) -> None:
    """A negative check has to wait for something: `cond` stays false for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = cond()
        assert not got, got
        time.sleep(0.05)


class ControlLog:
    """A real y-websocket client in the control room (tests/js/peer.mjs, guest token: read only)
    whose every change of the control map is kept with the time it was read."""

    def __init__(self, ws_url: str, token: str) -> None:
        self.peer = NodePeer(ws_url, "control", token)
        self.events: list[tuple[float, dict]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        while self.peer.proc.poll() is None:
            try:
                line = self.peer.lines.get(timeout=0.5)
            except Exception:
                continue
            event = json.loads(line)
            if event.get("event") in ("doc", "dump"):
                with self._lock:
                    self.events.append((time.monotonic(), event["maps"]["control"]))

    def control(self) -> dict:
        with self._lock:
            return dict(self.events[-1][1]) if self.events else {}

    def versions(self, since: float = 0.0) -> list[tuple[float, str]]:
        """Each distinct control.version with the time it was first seen (after `since`)."""
        out: list[tuple[float, str]] = []
        last = None
        with self._lock:
            events = list(self.events)
        for t, control in events:
            v = control.get("version")
            if v != last:
                if t >= since:
                    out.append((t, v))
                last = v
        return out

    def close(self) -> None:
        self.peer.kill()


def max_per_second(times: list[float]) -> int:
    """The most events in any 1-second window."""
    best = 0
    j = 0
    for i, t in enumerate(times):
        while times[j] < t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


# ---------------------------------------------------------------- data


def noise_png(size: int) -> bytes:
    """A valid grey PNG of about `size` bytes that does not compress (random pixels)."""
    width = 2048
    rows = max(1, size // (width + 1))
    raw = b"".join(b"\0" + os.urandom(width) for _ in range(rows))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, rows, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 0))
        + chunk(b"IEND", b"")
    )
