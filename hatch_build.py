"""Build hook: one clear line when the viewer cannot be built (issue 16 item 7).

The wheel carries jupyterspot_magic/static/ (the shared page's viewer and the notebook widget),
which `npm run build` makes from js/. hatch-jupyter-builder, the next hook in pyproject.toml,
runs it unless those files exist (its `skip-if-exists`); without npm it fails with a traceback
about a missing executable. This hook runs first and, in that case only, stops the build with a
line saying what is missing and what to do.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUILDER = "jupyter-builder"


def missing_npm(
    root: Path, built: Iterable[str], which: Callable[[str], str | None] = shutil.which
) -> str | None:
    """The message when the viewer must be built (a file of `built` is missing) and npm is
    not on PATH; None when the build can go on."""
    if all((root / name).is_file() for name in built) or which("npm"):
        return None
    return (
        "jupyterspot-magic: building the viewer (jupyterspot_magic/static/) needs npm, which is "
        "not on PATH: install Node.js 18 or newer and build again, or install a released wheel"
    )


class NpmCheck(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        built = self.build_config.hook_config.get(BUILDER, {}).get("skip-if-exists", [])
        problem = missing_npm(Path(self.root), built)
        if problem:
            # SystemExit: the line alone (pip shows it as the build's output), no traceback
            raise SystemExit(problem)
