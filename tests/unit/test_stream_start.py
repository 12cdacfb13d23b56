"""A live stream that cannot start leaves nothing behind (session/stream.py): its hooks were
installed before the IOPub listener, so a listener that failed left saves going to a stream that
never flushes. The shell and the updater are stand-ins (no kernel is needed to show the order);
the listener fails for real: a connection info without a port."""

from __future__ import annotations

import pytest

from jupyterspot_magic.content.outputs import LiveNotebook
from jupyterspot_magic.session.stream import LiveStream


class Events:
    def __init__(self) -> None:
        self.callbacks: list[tuple[str, object]] = []

    def register(self, name: str, fn: object) -> None:
        self.callbacks.append((name, fn))

    def unregister(self, name: str, fn: object) -> None:
        self.callbacks.remove((name, fn))


class Shell:
    def __init__(self) -> None:
        self.events = Events()


class Updater:
    saved_hook = None


def test_a_stream_that_fails_to_start_installs_no_hooks() -> None:
    shell, updater = Shell(), Updater()
    empty = LiveNotebook({"cells": [], "nbformat": 4, "nbformat_minor": 5})
    with pytest.raises(KeyError):  # no iopub_port: the listener cannot connect
        LiveStream(shell, {"key": ""}, empty, updater, lambda _state: None)  # type: ignore[arg-type]
    assert shell.events.callbacks == [] and updater.saved_hook is None
