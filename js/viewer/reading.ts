// The reading gesture on touch screens: a double tap on the notebook switches the reading zoom
// (layout.ts) on, centred on the tapped text, and off again. Only in browse mode: while a tool is
// active its input surface (board/input.ts), outside the root, takes the taps.
//
// Why a double tap and not the browser's pinch: a pinch scales the visual viewport, and with it
// every fixed bar (the palette grows off the screen at 2.4x, the pinch a phone needs for 12 px
// text), and a drawing tool's surface (touch-action: none) cannot be pinched at all. The reading
// zoom changes the root's CSS zoom instead: the bars stay their size and drawing still works.

import type { Layout } from "./layout";

/** A tap: finger down to up within this long (ms) ... */
const TAP_MS = 300;
/** ... moving less than this (px). */
const TAP_SLOP = 12;
/** The second tap starts within this long (ms) of the first one's end ... */
const GAP_MS = 400;
/** ... this close (px) to it. */
const NEAR_PX = 40;

/** Where a double tap is the content's own: typing, links and buttons, and interactive outputs
 * (Plotly resets its axes on a double tap; Vega, Bokeh, widgets, embedded frames). */
const OWN_TAPS = [
  "input",
  "textarea",
  "select",
  "a[href]",
  "button",
  "[contenteditable]:not([contenteditable='false'])",
  "iframe",
  ".js-plotly-plot",
  ".vega-embed",
  ".bk-root",
  ".bk",
  ".jupyter-widgets",
  ".widget-area",
  "[data-jupyterspot-own]",
].join(",");

function theContents(target: EventTarget | null): boolean {
  return target instanceof Element && target.closest(OWN_TAPS) !== null;
}

interface Tap {
  x: number;
  y: number;
  t: number;
}

export function watchReadingGesture(layout: Layout): void {
  let down: (Tap & { id: number }) | null = null;
  let last: Tap | null = null;
  const opts = { capture: true, passive: true };
  const far = (a: Tap, e: PointerEvent, px: number): boolean =>
    Math.hypot(e.clientX - a.x, e.clientY - a.y) > px;
  document.addEventListener(
    "pointerdown",
    (e) => {
      down =
        e.pointerType === "touch" && e.isPrimary
          ? { x: e.clientX, y: e.clientY, t: e.timeStamp, id: e.pointerId }
          : null;
      if (!down) last = null;
    },
    opts,
  );
  // A pinch or a scroll took the touch over.
  document.addEventListener(
    "pointercancel",
    () => {
      down = null;
      last = null;
    },
    opts,
  );
  document.addEventListener(
    "pointerup",
    (e) => {
      const d = down;
      down = null;
      const onPage =
        e.target instanceof Node && layout.root.contains(e.target) && !theContents(e.target);
      if (!d || e.pointerId !== d.id || !onPage) {
        last = null;
        return;
      }
      if (e.timeStamp - d.t > TAP_MS || far(d, e, TAP_SLOP)) {
        last = null;
        return;
      }
      if (last && e.timeStamp - last.t < GAP_MS && !far(last, e, NEAR_PX)) {
        last = null;
        layout.setReading(!layout.reading, e.clientX, e.clientY);
        return;
      }
      last = { x: e.clientX, y: e.clientY, t: e.timeStamp };
    },
    opts,
  );
}
