"""The share options, written once: `ShareOptions` is the table.

Each field is one option: its name (the keyword of `jupyterspot_magic.share()` and of
`session.registry.share()`), its type and default, its help text, and its flag (the same on
`%jupyterspot share` and on `jupyterspot share`; None: Python only). The magic's and the CLI's
parsers are built from it (`add_arguments`), the parsed flags turn back into keywords
(`from_args`), and a running share is "the same share" only when every option whose `restarts`
is set is equal (`same_share`): a new option cannot be forgotten in any of those places.

`display` is not here: it is how `jupyterspot_magic.share()` shows the share, not a property of
the share (jupyterspot_magic/__init__.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import inspect
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

# How others reach the page (tunnel/choose.py opens them: its PROVIDERS are these).
TUNNELS = ("auto", "none", "ngrok", "cloudflared")
# Audience mode (collab/audience.py): auto switches it on for big rooms.
AUDIENCE_MODES = ("auto", "on", "off")
# End-to-end encryption (collab/seal.py): auto is on whenever the link leaves this machine.
E2E_MODES = ("auto", "on", "off")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# A name's length on the page (js/viewer/config.ts MAX_NAME_LENGTH): the presenter's default too.
NAME_LIMIT = 40
# What the page's cleanName (js/viewer/config.ts) collapses: control characters and whitespace.
_NAME_SPACE = re.compile(r"[\x00-\x1f\x7f\s]+")


def clean_name(name: object) -> str:
    """A display name as the page keeps it: one line, at most NAME_LIMIT characters."""
    text = _NAME_SPACE.sub(" ", name).strip() if isinstance(name, str) else ""
    return text[:NAME_LIMIT]


# The name shown for a presenter whose account name says nothing about them.
PRESENTER = "Presenter"
# Account names of containers, clouds and CI, not of a person (Colab and Docker run as root,
# Binder as jovyan): guests would follow "root".
GENERIC_ACCOUNTS = frozenset(
    {
        "root", "jovyan", "user", "admin", "administrator", "ubuntu", "ec2-user", "runner",
        "colab", "debian", "centos", "fedora", "vagrant", "docker", "nobody", "jupyter",
        "notebook", "default", "guest", "codespace", "gitpod", "vscode", "node", "app",
    }
)  # fmt: skip


def presenter_name() -> str:
    """The presenter's name when --name is not given (issue 16 item 4: never "Guest 0867"):
    JupyterHub's user, else the login name. Every guest sees it, so an e-mail-like hub name
    gives only its part before "@", and a generic account (root, jovyan, ...) or none at all
    gives PRESENTER."""
    name = os.environ.get("JUPYTERHUB_USER", "")
    if not clean_name(name):
        try:
            name = getpass.getuser()
        except Exception:  # no USER/LOGNAME and no passwd entry (some containers)
            name = ""
    name = clean_name(name.split("@", 1)[0])
    return PRESENTER if not name or name.lower() in GENERIC_ACCOUNTS else name


def people_count(text: str) -> int:
    """--max-people's value: a whole number >= 1 (argparse shows the message on one line)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def option(
    default: Any,
    flag: str | None,
    help: str,  # noqa: A002 - argparse's name for it
    *,
    parse: type | None = None,
    choices: tuple[str, ...] | None = None,
    restarts: bool = True,
    also: dict[str, tuple[Any, str]] | None = None,
) -> Any:
    """One row of the table. `parse`: argparse's `type`; a bool option with a flag is a switch
    (`store_true`). `restarts=False`: a change is applied to the running share instead of
    sharing anew (`fresh` clears the board in place: the people and the link stay). `also`:
    switches that set one value, with their help (`--no-e2e` sets e2e to "off")."""
    meta = {
        "flag": flag,
        "help": help,
        "parse": parse,
        "choices": choices,
        "restarts": restarts,
        "also": also or {},
    }
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class ShareOptions:
    """Everything a share can be asked for besides the notebook (see the module docstring)."""

    tunnel: str = option(
        "auto",
        "--tunnel",
        "How others reach the page: none (this machine or LAN), ngrok, cloudflared, "
        "auto (default).",
        choices=TUNNELS,
    )
    host: str = option(
        "127.0.0.1",
        "--host",
        "Address to listen on; 0.0.0.0 to share on your LAN. Default 127.0.0.1.",
    )
    port: int = option(0, "--port", "Port to listen on. Default: a free port.", parse=int)
    name: str | None = option(
        None,
        "--name",
        "Your name as everyone sees it; it wins over a name you typed in the page. Default: your "
        "JupyterHub user (before any @), else your login name (root, jovyan and such: "
        "Presenter), used until you type one in the page.",
    )
    public_url: str | None = option(
        None,
        "--public-url",
        "The server's address behind your own reverse proxy (jupyter-server-proxy, nginx), "
        "maybe with a path prefix; {port} is replaced by the port. Replaces --tunnel.",
    )
    store: str | Path | bool | None = option(
        None,
        "--store",
        "Where the board is stored (a database file or folder; 'none': not stored). "
        "Default: the user data dir. Sharing the notebook again restores it and its links.",
    )
    fresh: bool = option(
        False, "--fresh", "Start with a clean board (old one kept).", restarts=False
    )
    watch: bool = option(True, None, "Saving the notebook updates every page within a second.")
    live: bool = option(
        True,
        "--no-live",
        "Stream what the kernel runs (sources and outputs) to every page without a save "
        "(default). --no-live: only saves update the page.",
        also={"--live": (True, "Stream what the kernel runs (the default; undoes --no-live).")},
    )
    max_people: int = option(
        500,
        "--max-people",
        "Guests who may be in at once (default 500); the presenter always gets in.",
        parse=people_count,
    )
    audience: str = option(
        "auto",
        "--audience",
        "Audience mode: guests see the presenter, the speakers and a head count instead of "
        "everyone's cursor. auto (default: on above 50 people), on, off.",
        choices=AUDIENCE_MODES,
    )
    relay: str | None = option(
        None,
        "--relay",
        "Publish the rooms through your relay (relay/ in the repository, ws:// or wss:// URL): "
        "guests connect there, the kernel connects out to it with JUPYTERSPOT_RELAY_SECRET.",
    )
    e2e: str = option(
        "auto",
        "--e2e",
        "End-to-end encryption: the key travels only in the link's #fragment and the tunnel "
        "sees ciphertext. auto (default: on when the link leaves this machine), on, off.",
        choices=E2E_MODES,
        also={"--no-e2e": ("off", "The same as --e2e off.")},
    )

    def __post_init__(self) -> None:
        # The Python API reaches here without argparse: the same checks, one line each.
        people = self.max_people
        if isinstance(people, bool) or not isinstance(people, int) or people < 1:
            raise ValueError(f"max_people must be a whole number of at least 1, not {people!r}")
        if self.audience not in AUDIENCE_MODES:
            modes = ", ".join(AUDIENCE_MODES)
            raise ValueError(f"audience must be one of {modes}, not {self.audience!r}")
        if isinstance(self.e2e, bool):  # share(..., e2e=False) reads naturally too
            object.__setattr__(self, "e2e", "on" if self.e2e else "off")
        if self.e2e not in E2E_MODES:
            raise ValueError(f"e2e must be one of auto, on, off, not {self.e2e!r}")
        if self.name is not None:  # given: it names the presenter in the host link
            object.__setattr__(self, "name", clean_name(self.name) or PRESENTER)
        if self.e2e == "on" and self.relay:
            raise ValueError("e2e cannot be on with --relay: the relay must read what it relays")

    def encrypted(self) -> bool:
        """End-to-end encryption for this share: asked for, or (auto) whenever the link leaves
        this machine: a tunnel, a reverse proxy, a non-loopback address. A relay must read what
        it relays, so a relayed share is plain."""
        if self.e2e != "auto":
            return self.e2e == "on"
        leaves = self.tunnel != "none" or self.public_url or self.host not in LOOPBACK_HOSTS
        return bool(leaves) and not self.relay


