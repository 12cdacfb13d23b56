// Text: typed text in the ink color, `s` is the font size. Always inserted with textContent.

import { h } from "../../dom";
import { round1 } from "../geometry";
import { f1, type ShapeKind } from "./kind";
import { boxDistance } from "./sized";

export const text: ShapeKind = {
  layer: "html",
  size: "text",
  editor: { label: "Text", placeholder: "Type…", className: "jupyterspot-editor-text" },
  // Until it is laid out, a guess from the font size and the number of characters.
  box: (s, measured) => ({
    x0: 0,
    y0: 0,
    x1: measured?.w ?? s.s * 0.6 * s.text.length,
    y1: measured?.h ?? s.s * 1.3,
  }),
  distance: (_s, px, py, box) => boxDistance(px, py, box),
  create: () => h("div", { class: "jupyterspot-board-text" }),
  paint(el, s) {
    const div = el as HTMLElement;
    if (div.textContent !== s.text) div.textContent = s.text;
    div.style.color = s.c;
    div.style.fontSize = `${f1(s.s)}px`;
  },
  // Scaling text scales its font (with the height).
  scale: (s, _sx, sy) => ({ s: round1(Math.max(6, Math.min(200, s.s * sy))) }),
};
