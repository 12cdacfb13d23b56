"""Every notebook of the shared corpus, shared through the Python API and fetched over loopback
as a guest: the page is HTML with one cell anchor per cell, the guest config block, and no
host token; gzip-encoded responses carry the same page."""

from __future__ import annotations

import gzip
import json
import re
import urllib.request
from pathlib import Path

import nbformat
import pytest

from jupyterspot_magic.session import registry as sharing

from .conftest import corpus, require_corpus

ANCHOR = re.compile(r'id="cell-id=([^"]*)"')
CONFIG = re.compile(r'<script id="jupyterspot-config" type="application/json">(.*?)</script>', re.S)


@pytest.fixture(scope="module", autouse=True)
def render_cache(fresh_render_cache: None) -> None:
    """Renders go to a fresh cache dir: the pages tested are rendered by this code."""


def fetch(url: str, gzipped: bool) -> tuple[int, str, str, bytes]:
    headers = {"Accept-Encoding": "gzip"} if gzipped else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
        return r.status, r.headers["Content-Type"], r.headers.get("Content-Encoding", ""), r.read()


def test_corpus_is_there() -> None:
    """The corpus exists and holds notebooks (a missing corpus fails, it is not skipped)."""
    require_corpus()
    assert len(corpus()) >= 10, corpus()
    assert any(p.parent.name == "generated" for p in corpus())


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.name)
def test_share_serves_every_cell_to_a_guest(path: Path) -> None:
    """The guest page of a shared corpus notebook: 200 text/html, one cell anchor per cell of
    the file, config with role guest and the cell count, no host token; same page gzipped."""
    require_corpus()
    cells = nbformat.read(path, as_version=4).cells
    share = sharing.share(path, tunnel="none")
    try:
        status, ctype, encoding, body = fetch(share.url, gzipped=False)
        assert status == 200 and ctype.startswith("text/html") and not encoding
        page = body.decode("utf-8")
        ids = ANCHOR.findall(page)
        assert len(ids) == len(cells) == len(set(ids))
        assert ids == share.rendered.cell_ids
        blocks = CONFIG.findall(page)
        assert len(blocks) == 1
        config = json.loads(blocks[0])
        assert config["role"] == "guest" and config["cells"] == len(cells)
        assert config["room"] == share.room
        assert share.host_token not in page and share.token not in page

        status, ctype, encoding, body = fetch(share.url, gzipped=True)
        assert status == 200 and ctype.startswith("text/html") and encoding == "gzip"
        assert gzip.decompress(body).decode("utf-8") == page
    finally:
        share.stop()
    assert sharing.current() is None
