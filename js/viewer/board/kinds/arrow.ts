// Arrow: from the anchor to (w, h), with a head at the end.

import { svg } from "../../dom";
import { segDist } from "../geometry";
import type { Shape } from "../shapes";
import { f1, stroke, type ShapeKind } from "./kind";
import { frameBox, scaleFrame } from "./sized";

function arrowPath(s: Shape): string {
  const len = Math.hypot(s.w, s.h);
  const head = Math.min(len * 0.45, 8 + s.s * 3);
  const a = Math.atan2(s.h, s.w);
  const p = (da: number): string =>
    `${f1(s.w - head * Math.cos(a + da))} ${f1(s.h - head * Math.sin(a + da))}`;
  return `M0 0L${f1(s.w)} ${f1(s.h)}M${p(0.45)}L${f1(s.w)} ${f1(s.h)}L${p(-0.45)}`;
}

export const arrow: ShapeKind = {
  layer: "ink",
  size: "line",
  // The head reaches past the line's end.
  box: (s) => frameBox(s, s.s / 2 + s.s * 2),
  distance: (s, px, py) => Math.max(0, segDist(px, py, 0, 0, s.w, s.h) - s.s / 2),
  create: () => svg("path", { fill: "none", class: "jupyterspot-line" }),
  paint(el, s) {
    el.setAttribute("d", arrowPath(s));
    stroke(el, s);
  },
  scale: scaleFrame,
};
