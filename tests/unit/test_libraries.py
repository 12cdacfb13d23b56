"""content/libraries.py and content/inline.py: which CDN URLs become the share's, what the share
serves for each name (the kernel's copy, the pinned one, a stub), and what an export carries.

Pure: no server, no browser (tests/test_corpus_offline.py drives those)."""

from __future__ import annotations

import base64
import html
import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyterspot_magic.content import inline, libraries
from jupyterspot_magic.content.libraries import find, rewrite, used

CDN_CASES = [
    # Plotly: the script tag of include_plotlyjs="cdn", the module import of init_notebook_mode,
    # the require.js path of the classic notebook (require appends .js: none may be added)
    ("https://cdn.plot.ly/plotly-4.1.1.min.js", "./lib/plotly@4.1.1.js"),
    ("https://cdn.plot.ly/plotly-4.1.1.min", "./lib/plotly@4.1.1"),
    ("https://cdn.plot.ly/plotly-latest.min", "./lib/plotly@latest"),
    # Altair's paths: ?noext tells require.js not to add .js, and must stay
    ("https://cdn.jsdelivr.net/npm/vega@6?noext", "./lib/vega@6?noext"),
    ("https://cdn.jsdelivr.net/npm/vega-lite@6.4.1?noext", "./lib/vega-lite@6.4.1?noext"),
    ("https://cdn.jsdelivr.net/npm/vega-embed@7?noext", "./lib/vega-embed@7?noext"),
    ("https://cdn.jsdelivr.net/npm/vega-lib?noext", "./lib/vega?noext"),
    ("https://cdn.jsdelivr.net/npm/vega@5/build/vega.min.js", "./lib/vega@5.js"),
    ("https://cdn.bokeh.org/bokeh/release/bokeh-3.9.2.min.js", "./lib/bokeh@3.9.2.js"),
    ("https://cdn.bokeh.org/bokeh/release/bokeh-gl-3.9.2.min.js", "./lib/bokeh-gl@3.9.2.js"),
    (
        "https://cdn.bokeh.org/bokeh/release/bokeh-mathjax-3.9.2.min.js",
        "./lib/bokeh-mathjax@3.9.2.js",
    ),
    (
        "https://unpkg.com/@jupyter-widgets/html-manager@^1.0.1/dist/embed-amd.js",
        "./lib/html-manager@^1.0.1.js",
    ),
    ("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js", "./lib/leaflet@1.9.3.js"),
    ("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css", "./lib/leaflet-css@1.9.3.css"),
    # every MathJax (v2 or v3) and require.js go through the page's own loader: one per page
    ("https://cdnjs.cloudflare.com/ajax/libs/mathjax/3.2.2/es5/tex-svg.min.js", "./lib/mathjax.js"),
    (
        "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/MathJax.js?config=TeX-AMS_HTML",
        "./lib/mathjax.js?config=TeX-AMS_HTML",
    ),
    ("//cdnjs.cloudflare.com/ajax/libs/require.js/2.1.10/require.min.js", "./lib/require.js"),
]
NOT_LIBRARIES = [
    "https://cdn.jsdelivr.net/npm/vega-datasets@1/data/cars.json",  # data, not code
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/images/marker-icon.png",
    "https://unpkg.com/@jupyter-widgets/html-manager@*/dist/embed.js",  # no AMD: not shipped
    "https://cdnjs.cloudflare.com/ajax/libs/jquery/3.7.1/jquery.min.js",  # not in the table
    "https://example.org/plotly-4.1.1.min.js",  # not a CDN host
    "https://cdn.plot.ly.evil.example/plotly-4.1.1.min.js",
]


@pytest.mark.parametrize(("url", "local"), CDN_CASES)
def test_cdn_urls_become_the_shares(url: str, local: str) -> None:
    assert rewrite(f'<script src="{url}"></script>') == f'<script src="{local}"></script>'
    assert rewrite(f"paths: {{p: '{url}'}}") == f"paths: {{p: '{local}'}}"


