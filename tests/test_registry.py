"""Sharing again (session/registry.py): the same notebook with the same options keeps the share;
another `store` or `watch` shares anew (before, every option but five was ignored: re-sharing
with another --store silently kept the old one); `fresh` clears the running share's board in
place. A share that stops by itself leaves the registry. Real shares over loopback, no browser."""

from __future__ import annotations

import pytest

from jupyterspot_magic.session import registry
from jupyterspot_magic.session.share import Share

from .inside import add_shapes, board_shapes


def draw(s: Share, n: int) -> None:
    start = count(s)
    new = {f"k{i}-{start}": {"t": "rect", "cell": "intro", "x": 1.0} for i in range(n)}
    s.host.call(add_shapes, s.room, new)


def count(s: Share) -> int:
    return len(board_shapes(s))


def test_another_store_or_watch_shares_anew_and_fresh_clears_in_place(nb, tmp_path) -> None:
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    first = registry.share(nb, tunnel="none", store=a)
    draw(first, 3)
    assert registry.share(nb, tunnel="none", store=a) is first  # same options: same share

    other_store = registry.share(nb, tunnel="none", store=b)
    assert other_store is not first and first.status == "stopped"
    assert count(other_store) == 0  # the board of store b (empty), not a's
    back = registry.share(nb, tunnel="none", store=a)
    assert count(back) == 3 and back.room == first.room  # a's board and links, restored

    unwatched = registry.share(nb, tunnel="none", store=a, watch=False)
    assert unwatched is not back and unwatched.updater.watcher is None
    assert back.updater.watcher is None  # stopped with its share

    fresh = registry.share(nb, tunnel="none", store=a, watch=False, fresh=True)
    assert fresh is unwatched and count(fresh) == 0  # cleared in place: pages stay connected
    assert registry.current() is fresh


def test_a_share_that_stops_itself_leaves_the_registry(nb) -> None:
    s = registry.share(nb, tunnel="none", store=False)
    assert registry.current() is s
    s.stop()  # as the widget's Stop button does
    assert registry.current() is None
    assert registry._host is None  # nothing else used the server: it stopped too
    assert registry.stop() is False


def test_showing_a_share_again_follows_it_with_the_newest_widget_only(nb, tmp_path) -> None:
    """A re-share of the same notebook shows a new widget and plain link: only the newest ones
    follow the share (the old ones, still alive in old outputs, would each be sent every people
    change from the server thread, and kept alive by the share)."""
    from jupyterspot_magic.frontends import display
    from jupyterspot_magic.frontends.widget import make_widget, widget_of
    from jupyterspot_magic.session.events import LinkChanged, PeopleChanged

    s = registry.share(nb, tunnel="none", store=tmp_path / "w.sqlite")
    widgets = [make_widget(s) for _ in range(5)]
    for _ in range(5):
        display.show_link(s)  # outside a notebook display() prints; the handle still follows
    listeners = s.events._listeners  # noqa: SLF001 (the count is what this test is about)
    assert len(listeners[PeopleChanged]) == 1
    assert len(listeners[LinkChanged]) == 2  # the newest widget and the newest plain link
    assert widget_of(s) is widgets[-1]
    s.rotate()
    assert widgets[-1].url == s.url and widgets[0].url != s.url


def test_a_share_that_fails_to_stop_stays_current(nb, tmp_path, monkeypatch) -> None:
    """Replacing a share whose stop() fails (a server that no longer answers) must not forget
    it: it is still running, and `%jupyterspot stop` / `status` must still reach it."""
    first = registry.share(nb, tunnel="none", store=tmp_path / "a.sqlite")

    def broken_stop(**_kw) -> None:
        raise TimeoutError("the share server did not answer")

    monkeypatch.setattr(first, "stop", broken_stop)
    with pytest.raises(TimeoutError):
        registry.share(nb, tunnel="none", store=tmp_path / "b.sqlite")
    assert registry.current() is first
    monkeypatch.undo()
    assert registry.stop() and first.status == "stopped"
