// Renders shapes into two layers inside #jupyterspot-root (so they share its zoom and scroll with
// the page): an HTML layer for text and sticky notes and an SVG layer for ink above it. Both
// never take pointer events. Only shapes near the viewport are in the DOM (virtualized); text is
// always inserted with textContent.

import { h, svg } from "../dom";
import { boxesMeet, emptyBox, unionBox, type Box } from "./geometry";
import { f1 } from "./kinds/kind";
import { KIND, localBox } from "./kinds";
import type { Shape } from "./shapes";
import type { Space } from "./space";

interface View {
  shape: Shape;
  el: Element;
  /** Root-space box (null while the shape's cell is not rendered). */
  box: Box | null;
  local: Box;
  mounted: boolean;
  painted: boolean;
  done: boolean;
  measured?: { w: number; h: number };
}

export class Renderer {
  /** data-testid="annotation-layer": holds both layers. */
  readonly layer: HTMLElement;
  readonly html: HTMLElement;
  private readonly reach: HTMLElement;
  readonly svg: SVGSVGElement;
  private hlGroup: SVGGElement;
  private inkGroup: SVGGElement;
  /** Selection outline, laser trails etc. (on top, never virtualized). */
  readonly overlay: SVGGElement;
  private views = new Map<string, View>();
  /** Shapes being drawn here: the latest local points win over the doc's (throttled) copy. */
  private previews = new Map<string, Shape>();
  /** Grow the culling window by this many viewport heights each way. */
  margin = 1;
  editing: string | null = null;

  constructor(
    private readonly space: Space,
    root: HTMLElement,
  ) {
    this.layer = h("div", {
      class: "jupyterspot-board",
      "data-testid": "annotation-layer",
      "aria-hidden": "true",
    });
    this.html = h("div", { class: "jupyterspot-board-html" });
    this.svg = svg("svg", { class: "jupyterspot-board-svg" });
    this.hlGroup = svg("g");
    this.inkGroup = svg("g");
    this.overlay = svg("g");
    this.svg.append(this.hlGroup, this.inkGroup, this.overlay);
    // What an SVG paints beyond its box adds no scroll range: this empty box at the right-most
    // drawing does, so a drawing in a wide screen's margin can be panned to on a narrower one.
    this.reach = h("div", { class: "jupyterspot-board-reach" });
    this.layer.append(this.html, this.svg, this.reach);
    root.appendChild(this.layer);
  }

  /** Keep the scroll range out to the right-most drawing (see `reach`). */
  private stretch(): void {
    let right = 0;
    for (const v of this.views.values()) if (v.box) right = Math.max(right, v.box.x1);
    const left = right > this.space.width ? `${Math.ceil(right)}px` : "0px";
    if (this.reach.style.left !== left) this.reach.style.left = left;
  }

  get count(): number {
    return this.views.size;
  }

  mountedCount(): number {
    let n = 0;
    for (const v of this.views.values()) if (v.mounted) n++;
    return n;
  }

  shape(id: string): Shape | null {
    return this.previews.get(id) ?? this.views.get(id)?.shape ?? null;
  }

  /** Root-space box of a shape (null when not placed). */
  boxOf(id: string): Box | null {
    return this.views.get(id)?.box ?? null;
  }

  /** Every placed shape, newest last. */
  *placed(): Iterable<{ shape: Shape; box: Box }> {
    for (const v of this.views.values()) if (v.box) yield { shape: v.shape, box: v.box };
  }

  /** Root-space position of a shape's anchor point. */
  originOf(s: Shape): { x: number; y: number; orphan: boolean } | null {
    const o = this.space.cellOrigin(s.cell, s.ci);
    return o && { x: o.x + s.x, y: o.y + s.y, orphan: o.orphan };
  }

  preview(s: Shape | null, id?: string): void {
    if (s) this.previews.set(s.id, s);
    else if (id) this.previews.delete(id);
    const shape = s ?? (id ? this.views.get(id)?.shape : undefined);
    if (shape) this.put(shape, !s);
    this.cull();
  }

  /** Add or replace a shape from the doc (`null` removes it). */
  update(id: string, s: Shape | null): void {
    if (!s) {
      const v = this.views.get(id);
      if (v) {
        v.el.remove();
        this.views.delete(id);
      }
      return;
    }
    this.put(this.previews.get(id) ?? s, true);
  }

