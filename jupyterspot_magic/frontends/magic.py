"""`%jupyterspot`: share the running notebook, and the host's actions on the share.

In a notebook a share shows as a widget plus a plain HTML link (frontends/display.py says why
both); in a terminal IPython, as text.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import ArgDecorator, argument, magic_arguments
from IPython.utils.process import arg_split

from ..base import options
from ..base.text import one_line, plural
from ..content.locate import LocateError
from ..content.render import RenderError
from ..server.thread import ServeError
from ..session import registry
from ..session.participants import printable
from ..session.share import SWITCH_PROPERTIES, Share
from ..tunnel import Progress, TunnelError, masked, quiet, save_token
from . import display

if TYPE_CHECKING:
    from .widget import ShareWidget

# ValueError: an option the user gave is refused (--max-people 0, a --relay without secret)
USER_ERRORS = (LocateError, RenderError, ServeError, TunnelError, ValueError)


# A word split as a shell would, except that a quote opens only at a word's start (or after "="):
# `--name O'Brien`, `Bob's.ipynb` keep their apostrophe where posix splitting has no closing quote.
_PIECE = re.compile(
    r"""(?<![^\s=])"(?P<dq>[^"]*)"|(?<![^\s=])'(?P<sq>[^']*)'|(?P<gap>\s+)|(?P<ch>.)"""
)


def split_line(line: str) -> list[str]:
    """The magic's words: quotes taken off as a shell does (IPython's parse_argstring keeps them:
    --name "Zoe Q" named the presenter '"Zoe Q"'); not on Windows, where posix splitting eats
    backslashes. An unmatched quote (O'Brien) is a letter, not an error."""
    try:
        return arg_split(line, posix=os.name != "nt")
    except ValueError:  # "No closing quotation"
        pass
    words: list[str] = []
    word: list[str] | None = None
    for m in _PIECE.finditer(line):
        if m["gap"] is not None:
            if word is not None:
                words.append("".join(word))
            word = None
            continue
        word = [] if word is None else word
        word.append(next(g for g in (m["dq"], m["sq"], m["ch"]) if g is not None))
    if word is not None:
        words.append("".join(word))
    return words


def in_notebook() -> bool:
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def share_and_show(
    path: str | Path | None, user_ns: dict | None, shown: bool = True, **options: Any
) -> Share:
    """Share and show it, with progress while it starts: in a notebook the widget is displayed
    first, "starting", and shows each step (then the link, or why it failed); in a terminal
    each step is printed. `shown=False`: nothing shown (a reopened tunnel's link is printed)."""
    widget = _starting_widget() if shown and in_notebook() else None
    if widget is not None:
        progress: Progress = widget.progress
    else:
        progress = print_progress if shown else quiet
    try:
        result = registry.share(path, user_ns=user_ns, progress=progress, **options)
    except BaseException as e:  # Interrupt too: the widget must not say "Starting…" forever
        if widget is not None:
            widget.failed(failure_text(e))
        raise
    if shown:
        show(result, widget)
    else:
        display.print_link_changes(result)
    return result


INTERRUPTED = "Interrupted: the share was not started."


def failure_text(error: BaseException) -> str:
    """What the starting widget says when the share did not start."""
    if isinstance(error, KeyboardInterrupt):
        return INTERRUPTED
    return str(error) if isinstance(error, USER_ERRORS) else one_line(error, kind=True)


def print_progress(line: str) -> None:
    print(f"jupyterspot: {line}", flush=True)


def _starting_widget() -> ShareWidget | None:
    """The widget, displayed now in its "starting" state (None: no widget bundle)."""
    try:
        from .widget import starting_widget

        widget = starting_widget()
    except Exception:  # a missing JS build: show() says so once the share is there
        return None
    from IPython.display import display as show_output

    show_output(widget, metadata=display.OUTPUT_MARK)
    return widget


def run_token(words: list[str]) -> None:
    """`%jupyterspot token ngrok [TOKEN]`: store the token; the next share in this kernel uses
    it (no restart). Asked for when not given: a token typed in a cell stays in the notebook."""
    if not words or words[0] != "ngrok" or len(words) > 2:
        raise UsageError("Use: %jupyterspot token ngrok [TOKEN]  (asks for it when not given)")
    given = len(words) == 2
    token = words[1] if given else _ask_token()
    try:
        path = save_token(token)
    except TunnelError as e:
        raise UsageError(str(e)) from None
    print(f"jupyterspot: ngrok token {masked(token.strip())} saved in {path} (readable by you "
          "only). Share again for a public link.")  # fmt: skip
    if given:
        print("jupyterspot: this cell's text holds the token, and guests see the notebook's "
              "cells: clear the cell (`%jupyterspot token ngrok` alone asks for it).")  # fmt: skip


