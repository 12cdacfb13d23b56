"""`jupyterspot share NOTEBOOK`: share from a terminal, until Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from ..content.locate import LocateError
from ..content.render import RenderError
from ..server.thread import ServeError
from ..session import share as sharing
from ..tunnel.providers import PROVIDERS, TunnelError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jupyterspot", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("share", help="share a notebook until interrupted")
    s.add_argument("notebook", help="path to the .ipynb file")
    s.add_argument("--tunnel", default="auto", choices=PROVIDERS)
    s.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to share on your LAN")
    s.add_argument("--port", type=int, default=0, help="default: a free port")
    s.add_argument("--name", default=None, help="your display name in the presenter view")
    s.add_argument(
        "--public-url",
        default=None,
        help="the server's address behind your reverse proxy, maybe with a path prefix "
        "({port} is replaced by the port); replaces --tunnel",
    )
    s.add_argument(
        "--store",
        default=None,
        help="where the board is stored: a database file or folder, or 'none' (default: the "
        "user data dir); sharing the notebook again restores the board and its links",
    )
    s.add_argument("--fresh", action="store_true", help="start with a clean board (old one kept)")
    s.add_argument("--json", action="store_true", help="print one JSON line when ready")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        result = sharing.share(
            args.notebook,
            tunnel=args.tunnel,
            host=args.host,
            port=args.port,
            name=args.name,
            public_url=args.public_url,
            store=args.store,
            fresh=args.fresh,
        )
    except (LocateError, RenderError, ServeError, TunnelError) as e:
        print(f"jupyterspot: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.info()), flush=True)
    else:
        print(result.summary(), flush=True)
        for note in result.notes:
            print(f"  note: {note}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
    while not stop.wait(0.5):
        pass
    result.stop()
    keeper = result.board_keeper
    if keeper is not None and keeper.stop_message:  # the last write failed: say where it went
        print(f"jupyterspot: {keeper.stop_message}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
