// Rectangle: the frame from the anchor to (w, h), slightly rounded corners.

import { svg } from "../../dom";
import { segDist } from "../geometry";
import { f1, stroke, type ShapeKind } from "./kind";
import { frameBox, scaleFrame } from "./sized";

export const rect: ShapeKind = {
  layer: "ink",
  size: "line",
  box: (s) => frameBox(s, s.s / 2 + 1),
  distance(s, px, py) {
    const x0 = Math.min(0, s.w);
    const x1 = Math.max(0, s.w);
    const y0 = Math.min(0, s.h);
    const y1 = Math.max(0, s.h);
    const d = Math.min(
      segDist(px, py, x0, y0, x1, y0),
      segDist(px, py, x1, y0, x1, y1),
      segDist(px, py, x1, y1, x0, y1),
      segDist(px, py, x0, y1, x0, y0),
    );
    return Math.max(0, d - s.s / 2);
  },
  create: () => svg("rect", { fill: "none", class: "jupyterspot-line" }),
  paint(el, s) {
    el.setAttribute("x", f1(Math.min(0, s.w)));
    el.setAttribute("y", f1(Math.min(0, s.h)));
    el.setAttribute("width", f1(Math.abs(s.w)));
    el.setAttribute("height", f1(Math.abs(s.h)));
    el.setAttribute("rx", f1(Math.min(6, Math.abs(s.w) / 4, Math.abs(s.h) / 4)));
    stroke(el, s);
  },
  scale: scaleFrame,
};
