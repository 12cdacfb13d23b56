// The board's shape model (docs/protocol.md, "### board"): every shape is a Y.Map in the board
// doc's Y.Map("shapes"), keyed by shape id, anchored to the cell it starts in ({cell, x, y} in
// reference px from the cell's top-left). Strokes keep their points as Float32 little-endian bytes
// relative to the anchor. Everything read from the doc is validated: other people wrote it.

import * as Y from "yjs";

export type ShapeType = "pen" | "hl" | "arrow" | "rect" | "ellipse" | "text" | "note";
export const SHAPE_TYPES: readonly ShapeType[] = [
  "pen",
  "hl",
  "arrow",
  "rect",
  "ellipse",
  "text",
  "note",
];

/** A validated, plain view of one shape (what the renderer and the tools work with). */
export interface Shape {
  id: string;
  t: ShapeType;
  cell: string;
  /** Index of the cell when drawn: where the shape goes if its cell id disappears. */
  ci: number;
  x: number;
  y: number;
  /** Stroke: points relative to (x, y), `d` numbers per point (2: x,y; 3: x,y,pressure). */
  pts: Float32Array;
  d: 2 | 3;
  /** Arrow end / rect & ellipse size / note width (reference px, may be negative). */
  w: number;
  h: number;
  /** "#rrggbb" */
  c: string;
  /** Stroke width or font size (reference px). */
  s: number;
  text: string;
  /** Author's display name (shown as text only) and creation time (ms since epoch). */
  by: string;
  at: number;
}

export const MAX_TEXT = 4000;
export const MAX_POINTS = 20000;

const num = (v: unknown, d = 0): number =>
  typeof v === "number" && Number.isFinite(v) ? Math.max(-1e6, Math.min(1e6, v)) : d;
const str = (v: unknown, max: number): string => (typeof v === "string" ? v.slice(0, max) : "");

export function safeInk(v: unknown, fallback = "#1e1e1e"): string {
  return typeof v === "string" && /^#[0-9a-fA-F]{6}$/.test(v) ? v : fallback;
}

// ---- Float32 codec ------------------------------------------------------------------------

/** Numbers -> Float32 little-endian bytes (4 bytes a number). */
export function encodePoints(values: ArrayLike<number>): Uint8Array {
  const n = Math.min(values.length, MAX_POINTS * 3);
  const bytes = new Uint8Array(n * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) view.setFloat32(i * 4, values[i], true);
  return bytes;
}

/** Float32 little-endian bytes -> numbers (non-finite values become 0). */
export function decodePoints(bytes: unknown): Float32Array {
  if (!(bytes instanceof Uint8Array)) return new Float32Array(0);
  const n = Math.min(bytes.byteLength >> 2, MAX_POINTS * 3);
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) {
    const v = view.getFloat32(i * 4, true);
    out[i] = Number.isFinite(v) ? v : 0;
  }
  return out;
}

// ---- Y.Map <-> Shape ----------------------------------------------------------------------

export function readShape(id: string, m: unknown): Shape | null {
  if (!(m instanceof Y.Map)) return null;
  const t = m.get("t");
  if (!SHAPE_TYPES.includes(t)) return null;
  const cell = str(m.get("cell"), 200);
  const d = m.get("d") === 3 ? 3 : 2;
  let pts = t === "pen" || t === "hl" ? decodePoints(m.get("pts")) : new Float32Array(0);
  if (pts.length % d) pts = pts.subarray(0, pts.length - (pts.length % d));
  return {
    id,
    t,
    cell,
    ci: Math.max(0, Math.floor(num(m.get("ci")))),
    x: num(m.get("x")),
    y: num(m.get("y")),
    pts,
    d,
    w: num(m.get("w")),
    h: num(m.get("h")),
    c: safeInk(m.get("c")),
    s: Math.max(0.5, Math.min(200, num(m.get("s"), 4))),
    text: str(m.get("text"), MAX_TEXT),
    by: str(m.get("by"), 60),
    at: num(m.get("at")),
  };
}

/** Fields of a new shape, as stored (pts already encoded). */
export type ShapeFields = Record<string, string | number | Uint8Array>;

export function newShapeMap(fields: ShapeFields): Y.Map<unknown> {
  const m = new Y.Map<unknown>();
  for (const [k, v] of Object.entries(fields)) m.set(k, v);
  return m;
}

export function newId(clientId: number): string {
  const rnd = Math.random().toString(36).slice(2, 8);
  return `${clientId.toString(36)}-${Date.now().toString(36)}-${rnd}`;
}

// ---- geometry (shape-local and root coordinates) -------------------------------------------

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export const emptyBox = (): Box => ({ x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity });

export function boxesMeet(a: Box, b: Box): boolean {
  return a.x0 <= b.x1 && b.x0 <= a.x1 && a.y0 <= b.y1 && b.y0 <= a.y1;
}

export function unionBox(a: Box, b: Box): Box {
  return {
    x0: Math.min(a.x0, b.x0),
    y0: Math.min(a.y0, b.y0),
    x1: Math.max(a.x1, b.x1),
    y1: Math.max(a.y1, b.y1),
  };
}