@pytest.mark.parametrize("url", NOT_LIBRARIES)
def test_other_urls_stay(url: str) -> None:
    page = f'<img src="{url}"><script>var u = "{url}";</script>'
    assert rewrite(page) == page


def test_integrity_dropped_only_where_the_source_changed() -> None:
    """The share's copy may be another build than the CDN's: its hash would block it."""
    page = (
        '<script src="https://cdn.plot.ly/plotly-4.1.1.min.js" integrity="sha256-AAA" '
        'crossorigin="anonymous"></script>'
        '<script src="https://example.org/x.js" integrity="sha256-BBB"></script>'
    )
    out = rewrite(page)
    assert '<script src="./lib/plotly@4.1.1.js"></script>' in out
    assert 'integrity="sha256-BBB"' in out


def test_data_frame_with_libraries_becomes_a_sandboxed_srcdoc() -> None:
    """folium's map: a data: document has no base URL, so relative library URLs need srcdoc;
    the sandbox keeps it off the page's origin, as the data: URL did."""
    inner = (
        '<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"></script>'
        '<div id="map">"quoted" & more</div>'
    )
    data = base64.b64encode(inner.encode()).decode()
    page = f'<iframe src="data:text/html;charset=utf-8;base64,{data}" style="border:none"></iframe>'
    out = rewrite(page)
    assert "data:text/html" not in out and 'sandbox="allow-scripts allow-popups"' in out
    doc = html.unescape(out.split('srcdoc="')[1].split('"')[0])
    assert '<script src="./lib/leaflet@1.9.3.js"></script>' in doc
    assert '<div id="map">"quoted" & more</div>' in doc
    plain = base64.b64encode(b"<p>no libraries</p>").decode()
    untouched = f'<iframe src="data:text/html;base64,{plain}"></iframe>'
    assert rewrite(untouched) == untouched


def test_rewrite_is_fast_on_a_big_page() -> None:
    """An 18 MB page of base64 images (the corpus' big notebook) must not cost seconds."""
    blob = base64.b64encode(bytes(range(256)) * 50_000).decode()  # 17 MB, "//" inside
    page = f'<img src="data:image/png;base64,{blob}"><script src="https://cdn.plot.ly/plotly-4.1.1.min.js">'
    start = time.perf_counter()
    out = rewrite(page)
    assert time.perf_counter() - start < 0.5
    assert out.endswith('<script src="./lib/plotly@4.1.1.js">')


def test_used_lists_each_name_once_in_order() -> None:
    page = (
        '<script src="./lib/plotly@4.1.1.js"></script> "./lib/vega@6?noext" "./lib/plotly@4.1.1.js"'
    )
    assert used(page) == ["plotly@4.1.1.js", "vega@6"]


# ---------------------------------------------------------------- serving


def test_pinned_copies_are_served_by_name() -> None:
    for name in (
        "plotly.js",
        "plotly@4.1.1.min.js",
        "vega@6",
        "vega-lite@6.4.1.js",
        "html-manager@*.js",
    ):
        found = find(name)
        assert found is not None and found.path is not None and found.path.is_file(), name
        assert found.source.startswith(("pinned", "kernel")), found
    css = find("leaflet-css@1.9.3.css")
    assert css is not None and css.media.startswith("text/css")
    assert find("images/marker-icon.png") is not None
    font = next((libraries.LIB_DIR / "fonts").glob("*.woff2")).name
    assert find(font) is not None and find(f"@jupyter-widgets/html-manager/dist/{font}") is not None


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "plotly/../../x", "nothing.js", "images/../manifest.json", ""]
)
def test_unknown_names_are_404(name: str) -> None:
    assert find(name) is None


def test_triggers_and_stubs() -> None:
    """MathJax and require.js from an output only call the page's own loader; bokeh-mathjax
    without the kernel's bokeh is a stub (Bokeh's loader waits for every file it listed)."""
    mj = find("mathjax.js")
    assert mj is not None and mj.body is not None and b"jupyterspotMathJax" in mj.body
    req = find("require.js")
    assert req is not None and req.body is not None and b"jupyterspotRequire" in req.body
    bk = find("bokeh-mathjax@3.9.2.js")
    assert bk is not None and (bk.body is not None or bk.source.startswith("kernel"))


