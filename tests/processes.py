"""Child processes the tests and benches run, and the memory they measure (stdlib only: the
benches import this without pytest)."""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]


def rss_mb(pid: int | str = "self") -> float:
    """A process' resident memory (MB, Linux /proc); NaN once it has none (it ended). Default:
    this process, where the share server of the `server` fixture lives."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def end_process(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Ask the process to end (SIGTERM); kill it if it has not within `grace` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class LineProcess:
    """A child process whose output is read line by line in background threads, so that a full
    pipe never blocks it: stdout lines go to the queue `lines`; stderr lines, when piped, to the
    list `stderr` (else stderr stays the test's own, shown when it fails)."""

    def __init__(
        self,
        args: list[str],
        *,
        env: dict[str, str] | None = None,
        stdin: bool = False,
        stderr: bool = False,
    ) -> None:
        self.proc = subprocess.Popen(
            args,
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE if stdin else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if stderr else None,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self._pumps = [threading.Thread(target=_pump, args=(self.proc.stdout, self.lines.put))]
        if stderr:
            self._pumps.append(
                threading.Thread(target=_pump, args=(self.proc.stderr, self.stderr.append))
            )
        for pump in self._pumps:
            pump.daemon = True
            pump.start()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        for pump in self._pumps:
            pump.join(5)


def _pump(stream: IO[str] | None, put: Callable[[str], object]) -> None:
    assert stream is not None
    for line in stream:
        put(line)


def command() -> list[str]:
    """The console script pip installed next to this Python; else `python -m`."""
    script = Path(sys.executable).with_name("jupyterspot")
    if script.is_file():
        return [str(script)]
    found = shutil.which("jupyterspot")
    return [found] if found else [sys.executable, "-m", "jupyterspot_magic.frontends.cli"]


class Cli(LineProcess):
    """A running `jupyterspot` process (args after the command), stdout and stderr read."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        super().__init__([*command(), *args], env=env, stderr=True)

    def readline(self, timeout: float = 30) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output within {timeout}s; stderr: {self.stderr}") from None

    def stop(self, sig: signal.Signals, timeout: float = 5) -> int:
        """Send the signal; the exit code, which must come within `timeout` seconds."""
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        for pump in self._pumps:
            pump.join(5)
        return code
