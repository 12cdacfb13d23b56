"""Issue 16 items 7 and 9 at build time, with hatchling's own `hatchling build` on a copy of the
project's files (the built viewer left out, or put in): without npm the build stops with one line
saying so (hatch_build.py), not hatch-jupyter-builder's traceback; with the viewer built, the
sdist and the wheel carry LICENSE and the wheel's metadata names it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO

pytest.importorskip("hatchling", reason="the build tests need hatchling (the test extras)")
pytest.importorskip("hatch_jupyter_builder", reason="and hatch-jupyter-builder")

PROJECT_FILES = ["pyproject.toml", "hatch_build.py", "LICENSE", "README.md"]
STATIC = "jupyterspot_magic/static"


def project_copy(root: Path, with_viewer: bool) -> Path:
    """The files a build reads: pyproject, the hook, LICENSE, README and the package."""
    for name in PROJECT_FILES:
        shutil.copy(REPO / name, root / name)
    shutil.copytree(
        REPO / "jupyterspot_magic",
        root / "jupyterspot_magic",
        ignore=shutil.ignore_patterns("__pycache__", *([] if with_viewer else ["static"])),
    )
    return root


def build(root: Path, path: str, *targets: str) -> subprocess.CompletedProcess:
    """`hatchling build` (no build isolation: the installed hatchling and its plugin) with PATH
    set to `path`."""
    flags = [arg for t in targets for arg in ("-t", t)]
    return subprocess.run(
        [sys.executable, "-m", "hatchling", "build", *flags, "-d", str(root / "dist")],
        cwd=root,
        env={"PATH": path, "HOME": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_without_npm_one_line(tmp_path: Path) -> None:
    """No npm on PATH and no built viewer: exit 1, one line naming npm, no traceback (was
    `ValueError: Aborting. Could not find cmd (npm) in path` under a traceback)."""
    root = project_copy(tmp_path, with_viewer=False)
    done = build(root, str(tmp_path / "no-such-bin"), "wheel")
    said = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode != 0
    assert len(said) == 1 and "needs npm" in said[0] and "Node.js" in said[0], said
    assert not (root / "dist").exists() or not list((root / "dist").iterdir())


def test_license_in_sdist_and_wheel(tmp_path: Path) -> None:
    """The viewer already built (so no npm runs): LICENSE is in the sdist, in the wheel's
    .dist-info/licenses, and named by the wheel's metadata."""
    if not (REPO / STATIC / "viewer.js").is_file():
        pytest.fail("the viewer is not built: npm run build")
    root = project_copy(tmp_path, with_viewer=True)
    done = build(root, "/usr/bin:/bin", "sdist", "wheel")
    assert done.returncode == 0, done.stderr[-2000:]
    license_text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert "BSD 3-Clause" in license_text and "jupyterspot-magic contributors" in license_text
    (sdist,) = (root / "dist").glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
        top = names[0].split("/")[0]
        assert f"{top}/LICENSE" in names and f"{top}/hatch_build.py" in names
    (wheel,) = (root / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as whl:
        info = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
        dist_info = info.rsplit("/", 1)[0]
        assert whl.read(f"{dist_info}/licenses/LICENSE").decode() == license_text
        metadata = whl.read(info).decode()
        assert "License-File: LICENSE" in metadata
        assert "License-Expression: BSD-3-Clause" in metadata
        assert f"{STATIC}/viewer.js" in whl.namelist()
