"""`jupyterspot share NOTEBOOK`: share from a terminal, until Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import gc
import json
import signal
import sys
import threading
from importlib import metadata

from ..base import options
from ..content.locate import LocateError
from ..content.render import RenderError
from ..server.thread import ServeError
from ..session import registry
from ..tunnel import TunnelError, masked, save_token
from . import display


def version() -> str:
    try:
        return metadata.version("jupyterspot-magic")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jupyterspot", description=__doc__)
    p.add_argument(
        "--version", action="version", version=f"jupyterspot {version()}", help="print the version"
    )
    sub = p.add_subparsers(dest="command", required=True, title="actions", metavar="ACTION")
    s = sub.add_parser("share", help="share a notebook until interrupted")
    s.add_argument("notebook", help="path to the .ipynb file")
    options.add_arguments(s)
    s.add_argument("--json", action="store_true", help="print one JSON line when ready")
    t = sub.add_parser(
        "token",
        help="store your ngrok authtoken where ngrok keeps it (asked for when not given)",
    )
    t.add_argument("provider", choices=["ngrok"], help="whose token: ngrok")
    t.add_argument("token", nargs="?", help="the token (default: asked for, not echoed)")
    return p


def save_ngrok_token(token: str | None) -> int:
    """`jupyterspot token ngrok [TOKEN]`: stored (tunnel/ngrok.py save_token), shown masked."""
    import getpass

    if token is None:
        try:
            token = getpass.getpass("ngrok authtoken: ")
        except (EOFError, KeyboardInterrupt):
            return 2
    try:
        path = save_token(token)
    except TunnelError as e:
        print(f"jupyterspot: {e}", file=sys.stderr)
        return 2
    print(f"jupyterspot: ngrok token {masked(token.strip())} saved in {path}.")
    return 0


def print_progress(line: str) -> None:
    """Each step while the share starts, on stderr (stdout may be --json's one line)."""
    print(f"jupyterspot: {line}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    try:
        return run(argv)
    finally:
        # The interpreter's last garbage collection, over everything nbconvert and the server
        # client loaded, took ~3 s after a Ctrl-C; what needs closing was closed explicitly
        # (the share, its tunnel) or is by atexit (registry.py), so exit without it.
        gc.freeze()


def run(argv: list[str] | None) -> int:
    args = parser().parse_args(argv)
    if args.command == "token":
        return save_ngrok_token(args.token)
    # While the share starts, Ctrl-C (and SIGTERM) interrupt it: the start cleans up what it
    # opened (a download, a tunnel process) and we exit 130, in one line.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        result = registry.share(args.notebook, progress=print_progress, **options.from_args(args))
    except KeyboardInterrupt:
        print("jupyterspot: interrupted", file=sys.stderr, flush=True)
        return 130
    except (LocateError, RenderError, ServeError, TunnelError, ValueError) as e:
        print(f"jupyterspot: {e}", file=sys.stderr)
        return 2
    stop = threading.Event()
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    except KeyboardInterrupt:  # Ctrl-C as the share came up: stop it at once
        stop.set()
    return serve(args, result, stop)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def serve(args: argparse.Namespace, result: registry.Share, stop: threading.Event) -> int:
    """Show the share, keep it until `stop` is set (Ctrl-C / SIGTERM), stop it; the exit
    code."""
    if args.json:
        print(json.dumps(result.info()), flush=True)
    else:
        print(display.ready_text(result), flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        display.print_people_changes(result)  # not with --json: its one line is the contract
    display.print_link_changes(result)
    display.print_status_lines(result)
    while not stop.wait(0.5):
        pass
    problem = result.stop()
    if problem:  # the last write failed: say where it went
        print(f"jupyterspot: {problem}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
