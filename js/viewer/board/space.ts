// "Root space": reference px from the top-left of #jupyterspot-root's padding box. The board's
// layers are absolutely positioned children of the root, so they share its CSS zoom and scroll
// with the page natively; a shape's position there is its cell's origin plus its anchor.
// Cell origins are measured once per layout change (never on scroll). "Document" x includes the
// body's sideways scroll in reading zoom (layout.ts panX), which moves the root like a scroll.

import { cellIdOf, type Layout } from "../layout";
import type { Box } from "./geometry";

export interface CellSpan {
  el: HTMLElement;
  id: string;
  index: number;
  top: number;
  left: number;
  bottom: number;
}

export class Space {
  /** Screen px per reference px. */
  scale = 1;
  private docLeft = 0;
  private docTop = 0;
  private spans: CellSpan[] = [];
  private byId = new Map<string, CellSpan>();
  private byIndex: (CellSpan | undefined)[] = [];
  width = 0;
  height = 0;

  constructor(
    readonly layout: Layout,
    readonly root: HTMLElement,
  ) {
    this.measure();
  }

  /** Re-measure the root and every rendered cell (after a layout change). */
  measure(): void {
    const root = this.root;
    const cells = this.layout.cells();
    const rootRect = root.getBoundingClientRect();
    const first = cells.find((c) => c.getClientRects().length > 0);
    this.scale = first ? this.layout.scaleOf(first) : this.layout.zoom || 1;
    const s = this.scale;
    const originX = rootRect.left + root.clientLeft * s;
    const originY = rootRect.top + root.clientTop * s;
    this.docLeft = originX + this.scrollX();
    this.docTop = originY + window.scrollY;
    this.spans = [];
    this.byId.clear();
    this.byIndex = [];
    cells.forEach((el, index) => {
      if (el.getClientRects().length === 0) return;
      const r = el.getBoundingClientRect();
      const span: CellSpan = {
        el,
        id: cellIdOf(el),
        index,
        top: (r.top - originY) / s,
        left: (r.left - originX) / s,
        bottom: (r.bottom - originY) / s,
      };
      this.spans.push(span);
      if (!this.byId.has(span.id)) this.byId.set(span.id, span);
      this.byIndex[index] = span;
    });
    this.width = root.clientWidth;
    this.height = Math.max(root.scrollHeight, root.clientHeight);
  }

  /**
   * Root-space origin of a shape's cell. A cell id that no longer exists falls back to the cell
   * at the index it had (`orphan` says so), so annotations are never silently dropped.
   */
  cellOrigin(cell: string, ci: number): { x: number; y: number; orphan: boolean } | null {
    const span = this.byId.get(cell);
    if (span) return { x: span.left, y: span.top, orphan: false };
    if (!this.spans.length) return null;
    let fallback = this.byIndex[ci];
    if (!fallback) {
      fallback = this.spans[this.spans.length - 1];
      for (const sp of this.spans) {
        if (sp.index >= ci) {
          fallback = sp;
          break;
        }
      }
    }
    return { x: fallback.left, y: fallback.top, orphan: true };
  }

  hasCell(cell: string): boolean {
    return this.byId.has(cell);
  }

  /** Sideways scroll: the window's, plus the body's in reading zoom. */
  private scrollX(): number {
    return window.scrollX + this.layout.panX;
  }

  /** Viewport (client) point -> root space. */
  fromClient(clientX: number, clientY: number): { x: number; y: number } {
    return {
      x: (clientX + this.scrollX() - this.docLeft) / this.scale,
      y: (clientY + window.scrollY - this.docTop) / this.scale,
    };
  }

  /** Root space -> viewport (client) point. */
  toClient(x: number, y: number): { x: number; y: number } {
    return {
      x: x * this.scale + this.docLeft - this.scrollX(),
      y: y * this.scale + this.docTop - window.scrollY,
    };
  }

  /** Root-space point -> anchor in the cell it lies in (or the nearest one vertically). */
  anchorAt(x: number, y: number): { cell: string; ci: number; x: number; y: number } | null {
    const spans = this.spans;
    if (!spans.length) return null;
    let lo = 0;
    let hi = spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (spans[mid].bottom <= y) lo = mid + 1;
      else hi = mid;
    }
    let span = spans[Math.min(lo, spans.length - 1)];
    if (lo > 0 && lo < spans.length && span.top > y) {
      const prev = spans[lo - 1];
      if (y - prev.bottom < span.top - y) span = prev;
    }
    return { cell: span.id, ci: span.index, x: x - span.left, y: y - span.top };
  }

  /** The part of root space in the viewport, grown by `margin` viewport heights each way. */
  viewport(margin = 0): Box {
    const s = this.scale;
    const x0 = (this.scrollX() - this.docLeft) / s;
    const y0 = (window.scrollY - this.docTop) / s;
    const w = window.innerWidth / s;
    const h = window.innerHeight / s;
    return {
      x0: x0 - w * margin,
      y0: y0 - h * margin,
      x1: x0 + w * (1 + margin),
      y1: y0 + h * (1 + margin),
    };
  }
}
