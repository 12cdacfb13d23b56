"""A refusal's close reason quotes what the guest sent: it must still fit a close frame.

The schema's message names a root map (`unknown root '…'`, up to 40 characters); 40 astral
characters are 160 UTF-8 bytes, more than a close frame's 123. Cut by characters (`[:100]`), the
websocket library refused to send that close and the refused socket was not closed with its
code. Real server on loopback, a raw websocket client."""

from __future__ import annotations

import pytest
from pycrdt import Doc, Map, create_update_message
from websockets.sync.client import connect

from jupyterspot_magic.collab.close_codes import CLOSE_BAD_FRAME, MAX_REASON

from .room_server import base


def test_a_reason_quoting_astral_text_fits_the_close_frame(server) -> None:
    srv, _shared = server
    doc = Doc()
    doc.get("\U0001f600" * 60, type=Map)["k"] = 1  # an unknown root, named to fill the reason
    with connect(f"{base(srv)}/board?token=guest-token", max_size=None) as ws:
        ws.send(create_update_message(doc.get_update()))
        with pytest.raises(Exception) as closed:
            while True:
                ws.recv(timeout=10)
    frame = getattr(closed.value, "rcvd", None)
    assert frame is not None and frame.code == CLOSE_BAD_FRAME, closed.value
    assert 0 < len(frame.reason.encode()) <= MAX_REASON
