// The drawing palette (data-testid="toolbar"): a slim vertical strip at the left edge on wide
// screens, a bottom bar on narrow ones; large touch targets; every button says its shortcut.

import { h, icon as pathIcon } from "../dom";
import { ToolOverflow } from "./overflow";
import type { Tool } from "./tools";

const icon = (d: string): SVGSVGElement => pathIcon(d, 20, 20);

const ICONS: Record<string, string> = {
  browse: "M5 3v13l3.5-3.3 2.3 5 2.3-1-2.3-5H15z",
  select: "M3 3h4M13 3h4v4M17 13v4h-4M7 17H3v-4M3 7V3M10 7v6M7 10h6",
  pen: "M13.5 3.5l3 3L7 16l-4 1 1-4z",
  highlighter: "M12 3l5 5-6.5 6.5-5-5zM5.5 9.5l5 5L8 17H3v-2z",
  eraser: "M8 17h9M3.5 12.5l7-7a2 2 0 0 1 3 0l2 2a2 2 0 0 1 0 3L10 16H7z",
  arrow: "M4 16L16 4M9 4h7v7",
  rect: "M3.5 5h13v10h-13z",
  ellipse: "M10 4.5c4 0 7 2.5 7 5.5s-3 5.5-7 5.5-7-2.5-7-5.5 3-5.5 7-5.5z",
  text: "M4 5V3.5h12V5M10 3.5v13M7.5 16.5h5",
  note: "M4 3.5h12v8.5l-4.5 4.5H4zM16 12h-4.5v4.5",
  ask: "M10 2.5a6.5 6.5 0 0 1 0 13h-1l-4 3v-3.5a6.5 6.5 0 0 1 5-12.5zM8 7.5a2 2 0 1 1 2.5 2c-.5.2-.5.6-.5 1.2M10 13h.01",
  laser: "M10 7.5a2.5 2.5 0 1 1 0 5 2.5 2.5 0 0 1 0-5zM10 1.5v3M10 15.5v3M1.5 10h3M15.5 10h3",
  undo: "M7 4L3 8l4 4M3 8h9a5 5 0 0 1 0 10h-2",
  redo: "M13 4l4 4-4 4M17 8H8a5 5 0 0 0 0 10h2",
  react: "M10 2.5a7.5 7.5 0 1 1 0 15 7.5 7.5 0 0 1 0-15zM7 8h.01M13 8h.01M6.5 11.5q3.5 3.5 7 0",
};

interface ToolDef {
  tool: Tool | null;
  id: string;
  label: string;
  key: string;
}

export const TOOL_DEFS: ToolDef[] = [
  { tool: null, id: "browse", label: "Browse: use the notebook", key: "Esc" },
  { tool: "select", id: "select", label: "Select, move, resize (shift adds)", key: "V" },
  { tool: "pen", id: "pen", label: "Pen", key: "P" },
  { tool: "highlighter", id: "highlighter", label: "Highlighter", key: "H" },
  { tool: "eraser", id: "eraser", label: "Eraser", key: "E" },
  { tool: "arrow", id: "arrow", label: "Arrow", key: "A" },
  { tool: "rect", id: "rect", label: "Rectangle", key: "R" },
  { tool: "ellipse", id: "ellipse", label: "Ellipse", key: "O" },
  { tool: "text", id: "text", label: "Text", key: "T" },
  { tool: "note", id: "note", label: "Sticky note", key: "N" },
  { tool: "laser", id: "laser", label: "Laser pointer", key: "L" },
  { tool: "ask", id: "ask", label: "Ask about this: pin a question to a point", key: "Q" },
];

export const INKS = [
  "#1e1e1e",
  "#e03131",
  "#f08c00",
  "#fab005",
  "#2f9e44",
  "#1971c2",
  "#7048e8",
  "#c2255c",
];

/** Clear space (CSS px) the vertical palette keeps from the notebook's left edge. */
const MARGIN_GAP = 4;

export interface ToolbarHandlers {
  tool(t: Tool | null): void;
  undo(): void;
  redo(): void;
  color(c: string): void;
  size(i: number): void;
  /** Where the notebook's left edge is on screen (CSS px): the vertical palette needs a margin. */
  contentLeft?(): number;
}

