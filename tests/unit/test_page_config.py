"""The page-config block against its contract (jupyterspot_magic/contracts/page_config.json)."""

from __future__ import annotations

import json
import re

import pytest

from jupyterspot_magic.base.page_config import (
    CONTRACT,
    REF_WIDTH,
    PageConfigError,
    check,
    config_block,
    page_config,
)

BLOCK = re.compile(r'^<script id="jupyterspot-config" type="application/json">(.*)</script>$')


def config(**changes: object) -> dict:
    base = page_config(
        room="r1", role="guest", ws_base="../../ws/r1", version="v", cells=3, title="t"
    )
    return {**base, **changes}


def test_contract_lists_each_key_with_a_known_type_and_a_doc() -> None:
    assert set(CONTRACT) == {
        "room",
        "role",
        "wsBase",
        "refWidth",
        "version",
        "cells",
        "title",
        "offline",
        "relay",
        "e2e",
        "kernelLeader",
        "presenter",
    }
    for key, spec in CONTRACT.items():
        assert set(spec["type"].split("|")) <= {"string", "number", "boolean", "null"}, key
        assert spec["doc"].strip() and "\n" not in spec["doc"], key


def test_the_builder_fills_every_key() -> None:
    built = config()
    check(built)
    assert list(built) == list(CONTRACT)  # the contract's order
    assert built["refWidth"] == REF_WIDTH and built["offline"] is False


def test_the_block_round_trips_and_cannot_close_its_element() -> None:
    block = config_block(config(title="</script><script>alert(1)</script>"))
    match = BLOCK.match(block)
    assert match and "<" not in match.group(1)
    assert json.loads(match.group(1))["title"] == "</script><script>alert(1)</script>"


@pytest.mark.parametrize(
    "bad",
    [
        {"extra": 1},  # unknown key
        {"cells": "3"},  # a number as a string
        {"cells": True},  # a bool is not a JSON number
        {"offline": 1},
        {"room": None},
        {"role": "admin"},  # outside the allowed values
    ],
)
def test_a_config_off_the_contract_is_refused(bad: dict) -> None:
    with pytest.raises(PageConfigError):
        config_block(config(**bad))


def test_a_missing_key_is_refused() -> None:
    built = config()
    del built["version"]
    with pytest.raises(PageConfigError, match="version"):
        check(built)
