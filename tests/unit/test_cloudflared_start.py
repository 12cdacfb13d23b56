"""tunnel/cloudflared.py starts cloudflared on its reader thread (the parent-death signal follows
that thread): whatever Popen raises there reaches open() as one TunnelError line, never a hang."""

from __future__ import annotations

import threading

from jupyterspot_magic.tunnel import cloudflared
from jupyterspot_magic.tunnel.base import TunnelError


def _open_in_thread(tunnel: cloudflared.CloudflaredTunnel) -> BaseException | None:
    """open() on a thread of its own, bounded: a hang is a failure, not a stuck test run."""
    raised: list[BaseException | None] = [None]

    def run() -> None:
        try:
            tunnel.open("127.0.0.1", 9)
        except BaseException as e:  # noqa: BLE001 - the test looks at it
            raised[0] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "open() hung when cloudflared could not start"
    return raised[0]


def test_a_program_that_cannot_run_is_one_line(tmp_path) -> None:
    missing = tmp_path / "no-cloudflared"
    error = _open_in_thread(cloudflared.CloudflaredTunnel(binary=str(missing)))
    assert isinstance(error, TunnelError) and "could not start" in str(error)


def test_a_failing_preexec_is_one_line_too(tmp_path, monkeypatch) -> None:
    def broken() -> None:
        raise RuntimeError("prctl failed")

    monkeypatch.setattr(cloudflared, "_parent_death_signal", lambda: broken)
    error = _open_in_thread(cloudflared.CloudflaredTunnel(binary="/bin/true"))
    assert isinstance(error, TunnelError) and "could not start" in str(error)
