"""Benchmarks never touch the user's boards or render cache, and start on an empty board."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
# Scripts that share or start a kernel but keep their data elsewhere on purpose:
# share_time.py hands its kernel a TemporaryDirectory for both; page_reload.py is the PAGES area's.
OWN_DIRS = {"share_time.py", "page_reload.py"}


def test_isolate_overrides_the_environment_with_new_empty_dirs_removed_at_exit(tmp_path):
    code = (
        "import json, os, sys; sys.path.insert(0, sys.argv[1])\n"
        "from bench.isolated import isolate\n"
        "d = isolate()\n"
        "print(json.dumps({k: [os.environ[k], os.listdir(v)] for k, v in d.items()}))"
    )
    env = {
        **os.environ,
        "JUPYTERSPOT_DATA_DIR": str(tmp_path / "users-data"),
        "JUPYTERSPOT_CACHE_DIR": str(tmp_path / "users-cache"),
    }
    out = subprocess.run(
        [sys.executable, "-c", code, str(REPO)], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    dirs = json.loads(out.stdout)
    assert set(dirs) == {"JUPYTERSPOT_DATA_DIR", "JUPYTERSPOT_CACHE_DIR"}
    paths = [Path(path) for path, _ in dirs.values()]
    assert len(set(paths)) == 2 and all(listing == [] for _, listing in dirs.values())
    assert not any(str(p).startswith(str(tmp_path)) for p in paths)  # not the preset ones
    assert not any(p.exists() for p in paths)  # removed when the process ended


def test_every_benchmark_that_shares_runs_on_temporary_dirs():
    shares = re.compile(r"\bshare\(|Kernel\(|our_share\(|node_server\(")
    missing = [
        p.name
        for p in sorted(BENCH.glob("*.py"))
        if p.name not in OWN_DIRS
        # helpers: their callers isolate
        and p.name not in ("crowd.py", "isolated.py", "e2e_share.py")
        and shares.search(p.read_text())
        and "isolate()" not in p.read_text()
    ]
    assert missing == []


def test_fanout_kernel_gives_every_row_a_new_share_without_the_store():
    text = (BENCH / "fanout_kernel.py").read_text()
    assert "store=False" in text and "fresh=True" not in text
    assert "FANOUT_SCENARIOS" in text  # one scenario per fanout_run.sh call, one share each
