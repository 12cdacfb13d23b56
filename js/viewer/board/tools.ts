// Pointer input for the drawing tools. While a tool is active a transparent, fixed input surface
// covers the viewport and takes the pointer (one finger / pen / mouse draws; two fingers scroll the
// page; the wheel scrolls the page because the surface itself never scrolls). In browse mode the
// surface is hidden, so every pointer event reaches the notebook.

import type { BoardModel } from "./model";
import type { Renderer } from "./render";
import { svg } from "./render";
import {
  boxesMeet,
  distanceTo,
  encodePoints,
  newId,
  simplify,
  type Box,
  type Shape,
  type ShapeType,
} from "./shapes";
import type { Space } from "./space";

export type Tool =
  | "select"
  | "pen"
  | "highlighter"
  | "eraser"
  | "arrow"
  | "rect"
  | "ellipse"
  | "text"
  | "note"
  | "laser";

/** Tools that change the document (disabled for guests when the host decides). */
export const DRAWING_TOOLS: readonly Tool[] = [
  "select",
  "pen",
  "highlighter",
  "eraser",
  "arrow",
  "rect",
  "ellipse",
  "text",
  "note",
];

export const SIZES: Record<string, readonly number[]> = {
  pen: [2.5, 4.5, 9],
  hl: [12, 20, 32],
  line: [2, 3.5, 6],
  text: [16, 22, 32],
};

export interface ToolContext {
  model: BoardModel;
  renderer: Renderer;
  space: Space;
  clientId: number;
  color(): string;
  sizeIndex(): number;
  author(): string;
  selection: Set<string>;
  selectionChanged(): void;
  edit(id: string, fresh?: boolean): void;
  laser(p: { x: number; y: number } | null): void;
  /** A gesture starts: finish editing any text. */
  blur(): void;
  /**
   * A gesture starts: bring the cell geometry up to date now. A layout change is applied on the
   * next animation frame, but pointer events of that frame are dispatched before it: without this
   * a stroke begun right after a layout change (a rotation, a zoom, an image that loaded; frames
   * are far apart under CPU load) was anchored and scaled with the old geometry.
   */
  measure(): void;
}

interface Pt {
  x: number;
  y: number;
}

interface Op {
  move(p: Pt, e: PointerEvent): void;
  end(): void;
  /** A second finger arrived: undo what this gesture did so far. */
  cancel(): void;
}

/** Run `fn` at most once per animation frame. */
function frameThrottle(fn: () => void): { schedule(): void; flush(): void; cancel(): void } {
  let frame = 0;
  return {
    schedule() {
      if (!frame) {
        frame = requestAnimationFrame(() => {
          frame = 0;
          fn();
        });
      }
    },
    flush() {
      if (frame) cancelAnimationFrame(frame);
      frame = 0;
      fn();
    },
    cancel() {
      if (frame) cancelAnimationFrame(frame);
      frame = 0;
    },
  };
}

const SYNC_MS = 50; // a stroke in progress reaches the others at 20 Hz

/**
 * Run `fn` (a write) on `poke()` at most every SYNC_MS, and once more after a poke that came too
 * soon (a trailing write, on a timer): points drawn just before the pointer pauses or the page
 * stalls reach the others without waiting for the next move or the release. `stop()` cancels
 * the pending write for good (nothing is ever written after the gesture ended).
 */