@pytest.fixture
def fake_plotly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A kernel whose plotly package ships plotly.js 9.9.9 (a stand-in package on sys.path)."""
    pkg = tmp_path / "plotly"
    (pkg / "package_data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "package_data" / "plotly.min.js").write_text("/** plotly.js v9.9.9 */ var Plotly={}")
    monkeypatch.syspath_prepend(str(tmp_path))
    for fn in (libraries._package_dir, libraries._plotly_copy):
        fn.cache_clear()
    sys.modules.pop("plotly", None)
    yield pkg
    for fn in (libraries._package_dir, libraries._plotly_copy):
        fn.cache_clear()


def test_kernel_copy_when_its_version_is_asked(fake_plotly: Path) -> None:
    kernel = fake_plotly / "package_data" / "plotly.min.js"
    exact = find("plotly@9.9.9.js")
    assert exact is not None and exact.path == kernel and exact.source == "kernel 9.9.9"
    plain = find("plotly.js")  # the viewer asks with no version: the kernel's comes first
    assert plain is not None and plain.path == kernel
    pinned = find("plotly@4.1.1.js")  # the output was made with 4.1.1: the pinned copy fits
    assert pinned is not None and pinned.source == "pinned 4.1.1"


# ---------------------------------------------------------------- the offline export


def test_export_carries_each_used_library_once() -> None:
    page = (
        "<html><head><title>t</title></head><body>"
        '<div><script src="./lib/plotly@4.1.1.js"></script><script>Plotly.newPlot()</script></div>'
        '<div><script src="./lib/plotly@4.1.1.js" charset="utf-8"></script></div>'
        '<script type="module">import "./lib/plotly@4.1.1"</script>'
        '<script>var js_urls = ["./lib/bokeh@3.9.2.js"];</script>'
        '<link rel="stylesheet" href="./lib/leaflet-css@1.9.3.css">'
        "</body></html>"
    )
    out = inline.inline_libraries(page)
    assert "./lib/" not in out.split("</script>", 2)[-1].replace('"./lib/" + ', "")
    block = out.split('<script id="jupyterspot-libs" type="application/json">')[1]
    data = json.loads(block.split("</script>")[0].replace("<\\/", "</"))
    files = data["files"]
    assert sum("plotly" in f for f in files) == 1  # three references, one copy
    assert set(data["names"]) >= {"plotly@4.1.1.js", "plotly@4.1.1", "bokeh@3.9.2.js"}
    assert out.count('jupyterspotRun("plotly@4.1.1.js")') == 2
    assert 'jupyterspotRun("plotly@4.1.1")' in out
    assert 'var js_urls = [jupyterspotLib("bokeh@3.9.2.js")]' in out
    assert "<style>" in out and ".leaflet-" in out
    assert out.index("jupyterspot-libs") < out.index("<title>")  # before anything asks


def test_export_without_libraries_is_unchanged() -> None:
    page = "<html><head></head><body><p>plain</p></body></html>"
    assert inline.inline_libraries(page) == page


def test_umd_libraries_are_served_inside_the_amd_guard() -> None:
    """Plotly, Vega, Leaflet: `define` hidden unless require.js loaded them; the widget
    manager and require.js itself are served as they are (they need `define`)."""
    head, tail = libraries.AMD_GUARD
    for name in ("vega@6.js", "vega-embed.js", "leaflet@1.9.3.js", "plotly.js"):
        found = find(name)
        assert found is not None and found.guarded, name
        body = found.read()
        assert body.startswith(head.encode()) and body.endswith(tail.encode()), name
    for name in ("html-manager.js", "requirejs.js", "leaflet-css.css"):
        found = find(name)
        assert found is not None and not found.guarded, name
        assert found.read() == Path(str(found.path)).read_bytes(), name


def test_export_inlines_the_widget_managers_fonts() -> None:
    page = (
        "<html><head></head><body><script>var s = './lib/html-manager.js';</script></body></html>"
    )
    out = inline.inline_libraries(page)
    assert "data:font/woff2;base64," in out
    assert not re.search(r'\.p\+"[0-9a-f]{20}\.(woff2|woff|ttf|eot|svg)"', out)


def test_only_outputs_are_rewritten_never_code_or_text(tmp_path: Path, monkeypatch) -> None:
    """A CDN URL in code, printed text or markdown is something the author wrote, not a script
    the page loads: it stays as written; an output's HTML gets the share's."""
    from jupyterspot_magic.content.render import render

    monkeypatch.setenv("JUPYTERSPOT_CACHE_DIR", str(tmp_path))
    url = "https://cdn.plot.ly/plotly-2.27.0.min.js"
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {"cell_type": "markdown", "id": "m", "metadata": {}, "source": f"see <{url}>"},
            {
                "cell_type": "code",
                "id": "c",
                "metadata": {},
                "execution_count": 1,
                "source": f'url = "{url}"; print(url)',
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": url + "\n"},
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"text/html": f'<script src="{url}"></script>'},
                    },
                ],
            },
        ],
    }
    page = render(nb).html
    assert page.count("./lib/plotly@2.27.0.js") == 1 and page.count(url) >= 3


def test_export_leaves_what_is_not_a_carried_library_reference() -> None:
    page = (
        "<html><head></head><body>"
        '<script src="./lib/vega@6.js"></script>'
        '<script>const hashes = {"./lib/vega@6.js": "sha-x"}; var u = "./lib/vega@6.js";</script>'
        '<img src="./lib/diagram.png"><script type="application/json">{"u": "./lib/vega@6.js"}'
        "</script><script>var mine = './lib/notes.txt';</script></body></html>"
    )
    out = inline.inline_libraries(page)
    assert '{"./lib/vega@6.js": "sha-x"}' in out  # an object key stays (Bokeh 2's hashes)
    assert 'var u = jupyterspotLib("vega@6.js")' in out
    assert '<img src="./lib/diagram.png">' in out  # the notebook's own file
    assert '{"u": "./lib/vega@6.js"}' in out  # data, not code
    assert "var mine = './lib/notes.txt'" in out  # not a library


def test_a_data_frame_gets_our_sandbox_whatever_it_had() -> None:
    inner = '<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"></script>\n<p>x</p>'
    data = base64.b64encode(inner.encode()).decode()
    for attrs in (' sandbox="allow-scripts allow-same-origin"', ' title="not a sandbox"', ""):
        out = rewrite(f'<iframe{attrs} src="data:text/html;base64,{data}"></iframe>')
        assert out.count(' sandbox="') == 1, out[:200]
        assert 'sandbox="allow-scripts allow-popups"' in out and "allow-same-origin" not in out
        assert "\n" not in out  # usable inside a JS string too


def test_long_or_made_up_names_cannot_grow_the_cache() -> None:
    assert find("require@" + "9" * 500 + ".js") is None
    a, b = find("require@1.js"), find("require@2.js")
    assert a is not None and b is not None and a.read() == b.read() and a.path is None


def test_an_export_without_math_or_figures_carries_neither(tmp_path: Path, monkeypatch) -> None:
    """The inlined viewer and the page's head (MathJax's config is full of "$") are not the
    notebook: they made every export carry MathJax (3 MB) and Plotly + Vega (5.8 MB)."""
    from jupyterspot_magic.content import export
    from jupyterspot_magic.content.render import render

    monkeypatch.setenv("JUPYTERSPOT_CACHE_DIR", str(tmp_path))
    cell = {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "plain words"}
    page = export.page_html(
        render({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]}), b"\x00\x00"
    )
    assert "jupyterspot-libs" not in page and "data:text/javascript;base64" not in page
    assert len(page.encode()) < 1_000_000
