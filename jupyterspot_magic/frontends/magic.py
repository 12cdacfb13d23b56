"""`%jupyterspot`: share the running notebook, and the host's actions on the share.

In a notebook a share shows as a widget plus a plain HTML link (frontends/display.py says why
both); in a terminal IPython, as text.
"""

from __future__ import annotations

import os
from pathlib import Path

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import ArgDecorator, argument, magic_arguments, parse_argstring
from IPython.utils.process import arg_split

from ..base import options
from ..content.locate import LocateError
from ..content.render import RenderError
from ..server.thread import ServeError
from ..session import registry
from ..session.participants import printable
from ..session.share import Share
from ..tunnel import TunnelError
from . import display

# ValueError: an option the user gave is refused (--max-people 0, a --relay without secret)
USER_ERRORS = (LocateError, RenderError, ServeError, TunnelError, ValueError)


def in_notebook() -> bool:
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def show(share: Share) -> None:
    """Display the share: the widget and a plain link in a notebook, text in a terminal."""
    if not in_notebook():
        print(display.ready_text(share))
        display.print_link_changes(share)
        display.print_status_lines(share)
        return
    try:
        from .widget import make_widget

        widget = make_widget(share)
    except Exception as e:  # a missing JS build must not stop the share itself
        display.show_link(share)  # the notes too: no widget shows them
        print(f"jupyterspot: the widget is unavailable ({e}); use the link above.")
        display.print_link_changes(share)
        return
    from IPython.display import display as show_output

    display.show_link(share, notes=False)  # the widget shows the notes: once is enough
    show_output(widget, metadata=display.OUTPUT_MARK)


HOST_ACTIONS = ("rotate", "kick", "allow", "viewonly")
CONTENT_ACTIONS = ("update", "export", "clear")
# Every action's usage and what it does: the parser's help, `%jupyterspot ACTION --help`, and
# the list an unknown action gets.
ACTIONS = {
    "share": ("share [PATH] [options]", "share a notebook (the default action)"),
    "stop": ("stop", "end the share"),
    "status": ("status", "show the links and who is there"),
    "rotate": ("rotate", "a new guest link (old ones stop working)"),
    "kick": ("kick NAME|#ID", "remove someone (ids: see status)"),
    "allow": ("allow", "let removed people back"),
    "viewonly": ("viewonly on|off", "only the host may draw, or everyone again"),
    "update": ("update", "publish the notebook's current content now"),
    "export": ("export [PATH]", "a standalone HTML file (or .json: the board)"),
    "clear": ("clear [--yes]", "empty the board for everyone (asks first)"),
}
HELP_FLAGS = ("-h", "--help")


def valid_actions() -> list[str]:
    """Every action the magic runs (an action added to a dispatch tuple only counts too)."""
    return list(dict.fromkeys([*ACTIONS, *HOST_ACTIONS, *CONTENT_ACTIONS]))


def action_help(action: str, parser_help: str) -> str:
    """`%jupyterspot ACTION --help`: share's every option, or the action's usage line."""
    if action == "share":
        return parser_help
    usage, what = ACTIONS.get(action, (action, ""))
    return f"%jupyterspot {usage}\n  {what}".rstrip()


def looks_like_path(word: str) -> bool:
    """`%jupyterspot nb.ipynb` shares nb.ipynb; `%jupyterspot bogus` is an unknown action."""
    return bool(Path(word).suffix) or "/" in word or os.sep in word or os.path.exists(word)


def unknown_action(action: str) -> UsageError:
    listed = ", ".join(valid_actions())
    return UsageError(f"Unknown action {action!r}: use one of {listed} (or a notebook's path).")


def run_content_action(action: str, arg: str | None, yes: bool = False) -> None:
    """Issue 6: push the notebook now, export the share, clear the board (confirmed)."""
    current = registry.current()
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
    current = registry.current()
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
    except (LookupError, ServeError) as e:  # nobody by that name; the server is gone
        raise UsageError(str(e)) from None


class share_options(ArgDecorator):  # noqa: N801 - named like IPython's argument decorators
    """The share options' flags (base/options.py), in the magic's parser."""

    def add_to_parser(self, parser, group):
        options.add_arguments(group if group is not None else parser)


@magics_class
class JupyterSpotMagics(Magics):
    @line_magic
    @magic_arguments()
    @argument(
        "action",
        nargs="?",
        default="share",
        help="; ".join(f"{usage}: {what}" for usage, what in ACTIONS.values())
        + ". ACTION --help: that action's help.",
    )
    @argument(
        "path",
        nargs="?",
        default=None,
        help="The notebook to share. Default: the notebook this kernel runs (found through "
        "Colab, VS Code or Jupyter Server); pass the path when it cannot be found.",
    )
    @share_options()
    @argument("--yes", action="store_true", help="clear without asking.")
    def jupyterspot(self, line: str) -> Share | None:
        """Share this notebook as a live link: rendered notebook, drawings, cursors, follow.

        %jupyterspot share [PATH] [--tunnel ...] [--host H] [--port N] [--name NAME]
                           [--public-url URL]
        %jupyterspot stop
        %jupyterspot status
        %jupyterspot rotate | kick NAME|#ID | allow | viewonly on|off
        %jupyterspot update | export [PATH] | clear [--yes]
        """
        words = arg_split(line)
        if any(word in HELP_FLAGS for word in words):
            action = "share" if words[0].startswith("-") else words[0]
            if action not in valid_actions():
                if not looks_like_path(action):
                    raise unknown_action(action)
                action = "share"  # `%jupyterspot nb.ipynb --help`
            print(action_help(action, self.jupyterspot.parser.format_help()))
            return None
        args = parse_argstring(self.jupyterspot, line)
        if args.action in HOST_ACTIONS:
            return run_host_action(args.action, args.path)
        if args.action in CONTENT_ACTIONS:
            return run_content_action(args.action, args.path, args.yes)
        if args.action not in ("share", "stop", "status"):
            if args.path is not None or not looks_like_path(args.action):
                raise unknown_action(args.action)
            args.path, args.action = args.action, "share"  # `%jupyterspot nb.ipynb`
        if args.action == "stop":
            print("jupyterspot: stopped." if registry.stop() else "jupyterspot: nothing shared.")
            return None
        if args.action == "status":
            current = registry.current()
            print(display.status_text(current) if current else "jupyterspot: nothing shared.")
            return None
        try:
            result = registry.share(
                args.path,
                user_ns=self.shell.user_ns if self.shell else None,
                **options.from_args(args),
            )
        except USER_ERRORS as e:
            raise UsageError(str(e)) from None
        show(result)
        return None
