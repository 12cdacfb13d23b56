"""The share widget shown in the notebook: link, copy buttons, QR code, status, people, Stop.

The front end is ``static/widget.js`` (built from ``js/widget/index.ts``). Traits may be set from
any thread; the Stop button reaches Python through a custom message ``{"type": "stop"}``, the
lead controls through ``{"type": "lead", "op": ..., "req": n}``, answered with
``{"type": "ack", "req": n, "ok": bool, "message": str}`` (the front end shows "waiting for the
kernel" until then: custom messages are handled only when the kernel is idle).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import segno
import traitlets

__all__ = ["WIDGET_JS", "ShareWidget", "WidgetBundleMissing", "handle_lead_message"]

log = logging.getLogger(__name__)

WIDGET_JS = Path(__file__).resolve().parent.parent / "static" / "widget.js"


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
    #: SVG data URI of the guest link's QR code (set by :meth:`set_link`).
    qr_data_uri = traitlets.Unicode("").tag(sync=True)
    #: rendering | live | stopped | error
    status = traitlets.Unicode("rendering").tag(sync=True)
    #: One line shown under the status.
    message = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    #: Dicts as in docs/protocol.md, "Kernel side view".
    participants = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: Client id of the participant who leads the scrolling, or None.
    leader = traitlets.Int(None, allow_none=True).tag(sync=True)
    #: "anyone" | "host"
    lead_policy = traitlets.Unicode("anyone").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        if not WIDGET_JS.is_file():
            raise _missing_bundle()
        super().__init__(**kwargs)
        self._stop_callbacks: list[Callable[[], None]] = []
        self._lead_callback: Callable[[dict], tuple[bool, str]] | None = None
        # Not named _handle_msg: that is ipywidgets' own comm callback (every message from the
        # front end would fail with a TypeError and be dropped).
        self.on_msg(self._on_custom_msg)

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the user clicks Stop in the widget."""
        self._stop_callbacks.append(callback)

    def on_lead(self, callback: Callable[[dict], tuple[bool, str]]) -> None:
        """Handle the lead controls: ``callback(content) -> (ok, message)``."""
        self._lead_callback = callback

    def set_link(self, url: str, host_url: str) -> None:
        """Show ``url`` (and its QR code) and offer ``host_url`` behind a copy button."""
        qr = segno.make(url, error="m").svg_data_uri(scale=4) if url else ""
        with self.hold_sync():
            self.url = url
            self.host_url = host_url
            self.qr_data_uri = qr

    def _on_custom_msg(self, _widget: object, content: Any, _buffers: object) -> None:
        if isinstance(content, dict) and content.get("type") == "lead":
            self._handle_lead(content)
            return
        if not isinstance(content, dict) or content.get("type") != "stop":
            return
        for callback in list(self._stop_callbacks):
            try:
                callback()
            except Exception:
                log.exception("jupyterspot: stop callback failed")

    def _handle_lead(self, content: dict) -> None:
        ok, message = False, "This share cannot be led from here."
        if self._lead_callback is not None:
            try:
                ok, message = self._lead_callback(content)
            except Exception as e:  # shown in the widget, never raised into the kernel
                ok, message = False, str(e) or type(e).__name__
        self.send({"type": "ack", "req": content.get("req"), "ok": ok, "message": message})


def handle_lead_message(share: Any, content: dict) -> tuple[bool, str]:
    """One lead control of the widget, applied to ``share``: (ok, what to tell the user)."""
    op = content.get("op")
    if op == "take":
        if share.take_lead() is None:
            return False, "Open the presenter view to lead: nobody has it open."
        return True, "The presenter view leads."
    if op == "release":
        share.release_lead()
        return True, "Nobody leads now."
    if op == "hand":
        to = content.get("to")
        cid = share.hand_lead(to if isinstance(to, int | str) else "")
        name = next((p["name"] for p in share.participants if p["client_id"] == cid), "them")
        return True, f"{name} leads now."
    if op == "recall":
        share.bring_everyone_back()
        return True, "Everyone follows the leader again."
    if op == "policy":
        policy = str(content.get("policy"))
        share.lead_policy = policy
        return True, "Only you give the lead." if policy == "host" else "Anyone may take the lead."
    return False, f"Unknown lead control {op!r}."
