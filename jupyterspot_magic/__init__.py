"""jupyterspot-magic: `%jupyterspot share` turns the running notebook into a live, shared link."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import options as _options

__version__ = "0.1.0"
__all__ = ["share", "stop", "current", "load_ipython_extension", "__version__"]

if TYPE_CHECKING:
    from .session.share import Share


def share(path: str | Path | None = None, *, display: bool = True, **options: Any) -> Share:
    """Share a notebook (default: the one this kernel runs) and show its link and widget.

    `tunnel`: "auto" (default), "ngrok", "cloudflared" or "none"; `public_url`: the server's
    address behind your own reverse proxy, maybe with a path prefix (`{port}` is replaced).
    `store`: where the board is kept (default: the user data dir; "none"/False: nowhere);
    `fresh`: start a clean board; `watch`: saving the notebook updates every page.
    Every option, with its default, is in the signature (jupyterspot_magic/base/options.py).
    `display=False`: show nothing (a reopened tunnel's new link is still printed).
    `ngrok_token`: store this ngrok authtoken where ngrok keeps it and use it from now on.
    Returns the `Share`: `.url`, `.host_url`, `.participants`, `.stop()`.
    """
    from IPython import get_ipython

    from .frontends import magic

    shell = get_ipython()
    user_ns = shell.user_ns if shell is not None else None
    # in a notebook the widget is shown first and follows the start (frontends/magic.py)
    return magic.share_and_show(path, user_ns, display, **options)


# The options come from one table: help(share) and editors show each of them with its default.
share.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter("path", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
        *_options.parameters(),
        inspect.Parameter("display", inspect.Parameter.KEYWORD_ONLY, default=True),
        inspect.Parameter("ngrok_token", inspect.Parameter.KEYWORD_ONLY, default=None),
    ],
    return_annotation="Share",
)


def stop() -> bool:
    """Stop the current share (False when nothing was shared)."""
    from .session import registry

    return registry.stop()


def current() -> Share | None:
    """The running share, if any."""
    from .session import registry

    return registry.current()


def load_ipython_extension(ipython) -> None:
    from .frontends.magic import JupyterSpotMagics

    ipython.register_magics(JupyterSpotMagics)
    from .session import registry

    registry.prestart()  # the share server's process starts now: the first share does not wait
