"""Find the notebook this kernel runs: its file on disk, or its live contents (Colab).

Routes, first hit wins: explicit path, Colab, VS Code, ``JPY_SESSION_NAME``, and the Jupyter
Server sessions API (kernel id from the connection file, servers from the runtime files).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..base.text import one_line

__all__ = ["LocateError", "Located", "locate"]

COLAB_TIMEOUT_S = 10.0
SERVER_TIMEOUT_S = 2.0
HINT = "pass its path: %jupyterspot share path/to/notebook.ipynb"

_SERVER_FILE = re.compile(r"(jp|nb)server-.+\.json")
_KERNEL_FILE = re.compile(r"kernel-(.+)\.json")
# Cells that only install, load or run this extension do not change what is shared.
_OWN_LINE = re.compile(
    r"\s*(#.*|%(re)?load_ext\s+jupyterspot_magic\b.*|%jupyterspot\b.*"
    r"|[%!]\s*pip\s+install\b.*jupyterspot.*)?"
)


class LocateError(Exception):
    """The notebook could not be found; the message is one line telling the user what to do."""


@dataclass(frozen=True)
class Located:
    path: Path | None  # absolute path of the .ipynb; None when only live contents exist (Colab)
    contents: dict | None  # live notebook JSON (Colab), or None: read the file
    route: str  # "path" | "colab" | "vscode" | "jpy_session_name" | "sessions_api"
    note: str | None  # a caution for the user, e.g. the file is older than the last execution

    @property
    def source(self) -> dict | Path:
        """What to render: the live contents when there are any, else the file."""
        return self.contents if self.contents is not None else self.path  # type: ignore[return-value]


def locate(path: str | os.PathLike | None = None, *, user_ns: dict | None = None) -> Located:
    """Find the notebook to share: ``path`` if given, else the one this kernel runs."""
    if path is not None:
        return _on_disk(_explicit(path), "path")
    search = _Search(user_ns)
    colab = _from_colab(search.tried)
    if colab is not None:
        return colab
    for route, finder in (
        ("vscode", _from_vscode),
        ("jpy_session_name", _from_session_name),
        ("sessions_api", _from_sessions_api),
    ):
        found = finder(search)
        if found is not None:
            return _on_disk(found, route)
    tried = "; ".join(search.tried)
    raise LocateError(f"Could not tell which notebook this kernel runs ({tried}); {HINT}")


class _Search:
    """What one locate() call has learned so far; servers are read once, on demand."""

    def __init__(self, user_ns: dict | None) -> None:
        self.user_ns = user_ns
        self.tried: list[str] = []
        self._servers: list[dict] | None = None

    def servers(self) -> list[dict]:
        if self._servers is None:
            self._servers = _running_servers()
        return self._servers


def _on_disk(path: Path, route: str) -> Located:
    return Located(path=path, contents=None, route=route, note=_stale_note(path))


def _explicit(path: str | os.PathLike) -> Path:
    p = Path(os.path.abspath(Path(os.fspath(path)).expanduser()))
    if not p.is_file():
        what = "is a directory" if p.is_dir() else "does not exist"
        raise LocateError(f"Notebook not found: {p} {what}; check the path.")
    problem = _not_a_notebook(p)
    if problem:
        raise LocateError(problem)
    return p


# Files people pass by mistake, told apart by name before their bytes are read.
_SCRIPTS = {".py": "Python script", ".r": "R script", ".jl": "Julia script"}
_SNIFF_BYTES = 512


def _not_a_notebook(p: Path) -> str | None:
    """One line naming what the file is when it cannot be a notebook (a notebook is a JSON
    object), before the renderer's "Not valid JSON (line 1, column 1)"; None: it may be one."""
    kind = _SCRIPTS.get(p.suffix.lower())
    if kind:
        return f"{p.name} is a {kind}, not a notebook — `jupytext --to ipynb {p.name}` converts it"
    try:
        with p.open("rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError:
        return None  # the renderer says why it cannot be read
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        return f"{p.name}: empty file (0 bytes), not a notebook"
    if not text:
        return f"{p.name}: empty file (only whitespace), not a notebook"
    if text.startswith(b"{"):
        return None
    if b"\0" in head:
        return f"not a notebook: {p.name} is binary data (a notebook is a JSON text file, .ipynb)"
    first = text[:40].decode("utf-8", "replace").splitlines()[0].strip()  # repr escapes it
    return f"not a notebook: {p.name} starts with {first!r}, a notebook is a JSON object (.ipynb)"


def _is_notebook(p: Path) -> bool:
    return p.suffix.lower() == ".ipynb" and p.is_file()


# --- Colab -------------------------------------------------------------------------------


def _from_colab(tried: list[str]) -> Located | None:
    # Only when Colab's kernel loaded it: a stray pip-installed google.colab must not block.
    if "google.colab" not in sys.modules:
        return None
    if threading.current_thread() is not threading.main_thread():
        raise LocateError(
            "Colab hands out the notebook only on the kernel's main thread; run "
            f"%jupyterspot share in a cell, not from a thread or callback, or {HINT}"
        )
    try:
        from google.colab import _message

        reply = _message.blocking_request("get_ipynb", request="", timeout_sec=COLAB_TIMEOUT_S)
    except Exception as e:  # Colab raises MessageError on a frontend error
        tried.append(f"Colab refused to send the notebook: {one_line(e)}")
        return None
    nb = reply.get("ipynb") if isinstance(reply, dict) else None
    if not isinstance(nb, dict):
        tried.append("Colab did not send the notebook in time")
        return None
    return Located(path=None, contents=nb, route="colab", note=None)


# --- VS Code -----------------------------------------------------------------------------


def _from_vscode(search: _Search) -> Path | None:
    ns = search.user_ns
    if ns is None:
        shell = _shell()
        ns = getattr(shell, "user_ns", None) or {}
    value = ns.get("__vsc_ipynb_file__")
    if not value:
        search.tried.append("not VS Code")
        return None
    p = Path(os.fspath(value)).expanduser()
    if p.is_absolute() and _is_notebook(p):
        return Path(os.path.abspath(p))
    # Untitled notebooks, or VS Code on another machine than the kernel.
    search.tried.append(f"VS Code's {value} is not a saved notebook on this machine")
    return None


# --- Jupyter Server ----------------------------------------------------------------------


def _from_session_name(search: _Search) -> Path | None:
    value = os.environ.get("JPY_SESSION_NAME")
    if not value:
        search.tried.append("JPY_SESSION_NAME unset")
        return None
    p = Path(value).expanduser()
    # Absolute since jupyter_server 2.0.7; older servers give a path relative to their root.
    roots = [Path.cwd(), *(Path(r) for r in map(_root_dir, search.servers()) if r)]
    for candidate in [p] if p.is_absolute() else [root / p for root in roots]:
        if _is_notebook(candidate):
            return Path(os.path.abspath(candidate))
    # The variable is set at kernel start and goes stale when the notebook is renamed.
    search.tried.append(f"JPY_SESSION_NAME {value} is gone (renamed?)")
    return None


def _from_sessions_api(search: _Search) -> Path | None:
    kernel_id = _kernel_id()
    if kernel_id is None:
        search.tried.append("no Jupyter kernel id")
        return None
    servers = search.servers()
    for info in servers:
        root = _root_dir(info)
        for session in _sessions(info) if root else []:
            if (session.get("kernel") or {}).get("id") != kernel_id:
                continue
            p = Path(root) / str(session.get("path") or "")
            if _is_notebook(p):
                return Path(os.path.abspath(p))
    if servers:
        search.tried.append(f"no running Jupyter server lists kernel {kernel_id[:8]}")
    else:
        search.tried.append("no running Jupyter server found")
    return None


def _connection_file() -> Path | None:
    if "ipykernel" not in sys.modules:  # not a kernel: skip the import
        return None
    try:
        from ipykernel.connect import get_connection_file

        return Path(get_connection_file())
    except Exception:  # not running inside IPKernelApp
        return None


def _kernel_id() -> str | None:
    conn = _connection_file()
    match = _KERNEL_FILE.fullmatch(conn.name) if conn else None
    return match.group(1) if match else None


def _running_servers() -> list[dict]:
    """Server info files from the runtime dir and the kernel's own connection-file dir."""
    dirs = []
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        dirs.append(os.path.abspath(jupyter_runtime_dir()))
    except Exception:
        pass
    conn = _connection_file()
    if conn is not None:
        dirs.append(os.path.abspath(conn.parent))
    infos = [info for d in dict.fromkeys(dirs) for info in _server_files(Path(d))]
    parent = os.getppid()
    # A server launches its kernels as children: ask our parent first.
    return sorted(infos, key=lambda info: info.get("pid") != parent)


def _server_files(directory: Path) -> list[dict]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    infos = []
    for name in filter(_SERVER_FILE.fullmatch, names):
        try:
            info = json.loads((directory / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # being written, or gone
        if isinstance(info, dict) and _alive(info.get("pid")):
            infos.append(info)
    return infos


def _alive(pid: Any) -> bool:
    # os.kill(pid, 0) would terminate the process on Windows: only probe on POSIX.
    if not isinstance(pid, int) or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _root_dir(info: dict) -> str | None:
    root = info.get("root_dir") or info.get("notebook_dir")  # nbserver files say notebook_dir
    return str(root) if root else None


def _sessions_url(info: dict) -> str | None:
    if info.get("sock") or not isinstance(info.get("port"), int):
        return None  # unix-socket servers: not worth an HTTP-over-socket client
    host = str(info.get("hostname") or "localhost")
    # A wildcard bind also listens on loopback; anything else is another machine.
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "*": "127.0.0.1", "::": "::1"}.get(host, host)
    if not _is_loopback(host):
        return None
    base = "/" + str(info.get("base_url") or "").strip("/")
    scheme = "https" if info.get("secure") else "http"
    netloc = f"[{host}]" if ":" in host else host
    return f"{scheme}://{netloc}:{info['port']}{base.rstrip('/')}/api/sessions"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _sessions(info: dict) -> list[dict]:
    url = _sessions_url(info)
    if url is None:
        return []
    token = info.get("token")
    headers = {"Authorization": f"token {token}"} if token else {}
    handlers: list[Any] = [urllib.request.ProxyHandler({})]  # never hand the token to a proxy
    if url.startswith("https:"):
        # Loopback only, usually a self-signed certificate: encryption without verification.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        handlers.append(urllib.request.HTTPSHandler(context=context))
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.build_opener(*handlers).open(request, timeout=SERVER_TIMEOUT_S) as r:
            data = json.loads(r.read())
    except Exception:  # unreachable, refused, not Jupyter: skip quietly
        return []
    return [s for s in data if isinstance(s, dict)] if isinstance(data, list) else []


# --- the caution about unsaved work ------------------------------------------------------


def _shell() -> Any:
    ipython = sys.modules.get("IPython")  # never import IPython just to learn it is absent
    try:
        return ipython.get_ipython() if ipython is not None else None
    except Exception:
        return None


def _stale_note(path: Path) -> str | None:
    """Say so when cells ran in this kernel after the file was last saved."""
    try:
        shell = _shell()
        if shell is None or not _may_run(shell, path):
            return None
        last = _last_relevant_cell(shell)
        if last is None:
            return None
        mtime = path.stat().st_mtime
        start = _session_start(shell)
        saved_before_start = start is not None and mtime < start
        # Saved after cell N finished means the file holds "execution_count": N.
        if not saved_before_start and _holds_count(path, last):
            return None
        ago = _ago(time.time() - mtime)
        return (
            f"Showing the last saved version of {path.name} (saved {ago}); "
            "save the notebook to share newer changes."
        )
    except Exception:  # a caution must never stop the share
        return None


def _may_run(shell: Any, path: Path) -> bool:
    """Whether the cells this shell ran may belong to `path`: never in a terminal IPython (its
    cells are in no notebook: sharing a file there is not "older than your last run"), nor in
    a kernel whose own notebook is known (JPY_SESSION_NAME, VS Code) to be another file."""
    if getattr(shell, "kernel", None) is None:
        return False
    own = os.environ.get("JPY_SESSION_NAME") or shell.user_ns.get("__vsc_ipynb_file__")
    return not own or Path(os.fspath(own)).name == path.name


def _last_relevant_cell(shell: Any) -> int | None:
    """Number of the last finished cell that did more than load or run this extension."""
    history = list(getattr(shell.history_manager, "input_hist_raw", []))
    # The running cell is already in the history (IPython 7-9) and is not finished yet. Its
    # `execution_count` is its own number up to IPython 8 but the next one from IPython 9,
    # which made a fresh kernel's first share say that cells ran after the save.
    last = len(history) - 2 if history else int(shell.execution_count) - 1
    while last >= 1:
        source = history[last] if last < len(history) else "x"
        if not all(_OWN_LINE.fullmatch(line) for line in source.splitlines()):
            return last
        last -= 1
    return None


def _session_start(shell: Any) -> float | None:
    """When this kernel's IPython history session began (None if history is off)."""
    try:
        hm = shell.history_manager
        row = hm.db.execute(
            "SELECT start FROM sessions WHERE session=?", (hm.session_number,)
        ).fetchone()
        return row[0].timestamp() if row and hasattr(row[0], "timestamp") else None
    except Exception:  # DummyDB, another thread, or no history
        return None


def _holds_count(path: Path, count: int) -> bool:
    pattern = re.compile(rb'"execution_count":\s*%d\b' % count)
    return pattern.search(path.read_bytes()) is not None


def _ago(seconds: float) -> str:
    s = max(0.0, seconds)
    if s < 10:
        return "just now"
    if s < 90:
        return f"{int(s)} s ago"
    if s < 90 * 60:
        return f"{round(s / 60)} min ago"
    if s < 36 * 3600:
        return f"{round(s / 3600)} h ago"
    return f"{round(s / 86400)} days ago"
