// What the two freehand kinds (pen, highlighter) share: their points.

import { emptyBox, padBox, segDist, type Box } from "../geometry";
import { encodePoints } from "../points";
import type { Shape, ShapeFields } from "../shapes";

export function pointsBox(s: Shape): Box {
  let b = emptyBox();
  for (let i = 0; i < s.pts.length; i += s.d) {
    const x = s.pts[i];
    const y = s.pts[i + 1];
    if (x < b.x0) b.x0 = x;
    if (x > b.x1) b.x1 = x;
    if (y < b.y0) b.y0 = y;
    if (y > b.y1) b.y1 = y;
  }
  if (!Number.isFinite(b.x0)) b = { x0: 0, y0: 0, x1: 0, y1: 0 };
  return padBox(b, s.s / 2 + 1);
}

export function pointsDistance(s: Shape, px: number, py: number): number {
  const p = s.pts;
  if (p.length < s.d) return Infinity;
  let best = Math.hypot(px - p[0], py - p[1]);
  for (let i = s.d; i < p.length; i += s.d) {
    best = Math.min(best, segDist(px, py, p[i - s.d], p[i - s.d + 1], p[i], p[i + 1]));
  }
  return Math.max(0, best - s.s / 2);
}

export function scalePoints(s: Shape, sx: number, sy: number): ShapeFields {
  const pts = Float32Array.from(s.pts);
  for (let i = 0; i < pts.length; i += s.d) {
    pts[i] *= sx;
    pts[i + 1] *= sy;
  }
  return { pts: encodePoints(pts) };
}
