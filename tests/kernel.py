"""A real IPython kernel (jupyter_client) for the tests, with helpers to run code in it."""

from __future__ import annotations

import json
import os
import queue
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jupyter_client.manager import KernelManager

from .processes import rss_mb


class Kernel:
    def __init__(self, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(cwd), env={**os.environ, **(env or {})})
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.iopub: list[dict] = []

    def execute(self, code: str, timeout: float = 60) -> dict:
        """Run code, wait for it; returns {'stdout', 'error', 'outputs', 'messages'}."""
        msg_id = self.kc.execute(code)
        return self.collect(msg_id, timeout)

    def start(self, code: str) -> str:
        """Run code without waiting (the kernel stays busy); collect() it later."""
        return self.kc.execute(code)

    def collect(self, msg_id: str, timeout: float = 60) -> dict:
        stdout, outputs, messages, error = [], [], [], None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"kernel did not finish within {timeout}s")
            try:
                msg = self.kc.get_iopub_msg(timeout=left)
            except queue.Empty:
                continue
            msg["received"] = time.monotonic()
            self.iopub.append(msg)
            if msg["parent_header"].get("msg_id") != msg_id and msg["msg_type"] != "comm_msg":
                continue
            messages.append(msg)
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content["name"] == "stdout":
                stdout.append(content["text"])
            elif kind in ("display_data", "execute_result"):
                outputs.append(content)
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif (
                kind == "status"
                and content["execution_state"] == "idle"
                and (msg["parent_header"].get("msg_id") == msg_id)
            ):
                return {
                    "stdout": "".join(stdout),
                    "outputs": outputs,
                    "error": error,
                    "messages": messages,
                }

    def json(self, code: str, timeout: float = 60):
        """Run code whose last stdout line is JSON; return it parsed."""
        result = self.execute(code, timeout)
        assert result["error"] is None, result["error"]
        return json.loads(result["stdout"].strip().splitlines()[-1])

    def rss_mb(self) -> float:
        """The kernel process's resident memory (Linux /proc), in MB."""
        return rss_mb(self.km.provisioner.process.pid)

    def shutdown(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=True)


@contextmanager
def sharing_kernel(repo: Path, notebook: Path) -> Iterator[Kernel]:
    """A kernel that ran `%jupyterspot share NOTEBOOK --tunnel none` (stopped afterwards)."""
    k = Kernel(repo)
    k.execute(f"%load_ext jupyterspot_magic\n%jupyterspot share {notebook} --tunnel none")
    try:
        yield k
    finally:
        k.execute("%jupyterspot stop")
        k.shutdown()


def share_info(kernel: Kernel) -> dict:
    """The kernel's current share: url, host_url, ws_url, room, tokens (the CLI's --json)."""
    return kernel.json("import json, jupyterspot_magic as j; print(json.dumps(j.current().info()))")
