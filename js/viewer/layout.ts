// Reference-width layout and cell anchoring (docs/protocol.md, "Layout and anchoring").
//
// #jupyterspot-root is laid out at refWidth CSS px and shrunk with CSS `zoom` to fit narrower
// windows, so line breaks and cell heights are the same on every device. Shared positions are
// {cell, x, y}: unscaled px from the cell's top-left corner. Conversions never assume how the
// browser reports rects under zoom: the scale is measured as rect width / offsetWidth. The page's
// own width media queries are pinned to the reference width (media.ts).
//
// Reading zoom (phones): at 390 px the fitted zoom is 0.39 and body text ~5 px. A double tap
// (reading.ts) switches the root to the zoom that makes the page's smallest body/code text
// READ_PX and pans sideways: <body> becomes the horizontal scroller (html.jupyterspot-panned,
// viewer.css), because a wider document would widen the layout viewport and every fixed bar
// with it. Anchors stay {cell, x, y} in reference px, so drawing, cursors and following are
// unchanged; only `panX` (the body's sideways scroll) joins window.scrollX in page coordinates.

import { pinWidthMediaQueries } from "./media";

export interface Anchor {
  cell: string;
  x: number;
  y: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface ScrollPosition {
  /** Id of the top visible cell. */
  cell: string;
  /** Reference px from that cell's top to the viewport top (positive once scrolled into it). */
  offset: number;
  /** Index of that cell among all cells (0-based). */
  index: number;
  count: number;
}

/** Effective text size (CSS px) the reading zoom gives the smallest body or code text: half a
 * pixel above the 12 px floor, so rounding of the zoom never lands under it. */
export const READ_PX = 12.5;
/** The text that must be readable: markdown prose, code, plain outputs. */
const TEXT_SELECTOR =
  ".jp-RenderedMarkdown p, .jp-RenderedMarkdown li, .jp-InputArea-editor pre, .jp-OutputArea-output pre";

const CELL_SELECTOR = '.jp-Cell[id^="cell-id="]';
const ID_PREFIX = "cell-id=";

export function cellIdOf(el: Element): string {
  return el.id.startsWith(ID_PREFIX) ? el.id.slice(ID_PREFIX.length) : el.id;
}

export class Layout {
  readonly root: HTMLElement;
  readonly refWidth: number;
  /** The CSS zoom currently applied to the root (1 = none). */
  zoom = 1;
  /** Reading zoom on (a narrow window zoomed in for reading, panned sideways). */
  reading = false;
  private zoomListeners = new Set<() => void>();
  private all: HTMLElement[] = [];
  /** Rendered cells (display:none ones have no geometry), in document order. */
  private shown: HTMLElement[] = [];
  private byId = new Map<string, HTMLElement>();
  private indexOf = new Map<HTMLElement, number>();
  private listeners = new Set<() => void>();
  private frame = 0;
  private resizeObserver: ResizeObserver | null = null;

  constructor(root: HTMLElement, refWidth: number) {
    this.root = root;
    this.refWidth = refWidth;
    root.style.setProperty("--jupyterspot-ref-width", `${refWidth}px`);
    root.classList.add("jupyterspot-fixed-width");
    pinWidthMediaQueries(refWidth);
    this.refresh();
    this.fit();
    window.addEventListener("resize", () => {
      this.fit();
      this.changed();
    });
    if (typeof ResizeObserver !== "undefined") {
      this.resizeObserver = new ResizeObserver(() => this.changed());
      this.resizeObserver.observe(root);
    }
    // Images and fonts change cell heights after first layout.
    document.fonts?.ready.then(() => this.changed()).catch(() => undefined);
    window.addEventListener("load", () => this.changed());
  }

  /** Re-read the cells from the DOM (call after the page content was replaced). */
  refresh(): void {
    this.all = Array.from(this.root.querySelectorAll<HTMLElement>(CELL_SELECTOR));
    this.byId.clear();
    this.indexOf.clear();
    this.all.forEach((el, i) => {
      const id = cellIdOf(el);
      if (!this.byId.has(id)) this.byId.set(id, el);
      this.indexOf.set(el, i);
    });
    this.shown = this.all.filter((el) => el.getClientRects().length > 0);
  }