/**
 * Run `fn` on a click, and right at the end of a touch/pen tap: browsers drop the click of a tap
 * that follows a stroke too closely (a "double tap"), which made undo feel broken on phones.
 * The click that does follow such a tap (within 800 ms) is the same press: skipped once. Any
 * other click runs `fn`, also one right after the page loaded.
 */
export function onPress(b: HTMLElement, fn: () => void): void {
  let down = -1;
  let tapped: number | null = null; // when a tap ran `fn`, until its click comes
  b.addEventListener("pointerdown", (e) => {
    down = e.pointerType === "mouse" ? -1 : e.pointerId;
  });
  b.addEventListener("pointerup", (e) => {
    if (e.pointerId !== down) return;
    down = -1;
    if ((b as HTMLButtonElement).disabled) return;
    tapped = performance.now();
    fn();
  });
  b.addEventListener("click", () => {
    const sameTap = tapped !== null && performance.now() - tapped < 800;
    tapped = null;
    if (!sameTap) fn();
  });
}

function button(testid: string, title: string, child: Node): HTMLButtonElement {
  return h(
    "button",
    { type: "button", class: "jupyterspot-tb-btn", "data-testid": testid, title, "aria-label": title },
    child,
  );
}

export class Toolbar {
  readonly el: HTMLElement;
  private tools = new Map<string, HTMLButtonElement>();
  private undoBtn: HTMLButtonElement;
  private redoBtn: HTMLButtonElement;
  private styleBtn: HTMLButtonElement;
  private swatch: HTMLElement;
  private popover: HTMLElement;
  private notice: HTMLElement;
  /** Reactions, hand, cursor chat (reactions.ts opens its menu; issue 18). */
  readonly reactButton: HTMLButtonElement;
  private sizeBtns: HTMLButtonElement[] = [];
  private inkBtns: HTMLButtonElement[] = [];
  private readonly overflow: ToolOverflow;
  private readonly contentLeft: () => number;
  /** The vertical palette's right edge (CSS px from the window's left). */
  private readonly verticalRight: number;

  constructor(on: ToolbarHandlers) {
    const el = h("div", {
      class: "jupyterspot-toolbar",
      "data-testid": "toolbar",
      role: "toolbar",
      "aria-label": "Drawing tools",
    });
    this.el = el;
    const group = (): HTMLElement => {
      const g = h("div", { class: "jupyterspot-tb-group" });
      el.appendChild(g);
      return g;
    };
    const tools = group();
    for (const def of TOOL_DEFS) {
      const b = button(`tool-${def.id}`, `${def.label} (${def.key})`, icon(ICONS[def.id]));
      b.setAttribute("aria-pressed", "false");
      // The active tool stays active when clicked again (Excalidraw, tldraw, Figma): Esc or
      // the browse button leaves it.
      onPress(b, () => on.tool(def.tool));
      this.tools.set(def.id, b);
      tools.appendChild(b);
    }
    const style = group();
    this.swatch = h("span", { class: "jupyterspot-swatch" });
    this.styleBtn = button("tool-style", "Color and size (C, [ and ])", this.swatch);
    this.styleBtn.setAttribute("aria-expanded", "false");
    onPress(this.styleBtn, () => this.togglePopover());
    style.appendChild(this.styleBtn);
    this.popover = h("div", { class: "jupyterspot-tb-popover" });
    this.popover.hidden = true;
    const inks = h("div", { class: "jupyterspot-tb-inks" });
    INKS.forEach((c, i) => {
      const dot = h("span");
      dot.style.background = c;
      const b = button(`color-${i}`, `Color ${i + 1}`, dot);
      onPress(b, () => on.color(c));
      this.inkBtns.push(b);
      inks.appendChild(b);
    });
    const sizes = h("div", { class: "jupyterspot-tb-sizes" });
    ["Thin", "Medium", "Thick"].forEach((label, i) => {
      const dot = h("span");
      dot.style.width = dot.style.height = `${4 + i * 4}px`;
      const b = button(`size-${i}`, label, dot);
      onPress(b, () => on.size(i));
      this.sizeBtns.push(b);
      sizes.appendChild(b);
    });
    this.popover.append(inks, sizes);
    style.appendChild(this.popover);
    const history = group();
    this.undoBtn = button("undo", "Undo your last change (Ctrl+Z)", icon(ICONS.undo));
    this.redoBtn = button("redo", "Redo (Ctrl+Shift+Z)", icon(ICONS.redo));
    onPress(this.undoBtn, () => on.undo());
    onPress(this.redoBtn, () => on.redo());
    history.append(this.undoBtn, this.redoBtn);
    this.reactButton = button("react", "React: 👍 ❓ 👀 🎉 ✋ (1–5), chat (/)", icon(ICONS.react));
    this.reactButton.setAttribute("aria-haspopup", "menu");
    group().appendChild(this.reactButton);
    this.notice = h("div", { class: "jupyterspot-tb-notice" });
    this.notice.hidden = true;
    el.appendChild(this.notice);
    // Clicking the palette must never start a stroke or steal keyboard focus from a note.
    el.addEventListener("pointerdown", (e) => e.stopPropagation());
    document.addEventListener("pointerdown", (e) => {
      if (!this.popover.hidden && !el.contains(e.target as Node)) this.togglePopover(false);
    });
    document.body.appendChild(el);
    this.overflow = new ToolOverflow(el); // the bottom bar's "more" menu (overflow.ts)
    this.contentLeft = on.contentLeft ?? (() => Infinity);
    // Laid out vertical (not yet bottom); 60 px should the stylesheet not apply yet.
    const fixed = getComputedStyle(el).position === "fixed";
    this.verticalRight = fixed ? el.getBoundingClientRect().right : 60;
    window.addEventListener("resize", () => this.orient(true));
    this.orient(true);
  }

