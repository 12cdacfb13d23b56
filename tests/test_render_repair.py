"""Issue 13, "Must show": a Colab export with saved widget state (tqdm bars, built as Colab
writes it: tests/colab_export.py) renders and, shared and opened in headless Chromium, its bars
are drawn by the widget manager the share serves; a v4 notebook holding a v3 heading cell renders
with the heading; a notebook no rule repairs says why in one line a user understands.

The browser reaches nothing but the share (every other request is aborted and counted)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyterspot_magic.content.render import RenderError, render
from jupyterspot_magic.session import registry as sharing

from .colab_export import colab_notebook
from .conftest import DESKTOP

COLAB_NOTE = "repaired: the saved widget state was in Colab's layout (22 widgets"
# A drawn tqdm bar: the widget manager's HBox holding a horizontal progress bar, inside the
# output (the fallback is tqdm's text, "epoch: 100%|##########| 100/100").
BARS_JS = """() => [...document.querySelectorAll('.jp-OutputArea-output')]
  .filter((o) => o.querySelector('.widget-hbox .widget-hprogress, .widget-hbox progress'))
  .length"""


@pytest.fixture(autouse=True)
def render_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Renders go to a fresh cache: the pages tested are rendered by this code."""
    monkeypatch.setenv("JUPYTERSPOT_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def colab(tmp_path: Path) -> Path:
    path = tmp_path / "Colab_tqdm.ipynb"
    path.write_text(json.dumps(colab_notebook(), indent=2))
    return path


@pytest.fixture
def shared(colab: Path) -> Iterator[Any]:
    share = sharing.share(colab, tunnel="none")
    try:
        yield share
    finally:
        share.stop()


def test_colab_export_with_widget_state_renders(colab: Path) -> None:
    r = render(colab)
    assert any(w.startswith(COLAB_NOTE) for w in r.warnings), r.warnings
    state = re.search(
        r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', r.html, re.S
    )
    assert state is not None
    bundle = json.loads(state.group(1))
    assert bundle["version_major"] == 2 and len(bundle["state"]) == 22
    # both bars are widget views for the manager, not tqdm's text
    assert r.html.count('<script type="application/vnd.jupyter.widget-view+json">') == 2


def test_colab_tqdm_bars_are_drawn_by_the_widget_manager(shared: Any, browser: Any) -> None:
    assert any(n.startswith(COLAB_NOTE) for n in shared.notes), shared.notes
    context = browser.new_context(**DESKTOP)
    off_origin: list[str] = []

    def only_the_share(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")):
            route.continue_()
        else:
            off_origin.append(url)
            route.abort()

    context.route("**/*", only_the_share)
    try:
        page = context.new_page()
        page.goto(shared.url)
        page.wait_for_function(f"({BARS_JS})() === 2", timeout=30_000)
        values = page.evaluate(
            """() => [...document.querySelectorAll('.widget-hprogress')].map((p) =>
                 p.textContent + '|' + (p.querySelector('.progress-bar')?.style.width || ''))"""
        )
        assert len(values) == 2, values
        text = page.inner_text("#jupyterspot-root")
        assert "epoch: 100%" in text and "40/100" in text  # the HTML widgets beside the bars
        assert off_origin == [], off_origin
    finally:
        context.close()


def test_v4_notebook_with_a_v3_heading_cell_renders_the_heading(tmp_path: Path) -> None:
    data = {
        "nbformat": 4,
        "nbformat_minor": 4,
        "metadata": {},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "intro"},
            {"cell_type": "heading", "level": 2, "metadata": {}, "source": "Results so far"},
            {
                "cell_type": "code",
                "metadata": {},
                "source": "1",
                "execution_count": 1,
                "outputs": [],
            },
        ],
    }
    path = tmp_path / "mixed.ipynb"
    path.write_text(json.dumps(data))
    r = render(path)
    assert re.search(r"<h2[^>]*>Results so far", r.html), "no <h2> heading"
    assert "repaired: cell 2 was a v3 heading cell (now markdown)" in r.warnings
    assert len(r.cell_ids) == 3


def test_unrepairable_notebook_says_why_in_one_line(tmp_path: Path) -> None:
    data = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {"id": "a", "cell_type": "markdown", "metadata": {}, "source": "ok"},
            {"id": "b", "cell_type": "markdown", "metadata": {}, "source": "ok"},
            {"id": "c", "cell_type": "code", "metadata": {}, "execution_count": None},
        ],
    }
    data["cells"][2]["source"] = {"lines": ["x = 1"]}  # an object: no faithful text
    data["cells"][2]["outputs"] = []
    path = tmp_path / "broken.ipynb"
    path.write_text(json.dumps(data))
    with pytest.raises(RenderError) as e:
        render(path)
    message = str(e.value)
    assert message == f"Cannot render {path}: cell 3's source is an object, not text or a list"
    assert "\n" not in message and "{" not in message


SECRET = "host-token-5f0c9e1d"  # what a model of this package may hold (the host's link)


def _own_model() -> dict[str, Any]:
    state = {"_anywidget_id": "jupyterspot_magic.widget.ShareWidget", "url": f"/s/r?t={SECRET}"}
    return {"model_module": "anywidget", "model_name": "AnyModel", "state": state}


@pytest.mark.parametrize("layout", ["wrapped with a stray key", "colab with a model 'state'"])
def test_own_widget_models_never_reach_the_page(tmp_path: Path, layout: str) -> None:
    """nbconvert's lab template writes the whole widget bundle into the page: no key of it may
    carry a model of this package, whatever its layout."""
    data = colab_notebook()
    models = data["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]
    if layout.startswith("wrapped"):
        bundle = {"version_major": 2, "version_minor": 0, "state": models, "x1": _own_model()}
    else:  # Colab's layout, where a model id happens to be "state"
        bundle = {**models, "state": next(iter(models.values())), "x1": _own_model()}
    data["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"] = bundle
    path = tmp_path / "own.ipynb"
    path.write_text(json.dumps(data))
    r = render(path)
    assert SECRET not in r.html
    # the bars are still drawn from the saved state
    assert r.html.count('<script type="application/vnd.jupyter.widget-view+json">') == 2


def test_v3_input_list_of_a_private_cell_stays_private(tmp_path: Path) -> None:
    cell = {"cell_type": "code", "metadata": {}, "source": "", "execution_count": None}
    cell.update(outputs=[], input=["# jupyterspot: private\n", "secret = 1\n"])
    data = {"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [cell]}
    path = tmp_path / "private.ipynb"
    path.write_text(json.dumps(data))
    r = render(path)
    assert "private cell (not shared)" in r.html
    assert "secret" not in r.html
