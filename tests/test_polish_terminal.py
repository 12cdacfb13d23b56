"""Issue 16 item 8 in a terminal IPython (a real `python -m IPython` reading cells from a pipe):
sharing a notebook file that this IPython never ran says nothing about "the last saved version"
(its cells are in no notebook), and nbconvert's "Alternative text is missing" warning (the demo
has output pictures without alt text) does not reach the user's screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .conftest import DEMO

CELLS = """x = 1
%load_ext jupyterspot_magic
%jupyterspot share {notebook} --tunnel none
%jupyterspot stop
exit
"""


def test_terminal_share_has_no_false_note_and_no_alt_text_warning(tmp_path: Path) -> None:
    notebook = tmp_path / "lecture.ipynb"
    shutil.copy(DEMO, notebook)
    two_hours_ago = time.time() - 7200
    os.utime(notebook, (two_hours_ago, two_hours_ago))  # "saved 2 h ago", cells ran since
    env = {
        **os.environ,
        "IPYTHONDIR": str(tmp_path / "ipython"),  # its own history: cells 1-3 of this run
        "JUPYTERSPOT_CACHE_DIR": str(tmp_path / "cache"),  # rendered now: nbconvert runs
    }
    done = subprocess.run(
        [sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor"],
        input=CELLS.format(notebook=notebook),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    screen = done.stdout + done.stderr
    assert "link:" in screen and "jupyterspot: stopped." in screen, screen
    assert "last saved version" not in screen, screen
    assert "Alternative text" not in screen, screen
