// The palette on a narrow screen (the bottom bar): what fits stays in the bar, by priority, and
// the rest goes to a "more" menu one tap away (data-testid="tool-more", "tool-more-menu"). At
// 390 px all 14 buttons need 601 px; the bar keeps about 7. The buttons themselves move (their
// handlers and states stay theirs, toolbar.ts); on a wide screen every one is back in place.

import { h, icon as pathIcon } from "../dom";

/** Most needed first: what a phone user draws and takes back with; shapes go first. */
const PRIORITY = [
  "tool-browse",
  "tool-pen",
  "tool-ask",
  "undo",
  "tool-eraser",
  "tool-highlighter",
  "tool-style",
  "tool-select",
  "redo",
  "tool-laser",
  "tool-text",
  "tool-note",
  "tool-arrow",
  "tool-rect",
  "tool-ellipse",
  "react", // on a phone in the "more" menu (issue 18): the bar keeps the drawing tools
];

const DOTS = "M4.5 10h.01M10 10h.01M15.5 10h.01";

export class ToolOverflow {
  readonly button: HTMLButtonElement;
  readonly menu: HTMLElement;
  /** Each group with its children in their original order, to put them back. */
  private readonly homes: { group: HTMLElement; children: Element[] }[];

  constructor(private readonly bar: HTMLElement) {
    this.homes = Array.from(bar.querySelectorAll<HTMLElement>(".jupyterspot-tb-group")).map(
      (group) => ({ group, children: Array.from(group.children) }),
    );
    const dots = pathIcon(DOTS, 20, 20);
    dots.setAttribute("stroke-width", "3");
    this.button = h(
      "button",
      {
        type: "button",
        class: "jupyterspot-tb-btn jupyterspot-tb-more",
        "data-testid": "tool-more",
        title: "More tools",
        "aria-label": "More tools",
        "aria-haspopup": "true",
        "aria-expanded": "false",
      },
      dots,
    );
    this.button.hidden = true;
    this.menu = h("div", {
      class: "jupyterspot-tb-menu",
      "data-testid": "tool-more-menu",
      role: "group",
      "aria-label": "More tools",
    });
    this.menu.hidden = true;
    bar.append(this.button, this.menu);
    this.button.addEventListener("click", () => this.open(this.menu.hidden));
    // A choice in the menu closes it (after the button's own handler ran: bubble phase).
    this.menu.addEventListener("click", () => this.open(false));
    this.menu.addEventListener("pointerup", (e) => {
      if (e.pointerType !== "mouse") setTimeout(() => this.open(false), 0);
    });
    document.addEventListener("pointerdown", (e) => {
      if (!this.menu.hidden && !bar.contains(e.target as Node)) this.open(false);
    });
  }

  open(on: boolean): void {
    this.menu.hidden = !on;
    this.button.setAttribute("aria-expanded", String(on));
  }

  /** Put every button back; in the bottom bar, move the least needed ones out until it fits. */
  fit(narrow: boolean): void {
    this.open(false);
    for (const { group, children } of this.homes) group.append(...children);
    this.button.hidden = !narrow;
    if (!narrow) return;
    const byId = new Map<string, HTMLElement>();
    for (const el of this.bar.querySelectorAll<HTMLElement>(".jupyterspot-tb-group [data-testid]")) {
      if (el.dataset.testid) byId.set(el.dataset.testid, el);
    }
    const out: HTMLElement[] = [];
    for (const id of [...PRIORITY].reverse()) {
      if (this.bar.scrollWidth <= this.bar.clientWidth + 1) break;
      const el = byId.get(id);
      if (!el) continue;
      out.unshift(el);
      el.remove();
    }
    // The menu lists them in the palette's own order.
    const order = Array.from(byId.values());
    out.sort((a, b) => order.indexOf(a) - order.indexOf(b));
    this.menu.replaceChildren(...out);
    this.button.hidden = out.length === 0;
  }
}
