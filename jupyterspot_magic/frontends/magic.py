"""`%jupyterspot` and what a share shows in the notebook: a widget plus a plain HTML link.

The plain link is always displayed too: the widget cannot load when anywidget was installed into
an already running Jupyter server, and some front-ends render no widgets at all.
"""

from __future__ import annotations

import html
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ..content.locate import LocateError
from ..content.render import RenderError
from ..server.thread import ServeError
from ..session import share as sharing
from ..session.participants import printable
from ..tunnel.providers import PROVIDERS, TunnelError

USER_ERRORS = (LocateError, RenderError, ServeError, TunnelError)
# Marks our own outputs so the renderer strips them from the shared page.
OUTPUT_MARK = {"jupyterspot_magic": {"output": "share"}}


def people_lines(share: sharing.Share) -> list[str]:
    """One line per participant with the client id `%jupyterspot kick #ID` accepts."""
    lines = []
    for p in share.participants:
        where = ""
        if p.get("cell_index") is not None and p.get("cell_count"):
            where = f" · cell {p['cell_index'] + 1} of {p['cell_count']}"
        name = printable(p["name"])  # already clean (participant_row); cheap insurance
        lines.append(f"    #{p['client_id']:<11} {name} ({p['role']}){where}")
    return lines


def status_text(share: sharing.Share) -> str:
    people = people_lines(share)
    if not people:
        return share.summary()
    return share.summary() + "\n  ids (for kick):\n" + "\n".join(people)


def in_notebook() -> bool:
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def link_html(share: sharing.Share) -> str:
    url, host = html.escape(share.url), html.escape(share.host_url)
    notes = "".join(f"<br><small>{html.escape(n)}</small>" for n in share.notes)
    return (
        '<div class="jupyterspot-link">Shared: '
        f'<a href="{url}" target="_blank" rel="noopener">{url}</a>'
        f' · <a href="{host}" target="_blank" rel="noopener">presenter view</a>{notes}</div>'
    )


def show(share: sharing.Share) -> None:
    """Display the share: the widget and a plain link in a notebook, text in a terminal."""
    if not in_notebook():
        print(share.summary())
        for note in share.notes:
            print(f"  note: {note}")
        return
    from IPython.display import HTML, display

    # A display id, so the link can follow a reopened tunnel (update_link_display).
    share.link_display = display(HTML(link_html(share)), metadata=OUTPUT_MARK, display_id=True)
    widget = make_widget(share)
    if widget is not None:
        display(widget, metadata=OUTPUT_MARK)


def update_link_display(share: sharing.Share) -> None:
    """Show the share's current link in its plain-link output (after a tunnel reopened)."""
    import contextlib

    from IPython.display import HTML

    if share.link_display is None:
        return
    with contextlib.suppress(Exception):  # the output may be gone; the widget shows the link
        share.link_display.update(HTML(link_html(share)), metadata=OUTPUT_MARK)


def make_widget(share: sharing.Share) -> Any:
    try:
        from .widget import ShareWidget

        widget = ShareWidget()
    except Exception as e:  # a missing JS build must not stop the share itself
        print(f"jupyterspot: the widget is unavailable ({e}); use the link above.")
        return None
    widget.title = share.rendered.title
    widget.set_link(share.url, share.host_url)
    widget.message = " · ".join(share.notes)
    widget.participants = share.participants
    widget.status = "live"
    widget.on_stop(share.stop)
    share.connect_widget(widget)
    share.widget = widget
    return widget


HOST_ACTIONS = ("rotate", "kick", "allow", "viewonly")
CONTENT_ACTIONS = ("update", "export", "clear")


def run_content_action(action: str, arg: str | None, yes: bool = False) -> None:
    """Issue 6: push the notebook now, export the share, clear the board (confirmed)."""
    current = sharing.current()
    if current is None or not current.alive:
        raise UsageError("Nothing is shared: run %jupyterspot share first.")
    if action == "update":
        changed = current.update()
        print("jupyterspot: " + ("everyone sees the new content." if changed else "no change."))
    elif action == "export":
        target = arg or f"{current.rendered.title or 'notebook'}-notes.html"
        print(f"jupyterspot: exported to {current.export(target)}")
    elif action == "clear":
        if not yes:
            try:
                answer = input("Clear the board for everyone? The old one stays in history. [y/N] ")
            except Exception:  # no stdin (a kernel without a front-end asking)
                raise UsageError("Confirm with: %jupyterspot clear --yes") from None
            if answer.strip().lower() not in ("y", "yes"):
                print("jupyterspot: the board was not cleared.")
                return
        removed = current.clear()
        print(f"jupyterspot: cleared {removed} annotation(s); the old board is kept in history.")


