"""What a share looks like to a person: its summary, people and link as text (the terminal, the
magic's status) and as HTML (the notebook's plain link). Used by magic.py and cli.py alike.

The plain link is always displayed in a notebook, next to the widget: the widget cannot load
when anywidget was installed into an already running Jupyter server, and some front-ends render
no widgets at all.
"""

from __future__ import annotations

import contextlib
import html
import threading
import weakref
from collections.abc import Callable

from ..session.events import LinkChanged, PeopleChanged, StatusMessage, Stopped
from ..session.participants import printable
from ..session.share import Share

# Marks our own outputs so the renderer strips them from the shared page.
OUTPUT_MARK = {"jupyterspot_magic": {"output": "share"}}


def summary(share: Share) -> str:
    people = share.participants
    who = ", ".join(p["name"] for p in people) or "nobody yet"
    source = share.located.path or "live notebook contents"
    leader = share.leader
    leads = (leader.get("name") or f"client {leader['client_id']}") if leader else "nobody"
    drawing = "host only (view-only)" if share.view_only else "everyone"
    return (
        f"jupyterspot: {share.status} · {source}\n"
        f"  link:      {share.url}\n"
        f"  host link: {share.host_url}\n"
        f"  people:    {len(people)} ({who})\n"
        f"  lead:      {leads} (policy: {share.lead_policy}) · drawing: {drawing}"
    )


def ready_text(share: Share) -> str:
    """What a terminal shows once the share is up: the summary and its notes."""
    return "\n".join([summary(share), *(f"  note: {note}" for note in share.notes)])


def people_lines(share: Share) -> list[str]:
    """One line per participant with the client id `%jupyterspot kick #ID` accepts."""
    lines = []
    for p in share.participants:
        where = ""
        if p.get("cell_index") is not None and p.get("cell_count"):
            where = f" · cell {p['cell_index'] + 1} of {p['cell_count']}"
        name = printable(p["name"])  # already clean (participant_row); cheap insurance
        lines.append(f"    #{p['client_id']:<11} {name} ({p['role']}){where}")
    return lines


def status_text(share: Share) -> str:
    people = people_lines(share)
    if not people:
        return summary(share)
    return summary(share) + "\n  ids (for kick):\n" + "\n".join(people)


def link_html(share: Share, notes: bool = True) -> str:
    """The plain link, with the share's notes on one line under it (the widget beside it does
    not repeat them: in a front end that renders no widget, this is all there is)."""
    if share.status == "stopped":  # the link is dead: never leave it clickable after Stop
        return '<div class="jupyterspot-link">jupyterspot: sharing stopped.</div>'
    url, host = html.escape(share.url), html.escape(share.host_url)
    said = share.notes if notes else []
    notes_html = f"<br><small>{html.escape(' · '.join(said))}</small>" if said else ""
    return (
        '<div class="jupyterspot-link">Shared: '
        f'<a href="{url}" target="_blank" rel="noopener">{url}</a>'
        f' · <a href="{host}" target="_blank" rel="noopener">presenter view</a>{notes_html}</div>'
    )


def show_link(share: Share, notes: bool = True) -> Callable[[], None]:
    """Display the plain link in the notebook; it follows the share's link as it changes (a
    reopened tunnel, a rotated guest link), from whichever thread the change comes, and says
    "stopped" in place once the share stops. Returns `redraw`: draw it again (with the notes,
    when the widget meant to show them could not be shown)."""
    from IPython.display import HTML, display

    handle = display(HTML(link_html(share, notes)), metadata=OUTPUT_MARK, display_id=True)
    shown = {"notes": notes}

    def redraw(*_event: object) -> None:
        with contextlib.suppress(Exception):  # the output may be gone; the widget shows the link
            handle.update(HTML(link_html(share, shown["notes"])), metadata=OUTPUT_MARK)

    def with_notes() -> None:
        shown["notes"] = True
        redraw()

    # Only the newest plain link follows the share (a re-share displays a new one).
    previous = _following.pop(share, None)
    if previous is not None:
        previous()
    unsubscribe = [share.events.on(LinkChanged, redraw), share.events.on(Stopped, redraw)]
    _following[share] = lambda: [off() for off in unsubscribe]
    return with_notes


_following: weakref.WeakKeyDictionary[Share, Callable[[], object]] = weakref.WeakKeyDictionary()
_printing: weakref.WeakSet[Share] = weakref.WeakSet()


def print_link_changes(share: Share) -> None:
    """Where no widget shows the share (a terminal, the CLI): print the new link when the tunnel
    was reopened under another URL (once per share, however often it is shown)."""
    if share in _printing:
        return
    _printing.add(share)

    def tell(changed: LinkChanged) -> None:
        if changed.note:  # a rotate() is printed by whoever asked for it
            print(f"jupyterspot: {changed.note}\n  link: {changed.url}", flush=True)

    share.events.on(LinkChanged, tell)


_printing_status: weakref.WeakSet[Share] = weakref.WeakSet()


def print_status_lines(share: Share) -> None:
    """In a terminal (the CLI, terminal IPython), where nothing else shows them: the tunnel
    down, the share server restarted after a crash, one line each. (Not in a notebook: a line
    printed from another thread lands in whatever cell runs then; the widget shows them.)"""
    if share in _printing_status:  # once per share, however often it is shown
        return
    _printing_status.add(share)
    share.events.on(StatusMessage, lambda said: print(f"jupyterspot: {said.message}", flush=True))


def people_changes(before: list[dict], after: list[dict]) -> list[str]:
    """The lines a terminal prints for one participants update: who joined, who left."""
    was = {p["client_id"]: p for p in before}
    now = {p["client_id"]: p for p in after}
    here = f"({len(now)} here)"
    joined = [f"+ {printable(p['name'])} joined {here}" for c, p in now.items() if c not in was]
    left = [f"- {printable(p['name'])} left {here}" for c, p in was.items() if c not in now]
    return left + joined


def print_people_changes(share: Share) -> None:
    """The CLI: a line for each join and leave as it happens (the summary's `people:` line is
    printed once). Runs on the thread that hears the server's news (session/events.py)."""
    seen = {"people": list(share.participants)}
    lock = threading.Lock()

    def tell(changed: PeopleChanged) -> None:
        with lock:  # one update's lines together, in the order the updates came
            lines = people_changes(seen["people"], changed.people)
            seen["people"] = list(changed.people)
            for line in lines:
                print(line, flush=True)

    share.events.on(PeopleChanged, tell)
