"""The relay's colour rule (relay/colors.mjs) and the share server's (collab/colors.py) read one
table (contracts/colors.json) and agree on what a page may show before the kernel has answered:
a host the presenter's colour, a guest one of the guest colours or none (never the presenter's).
The assignment itself is the kernel's alone (tests/test_relay.py shows it on two instances)."""

from __future__ import annotations

import json
import subprocess

from jupyterspot_magic.collab.colors import GUEST_SLOTS, PALETTE, PRESENTER_SLOT

from ..processes import REPO

CASES = [
    ("guest", PALETTE[PRESENTER_SLOT], None),
    ("guest", PALETTE[GUEST_SLOTS[3]], None),
    ("guest", "#000000", None),
    ("guest", "red", None),
    ("guest", PALETTE[PRESENTER_SLOT], PALETTE[GUEST_SLOTS[1]]),
    ("host", "#000000", None),
    ("host", PALETTE[GUEST_SLOTS[0]], PALETTE[PRESENTER_SLOT]),
]


def relay_colours() -> tuple[dict, list]:
    script = (
        "import { enforceColor, loadPalette } from './relay/colors.mjs';"
        "const p = loadPalette('jupyterspot_magic/contracts');"
        "let t='';process.stdin.on('data',d=>t+=d).on('end',()=>{"
        "const out = JSON.parse(t).map(([role, color, assigned]) => {"
        "const s = {user: {name: 'x', color}}; enforceColor(s, role, assigned ?? undefined, p);"
        "return s.user.color ?? null});"
        "console.log(JSON.stringify([p, out]))})"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        input=json.dumps(CASES),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
        check=True,
    )
    palette, colours = json.loads(out.stdout)
    return palette, colours


def test_relay_reads_the_same_table_and_never_shows_a_guest_the_presenters_colour() -> None:
    palette, colours = relay_colours()
    assert palette == {
        "presenter": PALETTE[PRESENTER_SLOT],
        "guests": [PALETTE[i] for i in GUEST_SLOTS],
    }
    assert colours == [
        None,  # not assigned yet: dropped until the kernel answers
        PALETTE[GUEST_SLOTS[3]],
        None,
        None,
        PALETTE[GUEST_SLOTS[1]],  # the kernel's word wins over the claim
        PALETTE[PRESENTER_SLOT],
        PALETTE[PRESENTER_SLOT],
    ]
