"""Run tests with every core saturated by a busy loop (issue 11, "Must show").

The saturation: one `python -c "while True: pass"` process per core (os.cpu_count(), 2 on the CI
machine), started before the runs and killed (by their own pids) afterwards, whatever happens.
They run at normal priority, so Chromium, the share server and pytest compete with them for CPU.

    python -m tests.saturate --runs 20 -- tests/test_annotations.py -q

runs pytest with the given arguments `--runs` times in a row while the busy loops run, prints one
line per run (exit code, passed/failed counts, seconds) and a summary, and exits 0 only if every
run passed. `--busy N` changes the number of busy loops.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

BUSY_LOOP = "while True: pass"


def _interrupt(signum, frame):  # SIGTERM: unwind (and kill the busy loops) like Ctrl-C
    raise KeyboardInterrupt


@contextlib.contextmanager
def saturated(n: int | None = None) -> Iterator[list[subprocess.Popen]]:
    """`n` (default: one per core) busy-loop processes for the duration of the block; they are
    killed (SIGKILL, by pid) when it ends, also on Ctrl-C or SIGTERM."""
    n = n or os.cpu_count() or 2
    signal.signal(signal.SIGTERM, _interrupt)
    procs = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(n)]
    try:
        yield procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait(10)


def busy_share(pids: list[int]) -> float:
    """CPU time the busy loops got so far, in seconds (from /proc; 0 where unreadable)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--busy", type=int, default=None, help="busy loops (default: one a core)")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args(argv)
    results: list[tuple[int, str, float]] = []
    with saturated(args.busy) as procs:
        pids = [p.pid for p in procs]
        print(f"saturating with {len(procs)} busy loops (pids {pids}): {BUSY_LOOP!r}", flush=True)
        time.sleep(0.5)
        for i in range(1, args.runs + 1):
            cpu0 = busy_share(pids)
            t0 = time.monotonic()
            out = subprocess.run(
                [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args.pytest_args],
                capture_output=True,
                text=True,
            )
            took = time.monotonic() - t0
            summary = (out.stdout.strip().splitlines() or [""])[-1]
            busy = (busy_share(pids) - cpu0) / took if took else 0.0
            results.append((out.returncode, summary, took))
            print(
                f"run {i:2d}: exit {out.returncode}  {took:6.1f} s  busy loops used"
                f" {busy:.2f} cores  | {summary}",
                flush=True,
            )
            if out.returncode:
                print(out.stdout[-6000:], out.stderr[-2000:], sep="\n", flush=True)
    ok = sum(1 for rc, _, _ in results if rc == 0)
    times = [t for _, _, t in results]
    passed = sum(
        int(m.group(1)) for _, s, _ in results for m in [re.search(r"(\d+) passed", s)] if m
    )
    print(
        f"{ok}/{len(results)} runs passed ({passed} test passes);"
        f" run time min {min(times):.1f} s, median {sorted(times)[len(times) // 2]:.1f} s,"
        f" max {max(times):.1f} s, total {sum(times):.1f} s",
        flush=True,
    )
    return 0 if ok == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
