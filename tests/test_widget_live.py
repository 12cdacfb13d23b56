"""The widget's live toggles (frontends/widget.py, command "live"): "Pause live" / "Resume live"
set ``share.live``, "Follow running cell" sets ``share.follow_running``; the answer says what
happened, and the widget's traits show what the share does now.

The command arrives the two ways a front end sends it (anywidget's ``invoke`` and the custom
message fallback), through ipywidgets' own comm handler (``_handle_custom_msg``), as in the
notebook; the share is a stand-in with the share's API (no server: what the share then does with
the flags is tests/test_live_stream.py's), and a real share, whose control document the pages
read (js/viewer/running.ts)."""

from __future__ import annotations

from types import SimpleNamespace

from pycrdt import Map

from jupyterspot_magic.base.page_config import KERNEL_LEADER
from jupyterspot_magic.frontends.widget import ShareWidget, connect, live_command
from jupyterspot_magic.server.thread import ServerThread
from jupyterspot_magic.session import hosted, registry
from jupyterspot_magic.session.events import Events
from jupyterspot_magic.session.share import Share

from .conftest import show_widget, wait_for


class FakeShare:
    """What the widget reads and sets on a share, nothing more (`stream` None: --no-live)."""

    def __init__(self, leader: dict | None = None, stream: object = "a stream") -> None:
        self.events = Events()
        self.leader = leader
        self.lead_policy = "anyone"
        self.participants: list[dict] = []
        self.stream = stream
        self.live = stream is not None
        self.follow_running = False
        self.questions: list[dict] = []  # issue 18: the open questions the widget lists
        self.reactions = True  # issue 18: the host's switches
        self.questions_enabled = True
        self.rendered = SimpleNamespace(cell_ids=[])  # the reactions' cell labels


class Spy:
    """A widget connected to `share` whose messages to the front end are kept."""

    def __init__(self, share: object) -> None:
        self.widget = ShareWidget()
        connect(self.widget, share)  # type: ignore[arg-type]
        self.sent: list[dict] = []
        self.widget.send = lambda content, buffers=None: self.sent.append(content)  # type: ignore[method-assign]
        self.seq = 0

    def invoke(self, msg: dict, name: str = "live") -> dict:
        """As anywidget's `experimental.invoke(name, msg)` does it; returns the response."""
        self.seq += 1
        content = {"kind": "anywidget-command", "name": name, "id": str(self.seq), "msg": msg}
        self.widget._handle_custom_msg(content, [])
        reply = self.sent[-1]
        assert reply["kind"] == "anywidget-command-response" and reply["id"] == str(self.seq)
        return reply["response"]

    def custom(self, msg: dict, name: str = "live") -> dict:
        """The fallback: a custom message `{type: name, req, ...}` answered by an ack."""
        self.seq += 1
        self.widget._handle_custom_msg({"type": name, "req": self.seq, **msg}, [])
        ack = self.sent[-1]
        assert ack["type"] == "ack" and ack["req"] == self.seq
        return ack


def test_pause_and_resume_set_share_live_and_the_toggle_follows() -> None:
    share = FakeShare()
    spy = Spy(share)
    assert spy.widget.live_mode == "on" and spy.widget.follow_running is False

    answer = spy.invoke({"op": "pause", "on": False})
    assert answer["ok"] and "paused" in answer["message"], answer
    assert share.live is False and spy.widget.live_mode == "paused"

    ack = spy.custom({"op": "resume", "on": True})
    assert ack["ok"] and "Live" in ack["message"], ack
    assert share.live is True and spy.widget.live_mode == "on"


def test_follow_running_on_and_off_and_the_hint_when_nobody_leads() -> None:
    share = FakeShare(leader=None)
    spy = Spy(share)
    answer = spy.invoke({"op": "follow_running", "on": True})
    assert answer["ok"] and share.follow_running is True and spy.widget.follow_running is True
    # nobody else leads: the running cell leads (Share.follow_running), and the widget says so
    share.leader = {"client_id": KERNEL_LEADER, "name": "the running cell"}
    answer = spy.invoke({"op": "follow_running", "on": True})
    assert answer["ok"] and "Everyone follows the running cell" in answer["message"], answer

    share.leader = {"client_id": 5, "name": "Ada"}
    answer = spy.invoke({"op": "follow_running", "on": True})
    assert answer["ok"] and "while it runs" in answer["message"], answer

    ack = spy.custom({"op": "follow_running", "on": False})
    assert ack["ok"] and share.follow_running is False and spy.widget.follow_running is False


