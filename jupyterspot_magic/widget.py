"""The share widget shown in the notebook: link, copy buttons, QR code, status, people, Stop.

The front end is ``static/widget.js`` (built from ``js/widget/index.ts``). Traits may be set from
any thread; the Stop button reaches Python through a custom message ``{"type": "stop"}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import segno
import traitlets

__all__ = ["WIDGET_JS", "ShareWidget", "WidgetBundleMissing"]

log = logging.getLogger(__name__)

WIDGET_JS = Path(__file__).parent / "static" / "widget.js"


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

    def __init__(self, **kwargs: Any) -> None:
        if not WIDGET_JS.is_file():
            raise _missing_bundle()
        super().__init__(**kwargs)
        self._stop_callbacks: list[Callable[[], None]] = []
        self.on_msg(self._handle_msg)

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the user clicks Stop in the widget."""
        self._stop_callbacks.append(callback)

    def set_link(self, url: str, host_url: str) -> None:
        """Show ``url`` (and its QR code) and offer ``host_url`` behind a copy button."""
        qr = segno.make(url, error="m").svg_data_uri(scale=4) if url else ""
        with self.hold_sync():
            self.url = url
            self.host_url = host_url
            self.qr_data_uri = qr

    def _handle_msg(self, _widget: object, content: Any, _buffers: object) -> None:
        if not isinstance(content, dict) or content.get("type") != "stop":
            return
        for callback in list(self._stop_callbacks):
            try:
                callback()
            except Exception:
                log.exception("jupyterspot: stop callback failed")