  private put(s: Shape, done: boolean): void {
    const old = this.views.get(s.id);
    let el = old?.el;
    let mounted = old?.mounted ?? false;
    if (!el || !old || old.shape.t !== s.t) {
      old?.el.remove();
      el = this.create(s);
      mounted = false;
    }
    // Text keeps its measured size while what decides it (text, size, width) is unchanged.
    const keep =
      KIND[s.t].layer === "html" &&
      old?.measured &&
      old.shape.text === s.text &&
      old.shape.w === s.w &&
      old.shape.h === s.h &&
      old.shape.s === s.s;
    const measured = keep ? old?.measured : undefined;
    const view: View = {
      shape: s,
      el,
      box: null,
      local: localBox(s, measured),
      mounted,
      painted: false,
      done,
      measured,
    };
    // Paint lazily: shapes far from the viewport cost nothing until they are scrolled to.
    if (mounted) this.paintView(view);
    this.views.set(s.id, view);
    this.place(view);
  }

  private paintView(v: View): void {
    this.paint(v.el, v.shape, v.done);
    v.painted = true;
  }

  private create(s: Shape): Element {
    const el = KIND[s.t].create();
    el.setAttribute("data-shape-id", s.id);
    el.setAttribute("data-shape-type", s.t);
    return el;
  }

  private paint(el: Element, s: Shape, done: boolean): void {
    KIND[s.t].paint(el, s, done);
  }

  /** Position a view in root space (after a layout change or a shape change). */
  private place(v: View): void {
    const o = this.originOf(v.shape);
    if (!o) {
      v.box = null;
      return;
    }
    v.el.classList.toggle("jupyterspot-orphan", o.orphan);
    if (v.el instanceof HTMLElement) {
      v.el.style.transform = `translate(${f1(o.x)}px, ${f1(o.y)}px)`;
      v.el.classList.toggle("jupyterspot-editing", this.editing === v.shape.id);
    } else {
      v.el.setAttribute("transform", `translate(${f1(o.x)} ${f1(o.y)})`);
    }
    v.box = {
      x0: v.local.x0 + o.x,
      y0: v.local.y0 + o.y,
      x1: v.local.x1 + o.x,
      y1: v.local.y1 + o.y,
    };
  }

  /** Re-place everything (cell positions changed). */
  relayout(): void {
    this.svg.setAttribute("width", String(this.space.width));
    this.svg.setAttribute("height", String(this.space.height));
    for (const v of this.views.values()) this.place(v);
    this.cull();
  }

  /** Mount the shapes near the viewport, unmount the others. */
  cull(): void {
    this.stretch();
    const win = this.space.viewport(this.margin);
    const toMeasure: View[] = [];
    for (const v of this.views.values()) {
      const want = v.box !== null && (boxesMeet(v.box, win) || this.previews.has(v.shape.id));
      if (want && (!v.mounted || !v.el.isConnected)) {
        this.mount(v);
        if (v.el instanceof HTMLElement && !v.measured) toMeasure.push(v);
      } else if (!want && v.mounted) {
        v.el.remove();
        v.mounted = false;
      }
    }
    for (const v of this.views.values()) {
      if (v.mounted && v.el instanceof HTMLElement && !v.measured && !toMeasure.includes(v)) {
        toMeasure.push(v);
      }
    }
    // Reads after all writes: one layout for all the text that needs measuring.
    for (const v of toMeasure) {
      const el = v.el as HTMLElement;
      v.measured = { w: el.offsetWidth, h: el.offsetHeight };
      v.local = localBox(v.shape, v.measured);
      this.place(v);
    }
  }

  private mount(v: View): void {
    v.mounted = true;
    if (!v.painted) this.paintView(v);
    const layer = KIND[v.shape.t].layer;
    const parent = layer === "html" ? this.html : layer === "hl" ? this.hlGroup : this.inkGroup;
    // Keep creation order (z-order) among mounted siblings.
    const key = v.shape.at;
    const kids = parent.children;
    let lo = 0;
    let hi = kids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const other = this.views.get(kids[mid].getAttribute("data-shape-id") ?? "");
      if ((other?.shape.at ?? 0) <= key) lo = mid + 1;
      else hi = mid;
    }
    parent.insertBefore(v.el, kids[lo] ?? null);
  }

  /** Root-space box around a set of shapes. */
  boxAround(ids: Iterable<string>): Box | null {
    let b = emptyBox();
    let any = false;
    for (const id of ids) {
      const box = this.boxOf(id);
      if (box) {
        b = unionBox(b, box);
        any = true;
      }
    }
    return any ? b : null;
  }

  elementOf(id: string): Element | null {
    return this.views.get(id)?.el ?? null;
  }
}