def test_bad_live_controls_are_refused_and_change_nothing() -> None:
    share = FakeShare()
    spy = Spy(share)
    for msg in ({"op": "explode"}, {}, {"op": "follow_running", "on": "yes"}):
        answer = spy.invoke(msg)
        assert answer["ok"] is False and answer["message"], (msg, answer)
    assert share.live is True and share.follow_running is False
    assert spy.widget.live_mode == "on" and spy.widget.follow_running is False


def test_a_share_that_refuses_shows_its_real_state() -> None:
    """A setter that raises (e.g. a stopped share) is the answer; the toggles show the share."""

    class Refusing(FakeShare):
        def __setattr__(self, name: str, value: object) -> None:
            if name == "live" and hasattr(self, "live"):
                raise RuntimeError("This share is not live")
            super().__setattr__(name, value)

    share = Refusing()
    spy = Spy(share)
    spy.widget.live_mode = "paused"  # stale, as if an old change had been shown
    answer = spy.invoke({"op": "pause"})
    assert answer == {"ok": False, "message": "This share is not live"}
    assert spy.widget.live_mode == "on"  # what the share says, not what was asked


def test_without_live_outputs_pause_and_resume_are_refused() -> None:
    """--no-live (or no Jupyter kernel): the widget hides the toggles; a command says why."""
    share = FakeShare(stream=None)
    spy = Spy(share)
    assert spy.widget.live_mode == "off"
    for op in ("pause", "resume"):
        answer = spy.invoke({"op": op})
        assert answer["ok"] is False and "--no-live" in answer["message"], answer
    assert share.live is False and spy.widget.live_mode == "off"


def test_live_command_alone_reads_only_op_and_on() -> None:
    share = FakeShare()
    assert live_command(share, {"op": "pause", "on": True})["ok"]  # type: ignore[arg-type]
    assert share.live is False  # "pause" pauses; `on` matters to follow_running only


# --- a real share (once Share has live / follow_running) -----------------------------------


def _control(server: ServerThread, room: str) -> dict:
    """In the server's process (tests/inside.py): the room's control document as a dict."""
    control = hosted.get(room).shared.control.doc.get("control", type=Map)
    return server.call(lambda: control.to_py() or {})


def control_of(share: Share) -> dict:
    return share.host.call(_control, share.room)


def test_the_widget_drives_a_real_share(nb) -> None:
    """A real share outside a kernel has no stream: "off"; follow_running reaches the pages'
    control document (what the pages read: js/viewer/running.ts)."""
    share = registry.share(nb, tunnel="none", store=False)
    spy = Spy(share)
    assert spy.widget.live_mode == "off"
    assert spy.invoke({"op": "pause"})["ok"] is False
    assert spy.invoke({"op": "follow_running", "on": True})["ok"]
    assert share.follow_running is True and spy.widget.follow_running is True
    assert control_of(share)["followRunning"] is True
    assert control_of(share)["leader"] == KERNEL_LEADER  # nobody led: the running cell does
    assert control_of(share)["live"] == "off"
    assert spy.invoke({"op": "follow_running", "on": False})["ok"]
    assert control_of(share)["followRunning"] is False
    assert control_of(share)["leader"] is None


# --- the widget's front end (static/widget.js) in Chromium, with a stand-in model ------------


def test_widget_front_end_live_toggles(browser) -> None:
    page = browser.new_page()
    try:
        show_widget(page, live_mode="on", follow_running=False)
        toggle = page.get_by_test_id("widget-live-toggle")
        follow = page.get_by_test_id("widget-follow-running")
        pressed = "aria-pressed"
        assert toggle.inner_text() == "Pause live" and toggle.get_attribute(pressed) == "false"
        assert follow.get_attribute("aria-pressed") == "false"

        # Each click is one "live" command; the answer shows in the lead row's status line.
        toggle.click()
        follow.click()
        assert page.evaluate("window.__sent") == [
            {"type": "live", "op": "pause", "on": False, "req": 1},
            {"type": "live", "op": "follow_running", "on": True, "req": 2},
        ]
        page.evaluate("window.__msg({type: 'ack', req: 2, ok: true, message: 'Following.'})")
        state = page.get_by_test_id("widget-lead-state")
        wait_for(lambda: state.inner_text() == "Following.", 1, "the kernel's answer shown")

        # The traits (the share's state) decide what the toggles say, not the clicks.
        assert toggle.inner_text() == "Pause live"
        page.evaluate("window.__set('live_mode', 'paused')")
        page.evaluate("window.__set('follow_running', true)")
        assert toggle.inner_text() == "Resume live" and toggle.get_attribute(pressed) == "true"
        assert follow.get_attribute("aria-pressed") == "true"
        toggle.click()
        follow.click()
        assert page.evaluate("window.__sent")[2:] == [
            {"type": "live", "op": "resume", "on": True, "req": 3},
            {"type": "live", "op": "follow_running", "on": False, "req": 4},
        ]

        # No live outputs (--no-live): nothing to pause, nobody to bring to a running cell.
        page.evaluate("window.__set('live_mode', 'off')")
        assert toggle.is_hidden() and follow.is_hidden()
    finally:
        page.close()


