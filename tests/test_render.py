"""render: real nbconvert on the shared corpus and on small hand-made notebooks (no mocks)."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jupyterspot_magic.content import render as render_mod
from jupyterspot_magic.content.render import (
    CONFIG_PLACEHOLDER,
    RenderedNotebook,
    RenderError,
    clear_memory_cache,
    load_notebook,
    render,
)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
NOTEBOOKS = SHARED / "notebooks"
ANCHOR = re.compile(r'id="cell-id=([^"]*)"')
FIGURE = re.compile(r'<script[^>]*class="jupyterspot-figure"[^>]*>(.*?)</script>', re.S)
SECRET = "SECRET-host-token-5b1f0c"
MISSING = "shared corpus missing"


def corpus() -> list[Path | str]:
    files = sorted(NOTEBOOKS.glob("*.ipynb")) + sorted((NOTEBOOKS / "generated").glob("*.ipynb"))
    return files or [MISSING]  # a failing case, not an empty (skipped) parametrization


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    """Each test gets an empty disk cache and no renders in memory."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("JUPYTERSPOT_CACHE_DIR", str(cache))
    clear_memory_cache()
    yield cache
    clear_memory_cache()


def notebook(*cells: dict, metadata: dict | None = None) -> dict:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": metadata or {},
        "cells": list(cells),
    }


def md(source: str, **extra) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": source, **extra}


def code(source: str, outputs: list | None = None, **extra) -> dict:
    return {
        "cell_type": "code",
        "metadata": {},
        "source": source,
        "execution_count": 1,
        "outputs": outputs or [],
        **extra,
    }


def display(data: dict, metadata: dict | None = None) -> dict:
    return {"output_type": "display_data", "data": data, "metadata": metadata or {}}


def raw_cell_count(path: Path) -> int:
    data = json.loads(path.read_text("utf-8"))
    if "cells" in data:
        return len(data["cells"])
    return sum(len(w["cells"]) for w in data["worksheets"])


def assert_page(r: RenderedNotebook, n_cells: int) -> None:
    html = r.html
    assert len(r.cell_ids) == n_cells
    assert len(set(r.cell_ids)) == n_cells, "cell ids are not unique"
    assert html.count('id="cell-id=') == n_cells
    assert ANCHOR.findall(html) == r.cell_ids
    assert html.count(CONFIG_PLACEHOLDER) == 1
    assert html.count('<main id="jupyterspot-root">') == 1
    tail = html[html.index(CONFIG_PLACEHOLDER) :]
    assert '<script src="static/viewer.js"></script>' in tail
    assert 'href="static/viewer.css"' in html
    assert 'name="referrer"' in html and 'name="viewport"' in html


# ---------------------------------------------------------------- corpus


@pytest.mark.parametrize("path", corpus(), ids=lambda p: getattr(p, "name", str(p)))
def test_corpus_renders(path):
    if path == MISSING:
        pytest.fail(f"shared notebook corpus not found at {NOTEBOOKS} (expected ../shared)")
    r = render(path)
    assert not r.cached
    assert r.title == path.stem
    assert_page(r, raw_cell_count(path))
    assert all(isinstance(w, str) and "\n" not in w for w in r.warnings)
    r.warnings.append("mine")  # the caller's copy: the cached result does not change
    assert "mine" not in render(path).warnings


def test_v3_notebook_is_converted():
    path = NOTEBOOKS / "jupyter__nbformat__tests_test3.ipynb"
    r = render(path)
    assert "converted from nbformat 3" in r.warnings
    assert all(re.fullmatch(r"c-[0-9a-f]{10}(-\d+)?", i) for i in r.cell_ids)
    assert_page(r, 9)


def test_plotly_with_html_is_left_to_nbconvert():
    r = render(
        NOTEBOOKS / "mwouts__jupytext__tests_data_notebooks_inputs_ipynb_py_plotly_graphs.ipynb"
    )
    assert "jupyterspot-plotly" not in r.html
    assert not any("Plotly" in w for w in r.warnings)


def test_vegalite_with_image_fallbacks_is_drawn_with_its_picture_first():
    """Julia's vega-lite with PNG and SVG: drawn from the spec like JupyterLab does (issue 13);
    its SVG shows until then."""
    r = render(NOTEBOOKS / "nteract__examples__julia_vegalite.ipynb")
    assert r.html.count('class="jupyterspot-vega"') == 1
    fallback = r.html.split('class="jupyterspot-figure-fallback">')[1][:80]
    assert fallback.startswith('<img alt="figure" src="data:image/svg+xml;base64,')


