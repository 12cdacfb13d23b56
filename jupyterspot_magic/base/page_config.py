"""The page-config block: what a served or exported page tells the viewer, built in one place.

Every page carries one `<script id="jupyterspot-config" type="application/json">` element that
the viewer reads (js/viewer/config.ts). Its keys and their types are the contract in
`jupyterspot_magic/contracts/page_config.json`, read by the viewer's types too; `config_block`
refuses a config with a key missing, unknown or of the wrong type, so the two sides cannot drift.
Both the share's pages (server/pages.py) and exported files (content/export.py) are built here.
The block never holds a token: the viewer takes it from its own URL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .paths import CONTRACTS_DIR

CONTRACT_PATH = CONTRACTS_DIR / "page_config.json"
# key -> {"type": "string" | "number" | "boolean" | "a|b" (a union, "null" allowed),
#         "values": [...] (optional: the only values allowed), "doc": one line}
CONTRACT: dict[str, dict[str, Any]] = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
ELEMENT_ID = "jupyterspot-config"
REF_WIDTH = 1000  # px: the notebook is laid out at this width everywhere, then scaled to fit
# control.leader when the running cell leads (collab/lead.py): the contract holds the value
KERNEL_LEADER: int = CONTRACT["kernelLeader"]["values"][0]


class PageConfigError(ValueError):
    """A page config that does not match contracts/page_config.json (a bug, never user input)."""


def page_config(
    *,
    room: str,
    role: str,
    ws_base: str,
    version: str,
    cells: int,
    title: str,
    offline: bool = False,
    relay: str = "",
    e2e: bool = False,
    presenter: str = "",
) -> dict[str, Any]:
    """Every key of the contract, in its order; `refWidth` is REF_WIDTH for every page."""
    return {
        "room": room,
        "role": role,
        "wsBase": ws_base,
        "refWidth": REF_WIDTH,
        "version": version,
        "cells": cells,
        "title": title,
        "offline": offline,
        "relay": relay,
        "e2e": e2e,
        "kernelLeader": KERNEL_LEADER,
        "presenter": presenter,
    }


def check(config: Mapping[str, Any]) -> None:
    """Raise PageConfigError unless `config` has exactly the contract's keys, each well typed."""
    missing = CONTRACT.keys() - config.keys()
    unknown = config.keys() - CONTRACT.keys()
    if missing or unknown:
        raise PageConfigError(f"page config: missing {sorted(missing)}, unknown {sorted(unknown)}")
    for key, spec in CONTRACT.items():
        value = config[key]
        if not any(_is_type(value, t) for t in spec["type"].split("|")):
            raise PageConfigError(f"page config: {key}={value!r} is not {spec['type']}")
        if "values" in spec and value not in spec["values"]:
            raise PageConfigError(f"page config: {key}={value!r} is not one of {spec['values']}")


def _is_type(value: Any, name: str) -> bool:
    if name == "string":
        return isinstance(value, str)
    if name == "number":  # a bool is an int in Python, never a number in JSON
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    raise PageConfigError(f"page config contract: unknown type {name!r}")


def config_block(config: Mapping[str, Any]) -> str:
    """The checked config as its script element."""
    check(config)
    # "<" escaped so no value can close the script element
    text = json.dumps(dict(config)).replace("<", "\\u003c")
    return f'<script id="{ELEMENT_ID}" type="application/json">{text}</script>'
