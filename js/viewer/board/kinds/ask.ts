// Question (issue 18, "Ask about this"): a pin at a point of a cell with the question and the
// asker's name. Answered ones (`ans` > 0) are hidden everywhere. Text inserted with textContent.

import { h } from "../../dom";
import type { ShapeKind } from "./kind";
import { boxDistance } from "./sized";

/** The viewer cuts a question to this many characters (the server's bound is the schema's). */
export const ASK_MAX = 280;

export const ask: ShapeKind = {
  layer: "html",
  size: "text",
  box: (_s, measured) => ({ x0: 0, y0: 0, x1: measured?.w ?? 220, y1: measured?.h ?? 40 }),
  distance: (_s, px, py, box) => boxDistance(px, py, box),
  create: () =>
    h(
      "div",
      { class: "jupyterspot-board-ask" },
      h("span", { class: "jupyterspot-ask-pin", "aria-hidden": "true" }, "?"),
      h(
        "div",
        { class: "jupyterspot-ask-body" },
        h("div", { class: "jupyterspot-ask-text" }),
        h("div", { class: "jupyterspot-ask-by" }),
      ),
    ),
  paint(el, s) {
    const div = el as HTMLElement;
    div.setAttribute("data-question-id", s.id);
    const body = div.lastChild as HTMLElement;
    const text = body.firstChild as HTMLElement;
    const by = body.lastChild as HTMLElement;
    const shown = s.text.slice(0, ASK_MAX);
    if (text.textContent !== shown) text.textContent = shown;
    if (by.textContent !== s.by) by.textContent = s.by;
    div.style.setProperty("--jupyterspot-ask-ink", s.c);
    div.toggleAttribute("data-answered", s.ans > 0);
    div.hidden = s.ans > 0;
  },
  scale: () => ({}),
};