def rows() -> Iterator[dataclasses.Field]:
    """The table's rows, in order."""
    return iter(dataclasses.fields(ShareOptions))


class Parser(Protocol):
    """An argparse parser or argument group."""

    def add_argument(self, *flags: str, **kwargs: Any) -> Any: ...


def add_arguments(parser: Parser) -> None:
    """Add every option that has a flag to `parser` (the magic's and the CLI's)."""
    for row in rows():
        meta = row.metadata
        if meta["flag"] is None:
            continue
        kwargs: dict[str, Any] = {"help": meta["help"]}
        if isinstance(row.default, bool):
            kwargs["action"] = "store_false" if row.default else "store_true"
        else:
            kwargs["default"] = row.default
            if meta["parse"] is not None:
                kwargs["type"] = meta["parse"]
            if meta["choices"] is not None:
                kwargs["choices"] = meta["choices"]
        parser.add_argument(meta["flag"], dest=row.name, **kwargs)
        for flag, (value, text) in meta["also"].items():
            parser.add_argument(flag, dest=row.name, action="store_const", const=value, help=text)


def from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The keywords for `share()` from parsed flags (options without a flag keep their default)."""
    return {row.name: getattr(args, row.name) for row in rows() if row.metadata["flag"]}


def same_share(a: ShareOptions, b: ShareOptions) -> bool:
    """True when a share made with `a` may serve `b` without sharing anew."""
    return all(
        getattr(a, row.name) == getattr(b, row.name) for row in rows() if row.metadata["restarts"]
    )


def parameters() -> list[inspect.Parameter]:
    """The options as keyword-only parameters: the signature `help(share)` shows."""
    return [
        inspect.Parameter(
            row.name, inspect.Parameter.KEYWORD_ONLY, default=row.default, annotation=row.type
        )
        for row in rows()
    ]
