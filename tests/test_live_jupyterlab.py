"""Live streaming in a real JupyterLab 4 driven by headless Chromium (issue 12, "Must show").

JupyterLab is started by the test (the `lab` fixture of tests/test_jupyterlab.py) with autosave
switched off in its user settings, and every test checks that the notebook file on disk never
changed: what the guest page shows can only have come from the kernel, not from a save. A guest
(a second browser context) opens the link the share widget shows; cells are typed and run in
JupyterLab's editor with Shift+Enter (never saved). Each test fails without live streaming: run
with JSP_LIVE_TESTS_SHARE_FLAGS=--no-live (the guest never sees what ran)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from .live_helpers import code, markdown, nb45, share_command, write_nb
from .test_jupyterlab import lab  # noqa: F401 - the fixture

pytestmark = pytest.mark.timeout(400)

LIVE = "window.jupyterspot && window.jupyterspot.connection.status.state === 'live'"
EDITED = 'print("after-" + str(6 * 7))'
PROGRESS = "import time\nfor i in range(20): print(i); time.sleep(0.2)"
CELLS = {
    "share": share_command(None),
    "edit": 'print("before-" + "edit")',
    "progress": PROGRESS,
    "fig": "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()",
    "table": 'import pandas as pd\npd.DataFrame({"city": ["Oslo", "Lima"], "n": [101, 202]})',
    "err": 'raise ValueError("boom-" + "42")',
    "clear": (
        "from IPython.display import clear_output\n"
        "for i in range(3):\n"
        "    clear_output(wait=True)\n"
        '    print("tick-" + str(i))'
    ),
    "disp": 'h = display("first-" + "value", display_id=True)',
    "upd": 'h.update("second-" + "value")',
}
# The guest's text of one cell (source and outputs), and of its outputs only.
CELL_TEXT = "id => (document.getElementById('cell-id=' + id)?.textContent || '')"
OUT_TEXT = """id => {
  const el = document.getElementById('cell-id=' + id);
  const out = el && el.querySelector('.jp-Cell-outputWrapper, .jp-OutputArea');
  return out ? out.textContent.trim() : '';
}"""
# Record when something first holds on the guest page (a MutationObserver: no polling gaps).
WATCH = """([name, id, needles]) => {
  const check = () => {
    const el = document.getElementById('cell-id=' + id);
    const text = el ? el.textContent : '';
    if (!window.__seen[name] && needles.every(n => text.includes(n)))
      window.__seen[name] = performance.timeOrigin + performance.now();
  };
  window.__seen = window.__seen || {};
  new MutationObserver(check).observe(document.body,
    {subtree: true, childList: true, characterData: true});
  check();
}"""
# The distinct states of a cell's output text, as they come.
STATES = """id => {
  window.__states = [];
  const rec = () => {
    const el = document.getElementById('cell-id=' + id);
    const out = el && el.querySelector('.jp-Cell-outputWrapper, .jp-OutputArea');
    const t = out ? out.textContent.trim() : '';
    if (window.__states[window.__states.length - 1] !== t) window.__states.push(t);
  };
  new MutationObserver(rec).observe(document.body,
    {subtree: true, childList: true, characterData: true});
  rec();
}"""
# When Shift+Enter went down in JupyterLab (captured before JupyterLab handles it).
KEYTIME = """() => {
  window.__runAt = null;
  window.addEventListener('keydown', e => {
    if (e.key === 'Enter' && e.shiftKey && window.__runAt === null)
      window.__runAt = performance.timeOrigin + performance.now();
  }, {capture: true});
}"""


@pytest.fixture
def no_autosave(tmp_path: Path) -> None:
    """JupyterLab's user settings (JUPYTERLAB_SETTINGS_DIR of the `lab` fixture): no autosave."""
    plugin = tmp_path / "state" / "settings" / "@jupyterlab" / "docmanager-extension"
    plugin.mkdir(parents=True)
    settings = {"autosave": False, "autosaveInterval": 100000}
    (plugin / "plugin.jupyterlab-settings").write_text(json.dumps(settings))


def wait_idle(base: str, token: str, count: int = 1, timeout: float = 60) -> None:
    """Every notebook kernel is idle (asked from the server, not guessed)."""
    deadline = time.monotonic() + timeout
    while True:
        sessions = httpx.get(f"{base}/api/sessions?token={token}", timeout=5).json()
        states = [s["kernel"]["execution_state"] for s in sessions if s.get("kernel")]
        if len(states) == count and set(states) == {"idle"}:
            return
        assert time.monotonic() < deadline, f"kernels never idle: {sessions}"
        time.sleep(0.2)


