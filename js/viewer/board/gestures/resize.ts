// The selection's resize handle: every selected shape scales about the selection's top-left
// corner (shift: uniformly), each the way its kind scales (kinds/), then is re-anchored.

import { frameTask } from "../../frame";
import { round1, type Box } from "../geometry";
import { KIND } from "../kinds";
import type { ShapeFields } from "../shapes";
import { reanchor, selectedOrigins, type Op, type Origin, type Pt, type ToolContext } from "./context";

export function resize(ctx: ToolContext, b: Box): Op {
  const { model } = ctx;
  const start = selectedOrigins(ctx);
  model.begin();
  const w0 = Math.max(1, b.x1 - b.x0);
  const h0 = Math.max(1, b.y1 - b.y0);
  let q: Pt = { x: b.x1, y: b.y1 };
  let uniform = false;
  const compute = (): { sx: number; sy: number } => {
    let sx = Math.max(0.05, (q.x - b.x0) / w0);
    let sy = Math.max(0.05, (q.y - b.y0) / h0);
    if (uniform) sx = sy = Math.max(sx, sy);
    return { sx, sy };
  };
  const fieldsFor = (st: Origin, sx: number, sy: number): { f: ShapeFields; nx: number; ny: number } => {
    const s = st.s;
    const nx = b.x0 + (st.x - b.x0) * sx;
    const ny = b.y0 + (st.y - b.y0) * sy;
    const f: ShapeFields = {
      x: round1(s.x + nx - st.x),
      y: round1(s.y + ny - st.y),
      ...KIND[s.t].scale(s, sx, sy),
    };
    return { f, nx, ny };
  };
  let changed = false;
  const frame = frameTask(() => {
    const { sx, sy } = compute();
    changed = true;
    model.transact(() => {
      for (const [id, st] of start) model.set(id, fieldsFor(st, sx, sy).f);
    });
  });
  return {
    move: (r, ev) => {
      q = r;
      uniform = ev.shiftKey;
      frame.schedule();
    },
    end: () => {
      frame.flush();
      const { sx, sy } = compute();
      model.transact(() => {
        for (const [id, st] of start) {
          const { nx, ny } = fieldsFor(st, sx, sy);
          model.set(id, reanchor(ctx, nx, ny));
        }
      });
      model.begin();
    },
    cancel: () => {
      frame.flush();
      if (changed) model.undo.undo();
      model.begin();
    },
  };
}
