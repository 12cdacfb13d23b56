"""jupyterspot-magic: `%jupyterspot share` turns the running notebook into a live, shared link."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["share", "stop", "current", "load_ipython_extension", "__version__"]

if TYPE_CHECKING:
    from .session.share import Share


def share(
    path: str | Path | None = None,
    *,
    tunnel: str = "auto",
    host: str = "127.0.0.1",
    port: int = 0,
    name: str | None = None,
    public_url: str | None = None,
    store: str | Path | bool | None = None,
    fresh: bool = False,
    watch: bool = True,
    display: bool = True,
) -> Share:
    """Share a notebook (default: the one this kernel runs) and show its link and widget.

    `tunnel`: "auto" (default), "ngrok", "cloudflared" or "none"; `public_url`: the server's
    address behind your own reverse proxy, maybe with a path prefix (`{port}` is replaced).
    `store`: where the board is kept (default: the user data dir; "none"/False: nowhere);
    `fresh`: start a clean board; `watch`: saving the notebook updates every page.
    Returns the `Share`: `.url`, `.host_url`, `.participants`, `.stop()`.
    """
    from IPython import get_ipython

    from .frontends import magic
    from .session import share as sharing

    shell = get_ipython()
    result = sharing.share(
        path,
        tunnel=tunnel,
        host=host,
        port=port,
        name=name,
        public_url=public_url,
        store=store,
        fresh=fresh,
        watch=watch,
        user_ns=shell.user_ns if shell is not None else None,
    )
    if display:
        magic.show(result)
    return result


def stop() -> bool:
    """Stop the current share (False when nothing was shared)."""
    from .session import share as sharing

    return sharing.stop()


def current() -> Share | None:
    """The running share, if any."""
    from .session import share as sharing

    return sharing.current()


def load_ipython_extension(ipython) -> None:
    from .frontends.magic import JupyterSpotMagics

    ipython.register_magics(JupyterSpotMagics)
