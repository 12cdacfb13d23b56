"""`%jupyterspot` as a user meets it in a real IPython kernel (jupyter_client): share, status,
stop, re-share, replace, one-line errors, help, the widget's Stop button, the Python API and
the Colab route. The links are checked from the test process over real loopback HTTP."""

from __future__ import annotations

import html
import json
import re
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyterspot_magic.frontends.magic import ACTIONS, valid_actions

from .conftest import DEMO, DESKTOP, REPO, port_is_free, require_corpus, wait_for
from .kernel import Kernel
from .kernel import share_info as current_info

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
HUB_USER = "ana-hub"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    """One kernel for the module, with its own render cache (never a stale user cache) and no
    ngrok credentials."""
    env = {
        "JUPYTERSPOT_CACHE_DIR": str(tmp_path_factory.mktemp("render-cache")),
        "NGROK_AUTHTOKEN": "",
        "XDG_CONFIG_HOME": str(tmp_path_factory.mktemp("config")),
        "JUPYTERHUB_USER": HUB_USER,  # the presenter's default name (issue 16 item 4)
    }
    k = Kernel(REPO, env=env)
    ok(k, "%load_ext jupyterspot_magic")
    yield k
    k.shutdown()


@pytest.fixture
def ipy(kernel: Kernel) -> Iterator[Kernel]:
    """The module's kernel; whatever a test shared is stopped after it."""
    yield kernel
    kernel.execute("import jupyterspot_magic; jupyterspot_magic.stop()")


def ok(k: Kernel, code: str) -> dict:
    result = k.execute(code)
    assert result["error"] is None, result["error"]
    assert not stderr(result), stderr(result)
    return result


def stderr(result: dict) -> str:
    return "".join(
        m["content"]["text"]
        for m in result["messages"]
        if m["msg_type"] == "stream" and m["content"]["name"] == "stderr"
    )


def reply_to(k: Kernel, msg_id: str, timeout: float = 10) -> dict:
    """The execute_reply of one request (the helper only reads iopub; replies queue up)."""
    while True:
        msg = k.kc.get_shell_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg["content"]


THREAD_NAMES = "import threading; print(json.dumps([t.name for t in threading.enumerate()]))"


def share_info(k: Kernel, code: str) -> dict:
    """Run a share cell, then read the current share's links from the kernel."""
    ok(k, code)
    return current_info(k)