  /** The zoom that makes refWidth fit the available width (1 when it fits unzoomed). */
  fitZoom(): number {
    const parent = this.root.parentElement ?? document.body;
    const cs = getComputedStyle(parent);
    const avail =
      Math.min(parent.clientWidth || Infinity, document.documentElement.clientWidth || Infinity) -
      (parseFloat(cs.paddingLeft) || 0) -
      (parseFloat(cs.paddingRight) || 0);
    return avail > 0 && avail < this.refWidth ? avail / this.refWidth : 1;
  }

  /** The zoom at which the smallest body/code text is READ_PX (at most 1: the reference size). */
  readingZoom(): number {
    let smallest = Infinity;
    const seen = new Set<string>();
    for (const el of this.root.querySelectorAll<HTMLElement>(TEXT_SELECTOR)) {
      const key = el.className + el.tagName;
      if (seen.has(key)) continue; // one of each kind: the styles, not every paragraph
      seen.add(key);
      const px = parseFloat(getComputedStyle(el).fontSize);
      if (px >= 6) smallest = Math.min(smallest, px); // tiny print (footnotes) is not body text
      if (seen.size > 40) break;
    }
    return Number.isFinite(smallest) ? Math.min(1, READ_PX / smallest) : 1;
  }

  /** Apply the zoom: fitted, or the reading zoom when that is on and larger. */
  fit(): void {
    const fitted = this.fitZoom();
    const zoom = this.reading ? Math.max(fitted, this.readingZoom()) : fitted;
    if (Math.abs(zoom - this.zoom) > 1e-4) {
      for (const cb of this.zoomListeners) cb();
      this.zoom = zoom;
      this.root.style.setProperty("zoom", zoom === 1 ? "" : String(zoom));
    }
    // Shrunk to fit: nothing placed beyond the root's sides (a remote pointer or a drawing in a
    // desktop's margin) may widen the document, which on a phone widens the layout viewport and
    // every fixed bar with it (viewer.css). <body> pans sideways instead, as in reading zoom, so
    // a drawing in the margin stays reachable (clipping the root hid it below ~1036 px).
    this.root.classList.toggle("jupyterspot-zoomed", zoom < 1);
    document.documentElement.classList.toggle("jupyterspot-panned", zoom < 1 || this.reading);
  }

  /** Could the reading zoom make text larger here (a window narrower than the reference)? */
  canRead(): boolean {
    return this.reading || this.readingZoom() > this.fitZoom() + 0.01;
  }

  /**
   * Reading zoom on or off, keeping the content under the client point (x, y) where it is
   * (vertically; a following page is re-aligned by the follow driver after the change).
   */
  setReading(on: boolean, x = 0, y = 0): void {
    if (on === this.reading || (on && !this.canRead())) return;
    const at = this.pointToAnchor(x, y);
    this.reading = on;
    document.documentElement.classList.toggle("jupyterspot-reading", on);
    this.fit();
    if (!on) document.body.scrollLeft = 0;
    const now = at && this.anchorToClient(at);
    if (now) {
      document.body.scrollLeft += now.x - x;
      window.scrollBy({ top: now.y - y, behavior: "instant" });
    }
    this.changed();
  }

  /** Scroll the page by (dx, dy) CSS px: shrunk or in reading zoom the sideways part is
   * <body>'s scroll (viewer.css), which window.scrollBy never moves. */
  panBy(dx: number, dy: number): void {
    if (document.documentElement.classList.contains("jupyterspot-panned")) {
      document.body.scrollLeft += dx;
      window.scrollBy({ top: dy, behavior: "instant" });
    } else {
      window.scrollBy({ left: dx, top: dy, behavior: "instant" });
    }
  }

  /** Called just before the zoom changes (the follow logic: the scroll that follows is ours). */
  onZoom(cb: () => void): () => void {
    this.zoomListeners.add(cb);
    return () => this.zoomListeners.delete(cb);
  }

  /** The page's sideways scroll while shrunk or in reading zoom (<body> scrolls then, not the
   * window; 0 otherwise, where <body> is no scroller). */
  get panX(): number {
    return document.documentElement.classList.contains("jupyterspot-panned")
      ? document.body.scrollLeft
      : 0;
  }

