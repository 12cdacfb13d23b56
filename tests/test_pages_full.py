"""A full meeting's page: a guest who opens the link when every guest seat is taken gets a clear
503 page with Retry-After (never cached); the host always gets the page. Real server on loopback,
real y-websocket guests in Node holding the seats."""

from __future__ import annotations

from .conftest import wait_for
from .pages_fixtures import get
from .room_server import synced

GUEST_PAGE = "/s/room1/?token=guest-token"
HOST_PAGE = "/s/room1/?token=host-token"


def test_a_full_meeting_refuses_guests_with_a_page_and_never_the_host(server, node_peers) -> None:
    srv, shared = server
    srv.call(shared.set_max_people, 2)
    seated = synced(node_peers, srv, "board", "guest-token") + synced(
        node_peers, srv, "control", "guest-token"
    )
    assert get(srv, GUEST_PAGE)[0] == 200  # one seat of two taken: still room

    seated += synced(node_peers, srv, "board", "guest-token")
    seated += synced(node_peers, srv, "control", "guest-token")
    wait_for(lambda: srv.call(shared.seats_left) == 0, 5, "every seat taken")
    status, headers, body = get(srv, GUEST_PAGE, Accept_Encoding="gzip")
    assert status == 503
    assert headers["retry-after"] == "10"
    assert headers["cache-control"] == "no-store" and "etag" not in headers
    assert headers["content-type"].startswith("text/html")
    text = body.decode()
    assert "This meeting is full" in text and "<meta http-equiv=refresh content=10>" in text
    # Not even a page held in the browser's cache: a 503 comes before any 304.
    assert get(srv, GUEST_PAGE, If_None_Match="*")[0] == 503

    assert get(srv, HOST_PAGE)[0] == 200  # the host is never refused
    assert get(srv, "/s/room1/?token=wrong")[0] == 403  # a bad link is still a bad link

    for peer in seated[-2:]:  # someone leaves (a page holds a seat in both rooms)
        peer.kill()
    wait_for(lambda: get(srv, GUEST_PAGE)[0] == 200, 10, "a seat freed")


def test_the_full_page_lets_the_guest_in_by_itself_once_a_seat_frees(
    server, node_peers, browser
) -> None:
    srv, shared = server
    srv.call(shared.set_max_people, 1)
    seated = synced(node_peers, srv, "board", "guest-token")
    seated += synced(node_peers, srv, "control", "guest-token")
    ctx = browser.new_context()
    try:
        tab = ctx.new_page()
        tab.goto(f"http://127.0.0.1:{srv.port}{GUEST_PAGE}")
        assert tab.title() == "This meeting is full"
        for peer in seated:
            peer.kill()
        # No click, no reload by the person: the page tries again after Retry-After.
        tab.wait_for_selector("#jupyterspot-root", state="attached", timeout=20_000)
    finally:
        ctx.close()