def status_of(url: str) -> int | None:
    """HTTP status of a GET, or None when nothing listens any more."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except urllib.error.URLError as e:
        if isinstance(e.reason, ConnectionRefusedError):
            return None
        raise


def page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return response.read().decode()


def port_of(url: str) -> int:
    match = re.match(r"http://127\.0\.0\.1:(\d+)/", url)
    assert match, url
    return int(match.group(1))


def corpus_notebook() -> Path:
    return require_corpus() / "jupyter__nbconvert__tests_preprocessors_files_HelloWorld.ipynb"


# --- share, status, stop ----------------------------------------------------------------------


def test_share_shows_widget_and_plain_link(ipy: Kernel) -> None:
    """`%jupyterspot share NB --tunnel none` displays the widget and a plain HTML link, both
    marked as our own output, and the link opens the page."""
    result = ok(ipy, f"%jupyterspot share {DEMO.relative_to(REPO)} --tunnel none")
    ours = [o for o in result["outputs"] if "jupyterspot_magic" in o["metadata"]]
    assert any(WIDGET_MIME in o["data"] for o in ours), result["outputs"]
    links = [o["data"]["text/html"] for o in ours if "text/html" in o["data"]]
    assert len(links) == 1, result["outputs"]
    url = re.search(r'href="([^"]+)"', links[0]).group(1).replace("&amp;", "&")
    assert url.startswith("http://127.0.0.1:")
    assert status_of(url) == 200


def people_line(k: Kernel) -> str:
    status = ok(k, "%jupyterspot status")["stdout"]
    return next(line for line in status.splitlines() if "people:" in line)


def test_status_then_stop_frees_everything(ipy: Kernel, node_peers) -> None:
    """`status` prints the link and who is there; `stop` kills the link, ends the server
    thread, frees the port; a second `stop` says nothing is shared."""
    info = share_info(ipy, f"%jupyterspot share {DEMO} --tunnel none")
    assert info["url"] in ok(ipy, "%jupyterspot status")["stdout"]
    assert re.search(r"people:\s+0\b", people_line(ipy))
    ana = node_peers(info["ws_url"], "board", info["token"])
    ana.send(cmd="awareness", state={"user": {"name": "Ana", "color": "#112233"}})
    deadline = time.monotonic() + 5
    while not re.search(r"people:\s+1 \(Ana\)", line := people_line(ipy)):
        assert time.monotonic() < deadline, line
        time.sleep(0.1)

    assert "stopped" in ok(ipy, "%jupyterspot stop")["stdout"]
    assert status_of(info["url"]) in (404, None)
    threads = ipy.json(THREAD_NAMES)  # the server's thread, or the channel to its process
    assert "jupyterspot-server" not in threads and "jupyterspot-channel" not in threads
    assert port_is_free(port_of(info["url"]))
    assert "nothing shared" in ok(ipy, "%jupyterspot stop")["stdout"]
    assert "nothing shared" in ok(ipy, "%jupyterspot status")["stdout"]


def test_reshare_keeps_link_and_other_notebook_replaces_it(ipy: Kernel, node_peers) -> None:
    """Sharing the same notebook again keeps the link and the people; another notebook ends the old
    share (its link 404s, people in its room are told with close code 1001) and serves the new."""
    first = share_info(ipy, f"%jupyterspot share {DEMO} --tunnel none")
    peer = node_peers(first["ws_url"], "board", first["token"])
    peer.wait(lambda e: e["event"] == "synced")
    again = share_info(ipy, f"%jupyterspot share {DEMO} --tunnel none")
    assert again == first
    peer.dump()  # reads every event so far: the re-share did not disconnect anyone
    assert not [e for e in peer.history if e["event"] == "close"], peer.history

    other = share_info(ipy, f"%jupyterspot share {corpus_notebook()} --tunnel none")
    assert other["room"] != first["room"]
    assert status_of(other["url"]) == 200
    assert status_of(first["url"]) == 404
    peer.wait(lambda e: e["event"] == "close" and e["code"] == 1001)


# --- errors -----------------------------------------------------------------------------------


def usage_error(k: Kernel, code: str) -> str:
    """Run a cell that must fail with a one-line UsageError and no traceback; its message."""
    msg_id = k.start(code)
    result = k.collect(msg_id)
    reply = reply_to(k, msg_id)
    assert reply["status"] == "error", reply
    assert reply["ename"] == "UsageError", reply
    evalue = reply["evalue"]
    assert evalue and "\n" not in evalue.strip(), evalue
    printed = stderr(result) + result["stdout"]
    for m in result["messages"]:
        if m["msg_type"] == "error":
            assert m["content"]["ename"] == "UsageError"
            assert len(m["content"]["traceback"]) <= 1, m["content"]["traceback"]
            printed += "\n".join(m["content"]["traceback"])
    assert "Traceback" not in printed and "jupyterspot_magic" not in printed, printed
    # Only the widget shown while the share started (frontends/magic.py share_and_show), which
    # now says why it failed: never a link.
    shown = [o for o in result["outputs"] if WIDGET_MIME not in o["data"]]
    assert not shown, f"a failed share displayed something: {shown}"
    return evalue


def test_missing_notebook_is_one_line(ipy: Kernel) -> None:
    """A path that does not exist: one line naming it, no traceback."""
    assert "no-such-notebook.ipynb" in usage_error(
        ipy, "%jupyterspot share no-such-notebook.ipynb --tunnel none"
    )


def test_invalid_json_is_one_line(ipy: Kernel, tmp_path: Path) -> None:
    """A file that is not JSON: one line saying so, no traceback."""
    bad = tmp_path / "broken.ipynb"
    bad.write_text('{"cells": [', encoding="utf-8")
    assert "Not valid JSON" in usage_error(ipy, f"%jupyterspot share {bad} --tunnel none")


def test_ngrok_without_token_is_one_line(ipy: Kernel) -> None:
    """`--tunnel ngrok` with no authtoken (the kernel runs with an empty NGROK_AUTHTOKEN and an
    empty config dir) says in one line what to do, instead of failing obscurely or hanging."""
    assert not (Path.home() / ".ngrok2" / "ngrok.yml").is_file(), "this machine has an ngrok config"
    evalue = usage_error(ipy, f"%jupyterspot share {DEMO} --tunnel ngrok")
    assert "authtoken" in evalue and "NGROK_AUTHTOKEN" in evalue, evalue


def test_port_in_use_is_one_line(ipy: Kernel) -> None:
    """`--port N` with N taken by another program: one line naming the address."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        evalue = usage_error(ipy, f"%jupyterspot share {DEMO} --tunnel none --port {port}")
    assert f"127.0.0.1:{port}" in evalue


