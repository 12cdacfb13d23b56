// The board's shape model (docs/protocol.md, "### board"): every shape is a Y.Map in the board
// doc's Y.Map("shapes"), keyed by shape id, anchored to the cell it starts in ({cell, x, y} in
// reference px from the cell's top-left). Strokes keep their points as Float32 little-endian bytes
// relative to the anchor (points.ts). Everything read from the doc is validated: other people
// wrote it. Which fields exist, their types and bounds, and what each kind needs: schema.ts.

import * as Y from "yjs";
import { encodePoints } from "./points";
import { FIELDS, kindOfShape, readValue, valid, type ShapeType } from "./schema";

export type { ShapeType } from "./schema";

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
  /** A question (kind ask): when the host marked it answered (ms since epoch), 0 = open. */
  ans: number;
}

/** Fields of a shape, as stored (pts already encoded). */
export type ShapeFields = Record<string, string | number | Uint8Array>;

export function readShape(id: string, m: unknown): Shape | null {
  if (!(m instanceof Y.Map)) return null;
  const t = m.get("t");
  const kind = kindOfShape(t);
  if (!kind || kind.required.some((f) => !valid(f, m.get(f)))) return null;
  const get = (f: string): unknown => readValue(f, m.get(f));
  const d = get("d") === 3 ? 3 : 2;
  // Only the kinds that write points have any (a stray `pts` on a rect is not drawn).
  let pts = kind.writes.includes("pts") ? (get("pts") as Float32Array) : new Float32Array(0);
  if (pts.length % d) pts = pts.subarray(0, pts.length - (pts.length % d));
  return {
    id,
    t,
    cell: get("cell") as string,
    ci: get("ci") as number,
    x: get("x") as number,
    y: get("y") as number,
    pts,
    d,
    w: get("w") as number,
    h: get("h") as number,
    c: get("c") as string,
    s: get("s") as number,
    text: get("text") as string,
    by: get("by") as string,
    at: get("at") as number,
    ans: get("ans") as number,
  };
}

/** The stored fields of a shape: those its kind writes (schema.ts), points encoded. */
export function encodeShape(s: Shape): ShapeFields {
  const f: ShapeFields = {};
  for (const name of kindOfShape(s.t)?.writes ?? []) {
    f[name] = name === "pts" ? encodePoints(s.pts) : (s[name as keyof Shape] as string | number);
  }
  return f;
}

/**
 * Fields given by a script (plain values, `pts` as numbers) as stored: only the schema's fields,
 * each normalised as the viewer would write it (points encoded, integers truncated up to their
 * minimum, strings cut to what readers keep) and kept only when it then passes the server's check
 * (the server closes the connection of a client that sends anything else).
 */
export function scriptedFields(given: Record<string, unknown>): ShapeFields {
  const out: ShapeFields = {};
  for (const [name, raw] of Object.entries(given)) {
    const v = scripted(name, raw);
    if (valid(name, v)) out[name] = v as string | number | Uint8Array;
  }
  return out;
}

function scripted(name: string, v: unknown): unknown {
  const f = FIELDS[name];
  if (!f) return undefined;
  if (f.type === "points" && v !== null && typeof v === "object") return encodePoints(v as ArrayLike<number>);
  if (f.type === "integer" && typeof v === "number") return Math.max(f.min ?? -Infinity, Math.trunc(v));
  if (f.type === "string" && typeof v === "string") return v.slice(0, f.read?.maxLength ?? f.max);
  return v;
}

export function newShapeMap(fields: ShapeFields): Y.Map<unknown> {
  const m = new Y.Map<unknown>();
  for (const [k, v] of Object.entries(fields)) m.set(k, v);
  return m;
}

export function newId(clientId: number): string {
  const rnd = Math.random().toString(36).slice(2, 8);
  return `${clientId.toString(36)}-${Date.now().toString(36)}-${rnd}`;
}
