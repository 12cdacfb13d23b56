"""Where the package's data lives: the built viewer bundle and the JSON contracts."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# The viewer bundle (js/ built by `npm run build`; never committed): served by server/pages.py,
# inlined into exported files by content/export.py.
STATIC_DIR = PACKAGE_DIR / "static"
# JSON read by both Python and the TypeScript viewer: the single source of each contract.
CONTRACTS_DIR = PACKAGE_DIR / "contracts"