def run_cell(page, index: int) -> None:
    """Put the cursor in cell `index`'s editor and press Shift+Enter (JupyterLab runs it)."""
    page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def type_into(page, index: int, text: str) -> None:
    """Replace cell `index`'s source by typing `text` in its editor; check what it holds."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+a")
    page.keyboard.type(text)
    held = cell.locator(".cm-content").evaluate(
        "el => Array.from(el.querySelectorAll('.cm-line')).map(l => l.textContent).join('\\n')"
    )
    assert held == text, f"the editor holds {held!r}, not {text!r}"


def open_guest(browser, page) -> tuple[object, object]:
    """The link from the share widget, opened by a guest in a browser context of its own."""
    link = page.locator('[data-testid="widget-link"]')
    try:
        link.wait_for(state="visible", timeout=90000)
    except Exception:
        outputs = page.locator(".jp-OutputArea").all_inner_texts()
        raise AssertionError(f"no widget link; outputs: {outputs}") from None
    url = link.get_attribute("href")
    assert url and "/s/" in url
    ctx = browser.new_context(viewport={"width": 1200, "height": 900})
    guest = ctx.new_page()
    guest.goto(url + "&name=Guest")
    guest.wait_for_function(LIVE, timeout=30000)
    return ctx, guest


def open_lab(browser, base: str, token: str, path: str):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.goto(f"{base}/lab/tree/{path}?token={token}")
    page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=60000)
    return ctx, page


def test_unsaved_runs_reach_the_guest_live(no_autosave, lab, browser) -> None:  # noqa: F811
    base, token, root = lab
    ids = list(CELLS)
    nb = nb45([markdown("intro", "# Live in a meeting")] + [code(i, s) for i, s in CELLS.items()])
    path = write_nb(root / "live.ipynb", nb)
    saved = path.read_bytes()
    at = {cid: i + 1 for i, cid in enumerate(ids)}  # the cells' indexes in JupyterLab

    lab_ctx, page = open_lab(browser, base, token, "live.ipynb")
    guest_ctx = None
    try:
        wait_idle(base, token)
        run_cell(page, at["share"])
        guest_ctx, guest = open_guest(browser, page)
        assert "before-edit" not in guest.evaluate(CELL_TEXT, "edit")

        # 1) Edited and run, never saved: the new source and its output within 1 s.
        type_into(page, at["edit"], EDITED)
        page.evaluate(KEYTIME)
        guest.evaluate(WATCH, ["edit", "edit", ["after-42", '"after-" + str(6 * 7)']])
        page.keyboard.press("Shift+Enter")
        guest.wait_for_function("window.__seen && window.__seen.edit", timeout=15000)
        latency = guest.evaluate("window.__seen.edit") - page.evaluate("window.__runAt")
        print(f"\nShift+Enter in JupyterLab -> guest DOM: {latency:.0f} ms")
        assert 0 < latency < 1000, f"{latency:.0f} ms"

        # 2) A loop printing 20 lines, 0.2 s apart: the guest sees it grow.
        guest.evaluate(STATES, "progress")
        run_cell(page, at["progress"])
        final = "\n".join(str(i) for i in range(20))
        guest.wait_for_function(
            "id => (window.__states || []).some(s => s.replace(/\\s+/g, ' ') === "
            f"{json.dumps(' '.join(final.split()))})",
            arg="progress",
            timeout=20000,
        )
        states = [" ".join(s.split()) for s in guest.evaluate("window.__states")]
        full = " ".join(final.split())
        between = [s for s in states if s and s != full]
        print(f"progress: {len(between)} intermediate states: {between}")
        assert len(between) >= 5, states
        for s in between:  # each a prefix of the final output: 0, 0 1, 0 1 2, ...
            assert full.startswith(s), (s, states)

        # 3) Each kind of output lands in its own cell.
        run_cell(page, at["fig"])
        guest.wait_for_function(
            "() => document.querySelector('[id=\"cell-id=fig\"] img')", timeout=20000
        )
        run_cell(page, at["table"])
        guest.wait_for_function(
            "() => document.querySelector('[id=\"cell-id=table\"] table')", timeout=20000
        )
        run_cell(page, at["err"])
        guest.wait_for_function(f"() => ({CELL_TEXT})('err').includes('boom-42')", timeout=20000)
        wait_idle(base, token)  # an error aborts what was queued behind it
        run_cell(page, at["clear"])
        guest.wait_for_function(f"() => ({OUT_TEXT})('clear') === 'tick-2'", timeout=20000)
        run_cell(page, at["disp"])
        guest.wait_for_function(
            f"() => ({OUT_TEXT})('disp').includes('first-value')", timeout=20000
        )
        run_cell(page, at["upd"])
        guest.wait_for_function(
            f"() => ({OUT_TEXT})('disp').includes('second-value')", timeout=20000
        )

        texts = guest.evaluate(
            """() => Object.fromEntries(Array.from(document.querySelectorAll('[id^="cell-id="]'))
                 .map(el => [el.id.slice(8), el.textContent]))"""
        )
        outs = {cid: guest.evaluate(OUT_TEXT, cid) for cid in texts}
        assert "ValueError" in outs["err"] and "boom-42" in outs["err"], outs["err"]
        assert "first-value" not in outs["disp"], "the display was updated in place"
        assert outs["upd"] == "", "update_display_data went to the displaying cell"
        for marker, home in (
            ("after-42", "edit"),
            ("boom-42", "err"),
            ("tick-", "clear"),
            ("second-value", "disp"),
            ("Oslo", "table"),
        ):
            where = [cid for cid, text in outs.items() if marker in text]
            assert where == [home], (marker, where)
        for selector, home in (("img", "fig"), ("table", "table")):
            where = guest.evaluate(
                """sel => Array.from(document.querySelectorAll('[id^="cell-id="]'))
                     .filter(el => el.querySelector('.jp-Cell-outputWrapper ' + sel))
                     .map(el => el.id.slice(8))""",
                selector,
            )
            assert where == [home], (selector, where)
        assert path.read_bytes() == saved, "the notebook was saved: streaming is not shown"
    finally:
        if guest_ctx is not None:
            guest_ctx.close()
        lab_ctx.close()


def test_brand_new_unsaved_notebook_shows_its_cells(no_autosave, lab, browser) -> None:  # noqa: F811
    base, token, root = lab
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    guest_ctx = None
    try:
        page = ctx.new_page()
        page.goto(f"{base}/lab?token={token}")
        # File > New > Notebook, as a user does it: the launcher's Python 3 notebook card.
        page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
        page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=60000)
        wait_idle(base, token)
        on_disk = root / "Untitled.ipynb"
        assert json.loads(on_disk.read_text())["cells"] == [], "it exists on disk, empty"
        saved = on_disk.read_bytes()

        # Results (Out[n]): a share started later can still find them, unlike what was printed.
        type_into(page, 0, '"alpha-" + str(1)')
        page.keyboard.press("Shift+Enter")
        page.locator(".jp-Notebook .jp-CodeCell").nth(1).wait_for(timeout=10000)
        type_into(page, 1, '"beta-" + str(2)')
        page.keyboard.press("Shift+Enter")
        page.locator(".jp-Notebook .jp-CodeCell").nth(2).wait_for(timeout=10000)
        type_into(page, 2, share_command(None))
        page.keyboard.press("Shift+Enter")
        guest_ctx, guest = open_guest(browser, page)
        try:
            guest.wait_for_function(
                "() => ['alpha-1', 'beta-2'].every(t => document.body.textContent.includes(t))",
                timeout=10000,
            )
        except Exception:
            root_text = guest.locator("#jupyterspot-root").inner_text()
            raise AssertionError(f"the guest's page shows: {root_text[:1000]!r}") from None
        cells = guest.evaluate(
            """() => Array.from(document.querySelectorAll('[id^="cell-id="]')).map(el => ({
                 id: el.id.slice(8), text: el.textContent,
                 unsaved: el.hasAttribute('data-jsp-unsaved')}))"""
        )
        alpha = [c for c in cells if "alpha-1" in c["text"]]
        beta = [c for c in cells if "beta-2" in c["text"]]
        assert len(alpha) == 1 and len(beta) == 1, cells
        assert '"alpha-" + str(1)' in alpha[0]["text"] and '"beta-" + str(2)' in beta[0]["text"]
        assert cells.index(alpha[0]) < cells.index(beta[0]), cells
        assert alpha[0]["unsaved"] and beta[0]["unsaved"], "never saved: marked unsaved"
        assert on_disk.read_bytes() == saved, "the notebook was saved: not what is shown"
    finally:
        if guest_ctx is not None:
            guest_ctx.close()
        ctx.close()