def run_host_action(action: str, arg: str | None) -> None:
    """The host's powers over a running share, from the notebook."""
    current = sharing.current()
    if current is None:
        raise UsageError("Nothing is shared: run %jupyterspot share first.")
    try:
        if action == "rotate":
            current.rotate()
            print(f"jupyterspot: new guest link (old links stopped working): {current.url}")
        elif action == "kick":
            if not arg:
                raise UsageError("Whom? %jupyterspot kick NAME or #ID (see %jupyterspot status)")
            person = current.find_participant(arg)
            name = current.kick(person["client_id"])  # by id: a copied name cannot shield anyone
            print(f"jupyterspot: removed {printable(name)} (#{person['client_id']}).")
        elif action == "allow":
            current.allow_everyone()
            print("jupyterspot: removed people may join again.")
        elif action == "viewonly":
            if arg not in ("on", "off"):
                raise UsageError("Use %jupyterspot viewonly on  or  %jupyterspot viewonly off")
            current.view_only = arg == "on"
            print(
                f"jupyterspot: view-only {arg}: "
                + ("only the host can draw." if arg == "on" else "everyone can draw.")
            )
    except LookupError as e:
        raise UsageError(str(e)) from None


@magics_class
class JupyterSpotMagics(Magics):
    @line_magic
    @magic_arguments()
    @argument(
        "action",
        nargs="?",
        default="share",
        help="share (default): share a notebook; stop: end the share; status: show it; "
        "rotate: new guest link (old ones stop working); kick NAME|#ID: remove someone "
        "(ids: see status); "
        "allow: let removed people back; viewonly on|off: only the host may draw; "
        "update: publish the notebook's current content now; export [PATH]: a standalone HTML "
        "file (or .json: the board); clear: empty the board for everyone (asks first).",
    )
    @argument(
        "path",
        nargs="?",
        default=None,
        help="The notebook to share. Default: the notebook this kernel runs (found through "
        "Colab, VS Code or Jupyter Server); pass the path when it cannot be found.",
    )
    @argument(
        "--tunnel",
        default="auto",
        choices=PROVIDERS,
        help="How others reach the page: none (this machine or LAN), ngrok, cloudflared, "
        "auto (default).",
    )
    @argument(
        "--host",
        default="127.0.0.1",
        help="Address to listen on; 0.0.0.0 to share on your LAN. Default 127.0.0.1.",
    )
    @argument("--port", type=int, default=0, help="Port to listen on. Default: a free port.")
    @argument("--name", default=None, help="Your display name in the presenter view.")
    @argument(
        "--public-url",
        default=None,
        help="The server's address behind your own reverse proxy (jupyter-server-proxy, nginx), "
        "maybe with a path prefix; {port} is replaced by the port. Replaces --tunnel.",
    )
    @argument(
        "--store",
        default=None,
        help="Where the board is stored (a database file or folder; 'none': not stored). "
        "Default: the user data dir. Sharing the notebook again restores it and its links.",
    )
    @argument("--fresh", action="store_true", help="Start with a clean board (old one kept).")
    @argument("--yes", action="store_true", help="clear without asking.")
    def jupyterspot(self, line: str) -> sharing.Share | None:
        """Share this notebook as a live link: rendered notebook, drawings, cursors, follow.

        %jupyterspot share [PATH] [--tunnel ...] [--host H] [--port N] [--name NAME]
                           [--public-url URL]
        %jupyterspot stop
        %jupyterspot status
        %jupyterspot rotate | kick NAME|#ID | allow | viewonly on|off
        %jupyterspot update | export [PATH] | clear [--yes]
        """
        args = parse_argstring(self.jupyterspot, line)
        if args.action in HOST_ACTIONS:
            return run_host_action(args.action, args.path)
        if args.action in CONTENT_ACTIONS:
            return run_content_action(args.action, args.path, args.yes)
        if args.action not in ("share", "stop", "status"):
            if args.path is None:  # `%jupyterspot nb.ipynb` means share nb.ipynb
                args.path, args.action = args.action, "share"
            else:
                raise UsageError(f"Unknown action {args.action!r}: use share, stop or status.")
        if args.action == "stop":
            print("jupyterspot: stopped." if sharing.stop() else "jupyterspot: nothing shared.")
            return None
        if args.action == "status":
            current = sharing.current()
            print(status_text(current) if current else "jupyterspot: nothing shared.")
            return None
        try:
            result = sharing.share(
                args.path,
                tunnel=args.tunnel,
                host=args.host,
                port=args.port,
                name=args.name,
                public_url=args.public_url,
                user_ns=self.shell.user_ns if self.shell else None,
                store=args.store,
                fresh=args.fresh,
            )
        except USER_ERRORS as e:
            raise UsageError(str(e)) from None
        show(result)
        return None
