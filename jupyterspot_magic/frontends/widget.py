"""The share widget shown in the notebook: link, copy buttons, QR code, status, people, Stop.

The front end is ``static/widget.js`` (built from ``js/widget/index.ts``). Traits may be set from
any thread: the widget follows the share's events (session/events.py), most of which fire on the
server thread, so it stays current while a cell runs.

The front end asks the kernel through these commands: ``stop``, ``lead`` (``{"op": ...}``),
``live`` (``{"op": "pause" | "resume" | "follow_running", "on": bool}``: pause or resume
streaming what the kernel runs, and "follow the running cell"), ``notes`` (write the meeting's
notes notebook: Share.keep_notes, also after Stop), ``questions`` (``{"op": "goto" | "answer",
"id": ...}``) and ``switches`` (``{"op": "reactions" | "questions", "on": bool}``: the host's
switches, Share.reactions / Share.questions_enabled), each answered with
``{"ok": bool, "message": str}``. They arrive as anywidget commands (anywidget's
``experimental.invoke``) or, from a front end without it, as custom messages
``{"type": "stop"}`` / ``{"type": "lead", "op": ..., "req": n}``, the latter answered with
``{"type": "ack", "req": n, "ok": ..., "message": ...}``. Either way one table (``COMMANDS``)
handles them. Custom messages (commands too) are handled only when the kernel is idle: the
front end shows "waiting for the kernel" until the answer comes.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

import anywidget
import segno
import traitlets
from anywidget.experimental import command

from ..base import options
from ..base.page_config import KERNEL_LEADER
from ..base.paths import STATIC_DIR
from ..base.text import one_line, plural
from ..session import events
from ..session.events import (
    LeadChanged,
    LinkChanged,
    PeopleChanged,
    QuestionsChanged,
    StatusMessage,
    Stopped,
    SwitchesChanged,
)
from ..session.share import SWITCH_PROPERTIES, Share
from ..tunnel import reach

__all__ = ["WIDGET_JS", "ShareWidget", "WidgetBundleMissing", "connect", "widget_of"]

log = logging.getLogger(__name__)

#: The event the share sends when ``share.live`` / ``share.follow_running`` change (set from a
#: cell, not only from this widget), so the toggles show it.
_LIVE_EVENT: type | None = events.LiveChanged

WIDGET_JS = STATIC_DIR / "widget.js"

STOPPED = "Sharing stopped. Run %jupyterspot share to share again."


class Answer(TypedDict):
    ok: bool
    message: str


class WidgetBundleMissing(RuntimeError):
    """The built widget bundle (static/widget.js) is not there."""


def _missing_bundle() -> WidgetBundleMissing:
    return WidgetBundleMissing(
        f"The share widget's JavaScript bundle is missing ({WIDGET_JS}). "
        "Build it from the repository root with: npm ci && npm run build"
    )


class _BundleSource:
    """Stands in for ``_esm`` until a widget is made: read the bundle then, not at import.

    anywidget reads a ``Path`` ``_esm`` when the class is defined (and fails if the file does
    not exist); this object is turned into the module's source text only at instantiation.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def __str__(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise _missing_bundle() from None

    def __repr__(self) -> str:
        return f"_BundleSource({str(self.path)!r})"


