// Telling the user's scrolling from ours: only the user's scrolling (wheel, touch, keys,
// scrollbar, find-in-page: an unexplained scroll) breaks away from the leader.

import { isEditable } from "../dom";

/** A scroll this soon after a resize or a content size change is the layout's, not the user's. */
const LAYOUT_QUIET_MS = 300;
/** After a resume, the user's own scroll may still be running out (a keyboard smooth scroll, a
 * touch fling): its scroll events are not a new break-away for this long. */
const RESUME_GRACE_MS = 400;
/** Tolerance (px) between where we scrolled and where the browser says we are. */
const OWN_SCROLL_SLACK = 2;
const SCROLL_KEYS = new Set([
  "ArrowUp",
  "ArrowDown",
  "PageUp",
  "PageDown",
  "Home",
  "End",
  " ",
  "Spacebar",
]);

/**
 * Whose is a scroll to `y` while following: "ours" (where the driver put the window), "layout"
 * (the layout, or a scroll still running out after a resume, moved us: re-align) or "user".
 */
export function scrollVerdict(
  y: number,
  expectedY: number | null,
  now: number,
  lastLayout: number,
  resumedAt: number,
): "ours" | "layout" | "user" {
  if (expectedY !== null && Math.abs(y - expectedY) <= OWN_SCROLL_SLACK) return "ours";
  if (now - lastLayout < LAYOUT_QUIET_MS || now - resumedAt < RESUME_GRACE_MS) return "layout";
  return "user";
}

/** Is this key, pressed outside a text field, one that scrolls the page? */
export const scrollsThePage = (key: string): boolean => SCROLL_KEYS.has(key);

export interface UserScrollOptions {
  /** The layout root (its size changes are the layout's doing). */
  root: HTMLElement;
  /** Is the event target part of the viewer's own chrome (bar, pill, markers)? */
  ours(t: EventTarget | null): boolean;
  following(): boolean;
  /** Where the scroll driver last put the window. */
  expectedY(): number | null;
  /** The user scrolled: break away. */
  pause(): void;
  /** The "F" key: follow again. */
  resume(): void;
  /** The layout moved the page: re-align. */
  realign(): void;
}

export class UserScroll {
  /** performance.now() of the last layout change (resize, content size). */
  lastLayout = 0;
  /** performance.now() of the last resume (see RESUME_GRACE_MS). */
  resumedAt = 0;

  constructor(o: UserScrollOptions) {
    const opts = { passive: true, capture: true };
    window.addEventListener(
      "wheel",
      (e) => {
        if (!e.ctrlKey && !o.ours(e.target)) o.pause();
      },
      opts,
    );
    // One finger on the drawing surface draws (the page does not move); two fingers scroll.
    const drawing = (e: TouchEvent): boolean =>
      e.touches.length === 1 &&
      e.target instanceof Element &&
      e.target.closest(".jupyterspot-board-input") !== null;
    // A sideways pan (reading zoom on a phone, layout.ts) reads along the leader's lines: only a
    // mostly vertical move breaks away.
    let start: { x: number; y: number } | null = null;
    window.addEventListener(
      "touchstart",
      (e) => {
        const t = e.touches[0];
        start = t ? { x: t.clientX, y: t.clientY } : null;
      },
      opts,
    );
    window.addEventListener(
      "touchmove",
      (e) => {
        const t = e.touches[0];
        const sideways = start && t && Math.abs(t.clientX - start.x) > Math.abs(t.clientY - start.y);
        if (!o.ours(e.target) && !drawing(e) && !sideways) o.pause();
      },
      opts,
    );
    window.addEventListener(
      "pointerdown",
      (e) => {
        const root = document.documentElement;
        // On the page's scrollbar (right of the client area) or middle-button autoscroll.
        const onScrollbar = e.clientX >= root.clientWidth || e.clientY >= root.clientHeight;
        if ((onScrollbar && !o.ours(e.target)) || e.button === 1) o.pause();
      },
      opts,
    );
    window.addEventListener(
      "keydown",
      (e) => {
        if (e.defaultPrevented || isEditable(e.target) || e.ctrlKey || e.metaKey || e.altKey) {
          return;
        }
        // Keys inside the viewer's own chrome (the magnify view, magnify.ts) are its own.
        const own = o.ours(e.target) || document.documentElement.hasAttribute("data-jupyterspot-magnify");
        if ((e.key === "f" || e.key === "F") && !e.shiftKey) {
          if (!own) o.resume();
          return;
        }
        if (scrollsThePage(e.key) && !o.ours(e.target)) o.pause();
      },
      opts,
    );
    const layoutMoved = (): void => this.layoutMoved();
    window.addEventListener("resize", layoutMoved, opts);
    if (typeof ResizeObserver !== "undefined") new ResizeObserver(layoutMoved).observe(o.root);
    // Anything else that moves the page (find-in-page, text selection autoscroll, an anchor
    // link) while we follow is the user's doing.
    window.addEventListener(
      "scroll",
      () => {
        if (!o.following()) return;
        const now = performance.now();
        const verdict = scrollVerdict(window.scrollY, o.expectedY(), now, this.lastLayout, this.resumedAt);
        if (verdict === "layout") o.realign();
        else if (verdict === "user") o.pause();
      },
      opts,
    );
  }

  layoutMoved(): void {
    this.lastLayout = performance.now();
  }
}