  /** Subscribe to layout changes (resize, zoom, content height); returns an unsubscribe. */
  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Coalesce change notifications to one per animation frame. */
  changed(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      if (this.all.every((el) => el.isConnected)) {
        this.shown = this.all.filter((el) => el.getClientRects().length > 0);
      } else {
        this.refresh();
      }
      for (const cb of this.listeners) {
        try {
          cb();
        } catch (err) {
          console.error(err);
        }
      }
    });
  }

  get cellCount(): number {
    return this.all.length;
  }

  cells(): readonly HTMLElement[] {
    return this.all;
  }

  cellById(id: string): HTMLElement | null {
    const el = this.byId.get(id);
    if (el?.isConnected) return el;
    if (el) this.refresh();
    return this.byId.get(id) ?? null;
  }

  /** Screen px per reference px for this cell (1 without zoom). */
  scaleOf(cell: HTMLElement, rect: DOMRect = cell.getBoundingClientRect()): number {
    const w = cell.offsetWidth;
    return w > 0 && rect.width > 0 ? rect.width / w : this.zoom || 1;
  }

  /** Index in `shown` of the first cell whose bottom is below clientY (shown.length if none). */
  private firstBelow(clientY: number): number {
    let lo = 0;
    let hi = this.shown.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.shown[mid].getBoundingClientRect().bottom <= clientY) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The cell under a viewport point, or the nearest one vertically. */
  cellAt(clientY: number): HTMLElement | null {
    const n = this.shown.length;
    if (n === 0) return null;
    const i = this.firstBelow(clientY);
    if (i >= n) return this.shown[n - 1];
    const cell = this.shown[i];
    if (i === 0 || cell.getBoundingClientRect().top <= clientY) return cell;
    const prev = this.shown[i - 1];
    const gapAbove = clientY - prev.getBoundingClientRect().bottom;
    const gapBelow = cell.getBoundingClientRect().top - clientY;
    return gapAbove < gapBelow ? prev : cell;
  }

  /** Viewport (client) point -> anchored {cell, x, y}, or null when the page has no cells. */
  pointToAnchor(clientX: number, clientY: number): Anchor | null {
    const cell = this.cellAt(clientY);
    if (!cell) return null;
    const rect = cell.getBoundingClientRect();
    const s = this.scaleOf(cell, rect);
    return {
      cell: cellIdOf(cell),
      x: (clientX - rect.left) / s,
      y: (clientY - rect.top) / s,
    };
  }

  /** Anchor -> viewport (client) point, or null when the cell is unknown or not rendered. */
  anchorToClient(anchor: Anchor): Point | null {
    const cell = this.cellById(anchor.cell);
    if (!cell || !Number.isFinite(anchor.x) || !Number.isFinite(anchor.y)) return null;
    if (cell.getClientRects().length === 0) return null;
    const rect = cell.getBoundingClientRect();
    const s = this.scaleOf(cell, rect);
    return { x: rect.left + anchor.x * s, y: rect.top + anchor.y * s };
  }

  /** Anchor -> page (document) coordinates, like MouseEvent.pageX/pageY. */
  anchorToPage(anchor: Anchor): Point | null {
    const p = this.anchorToClient(anchor);
    return p && { x: p.x + window.scrollX + this.panX, y: p.y + window.scrollY };
  }

  /** Page point -> anchor (inverse of anchorToPage). */
  pageToAnchor(pageX: number, pageY: number): Anchor | null {
    return this.pointToAnchor(pageX - window.scrollX - this.panX, pageY - window.scrollY);
  }

  /** The top visible cell and how far the viewport top is into it. */
  topVisible(viewportTop = 0): ScrollPosition | null {
    const n = this.shown.length;
    if (n === 0) return null;
    const cell = this.shown[Math.min(this.firstBelow(viewportTop), n - 1)];
    const rect = cell.getBoundingClientRect();
    return {
      cell: cellIdOf(cell),
      offset: (viewportTop - rect.top) / this.scaleOf(cell, rect),
      index: this.indexOf.get(cell) ?? 0,
      count: this.all.length,
    };
  }

  /** Scroll the window so that `offset` reference px of `cell` sit at the viewport top. */
  scrollToCell(cellId: string, offset = 0, behavior: ScrollBehavior = "auto"): boolean {
    const cell = this.cellById(cellId);
    if (!cell) return false;
    const rect = cell.getBoundingClientRect();
    const top = window.scrollY + rect.top + offset * this.scaleOf(cell, rect);
    window.scrollTo({ top, behavior });
    return true;
  }
}
