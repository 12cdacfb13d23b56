"""Presence colours by join order (issue 16 item 5; collab/colors.py, js/viewer/identity.ts): ten
real Chromium pages, one browser context each, join one real share at the same moment and end
up with ten different colours of the palette, each seeing the others' colours as they see
themselves; the same on an end-to-end encrypted share, where the server opens the frames it
checks. The presenter's page shows the presenter's colour. (Before: `PALETTE[clientId % 12]`,
ten random ids share a colour 99.6 % of the time.)"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from jupyterspot_magic.session.registry import share

from .conftest import DEMO, DESKTOP, wait_for
from .test_annotations import READY

CONTRACT = json.loads(
    (DEMO.parents[1] / "jupyterspot_magic" / "contracts" / "colors.json").read_text()
)
PALETTE = CONTRACT["palette"]
PRESENTER = PALETTE[CONTRACT["presenterSlot"]]
PEOPLE = 10

OWN_AND_SEEN = """() => {
  const a = window.jupyterspot.awareness;
  const seen = {};
  for (const [id, st] of a.getStates()) if (st && st.user) seen[id] = st.user.color;
  return {id: a.clientID, own: a.getLocalState().user.color, seen};
}"""


def with_name(url: str, name: str) -> str:
    """The link with `name` in its query (an encrypted share's key stays in the fragment)."""
    base, hash_, fragment = url.partition("#")
    return f"{base}&name={name}{hash_}{fragment}"


@pytest.fixture(params=[False, True], ids=["plain", "e2e"])
def demo_share(request) -> Iterator:
    s = share(DEMO, tunnel="none", e2e=request.param)
    yield s
    s.stop()


def open_together(browser, urls: list[str]) -> list:
    """Start every page's navigation before any of them has loaded (`commit` returns as soon as
    the response starts), so their sockets join the room at about the same time."""
    contexts = [browser.new_context(**DESKTOP) for _ in urls]
    pages = [c.new_page() for c in contexts]
    for page, url in zip(pages, urls, strict=True):
        page.goto(url, wait_until="commit")
    for page in pages:
        page.wait_for_function(READY, timeout=60000)
    return contexts, pages


def test_ten_people_joining_at_once_get_ten_colours(browser, demo_share):
    urls = [with_name(demo_share.url, f"P{i}") for i in range(PEOPLE)]
    contexts, pages = open_together(browser, urls)
    try:

        def settled():
            views = [p.evaluate(OWN_AND_SEEN) for p in pages]
            own = {v["id"]: v["own"] for v in views}
            if len(own) != PEOPLE or any(
                v["seen"] != {str(k): c for k, c in own.items()} for v in views
            ):
                return None  # someone has not heard everyone's final colour yet
            return own

        own = wait_for(settled, 30, "every page sees every page's own colour")
        assert len(set(own.values())) == PEOPLE, own
        assert set(own.values()) <= set(PALETTE)
        assert PRESENTER not in own.values()  # guests only: the presenter's colour is kept
        # The presenter's page joins last and still gets the presenter's colour.
        host_ctx = browser.new_context(**DESKTOP)
        contexts.append(host_ctx)
        host = host_ctx.new_page()
        host.goto(with_name(demo_share.host_url, "Presenter"))
        host.wait_for_function(READY, timeout=30000)
        host_id = host.evaluate("window.jupyterspot.awareness.clientID")
        wait_for(
            lambda: pages[0].evaluate(OWN_AND_SEEN)["seen"].get(str(host_id)) == PRESENTER,
            15,
            "a guest sees the presenter's colour",
        )
        assert host.evaluate(OWN_AND_SEEN)["own"] == PRESENTER
    finally:
        for c in contexts:
            c.close()