class ShareWidget(anywidget.AnyWidget):
    """Notebook-side view of a share."""

    _esm = _BundleSource(WIDGET_JS)

    url = traitlets.Unicode("").tag(sync=True)
    host_url = traitlets.Unicode("").tag(sync=True)
    #: The guest page on the share server's own (loopback) address: the widget's liveness ping
    #: goes there, not through the tunnel (js/widget/lifeline.ts).
    local_url = traitlets.Unicode("").tag(sync=True)
    #: SVG data URI of the guest link's QR code (set by :meth:`set_link`).
    qr_data_uri = traitlets.Unicode("").tag(sync=True)
    #: rendering | live | stopped | error
    status = traitlets.Unicode("rendering").tag(sync=True)
    #: One line shown under the status.
    message = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    #: Dicts as in docs/protocol.md, "Kernel side view".
    participants = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: The open questions (Share.questions), oldest first; the command "questions" acts on them.
    open_questions = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: Reactions per cell in the last minute (session/reactions.py ReactionTally.counts).
    reactions = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: Client id of the participant who leads the scrolling, or None.
    leader = traitlets.Int(None, allow_none=True).tag(sync=True)
    #: "anyone" | "host"
    lead_policy = traitlets.Unicode("anyone").tag(sync=True)
    #: "on": what the kernel runs streams to the pages; "paused": only saves publish; "off": no
    #: live outputs (--no-live, or not in a Jupyter kernel). Not named ``live``: that is the
    #: command's name, and an anywidget command is the method of that name.
    live_mode = traitlets.Unicode("on").tag(sync=True)
    #: Pages that follow the lead are brought to the running cell's output.
    follow_running = traitlets.Bool(False).tag(sync=True)
    #: The host's switches (Share.reactions, Share.questions_enabled); the command "switches"
    #: sets them, and they follow the magic, Python and the host page.
    reactions_on = traitlets.Bool(True).tag(sync=True)
    questions_on = traitlets.Bool(True).tag(sync=True)
    #: Python that shares this notebook again (``share_again_code``): once the share stopped or
    #: its kernel went away, the front end runs it through its kernel connection or shows it.
    share_again = traitlets.Unicode("").tag(sync=True)
    #: Who can open ``url`` (tunnel/direct.py ``reach``): "public", "lan" (this network only) or
    #: "local" (this machine only); the QR code and Copy say so when it is not "public".
    reach = traitlets.Unicode("public").tag(sync=True)
    #: The one step toward a public link, shown while ``reach`` is not "public".
    next_step = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        if not WIDGET_JS.is_file():
            raise _missing_bundle()
        super().__init__(**kwargs)
        self._handlers: dict[str, Callable[[dict], Answer]] = {}
        # Not named _handle_msg: that is ipywidgets' own comm callback (every message from the
        # front end would fail with a TypeError and be dropped).
        self.on_msg(self._on_custom_msg)

    def handle(self, name: str, handler: Callable[[dict], Answer]) -> None:
        """Answer the front end's command `name` (a key of COMMANDS) with `handler(msg)`."""
        self._handlers[name] = handler

    def set_link(self, url: str, host_url: str) -> None:
        """Show ``url`` (and its QR code) and offer ``host_url`` behind a copy button."""
        qr = segno.make(url, error="m").svg_data_uri(scale=4) if url else ""
        with self.hold_sync():
            self.url = url
            self.host_url = host_url
            self.qr_data_uri = qr
            self.reach = reach(url) if url else "public"

    # -- while the share starts (status "starting"): shown before registry.share returns --

    def progress(self, line: str) -> None:
        """The share's progress callback (tunnel/base.py `Progress`): the line in place."""
        self.message = line

    def failed(self, message: str) -> None:
        """The share did not start: say why, in the widget that said it was starting."""
        with self.hold_sync():
            self.status = "error"
            self.message = message

    # -- the front end's commands --

    def answer(self, name: str, msg: dict) -> Answer:
        """Run the handler of command `name`; its error is the answer, never raised here."""
        handler = self._handlers.get(name)
        if handler is None:
            return {"ok": False, "message": f"This share cannot be asked to {name} from here."}
        try:
            return handler(msg)
        except Exception as e:  # shown in the widget, never raised into the kernel
            log.debug("jupyterspot: widget command %s failed", name, exc_info=True)
            return {"ok": False, "message": str(e) or type(e).__name__}

    @command
    def stop(self, msg: Any, buffers: list[bytes]) -> tuple[Answer, list[bytes]]:
        """anywidget command "stop": the Stop button."""
        return self.answer("stop", msg if isinstance(msg, dict) else {}), []

    @command
    def lead(self, msg: Any, buffers: list[bytes]) -> tuple[Answer, list[bytes]]:
        """anywidget command "lead": a lead control (`{"op": ..., ...}`)."""
        return self.answer("lead", msg if isinstance(msg, dict) else {}), []

    @command
    def live(self, msg: Any, buffers: list[bytes]) -> tuple[Answer, list[bytes]]:
        """anywidget command "live": pause/resume live updates, follow the running cell."""
        return self.answer("live", msg if isinstance(msg, dict) else {}), []

    @command
    def questions(self, msg: Any, buffers: list[bytes]) -> tuple[Answer, list[bytes]]:
        """anywidget command "questions": go to an open question, or mark it answered."""
        return self.answer("questions", msg if isinstance(msg, dict) else {}), []

    @command
    def switches(self, msg: Any, buffers: list[bytes]) -> tuple[Answer, list[bytes]]:
        """anywidget command "switches": the host's reactions / questions switch."""
        return self.answer("switches", msg if isinstance(msg, dict) else {}), []

    @command
    def notes(self, msg: Any, buffers: list[bytes]) -> tuple[Answer, list[bytes]]:
        """anywidget command "notes": Keep notes (the meeting's notes notebook)."""
        return self.answer("notes", msg if isinstance(msg, dict) else {}), []

    def _on_custom_msg(self, _widget: object, content: Any, _buffers: object) -> None:
        """The same commands from a front end without anywidget's `invoke`."""
        if not isinstance(content, dict) or content.get("type") not in COMMANDS:
            return
        answer = self.answer(content["type"], content)
        if "req" in content:  # the front end waits for this answer
            self.send({"type": "ack", "req": content["req"], **answer})


