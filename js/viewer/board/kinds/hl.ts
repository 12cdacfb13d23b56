// Highlighter: a wide translucent polyline under the ink.

import { svg } from "../../dom";
import type { Shape } from "../shapes";
import { f1, stroke, type ShapeKind } from "./kind";
import { pointsBox, pointsDistance, scalePoints } from "./strokes";

function polyline(s: Shape): string {
  let d = "";
  for (let i = 0; i < s.pts.length; i += s.d) {
    d += `${i ? "L" : "M"}${f1(s.pts[i])} ${f1(s.pts[i + 1])}`;
  }
  if (s.pts.length === s.d) d += "l0.01 0";
  return d;
}

export const hl: ShapeKind = {
  layer: "hl",
  size: "hl",
  box: pointsBox,
  distance: pointsDistance,
  create: () => svg("path", { fill: "none", class: "jupyterspot-hl" }),
  paint(el, s) {
    el.setAttribute("d", polyline(s));
    stroke(el, s);
  },
  scale: scalePoints,
};
