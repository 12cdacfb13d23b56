// What the kinds drawn in a (w, h) frame from their anchor share (arrow, rectangle, ellipse;
// a sticky note scales the same way).

import { padBox, round1, type Box } from "../geometry";
import type { Shape, ShapeFields } from "../shapes";

/** The frame from the anchor to (w, h), either may be negative, padded for the stroke. */
export function frameBox(s: Shape, pad: number): Box {
  return padBox(
    { x0: Math.min(0, s.w), y0: Math.min(0, s.h), x1: Math.max(0, s.w), y1: Math.max(0, s.h) },
    pad,
  );
}

export function scaleFrame(s: Shape, sx: number, sy: number): ShapeFields {
  return { w: round1(s.w * sx), h: round1(s.h * sy) };
}

/** Distance to a box, 0 inside (text and notes are filled areas). */
export function boxDistance(px: number, py: number, box: Box): number {
  const dx = Math.max(box.x0 - px, 0, px - box.x1);
  const dy = Math.max(box.y0 - py, 0, py - box.y1);
  return Math.hypot(dx, dy);
}
