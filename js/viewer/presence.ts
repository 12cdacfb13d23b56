// Presence: publish this client's cursor and scroll position to awareness (at most once per
// animation frame, only when they changed, rounded to integers) and draw the other clients'
// cursors at their anchored positions.

import type { Awareness } from "y-protocols/awareness";
import type { Anchor, Layout, ScrollPosition } from "./layout";
import { safeColor, type UserInfo } from "./identity";

export interface PresenceState {
  user?: UserInfo;
  cursor?: Anchor | null;
  scroll?: ScrollPosition | null;
  following?: number | null;
  [key: string]: unknown;
}

const round = (v: number): number => Math.round(v);

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Publishes cursor and scroll of this client. */
export class PresencePublisher {
  private pointer: { x: number; y: number } | null = null;
  private frame = 0;
  private lastCursor: Anchor | null | undefined = undefined;
  private lastScroll: ScrollPosition | null | undefined = undefined;

  constructor(
    private readonly awareness: Awareness,
    private readonly layout: Layout,
  ) {
    const onMove = (e: PointerEvent): void => {
      // A finger dragging is a scroll, not a pointer to show to others.
      if (e.pointerType === "touch") return;
      this.pointer = { x: e.clientX, y: e.clientY };
      this.schedule();
    };
    document.addEventListener("pointermove", onMove, { passive: true });
    document.addEventListener("pointerdown", onMove, { passive: true });
    const leave = (): void => {
      this.pointer = null;
      this.schedule();
    };
    document.documentElement.addEventListener("pointerleave", leave);
    document.addEventListener("mouseout", (e) => {
      if (!e.relatedTarget) leave();
    });
    window.addEventListener("blur", leave);
    // Scrolling moves the content under a still pointer: both change.
    window.addEventListener("scroll", () => this.schedule(), { passive: true });
    layout.onChange(() => this.schedule());
    this.schedule();
  }

  /** Publish on the next animation frame (coalesces any number of calls). A timer stands in
   * when no frame comes within 50 ms (headless Chromium under load left a requested frame
   * pending for seconds), so followers never wait on a starved frame. */
  schedule(): void {
    if (this.frame) return;
    let timer = 0;
    const run = (): void => {
      cancelAnimationFrame(this.frame);
      clearTimeout(timer);
      this.frame = 0;
      this.flush();
    };
    this.frame = requestAnimationFrame(run);
    timer = window.setTimeout(run, 50);
  }

  /** Compute and publish now (only fields that changed; one awareness update at most). */
  flush(): void {
    const state = this.awareness.getLocalState() as PresenceState | null;
    if (state === null) return; // left the page
    let cursor: Anchor | null = null;
    if (this.pointer) {
      const a = this.layout.pointToAnchor(this.pointer.x, this.pointer.y);
      if (a) cursor = { cell: a.cell, x: round(a.x), y: round(a.y) };
    }
    const top = this.layout.topVisible();
    const scroll: ScrollPosition | null = top && { ...top, offset: round(top.offset) };
    const cursorChanged = !sameJson(cursor, this.lastCursor);
    const scrollChanged = !sameJson(scroll, this.lastScroll);
    if (!cursorChanged && !scrollChanged) return;
    this.lastCursor = cursor;
    this.lastScroll = scroll;
    this.awareness.setLocalState({ ...state, cursor, scroll });
  }

  /** Forget what was published (e.g. after the local state was cleared and restored). */
  reset(): void {
    this.lastCursor = undefined;
    this.lastScroll = undefined;
    this.schedule();
  }
}

const SVG_NS = "http://www.w3.org/2000/svg";

function arrowSvg(): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", "jupyterspot-cursor-arrow");
  svg.setAttribute("width", "18");
  svg.setAttribute("height", "22");
  svg.setAttribute("viewBox", "0 0 18 22");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", "M1.5 1.5 L1.5 18.5 L6 14.2 L9.2 21 L12.2 19.6 L9.1 13 L15.5 13 Z");
  svg.appendChild(path);
  return svg;
}

/** Readable label text on a colored background. */
function textColorOn(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  return 0.299 * r + 0.587 * g + 0.114 * b > 165 ? "#111" : "#fff";
}

interface CursorView {
  el: HTMLElement;
  label: HTMLElement;
  name: string;
  color: string;
}

/** Draws the other clients' cursors; never intercepts pointer events. */
export class RemoteCursors {
  readonly layer: HTMLElement;
  private views = new Map<number, CursorView>();
  private frame = 0;

  constructor(
    private readonly awareness: Awareness,
    private readonly layout: Layout,
  ) {
    this.layer = document.createElement("div");
    this.layer.className = "jupyterspot-cursors";
    this.layer.setAttribute("aria-hidden", "true");
    document.body.appendChild(this.layer);
    awareness.on("change", () => this.schedule());
    layout.onChange(() => this.schedule());
    this.schedule();
  }

  schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  render(): void {
    const self = this.awareness.clientID;
    const states = this.awareness.getStates() as Map<number, PresenceState>;
    const layerRect = this.layer.getBoundingClientRect();
    for (const [id, view] of this.views) {
      if (!states.has(id)) {
        view.el.remove();
        this.views.delete(id);
      }
    }
    for (const [id, state] of states) {
      if (id === self || !state.user) continue;
      const view = this.views.get(id) ?? this.create(id);
      const name = typeof state.user.name === "string" ? state.user.name : "";
      const color = safeColor(state.user.color);
      if (name !== view.name) {
        view.name = name;
        view.label.textContent = name;
      }
      if (color !== view.color) {
        view.color = color;
        view.el.style.setProperty("--jupyterspot-cursor-color", color);
        view.label.style.color = textColorOn(color);
      }
      const c = state.cursor;
      const p =
        c && typeof c === "object" && typeof c.cell === "string"
          ? this.layout.anchorToClient(c)
          : null;
      if (!p) {
        view.el.hidden = true;
        continue;
      }
      view.el.hidden = false;
      const x = Math.round((p.x - layerRect.left) * 10) / 10;
      const y = Math.round((p.y - layerRect.top) * 10) / 10;
      view.el.style.transform = `translate(${x}px, ${y}px)`;
    }
  }

  private create(id: number): CursorView {
    const el = document.createElement("div");
    el.className = "jupyterspot-cursor";
    el.setAttribute("data-cursor-of", String(id));
    el.hidden = true;
    const label = document.createElement("span");
    label.className = "jupyterspot-cursor-label";
    el.append(arrowSvg(), label);
    this.layer.appendChild(el);
    const view = { el, label, name: "", color: "" };
    this.views.set(id, view);
    return view;
  }
}
