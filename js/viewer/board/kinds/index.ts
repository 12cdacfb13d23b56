// The table of shape kinds: every per-kind difference is looked up here, never switched on.

import type { Box } from "../geometry";
import type { ShapeType } from "../schema";
import type { Shape } from "../shapes";
import { arrow } from "./arrow";
import { ask } from "./ask";
import { ellipse } from "./ellipse";
import { hl } from "./hl";
import type { ShapeKind } from "./kind";
import { note } from "./note";
import { pen } from "./pen";
import { rect } from "./rect";
import { text } from "./text";

export type { EditorLook, ShapeKind, SizeList } from "./kind";

export const KIND: Readonly<Record<ShapeType, ShapeKind>> = {
  pen,
  hl,
  arrow,
  rect,
  ellipse,
  text,
  note,
  ask,
};

/** The shape's box relative to its anchor point (x, y); `measured` = rendered size of text. */
export function localBox(s: Shape, measured?: { w: number; h: number }): Box {
  return KIND[s.t].box(s, measured);
}

/**
 * Distance from a point (shape-local coordinates) to the shape's ink, 0 inside filled areas
 * (notes, text). `box` is the shape's local box (for text and notes).
 */
export function distanceTo(s: Shape, px: number, py: number, box: Box): number {
  return KIND[s.t].distance(s, px, py, box);
}