# --- the host's switches (issue 18): reactions, questions -------------------------------------


def test_the_switches_command_sets_the_share_and_the_toggles_follow() -> None:
    share = FakeShare()
    spy = Spy(share)
    assert spy.widget.reactions_on is True and spy.widget.questions_on is True
    answer = spy.invoke({"op": "reactions", "on": False}, "switches")
    assert answer["ok"] and "Reactions off" in answer["message"]
    assert share.reactions is False and spy.widget.reactions_on is False
    ack = spy.custom({"op": "questions", "on": False}, "switches")
    assert ack["ok"] and share.questions_enabled is False and spy.widget.questions_on is False
    # Bad input: one line, nothing changed.
    for bad in ({"op": "reactions", "on": "yes"}, {"op": "lead", "on": True}, {}, {"on": True}):
        answer = spy.invoke(bad, "switches")
        assert answer == {
            "ok": False,
            "message": "Which switch? Say reactions or questions, on or off.",
        }
    assert share.reactions is False and share.questions_enabled is False
    assert spy.invoke({"op": "reactions", "on": True}, "switches")["ok"]
    assert share.reactions is True and spy.widget.reactions_on is True


def _write_switch(server: ServerThread, room: str, key: str, on: bool) -> None:
    """In the server's process: what a host page's switch writes (control `reactions` /
    `questions`: js/viewer ask queue and reactions)."""
    control = hosted.get(room).shared.control.doc.get("control", type=Map)
    server.call(lambda: control.__setitem__(key, on))


def test_the_toggles_follow_the_magic_python_and_a_host_page(nb) -> None:
    """A real share: the widget's command reaches the pages' control document; a change made
    elsewhere (Python, the magic's form, a host page's switch) reaches the widget."""
    share = registry.share(nb, tunnel="none", store=False)
    spy = Spy(share)
    assert spy.widget.reactions_on is True and spy.widget.questions_on is True
    assert spy.invoke({"op": "questions", "on": False}, "switches")["ok"]
    assert control_of(share)["questions"] is False
    # (The server's news of an earlier state may still be on its way: wait for the last word.)
    wait_for(lambda: share.questions_enabled is False and not spy.widget.questions_on, 5, "off")
    share.reactions = False  # what `%jupyterspot reactions off` does
    assert control_of(share)["reactions"] is False
    wait_for(lambda: spy.widget.reactions_on is False, 5, "the magic's switch shown")
    # A host page switches both back on: the server tells the kernel, the widget follows.
    share.host.call(_write_switch, share.room, "reactions", True)
    share.host.call(_write_switch, share.room, "questions", True)
    wait_for(
        lambda: spy.widget.reactions_on and spy.widget.questions_on, 5, "the host page's switches"
    )
    assert share.reactions is True and share.questions_enabled is True


def test_widget_front_end_switch_toggles(browser) -> None:
    page = browser.new_page()
    try:
        show_widget(page, reactions_on=True, questions_on=True)
        react = page.get_by_test_id("widget-reactions-switch")
        ask = page.get_by_test_id("widget-questions-switch")
        assert react.get_attribute("aria-pressed") == "true"
        assert ask.get_attribute("aria-pressed") == "true"
        react.click()
        ask.click()
        assert page.evaluate("window.__sent") == [
            {"type": "switches", "op": "reactions", "on": False, "req": 1},
            {"type": "switches", "op": "questions", "on": False, "req": 2},
        ]
        # The traits (the share's switches) decide what the toggles show, not the clicks.
        assert react.get_attribute("aria-pressed") == "true"
        page.evaluate("window.__set('reactions_on', false)")
        assert react.get_attribute("aria-pressed") == "false"
        assert react.inner_text() == "React" and "Turned off" in react.get_attribute("title")
        react.click()
        assert page.evaluate("window.__sent")[2] == {
            "type": "switches",
            "op": "reactions",
            "on": True,
            "req": 3,
        }
        page.evaluate("window.__set('status', 'stopped')")
        assert page.get_by_test_id("widget-switches").is_hidden()
    finally:
        page.close()
