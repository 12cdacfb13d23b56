"""Issue 19, "Must show": reloading the 17.9 MB notebook's page (120 PNG figures) in the same
browser moves at most 5 % of the bytes of the first load. Real server on loopback, real headless
Chromium; bytes as Chromium received them (DevTools Network events, bench/page_reload.py), every
lazy image made to load on both loads. The control, the page as before (images inline, the cache
off as no-store made it), moves everything again."""

from __future__ import annotations

from bench.page_reload import TOKEN, first_and_reload, serve

from .conftest import require_corpus


def test_a_reload_of_the_big_notebook_moves_under_5_percent(browser, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTERSPOT_CACHE_DIR", str(tmp_path / "render-cache"))
    notebook = require_corpus() / "generated" / "gen_big_images.ipynb"
    assert notebook.stat().st_size > 17e6
    srv, port = serve(notebook)
    try:
        now = f"http://127.0.0.1:{port}/s/now/?token={TOKEN}"
        first, second = first_and_reload(browser, now, cache=True)
        assert first["bytes"] > 13e6  # every figure came over the network once
        assert first["document"] == 200 and second["document"] == 304
        assert second["bytes"] <= 0.05 * first["bytes"], (first, second)

        before = f"http://127.0.0.1:{port}/s/before/?token={TOKEN}"
        old_first, old_second = first_and_reload(browser, before, cache=False)
        assert old_first["bytes"] > 13e6
        assert old_second["bytes"] > 0.95 * old_first["bytes"]
    finally:
        srv.stop()