# --- help, widget, Python API, Colab ----------------------------------------------------------


def test_help_through_ipython(ipy: Kernel) -> None:
    """`%jupyterspot?` pages help that mentions the actions and the --tunnel option."""
    msg_id = ipy.start("%jupyterspot?")
    ipy.collect(msg_id)
    reply = reply_to(ipy, msg_id)
    pages = [p["data"]["text/plain"] for p in reply["payload"] if p.get("source") == "page"]
    assert pages, reply
    text = ANSI.sub("", pages[0])
    for word in ("share", "stop", "status", "--tunnel", "none"):
        assert word in text, word


WIDGET = """
import json, jupyterspot_magic
from jupyterspot_magic.frontends.widget import widget_of
w = widget_of(jupyterspot_magic.current())
print(json.dumps({"url": w.url, "qr": w.qr_data_uri[:40], "status": w.status}))
"""
CLICK_STOP = """
w._handle_custom_msg({"type": "stop"}, [])
print(json.dumps({"widget": w.status, "current": jupyterspot_magic.current() is None}))
"""


def test_widget_state_and_stop_button(ipy: Kernel) -> None:
    """The widget carries the link, its QR code and status "live"; a Stop click from the
    front end (custom message {"type": "stop"}) ends the share and kills the link."""
    info = share_info(ipy, f"%jupyterspot share {DEMO} --tunnel none")
    widget = ipy.json(WIDGET)
    assert widget["url"] == info["url"]
    assert widget["qr"].startswith("data:image/svg+xml")
    assert widget["status"] == "live"
    assert ipy.json(CLICK_STOP) == {"widget": "stopped", "current": True}
    assert status_of(info["url"]) in (404, None)


PYTHON_API = """
import json, jupyterspot_magic
s = jupyterspot_magic.share({path!r}, tunnel="none", display=False)
print(json.dumps({{"url": s.url, "host_url": s.host_url, "participants": s.participants}}))
"""


def test_python_api(ipy: Kernel) -> None:
    """`jupyterspot_magic.share(path, tunnel="none", display=False)` displays nothing and
    returns a Share: guest and host links work, nobody is there yet, `.stop()` ends it."""
    result = ok(ipy, PYTHON_API.format(path=str(DEMO)))
    assert not result["outputs"], "display=False displayed something"
    share = json.loads(result["stdout"].strip().splitlines()[-1])
    assert share["participants"] == []
    assert '"role": "guest"' in page(share["url"])
    assert '"role": "host"' in page(share["host_url"])
    ok(ipy, "s.stop()")
    assert status_of(share["url"]) in (404, None)


COLAB_STANDIN = """
import sys, types
_message = types.ModuleType("google.colab._message")
def blocking_request(request_type, request="", timeout_sec=5, parent=None):
    assert request_type == "get_ipynb", request_type
    return {{"ipynb": {notebook!r}}}
_message.blocking_request = blocking_request
_colab = types.ModuleType("google.colab")
_colab._message = _message
sys.modules["google.colab"] = _colab
sys.modules["google.colab._message"] = _message
"""
COLAB_REMOVE = """
sys.modules.pop("google.colab", None)
sys.modules.pop("google.colab._message", None)
"""


def test_colab_live_contents(ipy: Kernel) -> None:
    """Colab is not running here: a stand-in `google.colab._message` module plays its
    documented `blocking_request("get_ipynb")` API. With no path, `%jupyterspot share` serves
    the live contents Colab hands over (a unique marker in a markdown cell)."""
    marker = f"colab-marker-{uuid.uuid4().hex}"
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": f"# {marker}"},
            {
                "cell_type": "code",
                "id": "c1",
                "metadata": {},
                "source": "%jupyterspot share --tunnel none",
                "outputs": [],
                "execution_count": None,
            },
        ],
    }
    ok(ipy, COLAB_STANDIN.format(notebook=notebook))
    try:
        info = share_info(ipy, "%jupyterspot share --tunnel none")
        assert marker in page(info["url"])
    finally:
        ok(ipy, COLAB_REMOVE)


# --- issue 16: the presenter's name, bad input, help, noise -----------------------------------


def people_of(page):
    return page.locator('[data-testid="participants"]')


