// Presence: publish this client's cursor and scroll position to awareness (at most once per
// animation frame, only when they changed, rounded to integers) and draw the other clients'
// cursors at their anchored positions.
//
// A page that follows the leader (its own awareness `following` is set) publishes no scroll: it
// is where the leader is, and re-publishing every scroll the leader caused cost one update per
// scroll event per follower (3 followers sent ~40 updates each during a 2 s scroll). Scrolling
// under a still pointer does not re-publish the cursor either; breaking away publishes again.

import type { Awareness } from "y-protocols/awareness";
import { h, svg } from "./dom";
import { frameTask } from "./frame";
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

/** Whom this state follows (its `following`), or null. */
export function followingIn(state: PresenceState | null): number | null {
  const f = state?.following;
  return typeof f === "number" && Number.isInteger(f) ? f : null;
}

/** Publishes cursor and scroll of this client. */
export class PresencePublisher {
  private pointer: { x: number; y: number } | null = null;
  /** The pointer moved (or left) since the last publish: its anchor must be computed again. */
  private pointerMoved = true;
  /** Whom this page follows, as last seen in its own state (null: reads on its own). */
  private following: number | null = null;
  /** Publish on the next animation frame (coalesces any number of calls). A timer stands in
   * when no frame comes within 50 ms, so followers never wait on a starved frame. */
  private readonly task = frameTask(() => this.flush(), 50);
  private lastCursor: Anchor | null | undefined = undefined;
  private lastScroll: ScrollPosition | null | undefined = undefined;

  constructor(
    private readonly awareness: Awareness,
    private readonly layout: Layout,
  ) {
    const onMove = (e: PointerEvent): void => {
      // A finger dragging is a scroll, not a pointer to show to others.
      if (e.pointerType === "touch") return;
      // The viewer's own overlays (a magnified output, magnify.ts) are private to this page.
      if (e.target instanceof Element && e.target.closest("[data-jupyterspot-own]")) return;
      this.pointer = { x: e.clientX, y: e.clientY };
      this.pointerMoved = true;
      this.schedule();
    };
    document.addEventListener("pointermove", onMove, { passive: true });
    document.addEventListener("pointerdown", onMove, { passive: true });
    const leave = (): void => {
      this.pointer = null;
      this.pointerMoved = true;
      this.schedule();
    };
    document.documentElement.addEventListener("pointerleave", leave);
    document.addEventListener("mouseout", (e) => {
      if (!e.relatedTarget) leave();
    });
    window.addEventListener("blur", leave);
    // Scrolling moves the content under a still pointer: both change (not while following).
    window.addEventListener(
      "scroll",
      () => {
        if (this.following === null) this.schedule();
      },
      { passive: true, capture: true }, // capture: the body's sideways scroll too (layout.ts)
    );
    layout.onChange(() => this.schedule());
    // Following starts or ends (follow/ writes `following`): ending it publishes where we are.
    awareness.on("change", () => {
      const following = followingIn(awareness.getLocalState() as PresenceState | null);
      if (following === this.following) return;
      this.following = following;
      this.pointerMoved = true;
      this.schedule();
    });
    this.schedule();
  }

  schedule(): void {
    this.task.schedule();
  }

  /** Compute and publish now (only fields that changed; one awareness update at most). */
  flush(): void {
    const state = this.awareness.getLocalState() as PresenceState | null;
    if (state === null) return; // left the page
    const following = followingIn(state) !== null;
    let cursor: Anchor | null = null;
    if (following && !this.pointerMoved && this.lastCursor !== undefined) {
      cursor = this.lastCursor; // only the page moved under the pointer: the leader's doing
    } else if (this.pointer) {
      const a = this.layout.pointToAnchor(this.pointer.x, this.pointer.y);
      if (a) cursor = { cell: a.cell, x: round(a.x), y: round(a.y) };
    }
    this.pointerMoved = false;
    let scroll: ScrollPosition | null | undefined = this.lastScroll;
    if (!following || scroll === undefined) {
      const top = this.layout.topVisible();
      scroll = top && { ...top, offset: round(top.offset) };
    }
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
    this.pointerMoved = true;
    this.schedule();
  }
}

function arrowSvg(): SVGSVGElement {
  return svg(
    "svg",
    { class: "jupyterspot-cursor-arrow", width: 18, height: 22, viewBox: "0 0 18 22", "aria-hidden": "true" },
    svg("path", { d: "M1.5 1.5 L1.5 18.5 L6 14.2 L9.2 21 L12.2 19.6 L9.1 13 L15.5 13 Z" }),
  );
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
  private readonly task = frameTask(() => this.render());

  constructor(
    private readonly awareness: Awareness,
    private readonly layout: Layout,
  ) {
    this.layer = h("div", { class: "jupyterspot-cursors", "aria-hidden": "true" });
    document.body.appendChild(this.layer);
    awareness.on("change", () => this.schedule());
    // The layer is the document's; in reading zoom the notebook pans inside <body> (layout.ts).
    const panned = (): void => {
      if (this.layout.reading) this.schedule();
    };
    window.addEventListener("scroll", panned, { passive: true, capture: true });
    layout.onChange(() => this.schedule());
    this.schedule();
  }

  schedule(): void {
    this.task.schedule();
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
    const label = h("span", { class: "jupyterspot-cursor-label" });
    const el = h("div", { class: "jupyterspot-cursor", "data-cursor-of": String(id) }, arrowSvg(), label);
    el.hidden = true;
    this.layer.appendChild(el);
    const view = { el, label, name: "", color: "" };
    this.views.set(id, view);
    return view;
  }
}
