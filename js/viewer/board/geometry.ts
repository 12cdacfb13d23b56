// Boxes and distances in the board's root space (reference px), shared by the shape kinds, hit
// testing and the renderer's culling.

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

/** `b` grown by `pad` on every side. */
export const padBox = (b: Box, pad: number): Box => ({
  x0: b.x0 - pad,
  y0: b.y0 - pad,
  x1: b.x1 + pad,
  y1: b.y1 + pad,
});

/** `b` moved by (-x, -y): a root-space box in the coordinates of a shape anchored at (x, y). */
export const boxFrom = (b: Box, x: number, y: number): Box => ({
  x0: b.x0 - x,
  y0: b.y0 - y,
  x1: b.x1 - x,
  y1: b.y1 - y,
});

/** Distance from point p to the segment a-b. */
export function segDist(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len = dx * dx + dy * dy;
  const t = len > 0 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len)) : 0;
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** Reference px are stored with one decimal. */
export function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
