// The board's shape schema, read from jupyterspot_magic/contracts/shape.json (the server checks
// every update against the same file: collab/schema.py). Three uses: `valid` is the server's
// check of one field; `readValue` is how the viewer normalises what it reads (other people wrote
// it); `kindOfShape` gives, per kind, the fields a reader requires and the fields the encoder writes.

import contract from "../../../jupyterspot_magic/contracts/shape.json";
import { decodePoints } from "./points";

export type ShapeType = "pen" | "hl" | "arrow" | "rect" | "ellipse" | "text" | "note" | "ask";

type FieldType = "enum" | "string" | "integer" | "number" | "points" | "color";

interface ReadRule {
  min?: number;
  max?: number;
  maxLength?: number;
  integer?: boolean;
  default?: string | number;
}

export interface FieldRule {
  type: FieldType;
  values?: readonly string[];
  min?: number;
  max?: number;
  pattern?: string;
  read?: ReadRule;
}

export interface KindRule {
  /** Fields without which a reader ignores the shape. */
  required: readonly string[];
  /** The fields the encoder writes for a shape of this kind, in order. */
  writes: readonly string[];
}

const TYPES: readonly string[] = ["enum", "string", "integer", "number", "points", "color"];

/** The shape fields (docs/protocol.md, "### board"). */
export const FIELDS: Readonly<Record<string, FieldRule>> = (() => {
  const fields = contract.fields as Record<string, { type: string }>;
  for (const [name, f] of Object.entries(fields)) {
    if (!TYPES.includes(f.type)) throw new Error(`shape.json: unknown type of ${name}`);
  }
  return fields as Record<string, FieldRule>;
})();

export const KINDS: Readonly<Record<ShapeType, KindRule>> = contract.kinds;
export const SHAPE_TYPES = FIELDS.t.values as readonly ShapeType[];
export const ROOT = contract.root;
export const SHAPE_ID = new RegExp(contract.id);
export const MAX_POINT_BYTES = contract.maxPointBytes;
/** What the text of a text shape or note may hold. */
export const MAX_TEXT = FIELDS.text.max as number;

const PATTERNS = new Map<string, RegExp>();
const patternOf = (name: string, f: FieldRule): RegExp => {
  let re = PATTERNS.get(name);
  if (!re) PATTERNS.set(name, (re = new RegExp(f.pattern ?? "")));
  return re;
};

const within = (f: { min?: number; max?: number }, v: number): boolean =>
  (f.min === undefined || v >= f.min) && (f.max === undefined || v <= f.max);

/** Would the server accept `v` as field `name`? (collab/schema.py, from the same contract) */
export function valid(name: string, v: unknown): boolean {
  const f = FIELDS[name];
  if (!f) return false;
  switch (f.type) {
    case "enum":
      return typeof v === "string" && (f.values ?? []).includes(v);
    case "string":
      return typeof v === "string" && (f.max === undefined || v.length <= f.max);
    case "integer":
      return Number.isInteger(v) && within(f, v as number);
    case "number":
      return typeof v === "number" && Number.isFinite(v) && within(f, v);
    case "points":
      return v instanceof Uint8Array && v.byteLength % 4 === 0 && v.byteLength <= MAX_POINT_BYTES;
    case "color":
      return typeof v === "string" && patternOf(name, f).test(v);
  }
}

/**
 * Field `name` as the viewer uses it: the contract's `read` rule applied to a valid value
 * (clamped, cut to maxLength, floored), its default otherwise; points decoded to numbers.
 */
export function readValue(name: string, v: unknown): unknown {
  const f = FIELDS[name];
  if (!f) return undefined;
  if (f.type === "points") return valid(name, v) ? decodePoints(v) : new Float32Array(0);
  const r = f.read ?? {};
  if (!valid(name, v)) return r.default;
  if (typeof v === "number") {
    let n = Math.max(r.min ?? -Infinity, Math.min(r.max ?? Infinity, v));
    if (r.integer) n = Math.floor(n);
    return n;
  }
  if (typeof v === "string" && r.maxLength !== undefined) return v.slice(0, r.maxLength);
  return v;
}

/** The rule of a kind, or null for anything else (readers ignore such a shape). */
export function kindOfShape(t: unknown): KindRule | null {
  return valid("t", t) ? KINDS[t as ShapeType] : null;
}