# --- what the commands do to a share ------------------------------------------------------


def stop_command(share: Share, _msg: dict) -> Answer:
    problem = share.stop()
    return {"ok": problem is None, "message": problem or STOPPED}


def lead_command(share: Share, msg: dict) -> Answer:
    """One lead control of the widget, applied to ``share``: what to tell the user."""
    op = msg.get("op")
    if op == "take":
        if share.take_lead() is None:
            return {"ok": False, "message": "Open the presenter view to lead: nobody has it open."}
        return {"ok": True, "message": "The presenter view leads."}
    if op == "release":
        share.release_lead()
        return {"ok": True, "message": "Nobody leads now."}
    if op == "hand":
        to = msg.get("to")
        cid = share.hand_lead(to if isinstance(to, int | str) else "")
        name = next((p["name"] for p in share.participants if p["client_id"] == cid), "them")
        return {"ok": True, "message": f"{name} leads now."}
    if op == "recall":
        share.bring_everyone_back()
        return {"ok": True, "message": "Everyone follows the leader again."}
    if op == "policy":
        policy = str(msg.get("policy"))
        share.lead_policy = policy
        text = "Only you give the lead." if policy == "host" else "Anyone may take the lead."
        return {"ok": True, "message": text}
    return {"ok": False, "message": f"Unknown lead control {op!r}."}


NO_LIVE = (
    "This share has no live outputs (shared with --no-live, or not from a Jupyter kernel): "
    "guests see your saves."
)


def live_mode(share: Share) -> str:
    """ "on" | "paused" | "off" (no stream: --no-live, or no Jupyter kernel)."""
    if share.stream is None:
        return "off"
    return "on" if share.live else "paused"


def live_command(share: Share, msg: dict) -> Answer:
    """The widget's live toggles, applied to ``share``: what to tell the user."""
    op = msg.get("op")
    if op in ("pause", "resume") and live_mode(share) == "off":
        return {"ok": False, "message": NO_LIVE}
    if op in ("pause", "resume"):
        share.live = op == "resume"
        if share.live:
            return {"ok": True, "message": "Live: guests see what the kernel runs as it runs."}
        return {"ok": True, "message": "Live paused: guests see your saves only."}
    if op == "follow_running":
        on = msg.get("on")
        if not isinstance(on, bool):
            return {"ok": False, "message": "Follow the running cell: say on or off."}
        share.follow_running = on
        if not on:
            return {"ok": True, "message": "Pages follow the leader's scrolling again."}
        leader = share.leader
        if leader is not None and leader["client_id"] == KERNEL_LEADER:
            return {"ok": True, "message": "Everyone follows the running cell's output."}
        return {"ok": True, "message": "Pages that follow the lead are brought to the running "
                "cell's output while it runs."}  # fmt: skip
    return {"ok": False, "message": f"Unknown live control {op!r}."}