/** The shape's box relative to its anchor point (x, y); `measured` = rendered size of text. */
export function localBox(s: Shape, measured?: { w: number; h: number }): Box {
  const pad = s.t === "text" || s.t === "note" ? 0 : s.s / 2 + (s.t === "arrow" ? s.s * 2 : 1);
  let b: Box;
  if (s.t === "pen" || s.t === "hl") {
    b = emptyBox();
    for (let i = 0; i < s.pts.length; i += s.d) {
      const x = s.pts[i];
      const y = s.pts[i + 1];
      if (x < b.x0) b.x0 = x;
      if (x > b.x1) b.x1 = x;
      if (y < b.y0) b.y0 = y;
      if (y > b.y1) b.y1 = y;
    }
    if (!Number.isFinite(b.x0)) b = { x0: 0, y0: 0, x1: 0, y1: 0 };
  } else if (s.t === "text" || s.t === "note") {
    const w = measured?.w ?? (s.t === "note" ? Math.max(40, s.w) : s.s * 0.6 * s.text.length);
    const h = measured?.h ?? (s.t === "note" ? Math.max(40, s.h) : s.s * 1.3);
    b = { x0: 0, y0: 0, x1: w, y1: h };
  } else {
    b = { x0: Math.min(0, s.w), y0: Math.min(0, s.h), x1: Math.max(0, s.w), y1: Math.max(0, s.h) };
  }
  return { x0: b.x0 - pad, y0: b.y0 - pad, x1: b.x1 + pad, y1: b.y1 + pad };
}

function segDist(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len = dx * dx + dy * dy;
  const t = len > 0 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len)) : 0;
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/**
 * Distance from a point (shape-local coordinates) to the shape's ink, 0 inside filled areas
 * (notes, text). `box` is the shape's local box (for text and notes).
 */
export function distanceTo(s: Shape, px: number, py: number, box: Box): number {
  switch (s.t) {
    case "pen":
    case "hl": {
      const p = s.pts;
      if (p.length < s.d) return Infinity;
      let best = Math.hypot(px - p[0], py - p[1]);
      for (let i = s.d; i < p.length; i += s.d) {
        best = Math.min(best, segDist(px, py, p[i - s.d], p[i - s.d + 1], p[i], p[i + 1]));
      }
      return Math.max(0, best - s.s / 2);
    }
    case "arrow":
      return Math.max(0, segDist(px, py, 0, 0, s.w, s.h) - s.s / 2);
    case "rect": {
      const x0 = Math.min(0, s.w);
      const x1 = Math.max(0, s.w);
      const y0 = Math.min(0, s.h);
      const y1 = Math.max(0, s.h);
      const d = Math.min(
        segDist(px, py, x0, y0, x1, y0),
        segDist(px, py, x1, y0, x1, y1),
        segDist(px, py, x1, y1, x0, y1),
        segDist(px, py, x0, y1, x0, y0),
      );
      return Math.max(0, d - s.s / 2);
    }
    case "ellipse": {
      const rx = Math.abs(s.w) / 2;
      const ry = Math.abs(s.h) / 2;
      const cx = s.w / 2;
      const cy = s.h / 2;
      let best = Infinity;
      let prev: [number, number] | null = null;
      for (let i = 0; i <= 48; i++) {
        const a = (i / 48) * Math.PI * 2;
        const q: [number, number] = [cx + rx * Math.cos(a), cy + ry * Math.sin(a)];
        if (prev) best = Math.min(best, segDist(px, py, prev[0], prev[1], q[0], q[1]));
        prev = q;
      }
      return Math.max(0, best - s.s / 2);
    }
    default: {
      const dx = Math.max(box.x0 - px, 0, px - box.x1);
      const dy = Math.max(box.y0 - py, 0, py - box.y1);
      return Math.hypot(dx, dy);
    }
  }
}

// ---- simplification -------------------------------------------------------------------------

/** Ramer-Douglas-Peucker on points with `d` numbers each (only x, y count for the distance). */
export function simplify(values: ArrayLike<number>, d: number, epsilon: number): number[] {
  const n = Math.floor(values.length / d);
  if (n <= 2) return Array.from(values);
  const keep = new Uint8Array(n);
  keep[0] = keep[n - 1] = 1;
  const stack: [number, number][] = [[0, n - 1]];
  while (stack.length) {
    const [a, b] = stack.pop() as [number, number];
    let worst = -1;
    let idx = -1;
    for (let i = a + 1; i < b; i++) {
      const dist = segDist(
        values[i * d],
        values[i * d + 1],
        values[a * d],
        values[a * d + 1],
        values[b * d],
        values[b * d + 1],
      );
      if (dist > worst) {
        worst = dist;
        idx = i;
      }
    }
    if (worst > epsilon && idx > 0) {
      keep[idx] = 1;
      stack.push([a, idx], [idx, b]);
    }
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (keep[i]) for (let k = 0; k < d; k++) out.push(values[i * d + k]);
  }
  return out;
}
