"""bench/crowd.py + crowd.mjs keep working against a real share started through the public API
(a small crowd: presenter with the host link, 4 listeners, one join during a 1 s window)."""

from __future__ import annotations

import pytest

from bench import crowd


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTERSPOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JUPYTERSPOT_CACHE_DIR", str(tmp_path / "cache"))


def test_a_small_lecture_is_measured_on_an_empty_board(isolated):
    if not (crowd.WORK / "node_modules").is_dir() and not (crowd.SHARED / "package.json").exists():
        pytest.skip("the pinned Node packages of bench/fanout_run.sh are not available here")
    with (
        crowd.our_share(max_people=10) as server,
        crowd.Crowd(server, listeners=4, presenterHz=20, strokeEveryMs=200, timeout=60) as c,
    ):
        assert c.ready["listeners"] == 4 and c.ready["sockets"] == 10  # 5 pages x 2 rooms
        assert c.ready["docAtSync"]["bytes"] == 2  # an empty document: the share's own board
        r = c.measure("t", 1, 1)
    assert "closes" not in r, r["closes"]
    assert r["presenter"]["n"] >= 4 * 10  # 20 Hz at 4 listeners for 1 s, with slack
    assert r["strokes"]["n"] >= 4 * 3
    assert r["joins"]["n"] == 1 and r["joins"]["max"] < 10_000
    assert r["bytes"]["perListenerPerSec"] > 1000  # the presenter's cursor alone is ~4 KB/s
    assert r["serverCpu"] > 0 and r["clientCpu"] > 0
