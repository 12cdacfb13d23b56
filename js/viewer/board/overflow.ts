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
  private readonly dots: SVGSVGElement;
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
    this.dots = dots;
    this.menu = h("div", {
      class: "jupyterspot-tb-menu",
      "data-testid": "tool-more-menu",
      role: "group",
      "aria-label": "More tools",
    });
    this.menu.hidden = true;
    bar.append(this.button, this.menu);
    this.button.addEventListener("click", () => this.open(this.menu.hidden));
    // A choice in the menu closes it (after the button's own handler ran: bubble phase); the
    // keyboard's focus goes back to "more", not to the top of the page with the hidden button.
    this.menu.addEventListener("click", () => this.close());
    this.menu.addEventListener("pointerup", (e) => {
      if (e.pointerType !== "mouse") setTimeout(() => this.close(), 0);
    });
    // Esc closes the menu (only: the tool stays) and gives the focus back to "more".
    document.addEventListener(
      "keydown",
      (e) => {
        if (e.key !== "Escape" || this.menu.hidden) return;
        e.stopPropagation();
        e.preventDefault();
        this.close();
      },
      true,
    );
    document.addEventListener("pointerdown", (e) => {
      if (!this.menu.hidden && !bar.contains(e.target as Node)) this.open(false);
    });
  }

  open(on: boolean): void {
    this.menu.hidden = !on;
    this.button.setAttribute("aria-expanded", String(on));
  }

  /** Close the menu; a focus inside it moves to "more". */
  private close(): void {
    const focused = this.menu.contains(document.activeElement);
    this.open(false);
    if (focused || document.activeElement === document.body) {
      this.button.focus({ preventScroll: true });
    }
    this.sync();
  }

  /** "More" shows the active tool when that tool is in the menu (pressed, with its icon). */
  sync(): void {
    const active = this.menu.querySelector<HTMLElement>('[aria-pressed="true"]');
    const shown = active?.querySelector("svg")?.cloneNode(true) as SVGSVGElement | undefined;
    this.button.replaceChildren(shown ?? this.dots);
    this.button.classList.toggle("jupyterspot-active", !!active);
    this.button.setAttribute("aria-pressed", String(!!active));
    const label = active ? `More tools (${active.title || active.dataset.testid})` : "More tools";
    this.button.title = label;
    this.button.setAttribute("aria-label", label);
  }

  /** Put every button back; in the bottom bar, move the least needed ones out until it fits. */
  fit(narrow: boolean): void {
    const wasOpen = !this.menu.hidden;
    this.open(false);
    for (const { group, children } of this.homes) group.append(...children);
    this.button.hidden = !narrow;
    if (!narrow) return this.sync();
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
    if (wasOpen && out.length) this.open(true);
    this.sync();
  }
}
