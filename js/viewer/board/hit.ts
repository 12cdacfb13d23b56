// Hit testing against the view: which placed shapes (renderer.placed(), root space) a point
// touches, by their ink, not only their box.

import { boxesMeet, boxFrom, padBox, type Box } from "./geometry";
import { distanceTo } from "./kinds";
import type { Renderer } from "./render";
import type { Shape } from "./shapes";

/** Does the shape's ink come within `tol` of root-space point (x, y)? `box`: its root-space box. */
export function touches(renderer: Renderer, shape: Shape, box: Box, x: number, y: number, tol: number): boolean {
  const o = renderer.originOf(shape);
  if (!o) return false;
  return distanceTo(shape, x - o.x, y - o.y, boxFrom(box, o.x, o.y)) <= tol;
}

/** The topmost shape (newest; ties: the larger id) within `tol` root px of a root-space point. */
export function topmostAt(
  renderer: Renderer,
  p: { x: number; y: number },
  tol: number,
  which: (s: Shape) => boolean = () => true,
): Shape | null {
  const probe = padBox({ x0: p.x, y0: p.y, x1: p.x, y1: p.y }, tol);
  let best: Shape | null = null;
  for (const { shape, box } of renderer.placed()) {
    if (!which(shape) || !boxesMeet(box, probe)) continue;
    if (best && (shape.at < best.at || (shape.at === best.at && shape.id < best.id))) continue;
    if (touches(renderer, shape, box, p.x, p.y, tol)) best = shape;
  }
  return best;
}

/** Every placed shape within `radius` root px of (x, y), but those in `skip`. */
export function shapesNear(
  renderer: Renderer,
  x: number,
  y: number,
  radius: number,
  skip: Set<string>,
): Shape[] {
  const probe = padBox({ x0: x, y0: y, x1: x, y1: y }, radius);
  const out: Shape[] = [];
  for (const { shape, box } of renderer.placed()) {
    if (skip.has(shape.id) || !boxesMeet(box, probe)) continue;
    if (touches(renderer, shape, box, x, y, radius)) out.push(shape);
  }
  return out;
}