# ---------------------------------------------------------------- ids


def derived(cell_type: str, source: str) -> str:
    return "c-" + hashlib.sha1(f"{cell_type}\0{source}".encode()).hexdigest()[:10]


def test_ids_of_a_notebook_without_ids_are_derived_and_stable(tmp_path, monkeypatch):
    path = NOTEBOOKS / "generated" / "gen_errors_streams.ipynb"  # nbformat 4.4, no ids
    first = render(path).cell_ids
    cells = json.loads(path.read_text("utf-8"))["cells"]
    source = "".join(cells[0]["source"])
    assert first[0] == derived(cells[0]["cell_type"], source)

    clear_memory_cache()
    monkeypatch.setenv("JUPYTERSPOT_CACHE_DIR", str(tmp_path / "other"))
    again = render(path)
    assert not again.cached and again.cell_ids == first
    assert [c.id for c in load_notebook(path).cells] == first


def _ids_in_new_process(path: Path, cache: Path) -> list[str]:
    script = "import json, sys; from jupyterspot_magic.content.render import render; "
    script += "print(json.dumps(render(sys.argv[1]).cell_ids))"
    env = {**os.environ, "JUPYTERSPOT_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_ids_are_the_same_in_a_new_process(tmp_path):
    path = NOTEBOOKS / "jupyter__nbformat__tests_test3.ipynb"  # v3: nbformat invents random ids
    a = _ids_in_new_process(path, tmp_path / "a")
    b = _ids_in_new_process(path, tmp_path / "b")
    assert a == b == render(path).cell_ids


def test_nbformat_45_keeps_its_ids():
    path = NOTEBOOKS / "norvig__pytudes__ipynb_Euler-Opus.ipynb"
    ids = [c["id"] for c in json.loads(path.read_text("utf-8"))["cells"]]
    assert load_notebook(path).cells[0].id == ids[0]
    assert [c.id for c in load_notebook(path).cells] == ids


def test_missing_repeated_and_invalid_ids_are_rederived_only():
    nb = notebook(
        md("same", id="keep-me"),
        md("same", id="keep-me"),  # repeat: re-derived
        md("same"),  # missing
        code("x = 1", id="not valid!"),  # invalid characters
        md("other", id="fine_2"),
    )
    original = copy.deepcopy(nb)
    r = render(nb)
    d = derived("markdown", "same")
    assert r.cell_ids == ["keep-me", d, f"{d}-2", derived("code", "x = 1"), "fine_2"]
    assert any("cell id" in w for w in r.warnings)
    assert nb == original, "the caller's dict was modified"
    assert_page(r, 5)


def test_raw_removed_and_plain_cells_all_get_anchors():
    nb = notebook(
        {"cell_type": "raw", "metadata": {}, "source": "raw text", "id": "raw-1"},
        {
            "cell_type": "raw",
            "metadata": {"raw_mimetype": "text/latex"},
            "source": "\\LaTeX",
            "id": "raw-2",
        },
        md("hidden", id="gone", metadata={"transient": {"remove_source": True}}),
        code("print(1)", id="code-1"),
    )
    r = render(nb)
    assert r.title == "Notebook"
    assert_page(r, 4)


# ---------------------------------------------------------------- errors


def _bad_inputs(tmp_path: Path) -> list[Path]:
    cases = {
        "invalid.ipynb": b'{"cells": [\n  1,,\n]}',
        "list.ipynb": b"[]",
        "object.ipynb": b'{"a": 1}',
        "latin1.ipynb": '{"cells": [], "x": "caf\xe9"}'.encode("latin-1"),
        "empty.ipynb": b"",
        "cells-not-list.ipynb": b'{"nbformat": 4, "nbformat_minor": 5, "cells": 3}',
    }
    paths = [tmp_path / "does-not-exist.ipynb", tmp_path]
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    return paths


def test_bad_inputs_give_one_line_naming_the_path(tmp_path):
    for path in _bad_inputs(tmp_path):
        with pytest.raises(RenderError) as info:
            render(path)
        message = str(info.value)
        assert "\n" not in message and str(path) in message, message
        with pytest.raises(RenderError):
            load_notebook(str(path))


def test_error_messages_say_what_is_wrong(tmp_path):
    messages = {
        p.name: str(pytest.raises(RenderError, render, p).value) for p in _bad_inputs(tmp_path)
    }
    assert messages["does-not-exist.ipynb"].startswith("Notebook not found: ")
    assert "(line 2, column 5)" in messages["invalid.ipynb"]
    assert messages["object.ipynb"].startswith("Not a Jupyter notebook: ")
    assert '(no "cells")' in messages["object.ipynb"]
    assert "Not UTF-8" in messages["latin1.ipynb"]


def test_bad_dict_is_refused_in_one_line():
    for bad in ({"a": 1}, {"nbformat": 4, "cells": [1, 2]}, {"nbformat": 9, "cells": []}):
        message = str(pytest.raises(RenderError, render, bad).value)
        assert "\n" not in message and "notebook" in message.lower()


# ---------------------------------------------------------------- cache


def test_second_render_is_cached_and_fast(tmp_path):
    path = tmp_path / "report.ipynb"
    path.write_bytes((NOTEBOOKS / "generated" / "gen_matplotlib_report.ipynb").read_bytes())
    render(NOTEBOOKS / "jupyter__nbconvert__tests_preprocessors_files_HelloWorld.ipynb")  # warm up
    first = render(path)
    second = render(path)
    assert not first.cached and second.cached
    assert second.html == first.html and second.content_hash == first.content_hash
    assert second.seconds < first.seconds / 5

    data = json.loads(path.read_text("utf-8"))
    data["cells"][0]["source"] = "# Changed title\n"
    path.write_text(json.dumps(data), "utf-8")
    changed = render(path)
    assert not changed.cached and changed.content_hash != first.content_hash
    assert "Changed title" in changed.html


def test_disk_cache_survives_a_cleared_memory_cache(fresh_cache):
    path = NOTEBOOKS / "generated" / "gen_sympy_latex.ipynb"
    first = render(path)
    assert (fresh_cache / "render" / f"{first.content_hash}.html").is_file()
    clear_memory_cache()
    again = render(path)
    assert again.cached
    assert (again.html, again.cell_ids, again.title, again.warnings) == (
        first.html,
        first.cell_ids,
        first.title,
        first.warnings,
    )


def test_dict_sources_are_cached_too():
    nb = notebook(md("# hello", id="h"))
    assert not render(nb).cached
    assert render(copy.deepcopy(nb)).cached
    assert not render(nb, title="Other title").cached


def test_corrupt_cache_is_ignored(fresh_cache):
    path = NOTEBOOKS / "generated" / "gen_sympy_latex.ipynb"
    first = render(path)
    (fresh_cache / "render" / f"{first.content_hash}.html").write_text("garbage")
    clear_memory_cache()
    again = render(path)
    assert not again.cached and again.html == first.html
    (fresh_cache / "render" / f"{first.content_hash}.json").write_text("{not json")
    clear_memory_cache()
    assert not render(path).cached


def test_unwritable_cache_does_not_break_rendering(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("JUPYTERSPOT_CACHE_DIR", str(blocker))
    r = render(NOTEBOOKS / "generated" / "gen_sympy_latex.ipynb")
    assert not r.cached and r.cell_ids


# ---------------------------------------------------------------- outputs


def test_plotly_json_only_output_becomes_a_figure_container():
    figure = {
        "data": [{"type": "bar", "x": [1, 2], "y": [3, 4], "name": "</script><script>alert(1)//"}],
        "layout": {"title": {"text": "a & b <i>c</i>"}},
    }
    out = display({"application/vnd.plotly.v1+json": figure, "text/plain": "Figure()"})
    r = render(notebook(code("fig", [out], id="fig")))
    assert '<div class="jupyterspot-plotly">' in r.html
    assert "Interactive Plotly figure" in r.html
    assert "</script><script>alert(1)" not in r.html
    payloads = FIGURE.findall(r.html)
    assert len(payloads) == 1 and "<" not in payloads[0] and "&" not in payloads[0]
    assert json.loads(payloads[0]) == figure
    # the share serves plotly.js itself (content/libraries.py): nothing to warn about
    assert not any("plotly" in w.lower() for w in r.warnings), r.warnings


def test_vegalite_json_only_output_becomes_a_figure_container():
    spec = {"mark": "bar", "data": {"values": [{"a": 1}]}, "encoding": {}}
    mime = "application/vnd.vegalite.v5+json"
    r = render(notebook(code("chart", [display({mime: spec, "text/plain": "alt.Chart(...)"})])))
    assert re.search(
        r'<div class="jupyterspot-vega" data-mime="application/vnd\.vegalite\.v5\+json">', r.html
    )
    assert json.loads(FIGURE.findall(r.html)[0]) == spec
    assert not any(mime in w for w in r.warnings), r.warnings  # vega comes from the share


def test_own_share_output_and_widget_state_are_stripped():
    ours = display(
        {"text/html": f'<a href="https://x.example/s/room/?token={SECRET}">host link</a>'},
        metadata={"jupyterspot_magic": {"room": "room"}},
    )
    view = {"application/vnd.jupyter.widget-view+json": {"model_id": "m-ours", "version_major": 2}}
    user_view = {"application/vnd.jupyter.widget-view+json": {"model_id": "m-user"}}
    state = {
        "m-ours": {
            "model_name": "AnyModel",
            "model_module": "anywidget",
            "model_module_version": "~0.9.*",
            "state": {
                "_anywidget_id": "jupyterspot_magic.frontends.widget.ShareWidget",
                "url": SECRET,
            },
        },
        "m-also-ours": {
            "model_name": "ShareModel",
            "model_module": "jupyterspot-magic",
            "state": {"host_token": SECRET + "-2"},
        },
        "m-box": {
            "model_name": "VBoxModel",
            "model_module": "@jupyter-widgets/controls",
            "state": {"_dom_classes": ["jupyterspot-share"], "children": ["IPY_MODEL_m-link"]},
        },
        "m-link": {
            "model_name": "HTMLModel",
            "model_module": "@jupyter-widgets/controls",
            "state": {"value": f"<a href='https://x.example/?token={SECRET}-3'>link</a>"},
        },
        "m-user": {
            "model_name": "IntSliderModel",
            "model_module": "@jupyter-widgets/controls",
            "model_module_version": "2.0.0",
            "state": {"value": 7, "description": "user slider"},
        },
    }
    meta = {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": state}}}
    nb = notebook(
        code("%jupyterspot share", [display(view), ours], id="share"),
        code("slider", [display(user_view)], id="slider"),
        metadata=meta,
    )
    r = render(nb)
    assert SECRET not in r.html
    for model_id in ("m-ours", "m-also-ours", "m-box", "m-link"):
        assert model_id not in r.html
    assert "m-user" in r.html and "user slider" in r.html  # the user's own widget stays
    assert nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"] == state

    only_ours = notebook(code("share", [display(view), ours], id="s"), metadata=copy.deepcopy(meta))
    del only_ours["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"][
        "m-user"
    ]
    html = render(only_ours).html
    assert SECRET not in html and "widget-state+json" not in html


def test_placeholder_stays_unique_when_the_notebook_contains_it():
    r = render(notebook(md(f"look: {CONFIG_PLACEHOLDER}", id="m")))
    assert_page(r, 1)


def test_local_images_are_inlined_and_missing_ones_do_not_crash(tmp_path):
    (tmp_path / "pixel.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))
    nb = notebook(
        md("![here](pixel.png) ![gone](missing.png) ![dir](.) <img src=''>", id="a"),
        md("![att](attachment:nope.png)", id="b"),
        md("![up](../../etc/passwd)", id="c"),
    )
    path = tmp_path / "images.ipynb"
    path.write_text(json.dumps(nb), "utf-8")
    r = render(path)
    assert "data:image/png;base64," in r.html
    assert "missing.png" in r.html
    assert any("attachment" in w for w in r.warnings)
    assert_page(r, 3)


def test_import_does_not_load_nbconvert():
    script = "import sys, jupyterspot_magic.content.render; print('nbconvert' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_module_cache_dir_follows_the_environment(fresh_cache):
    assert render_mod.cache_dir() == fresh_cache / "render"


def test_vegalite_json_with_a_static_picture_is_drawn_with_the_picture_as_fallback():
    """Julia's and R's vega-lite carry PNG/SVG too: drawn from the spec (as JupyterLab does), the
    picture shows until then; an output with its own HTML (Altair's) is left alone."""
    spec = {"mark": "point", "data": {"values": [{"a": 1}]}, "encoding": {}}
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    mime = "application/vnd.vegalite.v4+json"
    both = display({mime: spec, "image/svg+xml": svg, "text/plain": "VLSpec"})
    own = display({mime: spec, "text/html": "<div id='altair-own'></div>", "text/plain": "x"})
    r = render(notebook(code("chart", [both, own])))
    assert r.html.count('class="jupyterspot-vega"') == 1
    fallback = r.html.split('class="jupyterspot-figure-fallback">')[1].split("</div>")[0]
    assert fallback.startswith('<img alt="figure" src="data:image/svg+xml;base64,')
    assert "altair-own" in r.html


def test_a_notebook_nested_too_deeply_says_so_in_one_line():
    deep: list = []
    cur = deep
    for _ in range(700):
        cur.append([])
        cur = cur[0]
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"deep": deep}, "cells": []}
    with pytest.raises(RenderError, match=r"\(nested too deeply\)$"):
        render(nb)
