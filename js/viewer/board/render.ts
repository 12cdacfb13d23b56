// Renders shapes into two layers inside #jupyterspot-root (so they share its zoom and scroll with
// the page): an HTML layer for text and sticky notes and an SVG layer for ink above it. Both
// never take pointer events. Only shapes near the viewport are in the DOM (virtualized); text is
// always inserted with textContent.

import { getStroke } from "perfect-freehand";
import { boxesMeet, emptyBox, localBox, unionBox, type Box, type Shape } from "./shapes";
import type { Space } from "./space";

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** Pastel background for a sticky note of ink color `c`. */
export function noteFill(c: string): string {
  const n = parseInt(c.slice(1), 16);
  const mix = (v: number): number => Math.round(v * 0.3 + 255 * 0.7);
  const [r, g, b] = [mix((n >> 16) & 255), mix((n >> 8) & 255), mix(n & 255)];
  return `rgb(${r}, ${g}, ${b})`;
}

const f1 = (v: number): string => (Math.round(v * 10) / 10).toString();

/** perfect-freehand outline -> SVG path (quadratic curves through midpoints). */
function outlinePath(points: number[][]): string {
  const n = points.length;
  if (n < 2) return "";
  let d = `M${f1(points[0][0])} ${f1(points[0][1])}Q`;
  for (let i = 0; i < n; i++) {
    const [x0, y0] = points[i];
    const [x1, y1] = points[(i + 1) % n];
    d += `${f1(x0)} ${f1(y0)} ${f1((x0 + x1) / 2)} ${f1((y0 + y1) / 2)} `;
  }
  return `${d}Z`;
}

export function penPath(s: Shape, done = true): string {
  const pts: number[][] = [];
  for (let i = 0; i < s.pts.length; i += s.d) {
    pts.push(s.d === 3 ? [s.pts[i], s.pts[i + 1], s.pts[i + 2]] : [s.pts[i], s.pts[i + 1]]);
  }
  if (pts.length === 1) pts.push([pts[0][0] + 0.01, pts[0][1] + 0.01, pts[0][2] ?? 0.5]);
  return outlinePath(
    getStroke(pts, {
      size: s.s,
      thinning: 0.55,
      smoothing: 0.5,
      streamline: 0.4,
      simulatePressure: s.d === 2,
      last: done,
    }),
  );
}

function polyline(s: Shape): string {
  let d = "";
  for (let i = 0; i < s.pts.length; i += s.d) {
    d += `${i ? "L" : "M"}${f1(s.pts[i])} ${f1(s.pts[i + 1])}`;
  }
  if (s.pts.length === s.d) d += "l0.01 0";
  return d;
}

