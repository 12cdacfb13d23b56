// Sticky note: text on a pastel of the ink color, `w` wide and at least `h` high, signed with
// the author's name. Always inserted with textContent.

import { h } from "../../dom";
import { f1, type ShapeKind } from "./kind";
import { boxDistance, scaleFrame } from "./sized";

/** Pastel background for a sticky note of ink color `c`. */
function noteFill(c: string): string {
  const n = parseInt(c.slice(1), 16);
  const mix = (v: number): number => Math.round(v * 0.3 + 255 * 0.7);
  const [r, g, b] = [mix((n >> 16) & 255), mix((n >> 8) & 255), mix(n & 255)];
  return `rgb(${r}, ${g}, ${b})`;
}

export const note: ShapeKind = {
  layer: "html",
  size: "line",
  editor: {
    label: "Sticky note text",
    placeholder: "Write a note…",
    className: "jupyterspot-editor-note",
    dress(ta, s, inPlace) {
      if (inPlace) {
        ta.style.width = `${Math.max(40, s.w)}px`;
        ta.style.minHeight = `${Math.max(40, s.h)}px`;
      }
      ta.style.background = noteFill(s.c);
    },
  },
  box: (s, measured) => ({
    x0: 0,
    y0: 0,
    x1: measured?.w ?? Math.max(40, s.w),
    y1: measured?.h ?? Math.max(40, s.h),
  }),
  distance: (_s, px, py, box) => boxDistance(px, py, box),
  create: () =>
    h(
      "div",
      { class: "jupyterspot-board-note" },
      h("div", { class: "jupyterspot-note-text" }),
      h("div", { class: "jupyterspot-note-by" }),
    ),
  paint(el, s) {
    const div = el as HTMLElement;
    const text = div.firstChild as HTMLElement;
    const by = div.lastChild as HTMLElement;
    if (text.textContent !== s.text) text.textContent = s.text;
    if (by.textContent !== s.by) by.textContent = s.by;
    div.style.width = `${f1(Math.max(40, s.w))}px`;
    div.style.minHeight = `${f1(Math.max(40, s.h))}px`;
    div.style.background = noteFill(s.c);
    div.style.setProperty("--jupyterspot-note-ink", s.c);
  },
  scale: scaleFrame,
};