def notes_command(share: Share, _msg: dict) -> Answer:
    """Write the meeting's notes notebook beside the original (also after Stop)."""
    try:
        path, counts = share.keep_notes()
    except (OSError, RuntimeError, ValueError) as e:  # NotesError is a RuntimeError
        return {"ok": False, "message": f"The notes were not written: {one_line(e)}"}
    return {"ok": True, "message": f"{plural(counts['written'], 'note')} kept in {path}"}


def questions_command(share: Share, msg: dict) -> Answer:
    """Go to an open question (the presenter view leads there) or mark it answered."""
    op, qid = msg.get("op"), msg.get("id")
    if not isinstance(qid, str) or not qid:
        return {"ok": False, "message": "Which question? (no id given)"}
    if op == "answer":
        if share.answer_question(qid):
            return {"ok": True, "message": "Answered: its pin is gone for everyone."}
        return {"ok": False, "message": "That question is no longer on the board."}
    if op == "goto":
        if share.goto_question(qid) is None:
            return {"ok": False, "message": "Open the presenter view first (Take lead)."}
        return {"ok": True, "message": "The presenter view and everyone following go there."}
    return {"ok": False, "message": f"Unknown question control {op!r}: goto or answer."}


SWITCH_ANSWERS = {
    ("reactions", True): "Reactions on: guests can react, raise a hand and chat.",
    ("reactions", False): "Reactions off: the pages hide them and the server drops them.",
    ("questions", True): "Questions on: participants can pin a question.",
    ("questions", False): "Questions off: the ask tool is hidden and new questions refused.",
}


def switches_command(share: Share, msg: dict) -> Answer:
    """The host's switches (issue 18): reactions, questions."""
    op, on = msg.get("op"), msg.get("on")
    if not isinstance(op, str) or op not in SWITCH_PROPERTIES or not isinstance(on, bool):
        return {"ok": False, "message": "Which switch? Say reactions or questions, on or off."}
    setattr(share, SWITCH_PROPERTIES[op], on)
    return {"ok": True, "message": SWITCH_ANSWERS[(op, on)]}


COMMANDS: dict[str, Callable[[Share, dict], Answer]] = {
    "stop": stop_command,
    "lead": lead_command,
    "live": live_command,
    "notes": notes_command,
    "questions": questions_command,
    "switches": switches_command,
}


# --- a widget following a share -----------------------------------------------------------

_widgets: weakref.WeakKeyDictionary[Share, ShareWidget] = weakref.WeakKeyDictionary()
# The last widget's subscriptions, dropped when another widget connects: a re-share shows a new
# widget, and the old ones (still alive in old outputs) must not be sent every change too.
_subscriptions: weakref.WeakKeyDictionary[Share, list[Callable[[], None]]] = (
    weakref.WeakKeyDictionary()
)


def widget_of(share: Share) -> ShareWidget | None:
    """The widget last connected to `share` (None: it has none)."""
    return _widgets.get(share)


def _show_live(widget: ShareWidget, share: Share) -> None:
    """The widget's live toggles as the share has them now."""
    with widget.hold_sync():
        widget.live_mode = live_mode(share)
        widget.follow_running = bool(share.follow_running)


def _show_switches(widget: ShareWidget, share: Share) -> None:
    """The widget's switch toggles as the share has them now."""
    with widget.hold_sync():
        widget.reactions_on = bool(share.reactions)
        widget.questions_on = bool(share.questions_enabled)


