// Pen: a freehand stroke drawn as a filled outline by perfect-freehand (pressure from a pen, or
// simulated).

import { getStroke } from "perfect-freehand";
import { svg } from "../../dom";
import type { Shape } from "../shapes";
import { f1, type ShapeKind } from "./kind";
import { pointsBox, pointsDistance, scalePoints } from "./strokes";

/** perfect-freehand outline -> SVG path (quadratic curves through midpoints). */
function outlinePath(points: number[][]): string {
  const n = points.length;
  if (n < 2) return "";
  let d = `M${f1(points[0][0])} ${f1(points[0][1])}Q`;
  for (let i = 0; i < n; i++) {
    const [x0, y0] = points[i];
    const [x1, y1] = points[(i + 1) % n];
    d += `${f1(x0)} ${f1(y0)} ${f1((x0 + x1) / 2)} ${f1((y0 + y1) / 2)} `;
  }
  return `${d}Z`;
}

function penPath(s: Shape, done = true): string {
  const pts: number[][] = [];
  for (let i = 0; i < s.pts.length; i += s.d) {
    pts.push(s.d === 3 ? [s.pts[i], s.pts[i + 1], s.pts[i + 2]] : [s.pts[i], s.pts[i + 1]]);
  }
  if (pts.length === 1) pts.push([pts[0][0] + 0.01, pts[0][1] + 0.01, pts[0][2] ?? 0.5]);
  return outlinePath(
    getStroke(pts, {
      size: s.s,
      thinning: 0.55,
      smoothing: 0.5,
      streamline: 0.4,
      simulatePressure: s.d === 2,
      last: done,
    }),
  );
}

export const pen: ShapeKind = {
  layer: "ink",
  size: "pen",
  box: pointsBox,
  distance: pointsDistance,
  create: () => svg("path"),
  paint(el, s, done) {
    el.setAttribute("d", penPath(s, done));
    el.setAttribute("fill", s.c);
  },
  scale: scalePoints,
};