function writeThrottle(fn: () => void): { poke(): void; stop(): void } {
  let last = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const run = (): void => {
    timer = undefined;
    if (stopped) return;
    last = performance.now();
    fn();
  };
  return {
    poke() {
      if (stopped || timer !== undefined) return;
      const wait = SYNC_MS - (performance.now() - last);
      if (wait <= 0) run();
      else timer = setTimeout(run, wait);
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

export class Input {
  readonly el: HTMLDivElement;
  tool: Tool | null = null;
  private op: Op | null = null;
  private opPointer = -1;
  private touches = new Map<number, Pt>();
  private panFrom: Pt | null = null;

  constructor(private readonly ctx: ToolContext) {
    const el = document.createElement("div");
    el.className = "jupyterspot-board-input";
    el.hidden = true;
    this.el = el;
    el.addEventListener("pointerdown", (e) => this.down(e));
    el.addEventListener("pointermove", (e) => this.move(e));
    el.addEventListener("pointerup", (e) => this.up(e));
    el.addEventListener("pointercancel", (e) => this.up(e));
    el.addEventListener("pointerleave", (e) => {
      if (this.tool === "laser" && e.pointerType === "mouse") ctx.laser(null);
    });
    el.addEventListener("dblclick", (e) => {
      if (this.tool !== "select") return;
      const hit = this.hit(this.ctx.space.fromClient(e.clientX, e.clientY), 6);
      if (hit && (hit.t === "text" || hit.t === "note")) ctx.edit(hit.id);
    });
    el.addEventListener("contextmenu", (e) => e.preventDefault());
    document.body.appendChild(el);
  }

  setTool(tool: Tool | null): void {
    if (this.op) this.finish();
    if (this.tool === "laser" && tool !== "laser") this.ctx.laser(null);
    this.tool = tool;
    this.el.hidden = tool === null;
    this.el.dataset.tool = tool ?? "";
  }

  private finish(): void {
    const op = this.op;
    this.op = null;
    this.opPointer = -1;
    op?.end();
  }

  /**
   * End the gesture in progress now, as its release would (its points so far are kept). Called
   * before any write that is not part of a gesture (undo, redo, delete, restyle, a scripted add):
   * a gesture stays one undo step, and an undo never races a stroke that is still being drawn.
   */
  settle(): void {
    if (this.op) this.finish();
  }

  private point(e: { clientX: number; clientY: number }): Pt {
    return this.ctx.space.fromClient(e.clientX, e.clientY);
  }

  private mid(): Pt {
    let x = 0;
    let y = 0;
    for (const p of this.touches.values()) {
      x += p.x;
      y += p.y;
    }
    return { x: x / this.touches.size, y: y / this.touches.size };
  }

  private down(e: PointerEvent): void {
    if (!this.tool) return;
    e.preventDefault();
    this.ctx.blur();
    if (e.pointerType === "touch") {
      this.touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (this.touches.size >= 2) {
        // Two fingers: scroll the page, and forget the stroke the first finger started.
        if (this.op) {
          const op = this.op;
          this.op = null;
          this.opPointer = -1;
          op.cancel();
        }
        this.panFrom = this.mid();
        return;
      }
    } else if (e.button !== 0) {
      return;
    }
    if (this.op) this.finish();
    this.ctx.measure();
    try {
      this.el.setPointerCapture(e.pointerId);
    } catch {
      // synthetic pointer ids cannot be captured
    }
    this.opPointer = e.pointerId;
    this.op = this.start(this.tool, this.point(e), e);
  }

  private move(e: PointerEvent): void {
    if (e.pointerType === "touch" && this.touches.has(e.pointerId)) {
      this.touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (this.panFrom && this.touches.size >= 2) {
        const m = this.mid();
        window.scrollBy(this.panFrom.x - m.x, this.panFrom.y - m.y);
        this.panFrom = m;
        return;
      }
    }
    if (this.op && e.pointerId === this.opPointer) {
      this.track(e);
    } else if (this.tool === "laser" && e.pointerType === "mouse") {
      this.ctx.laser(this.point(e));
    }
  }

  /** Every position the event carries (all the coalesced ones under load), in order. */
  private track(e: PointerEvent): void {
    const op = this.op;
    if (!op) return;
    const events = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
    for (const ev of events.length ? events : [e]) op.move(this.point(ev), ev);
  }

  private up(e: PointerEvent): void {
    if (e.pointerType === "touch") {
      this.touches.delete(e.pointerId);
      if (this.touches.size < 2) this.panFrom = null;
    }
    if (this.op && e.pointerId === this.opPointer) {
      // The release point is the end of the gesture (it may differ from the last move, e.g. a
      // pen lifted quickly); a cancel carries no meaningful position.
      if (e.type === "pointerup") this.track(e);
      this.finish();
    }
  }

  private size(kind: keyof typeof SIZES): number {
    const sizes = SIZES[kind];
    return sizes[Math.max(0, Math.min(sizes.length - 1, this.ctx.sizeIndex()))];
  }

  /** Topmost shape within `tolerance` screen px of a root-space point. */
  hit(p: Pt, tolerance: number, types?: ShapeType[]): Shape | null {
    const tol = tolerance / this.ctx.space.scale;
    const probe: Box = { x0: p.x - tol, y0: p.y - tol, x1: p.x + tol, y1: p.y + tol };
    let best: Shape | null = null;
    for (const { shape, box } of this.ctx.renderer.placed()) {
      if (types && !types.includes(shape.t)) continue;
      if (!boxesMeet(box, probe)) continue;
      if (best && (shape.at < best.at || (shape.at === best.at && shape.id < best.id))) continue;
      const o = this.ctx.renderer.originOf(shape);
      if (!o) continue;
      const local = { x0: box.x0 - o.x, y0: box.y0 - o.y, x1: box.x1 - o.x, y1: box.y1 - o.y };
      if (distanceTo(shape, p.x - o.x, p.y - o.y, local) <= tol) best = shape;
    }
    return best;
  }

  private start(tool: Tool, p: Pt, e: PointerEvent): Op | null {
    switch (tool) {
      case "pen":
      case "highlighter":
        return this.stroke(tool === "pen" ? "pen" : "hl", p, e);
      case "arrow":
      case "rect":
      case "ellipse":
        return this.drag(tool, p);
      case "eraser":
        return this.eraser(p, e);
      case "text":
      case "note":
        return this.place(tool, p);
      case "laser":
        this.ctx.laser(p);
        return {
          move: (q) => this.ctx.laser(q),
          end: () => {
            if (e.pointerType !== "mouse") this.ctx.laser(null);
          },
          cancel: () => this.ctx.laser(null),
        };
      case "select":
        return this.select(p, e);
    }
  }

  private base(t: ShapeType, p: Pt): { id: string; shape: Shape } | null {
    const a = this.ctx.space.anchorAt(p.x, p.y);
    if (!a) return null;
    const size = t === "pen" ? "pen" : t === "hl" ? "hl" : t === "text" ? "text" : "line";
    const shape: Shape = {
      id: newId(this.ctx.clientId),
      t,
      cell: a.cell,
      ci: a.ci,
      x: round1(a.x),
      y: round1(a.y),
      pts: new Float32Array(0),
      d: 2,
      w: 0,
      h: 0,
      c: this.ctx.color(),
      s: this.size(size),
      text: "",
      by: this.ctx.author(),
      at: Date.now(),
    };
    return { id: shape.id, shape };
  }

  private fields(s: Shape): Record<string, string | number | Uint8Array> {
    const f: Record<string, string | number | Uint8Array> = {
      t: s.t,
      cell: s.cell,
      ci: s.ci,
      x: s.x,
      y: s.y,
      c: s.c,
      s: s.s,
      by: s.by,
      at: s.at,
    };
    if (s.t === "pen" || s.t === "hl") {
      f.d = s.d;
      f.pts = encodePoints(s.pts);
    } else {
      f.w = s.w;
      f.h = s.h;
    }
    if (s.t === "text" || s.t === "note") f.text = s.text;
    return f;
  }

  private stroke(t: "pen" | "hl", p: Pt, e: PointerEvent): Op | null {
    const made = this.base(t, p);
    if (!made) return null;
    const { id, shape } = made;
    const { model, renderer } = this.ctx;
    const pressure =
      t === "pen" &&
      (e.pointerType === "pen" ||
        (e.pointerType === "touch" && e.pressure > 0 && e.pressure < 1 && e.pressure !== 0.5));
    const d = pressure ? 3 : 2;
    shape.d = d;
    const pts: number[] = d === 3 ? [0, 0, e.pressure] : [0, 0];
    const x0 = p.x - shape.x;
    const y0 = p.y - shape.y;
    const minStep = Math.max(0.6, shape.s * 0.12);
    shape.pts = Float32Array.from(pts);
    model.begin();
    model.add(id, this.fields(shape));
    // Points reach the doc at most every SYNC_MS (with a trailing write), independently of the
    // animation frames that draw the local preview: under load frames come late and seldom.
    const writes = writeThrottle(() => model.setPoints(id, pts));
    const frame = frameThrottle(() => {
      renderer.preview({ ...shape, pts: Float32Array.from(pts) });
    });
    renderer.preview(shape);
    let done = false;
    return {
      move: (q, ev) => {
        if (done) return;
        const x = round1(q.x - x0 - shape.x);
        const y = round1(q.y - y0 - shape.y);
        const n = pts.length;
        // Simplify while drawing: drop points closer than a fraction of the pen width.
        if (Math.hypot(x - pts[n - d], y - pts[n - d + 1]) < minStep) return;
        if (pts.length >= 3 * 20000) return;
        pts.push(x, y);
        if (d === 3) pts.push(Math.round(ev.pressure * 100) / 100);
        writes.poke();
        frame.schedule();
      },
      end: () => {
        if (done) return;
        done = true;
        // Nothing pending may run after the release: the simplified points below are the last
        // write of this gesture (a later throttled write would store a stale copy).
        writes.stop();
        frame.flush(); // the local preview with every point, until the doc's copy is drawn
        const eps = t === "pen" ? 0.2 + shape.s * 0.03 : 0.5;
        // One transaction: the stroke's final points, in the same undo step as the rest.
        model.setPoints(id, simplify(pts, d, eps));
        renderer.preview(null, id);
        // Erased (or undone) while it was being drawn: no local ghost.
        if (!model.get(id)) renderer.update(id, null);
        model.begin();
      },
      cancel: () => {
        if (done) return;
        done = true;
        writes.stop();
        frame.cancel();
        renderer.preview(null, id);
        model.remove([id]);
        renderer.update(id, null);
        model.begin();
      },
    };
  }

  private drag(tool: "arrow" | "rect" | "ellipse", p: Pt): Op | null {
    const made = this.base(tool, p);
    if (!made) return null;
    const { id, shape } = made;
    const { model } = this.ctx;
    const x0 = p.x;
    const y0 = p.y;
    let created = false;
    let last: Pt = p;
    let shift = false;
    const apply = (): void => {
      let w = last.x - x0;
      let h = last.y - y0;
      if (shift && tool !== "arrow") {
        const m = Math.max(Math.abs(w), Math.abs(h));
        w = Math.sign(w || 1) * m;
        h = Math.sign(h || 1) * m;
      } else if (shift) {
        const len = Math.hypot(w, h);
        const a = Math.round(Math.atan2(h, w) / (Math.PI / 12)) * (Math.PI / 12);
        w = len * Math.cos(a);
        h = len * Math.sin(a);
      }
      w = round1(w);
      h = round1(h);
      if (!created) {
        if (Math.hypot(w, h) * this.ctx.space.scale < 4) return;
        created = true;
        model.begin();
        model.add(id, this.fields({ ...shape, w, h }));
      } else {
        model.set(id, { w, h });
      }
    };
    const frame = frameThrottle(apply);
    return {
      move: (q, ev) => {
        last = q;
        shift = ev.shiftKey;
        frame.schedule();
      },
      end: () => {
        frame.flush();
        model.begin();
      },
      cancel: () => {
        if (created) model.remove([id]);
        model.begin();
      },
    };
  }

  private eraser(p: Pt, e: PointerEvent): Op {
    const { model, renderer, space } = this.ctx;
    const radius = (e.pointerType === "touch" ? 14 : 8) / space.scale;
    model.begin();
    let prev = p;
    const erased = new Set<string>();
    const at = (q: Pt): void => {
      const steps = Math.max(1, Math.ceil(Math.hypot(q.x - prev.x, q.y - prev.y) / radius));
      const hits: string[] = [];
      for (let i = 1; i <= steps; i++) {
        const x = prev.x + ((q.x - prev.x) * i) / steps;
        const y = prev.y + ((q.y - prev.y) * i) / steps;
        const probe = { x0: x - radius, y0: y - radius, x1: x + radius, y1: y + radius };
        for (const { shape, box } of renderer.placed()) {
          if (erased.has(shape.id) || !boxesMeet(box, probe)) continue;
          const o = renderer.originOf(shape);
          if (!o) continue;
          const local = { x0: box.x0 - o.x, y0: box.y0 - o.y, x1: box.x1 - o.x, y1: box.y1 - o.y };
          if (distanceTo(shape, x - o.x, y - o.y, local) <= radius) {
            erased.add(shape.id);
            hits.push(shape.id);
          }
        }
      }
      prev = q;
      if (hits.length) model.remove(hits);
    };
    prev = p;
    at(p);
    return {
      move: (q) => at(q),
      end: () => model.begin(),
      cancel: () => {
        if (erased.size) model.undo.undo();
        model.begin();
      },
    };
  }

  private place(tool: "text" | "note", p: Pt): Op {
    let last = p;
    return {
      move: (q) => {
        last = q;
      },
      end: () => {
        if (Math.hypot(last.x - p.x, last.y - p.y) * this.ctx.space.scale > 8) return;
        const existing = this.hit(p, 4, ["text", "note"]);
        if (existing) {
          this.ctx.edit(existing.id);
          return;
        }
        const t = tool;
        const size = this.size("text");
        const at = t === "note" ? { x: p.x - 12, y: p.y - 12 } : { x: p.x, y: p.y - size * 0.65 };
        const made = this.base(t, at);
        if (!made) return;
        const shape = made.shape;
        if (t === "note") {
          shape.w = 200;
          shape.h = 120;
          shape.s = 16;
        }
        this.ctx.model.begin();
        this.ctx.model.add(made.id, this.fields(shape));
        this.ctx.edit(made.id, true);
      },
      cancel: () => undefined,
    };
  }

  private select(p: Pt, e: PointerEvent): Op | null {
    const { selection, renderer, space } = this.ctx;
    const selBox = renderer.boxAround(selection);
    const handle = 10 / space.scale;
    if (selBox && Math.abs(p.x - selBox.x1) <= handle && Math.abs(p.y - selBox.y1) <= handle) {
      return this.resize(selBox);
    }
    const hit = this.hit(p, e.pointerType === "touch" ? 12 : 6);
    if (hit) {
      if (e.shiftKey) {
        if (selection.has(hit.id)) selection.delete(hit.id);
        else selection.add(hit.id);
      } else if (!selection.has(hit.id)) {
        selection.clear();
        selection.add(hit.id);
      }
      this.ctx.selectionChanged();
      return selection.has(hit.id) ? this.moveSelection(p) : null;
    }
    if (!e.shiftKey) selection.clear();
    this.ctx.selectionChanged();
    const before = new Set(selection);
    const rect = svg("rect", { class: "jupyterspot-marquee" });
    renderer.overlay.appendChild(rect);
    let q = p;
    const frame = frameThrottle(() => {
      const b = {
        x0: Math.min(p.x, q.x),
        y0: Math.min(p.y, q.y),
        x1: Math.max(p.x, q.x),
        y1: Math.max(p.y, q.y),
      };
      rect.setAttribute("x", String(b.x0));
      rect.setAttribute("y", String(b.y0));
      rect.setAttribute("width", String(b.x1 - b.x0));
      rect.setAttribute("height", String(b.y1 - b.y0));
      selection.clear();
      for (const id of before) selection.add(id);
      for (const { shape, box } of renderer.placed()) {
        if (boxesMeet(box, b)) selection.add(shape.id);
      }
      this.ctx.selectionChanged();
    });
    return {
      move: (r) => {
        q = r;
        frame.schedule();
      },
      end: () => {
        frame.flush();
        rect.remove();
      },
      cancel: () => rect.remove(),
    };
  }

  /** Re-anchor a moved shape to the cell its anchor point now lies in. */
  private reanchor(rootX: number, rootY: number): Record<string, number | string> {
    const a = this.ctx.space.anchorAt(rootX, rootY);
    if (!a) return {};
    return { cell: a.cell, ci: a.ci, x: round1(a.x), y: round1(a.y) };
  }

  private moveSelection(p: Pt): Op {
    const { selection, model, renderer } = this.ctx;
    const start = new Map<string, { s: Shape; x: number; y: number }>();
    for (const id of selection) {
      const s = renderer.shape(id);
      const o = s && renderer.originOf(s);
      if (s && o) start.set(id, { s, x: o.x, y: o.y });
    }
    model.begin();
    let q = p;
    let moved = false;
    const frame = frameThrottle(() => {
      const dx = q.x - p.x;
      const dy = q.y - p.y;
      if (!moved && Math.hypot(dx, dy) * this.ctx.space.scale < 3) return;
      moved = true;
      model.transact(() => {
        for (const [id, st] of start) {
          model.set(id, { x: round1(st.s.x + dx), y: round1(st.s.y + dy) });
        }
      });
    });
    return {
      move: (r) => {
        q = r;
        frame.schedule();
      },
      end: () => {
        frame.flush();
        if (moved) {
          const dx = q.x - p.x;
          const dy = q.y - p.y;
          model.transact(() => {
            for (const [id, st] of start) model.set(id, this.reanchor(st.x + dx, st.y + dy));
          });
        }
        model.begin();
      },
      cancel: () => {
        frame.flush();
        if (moved) model.undo.undo();
        model.begin();
      },
    };
  }

  private resize(b: Box): Op {
    const { selection, model, renderer } = this.ctx;
    const start = new Map<string, { s: Shape; x: number; y: number }>();
    for (const id of selection) {
      const s = renderer.shape(id);
      const o = s && renderer.originOf(s);
      if (s && o) start.set(id, { s, x: o.x, y: o.y });
    }
    model.begin();
    const w0 = Math.max(1, b.x1 - b.x0);
    const h0 = Math.max(1, b.y1 - b.y0);
    let q: Pt = { x: b.x1, y: b.y1 };
    let uniform = false;
    const compute = (): { sx: number; sy: number } => {
      let sx = Math.max(0.05, (q.x - b.x0) / w0);
      let sy = Math.max(0.05, (q.y - b.y0) / h0);
      if (uniform) sx = sy = Math.max(sx, sy);
      return { sx, sy };
    };
    const fieldsFor = (st: { s: Shape; x: number; y: number }, sx: number, sy: number) => {
      const s = st.s;
      const nx = b.x0 + (st.x - b.x0) * sx;
      const ny = b.y0 + (st.y - b.y0) * sy;
      const f: Record<string, string | number | Uint8Array> = {
        x: round1(s.x + nx - st.x),
        y: round1(s.y + ny - st.y),
      };
      if (s.t === "pen" || s.t === "hl") {
        const pts = Float32Array.from(s.pts);
        for (let i = 0; i < pts.length; i += s.d) {
          pts[i] *= sx;
          pts[i + 1] *= sy;
        }
        f.pts = encodePoints(pts);
      } else if (s.t === "text") {
        f.s = round1(Math.max(6, Math.min(200, s.s * sy)));
      } else {
        f.w = round1(s.w * sx);
        f.h = round1(s.h * sy);
      }
      return { f, nx, ny };
    };
    let changed = false;
    const frame = frameThrottle(() => {
      const { sx, sy } = compute();
      changed = true;
      model.transact(() => {
        for (const [id, st] of start) model.set(id, fieldsFor(st, sx, sy).f);
      });
    });
    return {
      move: (r, ev) => {
        q = r;
        uniform = ev.shiftKey;
        frame.schedule();
      },
      end: () => {
        frame.flush();
        const { sx, sy } = compute();
        model.transact(() => {
          for (const [id, st] of start) {
            const { nx, ny } = fieldsFor(st, sx, sy);
            model.set(id, this.reanchor(nx, ny));
          }
        });
        model.begin();
      },
      cancel: () => {
        frame.flush();
        if (changed) model.undo.undo();
        model.begin();
      },
    };
  }
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