def connect(widget: ShareWidget, share: Share) -> None:
    """Make `widget` show `share` as it changes and act on it (Stop, lead and live controls)."""

    def handler(run: Callable[[Share, dict], Answer]) -> Callable[[dict], Answer]:
        def handle(msg: dict) -> Answer:
            try:
                return run(share, msg)
            finally:  # the toggles show what the share does now, even after a failure
                if run is live_command:
                    _show_live(widget, share)
                elif run is switches_command:
                    _show_switches(widget, share)

        return handle

    for name, run in COMMANDS.items():
        widget.handle(name, handler(run))

    def on_link(changed: LinkChanged) -> None:
        widget.set_link(changed.url, changed.host_url)
        if changed.note:
            widget.message = changed.note

    def on_lead(changed: LeadChanged) -> None:
        with widget.hold_sync():
            widget.leader = changed.leader
            widget.lead_policy = changed.policy

    def on_message(status: StatusMessage) -> None:
        widget.message = status.message

    def on_people(changed: PeopleChanged) -> None:
        with widget.hold_sync():
            widget.participants = changed.people
            counts = share.mirror.reactions.counts(cell_order(share))
            if counts != widget.reactions:  # sent only when a count changed (issue 18)
                widget.reactions = counts

    def on_questions(changed: QuestionsChanged) -> None:
        widget.open_questions = changed.questions

    def on_live(_changed: object) -> None:
        _show_live(widget, share)

    def on_switches(_changed: SwitchesChanged) -> None:
        _show_switches(widget, share)  # the share's copy: never older than the event

    def on_stopped(stopped: Stopped) -> None:
        widget.status = "stopped"
        widget.message = f"{stopped.problem} {STOPPED}" if stopped.problem else STOPPED

    # Subscribed first, then the current state: a change in between is not lost.
    for unsubscribe in _subscriptions.pop(share, []):
        unsubscribe()
    _subscriptions[share] = [
        share.events.on(LinkChanged, on_link),
        share.events.on(LeadChanged, on_lead),
        share.events.on(StatusMessage, on_message),
        share.events.on(PeopleChanged, on_people),
        share.events.on(QuestionsChanged, on_questions),
        share.events.on(SwitchesChanged, on_switches),
        share.events.on(Stopped, on_stopped),
    ]
    if _LIVE_EVENT is not None:
        _subscriptions[share].append(share.events.on(_LIVE_EVENT, on_live))
    leader = share.leader
    with widget.hold_sync():
        widget.leader = leader["client_id"] if leader else None
        widget.lead_policy = share.lead_policy
        widget.participants = share.participants
        widget.open_questions = share.questions
    _show_live(widget, share)
    _show_switches(widget, share)
    _widgets[share] = widget


def cell_order(share: Share) -> dict[str, int]:
    """Cell id -> its place in the shared notebook (the reactions' labels: "cell 3")."""
    return {cell: i for i, cell in enumerate(share.rendered.cell_ids)}


def share_again_code(share: Share) -> str:
    """Python that shares `share`'s notebook again with the options it was shared with ("" when
    it has no file). Not `fresh`: sharing again must not clear the board a second time. The
    extension is loaded too: after a kernel restart the code runs in a kernel without it."""
    path = share.located.path
    if path is None:
        return ""
    given = [
        f"{row.name}={_literal(getattr(share.options, row.name))}"
        for row in options.rows()
        if row.name != "fresh" and getattr(share.options, row.name) != row.default
    ]
    call = ", ".join([repr(str(path)), *given])
    return (
        "import jupyterspot_magic\n"
        'get_ipython().extension_manager.load_extension("jupyterspot_magic")\n'
        f"jupyterspot_magic.share({call});"
    )


def _literal(value: object) -> str:
    return repr(str(value) if isinstance(value, Path) else value)


def starting_widget() -> ShareWidget:
    """A widget shown while the share starts (raises when the widget's bundle is missing)."""
    return ShareWidget(status="starting", message="starting…")


def next_step(share: Share) -> str:
    """What gives a public link when this share's link is not public ("" when it is)."""
    if reach(share.url) == "public":
        return ""
    step = getattr(share.tunnel, "next_step", None)  # auto found no tunnel: it says why
    if step:
        return step
    if share.tunnel.name == "url":  # --tunnel auto would not be used: the proxy's URL is
        return (
            "For a public link: give --public-url the address people outside reach your proxy "
            "at (this one only works here)."
        )
    return "For a public link: share with --tunnel auto (the default)."


def make_widget(share: Share, widget: ShareWidget | None = None) -> ShareWidget:
    """A widget showing `share` (raises when the widget's bundle is missing); `widget`: the one
    shown while it started (`starting_widget`), which now follows the share."""
    widget = widget or ShareWidget()
    widget.title = share.rendered.title
    widget.set_link(share.url, share.host_url)
    widget.local_url = share.local_url
    widget.next_step = next_step(share)
    # The notes are in the plain link beside it (frontends/display.py): once, and there also
    # where the front end renders no widget.
    widget.message = ""
    widget.status = "live" if share.alive else "stopped"
    widget.share_again = share_again_code(share)
    connect(widget, share)
    return widget