def test_presenter_name_reaches_guests(ipy: Kernel, browser) -> None:
    """Item 4: without --name the presenter is the JupyterHub user (the kernel runs with
    JUPYTERHUB_USER) and a guest's page lists them by that name, never as "Guest 0867". The
    default is not in the presenter's link (it is the host page's config.presenter), so a name
    typed in the page stays when the presenter link is loaded again (it was wiped: the link
    carried &name=<login>); an explicit --name is in the link and wins over the typed one."""
    info = share_info(ipy, f"%jupyterspot share {DEMO} --tunnel none")
    assert "name=" not in info["host_url"]
    context, other = browser.new_context(**DESKTOP), browser.new_context(**DESKTOP)
    try:  # two browsers: a page keeps its name in the browser's storage
        host, guest = context.new_page(), other.new_page()
        guest.goto(info["url"] + "&name=Gus")
        host.goto(info["host_url"])
        wait_for(lambda: HUB_USER in people_of(guest).inner_text(), what="the default, for a guest")
        assert "Guest" not in people_of(guest).inner_text()
        host.locator('[data-testid="participants"] .jupyterspot-rename').click()
        host.get_by_test_id("name-input").fill("Ana Typed")
        host.get_by_test_id("name-submit").click()
        wait_for(lambda: "Ana Typed" in people_of(guest).inner_text(), what="the typed name")
        host.goto(info["host_url"])  # the presenter link again: the typed name stays
        host.wait_for_function("window.jupyterspot.connection.status.state === 'live'")
        wait_for(lambda: "Ana Typed" in people_of(host).inner_text(), what="typed name, reloaded")
        wait_for(lambda: HUB_USER not in people_of(guest).inner_text(), what="no login name")
        named = share_info(ipy, f"%jupyterspot share {DEMO} --tunnel none --name 'Zoe Q'")
        assert "name=Zoe%20Q" in named["host_url"] and HUB_USER not in named["host_url"]
        host.goto(named["host_url"])  # explicit: wins over the name typed in the page
        wait_for(lambda: "Zoe Q" in people_of(host).inner_text(), what="--name over storage")
    finally:
        context.close()
        other.close()


def test_an_empty_name_is_presenter(ipy: Kernel) -> None:
    """Item 4: `--name ""` names the presenter "Presenter" (it gave the login name)."""
    info = share_info(ipy, f'%jupyterspot share {DEMO} --tunnel none --name ""')
    assert info["host_url"].endswith("&name=Presenter"), info["host_url"]


# An apostrophe in the magic's line: posix splitting raised "No closing quotation" (a traceback).


def test_an_apostrophe_in_a_name(ipy: Kernel) -> None:
    info = share_info(ipy, f"%jupyterspot share {DEMO} --tunnel none --name O'Brien")
    assert info["host_url"].endswith("&name=O%27Brien"), info["host_url"]


def test_an_apostrophe_in_a_path(ipy: Kernel, tmp_path: Path) -> None:
    notebook = tmp_path / "Bob's.ipynb"
    notebook.write_bytes(DEMO.read_bytes())
    info = share_info(ipy, f"%jupyterspot share {notebook} --tunnel none")
    assert status_of(info["url"]) == 200
    assert "Bob's.ipynb" in ok(ipy, "%jupyterspot status")["stdout"]


def test_kick_a_name_with_an_apostrophe(ipy: Kernel, browser) -> None:
    info = share_info(ipy, f"%jupyterspot share {DEMO} --tunnel none")
    context = browser.new_context(**DESKTOP)
    try:
        context.new_page().goto(info["url"] + "&name=O%27Brien")
        names = "print([p['name'] for p in jupyterspot_magic.current().participants])"
        ok(ipy, "import jupyterspot_magic")
        wait_for(lambda: "O'Brien" in ok(ipy, names)["stdout"], what="O'Brien joined")
        assert "removed O'Brien" in ok(ipy, "%jupyterspot kick O'Brien")["stdout"]
    finally:
        context.close()


NOT_NOTEBOOKS = {
    "script.py": ("print('hi')\n", "script.py is a Python script, not a notebook — `jupytext"),
    "table.csv": ("a,b\n1,2\n", "not a notebook: table.csv starts with 'a,b'"),
    "empty.ipynb": ("", "empty.ipynb: empty file"),
    "data.json": ('{"rows": [1, 2]}', "Not a Jupyter notebook: "),
}