function arrowPath(s: Shape): string {
  const len = Math.hypot(s.w, s.h);
  const head = Math.min(len * 0.45, 8 + s.s * 3);
  const a = Math.atan2(s.h, s.w);
  const p = (da: number): string =>
    `${f1(s.w - head * Math.cos(a + da))} ${f1(s.h - head * Math.sin(a + da))}`;
  return `M0 0L${f1(s.w)} ${f1(s.h)}M${p(0.45)}L${f1(s.w)} ${f1(s.h)}L${p(-0.45)}`;
}

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
  orphanCount = 0;

  constructor(
    private readonly space: Space,
    root: HTMLElement,
  ) {
    this.layer = document.createElement("div");
    this.layer.className = "jupyterspot-board";
    this.layer.setAttribute("data-testid", "annotation-layer");
    this.layer.setAttribute("aria-hidden", "true");
    this.html = document.createElement("div");
    this.html.className = "jupyterspot-board-html";
    this.svg = svg("svg", { class: "jupyterspot-board-svg" });
    this.hlGroup = svg("g");
    this.inkGroup = svg("g");
    this.overlay = svg("g");
    this.svg.append(this.hlGroup, this.inkGroup, this.overlay);
    this.layer.append(this.html, this.svg);
    root.appendChild(this.layer);
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
    const text = s.t === "text" || s.t === "note";
    const keep =
      text &&
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
    let el: Element;
    if (s.t === "text" || s.t === "note") {
      const div = document.createElement("div");
      div.className = s.t === "note" ? "jupyterspot-board-note" : "jupyterspot-board-text";
      if (s.t === "note") {
        div.append(document.createElement("div"), document.createElement("div"));
        (div.firstChild as HTMLElement).className = "jupyterspot-note-text";
        (div.lastChild as HTMLElement).className = "jupyterspot-note-by";
      }
      el = div;
    } else if (s.t === "rect") {
      el = svg("rect", { fill: "none", class: "jupyterspot-line" });
    } else if (s.t === "ellipse") {
      el = svg("ellipse", { fill: "none", class: "jupyterspot-line" });
    } else {
      const cls = s.t === "hl" ? "jupyterspot-hl" : "jupyterspot-line";
      el = svg("path", s.t === "pen" ? {} : { class: cls });
    }
    el.setAttribute("data-shape-id", s.id);
    el.setAttribute("data-shape-type", s.t);
    return el;
  }

  private paint(el: Element, s: Shape, done: boolean): void {
    const ink = s.c;
    switch (s.t) {
      case "pen":
        el.setAttribute("d", penPath(s, done));
        el.setAttribute("fill", ink);
        break;
      case "hl":
        el.setAttribute("d", polyline(s));
        el.setAttribute("stroke", ink);
        el.setAttribute("stroke-width", f1(s.s));
        el.setAttribute("fill", "none");
        break;
      case "arrow":
        el.setAttribute("d", arrowPath(s));
        el.setAttribute("stroke", ink);
        el.setAttribute("stroke-width", f1(s.s));
        el.setAttribute("fill", "none");
        break;
      case "rect":
        el.setAttribute("x", f1(Math.min(0, s.w)));
        el.setAttribute("y", f1(Math.min(0, s.h)));
        el.setAttribute("width", f1(Math.abs(s.w)));
        el.setAttribute("height", f1(Math.abs(s.h)));
        el.setAttribute("rx", f1(Math.min(6, Math.abs(s.w) / 4, Math.abs(s.h) / 4)));
        el.setAttribute("stroke", ink);
        el.setAttribute("stroke-width", f1(s.s));
        break;
      case "ellipse":
        el.setAttribute("cx", f1(s.w / 2));
        el.setAttribute("cy", f1(s.h / 2));
        el.setAttribute("rx", f1(Math.abs(s.w) / 2));
        el.setAttribute("ry", f1(Math.abs(s.h) / 2));
        el.setAttribute("stroke", ink);
        el.setAttribute("stroke-width", f1(s.s));
        break;
      case "text": {
        const div = el as HTMLElement;
        if (div.textContent !== s.text) div.textContent = s.text;
        div.style.color = ink;
        div.style.fontSize = `${f1(s.s)}px`;
        break;
      }
      case "note": {
        const div = el as HTMLElement;
        const text = div.firstChild as HTMLElement;
        const by = div.lastChild as HTMLElement;
        if (text.textContent !== s.text) text.textContent = s.text;
        if (by.textContent !== s.by) by.textContent = s.by;
        div.style.width = `${f1(Math.max(40, s.w))}px`;
        div.style.minHeight = `${f1(Math.max(40, s.h))}px`;
        div.style.background = noteFill(ink);
        div.style.setProperty("--jupyterspot-note-ink", ink);
        break;
      }
    }
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
    let orphans = 0;
    for (const v of this.views.values()) {
      this.place(v);
      if (!this.space.hasCell(v.shape.cell)) orphans++;
    }
    this.orphanCount = orphans;
    this.cull();
  }

  /** Mount the shapes near the viewport, unmount the others. */
  cull(): void {
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
    const parent =
      v.el instanceof HTMLElement ? this.html : v.shape.t === "hl" ? this.hlGroup : this.inkGroup;
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
