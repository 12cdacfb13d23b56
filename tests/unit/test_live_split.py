"""split_page / join_page (content/live.py): a page cut into head, one piece per cell, and tail.

The live update re-renders only changed cells and splices them into the page, so the cut must be
exact on what nbconvert renders and must refuse (None: a full render) anything it cannot cut
cleanly. The real page is tests/unit/data/rendered_page.html, rendered by content/render.py with
its <style> and module-script bodies trimmed (the cut never looks inside the head); regenerate it
with `python tests/unit/test_live_split.py` (that imports nbconvert: seconds, so not in the test).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from jupyterspot_magic.content.live import join_page, split_page
from jupyterspot_magic.content.render import CONFIG_PLACEHOLDER, cell_anchors

PAGE_FILE = Path(__file__).parent / "data" / "rendered_page.html"
IDS = ["intro", "print", "raw"]
# What the page was rendered from: markdown with math, code with a stream and an HTML output, raw
# (one cell of each kind: the page then repeats no cell's markup).
NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"language_info": {"name": "python"}},
    "cells": [
        {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# Split me\n$x^2$"},
        {
            "cell_type": "code",
            "id": "print",
            "metadata": {},
            "execution_count": 1,
            "source": "print('hello'); df",
            "outputs": [
                {"output_type": "stream", "name": "stdout", "text": "hello\n"},
                {
                    "output_type": "execute_result",
                    "execution_count": 1,
                    "metadata": {},
                    "data": {
                        "text/plain": "a\n1",
                        "text/html": "<table><tr><td>1</td></tr></table>",
                    },
                },
            ],
        },
        {"cell_type": "raw", "id": "raw", "metadata": {}, "source": "raw text"},
    ],
}


@pytest.fixture(scope="module")
def page() -> str:
    return PAGE_FILE.read_text("utf-8")


def squeeze(html: str) -> str:
    """The page without the whitespace between tags (join_page normalizes it between cells)."""
    return re.sub(r">\s+<", "><", html)


# -- the real page --


def test_the_fixture_is_a_rendered_page_of_the_notebook(page: str) -> None:
    assert cell_anchors(page) == IDS
    assert page.count(CONFIG_PLACEHOLDER) == 1 and page.count("</main>") == 1


def test_a_real_page_cuts_into_its_cells(page: str) -> None:
    parts = split_page(page, IDS)
    assert parts is not None
    head, cells, tail = parts
    assert head.endswith('<main id="jupyterspot-root">') and "cell-id=" not in head
    assert tail.startswith("</main>") and CONFIG_PLACEHOLDER in tail
    assert len(cells) == len(IDS)
    for cid, cell in zip(IDS, cells, strict=True):
        assert cell.startswith("<div") and cell == cell.rstrip()
        assert cell_anchors(cell) == [cid]  # its own anchor, first, and no other
        assert cell.index(f'id="cell-id={cid}"') < cell.index(">")
    assert "hello" in cells[1] and "<table>" in cells[1] and "raw text" in cells[2]


def test_joining_the_pieces_gives_the_page_back(page: str) -> None:
    parts = split_page(page, IDS)
    assert parts is not None
    joined = join_page(*parts)
    assert squeeze(joined) == squeeze(page)  # only whitespace between cells differs
    assert split_page(joined, IDS) == parts  # and a joined page cuts the same way again


def test_cells_swapped_or_replaced_splice_into_a_page_that_cuts_again(page: str) -> None:
    parts = split_page(page, IDS)
    assert parts is not None
    head, cells, tail = parts
    moved = join_page(head, [cells[1], cells[0], *cells[2:]], tail)
    assert split_page(moved, [IDS[1], IDS[0], *IDS[2:]]) == (
        head,
        [cells[1], cells[0], *cells[2:]],
        tail,
    )
    fewer = join_page(head, cells[:2], tail)
    assert split_page(fewer, IDS[:2]) == (head, cells[:2], tail)


# -- what it must refuse --


@pytest.mark.parametrize(
    "ids",
    [
        [],  # nothing to cut
        IDS[:-1],  # the page has a cell the notebook does not
        [*IDS, "gone"],  # the notebook has a cell the page does not
        [IDS[1], IDS[0], *IDS[2:]],  # same cells, another order
        ["intro", "print", "other"],
    ],
)
def test_ids_that_do_not_match_the_anchors_are_refused(page: str, ids: list[str]) -> None:
    assert split_page(page, ids) is None


def test_an_output_imitating_an_anchor_is_refused(page: str) -> None:
    fake = '<div id="cell-id=raw">not a cell</div>'
    hostile = page.replace("<pre>hello\n</pre>", f"<pre>hello\n</pre>{fake}")
    assert cell_anchors(hostile) == ["intro", "print", "raw", "raw"]
    assert split_page(hostile, IDS) is None
    # ...and naming a cell that does not exist
    hostile = page.replace("<pre>hello\n</pre>", '<p id="cell-id=ghost"></p>')
    assert split_page(hostile, IDS) is None


def test_repeated_ids_are_refused_even_when_the_list_repeats_them_too(page: str) -> None:
    twice = page.replace('id="cell-id=print"', 'id="cell-id=intro"')
    ids = ["intro", "intro", "raw"]
    assert cell_anchors(twice) == ids
    assert split_page(twice, ids) is None


def test_nested_anchors_cut_at_the_inner_one_and_broken_structure_is_refused() -> None:
    """nbconvert never nests cells; if anchors were nested, each piece would stop where the next
    anchor's tag opens (the pieces still join back to the page), never overlap."""
    nested = (
        '<main id="jupyterspot-root">\n<div id="cell-id=a"><div id="cell-id=b">b</div></div>\n'
        "</main>"
    )
    parts = split_page(nested, ["a", "b"])
    assert parts is not None and parts[1] == [
        '<div id="cell-id=a">',
        '<div id="cell-id=b">b</div></div>',
    ]
    assert squeeze(join_page(*parts)) == squeeze(nested)
    # an anchor with no tag opening before it, or a main that closes before the last cell
    assert split_page('id="cell-id=a"></main>', ["a"]) is None
    early = '<main><div id="cell-id=a"></div></main><div id="cell-id=b"></div>'
    assert split_page(early, ["a", "b"]) is None