@pytest.mark.parametrize("name", NOT_NOTEBOOKS)
def test_not_a_notebook_is_one_line_naming_it(ipy: Kernel, tmp_path: Path, name: str) -> None:
    """Item 7: a .py, a .csv, an empty .ipynb and JSON that is not a notebook each say what
    they are in one line (all were `Not valid JSON … (line 1, column 1)` or `no "cells"`)."""
    text, expected = NOT_NOTEBOOKS[name]
    (tmp_path / name).write_text(text, encoding="utf-8")
    evalue = usage_error(ipy, f"%jupyterspot share {tmp_path / name} --tunnel none")
    assert expected in evalue and "Not valid JSON" not in evalue, evalue


def test_unknown_action_lists_the_valid_ones(ipy: Kernel) -> None:
    """Item 7: `%jupyterspot bogus` said `Notebook not found: …/bogus`."""
    evalue = usage_error(ipy, "%jupyterspot bogus")
    assert "Unknown action 'bogus'" in evalue and "Notebook not found" not in evalue, evalue
    for action in ("share", "stop", "status", "kick", "export", "clear"):
        assert action in evalue


def test_a_path_alone_still_shares_it(ipy: Kernel) -> None:
    """`%jupyterspot nb.ipynb` keeps meaning `%jupyterspot share nb.ipynb`."""
    info = share_info(ipy, f"%jupyterspot {DEMO.relative_to(REPO)} --tunnel none")
    assert status_of(info["url"]) == 200


@pytest.mark.parametrize("action", valid_actions())
def test_help_for_every_action(ipy: Kernel, action: str) -> None:
    """Item 7: `%jupyterspot ACTION --help` prints that action's help (share: every option)
    and does nothing else; `%jupyterspot share --help` was an error."""
    printed = ok(ipy, f"%jupyterspot {action} --help")["stdout"]
    usage, what = ACTIONS.get(action, (action, ""))
    if action == "share":
        for flag in ("--tunnel", "--name", "--port", "--no-live", "--e2e"):
            assert flag in printed, flag
    else:
        assert f"%jupyterspot {usage}" in printed and what.split()[0] in printed, printed
    assert "nothing shared" in ok(ipy, "%jupyterspot status")["stdout"]  # nothing was run


REPAIRED_NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {},
    "cells": [
        {
            "cell_type": "code",
            "id": "c1",
            "metadata": {},
            "source": "print('hi')",
            "execution_count": 1,
            "outputs": [{"output_type": "stream", "text": "hi\n"}],  # no "name": repaired
        }
    ],
}


def test_notes_shown_once(ipy: Kernel, tmp_path: Path) -> None:
    """Item 8: a note (here: the repair of a stream output without a name) is shown once: in
    the plain link (all a front end without widgets shows; issue 15 review), not in the widget."""
    notebook = tmp_path / "repaired.ipynb"
    notebook.write_text(json.dumps(REPAIRED_NOTEBOOK), encoding="utf-8")
    result = ok(ipy, f"%jupyterspot share {notebook} --tunnel none")
    notes = ipy.json(
        "import json, jupyterspot_magic as j; from jupyterspot_magic.frontends.widget import "
        "widget_of; print(json.dumps([j.current().notes, widget_of(j.current()).message]))"
    )
    assert notes[0] and not any(note in notes[1] for note in notes[0]), notes  # not the widget
    links = [o["data"]["text/html"] for o in result["outputs"] if "text/html" in o["data"]]
    assert all(html.escape(note) in "".join(links) for note in notes[0]), links


def test_stop_replaces_the_plain_link(ipy: Kernel) -> None:
    """Item 8: after Stop the plain `Shared:` link (a dead link) is replaced in place by
    "stopped" (update_display_data on its display id)."""
    shared = ok(ipy, f"%jupyterspot share {DEMO} --tunnel none")
    link = next(o for o in shared["outputs"] if "Shared:" in o["data"].get("text/html", ""))
    display_id = link["transient"]["display_id"]
    stopped = ok(ipy, "%jupyterspot stop")
    updates = [
        m["content"]
        for m in stopped["messages"]
        if m["msg_type"] == "update_display_data"
        and m["content"]["transient"]["display_id"] == display_id
    ]
    assert updates, [m["msg_type"] for m in stopped["messages"]]
    html = updates[-1]["data"]["text/html"]
    assert "stopped" in html and "href" not in html and "Shared:" not in html, html
