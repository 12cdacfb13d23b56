// What every shape kind provides (one file per kind beside this one, gathered in index.ts): its
// geometry (box, distance for hit testing), how it is drawn (element, paint), how it scales, and
// where it goes. Like tldraw's per-shape utils: what differs between kinds lives with the kind.

import type { Box } from "../geometry";
import type { Shape, ShapeFields } from "../shapes";

/** Which list of the palette's three sizes (tools.ts SIZES) a new shape takes its size from. */
export type SizeList = "pen" | "hl" | "line" | "text";

export interface ShapeKind {
  /** Where its element goes: the HTML layer (text), or the highlighter or ink group of the SVG. */
  readonly layer: "html" | "hl" | "ink";
  readonly size: SizeList;
  /** How its text is typed in the note editor (notes.ts); none: it has no text. */
  readonly editor?: EditorLook;
  /** Its box relative to its anchor point, padded for its stroke; `measured` = rendered size
   * (HTML kinds, once laid out). */
  box(s: Shape, measured?: { w: number; h: number }): Box;
  /** Distance from a point (shape-local) to its ink, 0 inside filled areas; `box` = its local box. */
  distance(s: Shape, px: number, py: number, box: Box): number;
  /** Its (empty) element. */
  create(): Element;
  /** Draw `s` into its element; `done`: the stroke is finished (pen tips taper). */
  paint(el: Element, s: Shape, done: boolean): void;
  /** The fields that scale it by (sx, sy) about its anchor (the select tool's resize handle). */
  scale(s: Shape, sx: number, sy: number): ShapeFields;
}

/** The note editor's textarea for a kind with text. */
export interface EditorLook {
  /** Its accessible name. */
  label: string;
  placeholder: string;
  /** Class of the editor when it is placed over the shape itself. */
  className: string;
  /** Dress the editor like the shape's paper (notes); `inPlace`: also at its size. */
  dress?(ta: HTMLTextAreaElement, s: Shape, inPlace: boolean): void;
}

/** Numbers as written into SVG and styles: one decimal. */
export const f1 = (v: number): string => (Math.round(v * 10) / 10).toString();

/** Stroke color and width of a line drawing. */
export function stroke(el: Element, s: Shape): void {
  el.setAttribute("stroke", s.c);
  el.setAttribute("stroke-width", f1(s.s));
}