def test_a_page_without_its_main_close_is_refused(page: str) -> None:
    assert split_page(page.replace("</main>", ""), IDS) is None
    # A </main> in a cell's output is not the end: the end is searched from the page's end.
    inside = page.replace("<pre>hello", "<pre>hel</main>lo")
    assert split_page(inside, IDS) is not None
    assert split_page(inside.replace("</main>\n<!--", "<!--"), IDS) is None


def test_ids_are_matched_whole_not_as_prefixes() -> None:
    html = '<main>\n<div id="cell-id=ab"></div><div id="cell-id=a"></div>\n</main>'
    assert split_page(html, ["ab", "a"]) is not None
    assert split_page(html, ["a", "ab"]) is None


def regenerate() -> None:
    """Render NOTEBOOK with content/render.py and keep the page, head bodies trimmed."""
    import os
    import tempfile

    os.environ["JUPYTERSPOT_CACHE_DIR"] = tempfile.mkdtemp()  # a real render, not a cached one
    from jupyterspot_magic.content.render import render

    html = render(NOTEBOOK, title="split-fixture").html
    for tag in (r"<style[^>]*>", r'<script type="module">'):
        html = re.sub(f"({tag})(.*?)(</(?:style|script)>)", r"\1/* trimmed */\3", html, flags=re.S)
    PAGE_FILE.parent.mkdir(exist_ok=True)
    PAGE_FILE.write_text(html, "utf-8")
    print(f"wrote {PAGE_FILE} ({len(html)} characters, cells {cell_anchors(html)})")


if __name__ == "__main__":
    sys.exit(regenerate())
