"""Cost of the board schema check (issue 11) on the server's event loop.

The share server decodes and checks every incoming Yjs update (`Validator.check`) on its event
loop before pycrdt applies it, then indexes it (`Validator.commit`) and compares the index with
yrs' state vector (`Room._apply_remote` does the apply and both), and checks every awareness state
(`checked_state`): these times bound the loop stall each message adds. Updates are made by the
real yjs the way the viewer makes them (bench/schema_updates.mjs): pen gestures (the shape's add,
growing `pts` writes, the release write), one 4,000-stroke reconnect (~48,000 structs, the most
one message may carry), and a ~20 MB board, whose initial sync is cut with `split_update` (in a
worker thread above 8 MiB, but pure Python: it holds the GIL the loop needs).
For scale, the same updates applied by pycrdt (`Doc.apply_update`, what follows the check) and
the board encoded by pycrdt (`Doc.get_update`, the sync step 2 on the loop).

Usage: python bench/schema_check.py [STROKES] [BOARD_MB] [REPEAT]   (default 2000 20.2 5)
"""

from __future__ import annotations

import json
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pycrdt import Doc  # noqa: E402

from jupyterspot_magic.collab import codec, schema  # noqa: E402
from jupyterspot_magic.collab.room import SYNC_CHUNK, Room, checked_state  # noqa: E402

KINDS = {0: "stroke add (map + 11 fields)", 1: "stroke pts write (1 struct)"}


def stats(name: str, times_ns: list[int], structs: int | None = None, unit: str = "us") -> dict:
    scale = 1e3 if unit == "us" else 1e6
    t = sorted(x / scale for x in times_ns)
    p95 = t[min(len(t) - 1, int(0.95 * len(t)))]
    row = {"what": name, "n": len(t), "median": statistics.median(t), "p95": p95, "max": t[-1]}
    row["unit"] = unit
    if structs:
        row["per_struct_us"] = statistics.median(t) * (1 if unit == "us" else 1e3) / structs
    return row


def print_rows(rows: list[dict]) -> None:
    print(f"\n{'what':72} {'n':>6} {'median':>10} {'p95':>10} {'max':>10}  per struct")
    for r in rows:
        u = r["unit"]
        per = f"{r['per_struct_us']:.2f} us" if r.get("per_struct_us") else ""
        print(
            f"{r['what']:72} {r['n']:>6} {r['median']:>7.1f} {u} {r['p95']:>7.1f} {u} "
            f"{r['max']:>7.1f} {u}  {per}"
        )


def read_records(path: Path) -> list[tuple[int, bytes]]:
    data, out, pos = path.read_bytes(), [], 0
    while pos < len(data):
        kind, length = struct.unpack_from("<BI", data, pos)
        out.append((kind, data[pos + 5 : pos + 5 + length]))
        pos += 5 + length
    return out


def main() -> None:
    strokes = sys.argv[1] if len(sys.argv) > 1 else "2000"
    board_mb = sys.argv[2] if len(sys.argv) > 2 else "20.2"
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        made = subprocess.run(
            ["node", str(REPO / "bench" / "schema_updates.mjs"), tmp, strokes, board_mb],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        info = json.loads(made.stdout)
        gestures = read_records(Path(tmp) / "gestures.bin")
        reconnect = (Path(tmp) / "reconnect.bin").read_bytes()
        board = (Path(tmp) / "board.bin").read_bytes()

    # 1. gestures, in order, on one board (the index grows as on a live board), through the
    # room's own path: Validator.check, then Room._apply_remote (pycrdt applies it, the index
    # commits it and is compared with yrs' state vector, the relay message is encoded)
    room = Room("board")
    times: dict[int, list[int]] = {0: [], 1: []}
    applied: dict[int, list[int]] = {0: [], 1: []}
    plain: dict[int, list[int]] = {0: [], 1: []}
    structs: dict[int, int] = {0: 0, 1: 0}
    doc = Doc()
    for kind, update in gestures:
        t0 = time.perf_counter_ns()
        checked = room.validator.check(update)
        t1 = time.perf_counter_ns()
        room._apply_remote(None, update, checked)
        t2 = time.perf_counter_ns()
        doc.apply_update(update)
        t3 = time.perf_counter_ns()
        times[kind].append(t1 - t0)
        applied[kind].append(t2 - t1)
        plain[kind].append(t3 - t2)
        structs[kind] = len(codec.decode_update(update).structs)  # same for every one
    for kind in (0, 1):
        rows.append(stats(f"Validator.check: {KINDS[kind]}", times[kind], structs[kind]))
    for kind in (0, 1):
        rows.append(
            stats(
                f"  Room._apply_remote (apply, commit, index match): {KINDS[kind]}", applied[kind]
            )
        )
    for kind in (0, 1):
        rows.append(stats(f"  for scale, plain pycrdt apply_update: {KINDS[kind]}", plain[kind]))

    # 2. awareness: a page's state with a cursor (parse + schema check, per state relayed)
    state = json.dumps(
        {
            "user": {"name": "Guest 0421", "color": "#1c7ed6", "role": "guest"},
            "cursor": {"cell": "oscillator-plot", "x": 412.3, "y": 88.1},
            "scroll": {"cell": "table-md", "offset": 12.5, "index": 4, "count": 13},
        },
        separators=(",", ":"),
    )
    aw = []
    for _ in range(2000):
        t0 = time.perf_counter_ns()
        checked_state(state, "guest")
        aw.append(time.perf_counter_ns() - t0)
    rows.append(stats(f"awareness state with cursor ({len(state)} B): checked_state", aw))

    # 3. one message at the struct cap: a 4,000-stroke reconnect on an empty board
    big, big_apply = [], []
    n_structs = len(codec.decode_update(reconnect).structs)
    for _ in range(repeat):
        validator = schema.Validator(schema.BOARD)
        t0 = time.perf_counter_ns()
        checked = validator.check(reconnect)
        validator.commit(checked)
        big.append(time.perf_counter_ns() - t0)
        d = Doc()
        t0 = time.perf_counter_ns()
        d.apply_update(reconnect)
        big_apply.append(time.perf_counter_ns() - t0)
    label = (
        f"check+commit: 4,000-stroke reconnect ({len(reconnect) / 1e6:.1f} MB, {n_structs} structs)"
    )
    rows.append(stats(label, big, n_structs, unit="ms"))
    rows.append(stats("  for scale, pycrdt apply_update of it", big_apply, unit="ms"))

    # 4. the initial sync of a ~20 MB board: the server's own encoding, cut in 1 MiB pieces
    d = Doc()
    d.apply_update(board)
    encode, split, pieces, n_board = [], [], 0, 0
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        state_update = d.get_update()
        encode.append(time.perf_counter_ns() - t0)
        t0 = time.perf_counter_ns()
        pieces = len(codec.split_update(state_update, SYNC_CHUNK))
        split.append(time.perf_counter_ns() - t0)
    n_board = len(codec.decode_update(state_update, max_structs=1 << 62).structs)
    mb = len(state_update) / 1e6
    rows.append(
        stats(
            f"split_update: {mb:.1f} MB board ({n_board} structs, {pieces} pieces)",
            split,
            n_board,
            unit="ms",
        )
    )
    rows.append(
        stats("  for scale, pycrdt get_update of that board (on the loop)", encode, unit="ms")
    )

    print(json.dumps({"generated": info, "gestures": len(gestures)}))
    print_rows(rows)


if __name__ == "__main__":
    main()