def _ask_token() -> str:
    import getpass

    try:
        return getpass.getpass("ngrok authtoken (https://dashboard.ngrok.com/get-started/"
                               "your-authtoken): ")  # fmt: skip
    except Exception:  # no stdin (a kernel without a front end asking)
        raise UsageError("Give it: %jupyterspot token ngrok TOKEN") from None


def show(share: Share, shown: ShareWidget | None = None) -> None:
    """Display the share: the widget and a plain link in a notebook, text in a terminal.
    `shown`: the widget already displayed while the share started."""
    if not in_notebook():
        print(display.ready_text(share))
        display.print_link_changes(share)
        display.print_status_lines(share)
        return
    try:
        from .widget import make_widget

        widget = make_widget(share, shown)
    except Exception as e:  # a missing JS build must not stop the share itself
        display.show_link(share)  # the notes too: no widget shows them
        print(f"jupyterspot: the widget is unavailable ({e}); use the link above.")
        display.print_link_changes(share)
        return
    from IPython.display import display as show_output

    display.show_link(share)  # with the notes: the widget does not repeat them, and a
    # front end that renders no widget shows only this
    if shown is None:
        show_output(widget, metadata=display.OUTPUT_MARK)


HOST_ACTIONS = ("rotate", "kick", "allow", "viewonly", "reactions", "questions")
CONTENT_ACTIONS = ("update", "export", "clear", "notes")
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
    "reactions": ("reactions on|off", "let people react, raise a hand and chat, or not"),
    "questions": ("questions on|off", "let people pin questions to cells, or not"),
    "update": ("update", "publish the notebook's current content now"),
    "export": ("export [PATH]", "a standalone HTML file (or .json: the board)"),
    "clear": ("clear [--yes]", "empty the board for everyone (asks first)"),
    "notes": (
        "notes [PATH]",
        "write the meeting's notes notebook beside the original (<name>-notes.ipynb): its "
        "cells with the questions, notes and text written on each (also after stop)",
    ),
    "token": (
        "token ngrok [TOKEN]",
        "store your ngrok authtoken where ngrok keeps it (asked for when not given: a token "
        "typed in a cell is in the notebook, which guests see); the next share uses it",
    ),
}
HELP_FLAGS = ("-h", "--help")


# The host's switches (issue 18, session/share.py SWITCH_PROPERTIES): what on / off mean.
SWITCHES = {
    "reactions": ("people can react, raise a hand and chat", "reactions are off"),
    "questions": ("people can ask questions", "new questions are refused"),
}


def switch(current: Share, action: str, arg: str) -> None:
    """`%jupyterspot reactions|questions on|off`."""
    if arg not in ("on", "off"):
        raise UsageError(f"Use %jupyterspot {action} on  or  %jupyterspot {action} off")
    on_text, off_text = SWITCHES[action]
    setattr(current, SWITCH_PROPERTIES[action], arg == "on")
    print(f"jupyterspot: {action} {arg}: {on_text if arg == 'on' else off_text}.")


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
    """Issue 6: push the notebook now, export the share, clear the board (confirmed); issue 18:
    keep the meeting's notes (also once the share stopped)."""
    if action == "notes":
        return keep_notes(arg)
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


def keep_notes(path: str | None) -> None:
    share = registry.latest()
    if share is None:
        raise UsageError("Nothing was shared in this kernel: run %jupyterspot share first.")
    try:
        written, counts = share.keep_notes(path)
    except (OSError, RuntimeError, ValueError) as e:  # NotesError is a RuntimeError
        raise UsageError(f"The notes were not written: {one_line(e)}") from None
    what = plural(counts["written"], "note")
    if counts["detached"]:
        what += f", {counts['detached']} of them on cells no longer there (at the end)"
    print(f"jupyterspot: the meeting's notes ({what}) are in {written}")


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
        elif action in ("reactions", "questions"):
            switch(current, action, arg)
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
        %jupyterspot reactions on|off | questions on|off
        %jupyterspot update | export [PATH] | clear [--yes] | notes [PATH]
        %jupyterspot token ngrok [TOKEN]
        %jupyterspot ACTION --help
        """
        words = split_line(line)
        if any(word in HELP_FLAGS for word in words):
            action = "share" if words[0].startswith("-") else words[0]
            if action not in valid_actions():
                if not looks_like_path(action):
                    raise unknown_action(action)
                action = "share"  # `%jupyterspot nb.ipynb --help`
            print(action_help(action, self.jupyterspot.parser.format_help()))
            return None
        if words and words[0] == "token":
            return run_token(words[1:])
        args = self.jupyterspot.parser.parse_args(words)
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
            share_and_show(
                args.path, self.shell.user_ns if self.shell else None, **options.from_args(args)
            )
        except USER_ERRORS as e:
            raise UsageError(str(e)) from None
        return None
