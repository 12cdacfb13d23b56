// Arrow, rectangle, ellipse: dragged out from the pointer down. Shift: a square / circle, or an
// arrow at a multiple of 15 degrees. Nothing is written until the drag is 4 screen px long.

import { frameTask } from "../../frame";
import { round1 } from "../geometry";
import { encodeShape } from "../shapes";
import { newShape, type Gesture, type Pt } from "./context";

export const drag =
  (tool: "arrow" | "rect" | "ellipse"): Gesture =>
  (ctx, p) => {
    const shape = newShape(ctx, tool, p);
    if (!shape) return null;
    const id = shape.id;
    const { model } = ctx;
    const x0 = p.x;
    const y0 = p.y;
    let created = false;
    let last: Pt = p;
    let shift = false;
    const apply = (): void => {
      let w = last.x - x0;
      let h = last.y - y0;
      if (shift && tool !== "arrow") {
        const m = Math.max(Math.abs(w), Math.abs(h));
        w = Math.sign(w || 1) * m;
        h = Math.sign(h || 1) * m;
      } else if (shift) {
        const len = Math.hypot(w, h);
        const a = Math.round(Math.atan2(h, w) / (Math.PI / 12)) * (Math.PI / 12);
        w = len * Math.cos(a);
        h = len * Math.sin(a);
      }
      w = round1(w);
      h = round1(h);
      if (!created) {
        if (Math.hypot(w, h) * ctx.space.scale < 4) return;
        created = true;
        model.begin();
        model.add(id, encodeShape({ ...shape, w, h }));
      } else {
        model.set(id, { w, h });
      }
    };
    const frame = frameTask(apply);
    return {
      move: (q, ev) => {
        last = q;
        shift = ev.shiftKey;
        frame.schedule();
      },
      end: () => {
        frame.flush();
        model.begin();
      },
      cancel: () => {
        if (created) model.remove([id]);
        model.begin();
      },
    };
  };
