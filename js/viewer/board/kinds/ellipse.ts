// Ellipse: inscribed in the frame from the anchor to (w, h).

import { svg } from "../../dom";
import { segDist } from "../geometry";
import { f1, stroke, type ShapeKind } from "./kind";
import { frameBox, scaleFrame } from "./sized";

export const ellipse: ShapeKind = {
  layer: "ink",
  size: "line",
  box: (s) => frameBox(s, s.s / 2 + 1),
  distance(s, px, py) {
    // Against a 48-gon: close enough for a pointer's tolerance.
    const rx = Math.abs(s.w) / 2;
    const ry = Math.abs(s.h) / 2;
    const cx = s.w / 2;
    const cy = s.h / 2;
    let best = Infinity;
    let prev: [number, number] | null = null;
    for (let i = 0; i <= 48; i++) {
      const a = (i / 48) * Math.PI * 2;
      const q: [number, number] = [cx + rx * Math.cos(a), cy + ry * Math.sin(a)];
      if (prev) best = Math.min(best, segDist(px, py, prev[0], prev[1], q[0], q[1]));
      prev = q;
    }
    return Math.max(0, best - s.s / 2);
  },
  create: () => svg("ellipse", { fill: "none", class: "jupyterspot-line" }),
  paint(el, s) {
    el.setAttribute("cx", f1(s.w / 2));
    el.setAttribute("cy", f1(s.h / 2));
    el.setAttribute("rx", f1(Math.abs(s.w) / 2));
    el.setAttribute("ry", f1(Math.abs(s.h) / 2));
    stroke(el, s);
  },
  scale: scaleFrame,
};