  /** The vertical strip at the left edge only where the notebook leaves it a margin (it covered
   * the left 34 px of every cell from 720 to 1104 px): else, and on small screens, the bottom
   * bar. Again when the window or the notebook's layout changes; `refit`: the bar's width
   * changed (the "more" menu is refilled then, which closes it). */
  orient(refit = false): void {
    const el = this.el;
    const small = window.innerWidth < 720 || window.innerHeight < 560;
    const narrow = small || this.contentLeft() < this.verticalRight + MARGIN_GAP;
    if (!refit && narrow === el.classList.contains("jupyterspot-toolbar-bottom")) return;
    el.classList.toggle("jupyterspot-toolbar-bottom", narrow);
    document.body.classList.toggle("jupyterspot-has-bottom-bar", narrow);
    this.overflow.fit(narrow);
  }

  togglePopover(open = this.popover.hidden): void {
    this.popover.hidden = !open;
    this.styleBtn.setAttribute("aria-expanded", String(open));
  }

  setTool(tool: Tool | null): void {
    for (const def of TOOL_DEFS) {
      const b = this.tools.get(def.id);
      const on = def.tool === tool;
      b?.setAttribute("aria-pressed", String(on));
      b?.classList.toggle("jupyterspot-active", on);
    }
    this.overflow.sync();
  }

  setStyle(color: string, size: number): void {
    this.swatch.style.background = color;
    this.swatch.style.setProperty("--jupyterspot-size", `${5 + size * 3}px`);
    this.inkBtns.forEach((b, i) => b.classList.toggle("jupyterspot-active", INKS[i] === color));
    this.sizeBtns.forEach((b, i) => b.classList.toggle("jupyterspot-active", i === size));
  }

  setHistory(canUndo: boolean, canRedo: boolean): void {
    this.undoBtn.disabled = !canUndo;
    this.redoBtn.disabled = !canRedo;
  }

  /** Drawing allowed? (false for guests when the host decides). */
  setDrawing(allowed: boolean, drawingTools: readonly Tool[]): void {
    for (const def of TOOL_DEFS) {
      if (def.tool && drawingTools.includes(def.tool)) {
        const b = this.tools.get(def.id);
        if (b) b.disabled = !allowed;
      }
    }
    this.el.toggleAttribute("data-view-only", !allowed);
    if (!allowed) this.undoBtn.disabled = this.redoBtn.disabled = true;
    this.say(allowed ? "" : "The host has turned drawing off", "view only");
  }

  /** Show or hide one tool's button (the ask tool while the host has questions off). */
  showTool(id: string, shown: boolean): void {
    const b = this.tools.get(id);
    if (b) b.style.display = shown ? "" : "none"; // the button's own display beats [hidden]
    this.orient(true);
  }

  /** A short status under the tools (`text` is the tooltip, `short` what is shown). */
  say(text: string, short = text): void {
    this.notice.textContent = short;
    this.notice.hidden = !text;
    this.notice.title = text;
    this.notice.setAttribute("aria-label", text);
    this.orient(true); // the bottom bar's content changed: what fits changed (overflow.ts)
  }
}
