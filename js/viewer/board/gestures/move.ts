// Dragging the selection: shapes follow the pointer (after 3 screen px), and at the release each
// is re-anchored to the cell its anchor point now lies in.

import { frameTask } from "../../frame";
import { round1 } from "../geometry";
import { reanchor, selectedOrigins, type Op, type Pt, type ToolContext } from "./context";

export function moveSelection(ctx: ToolContext, p: Pt): Op {
  const { model } = ctx;
  const start = selectedOrigins(ctx);
  model.begin();
  let q = p;
  let moved = false;
  const frame = frameTask(() => {
    const dx = q.x - p.x;
    const dy = q.y - p.y;
    if (!moved && Math.hypot(dx, dy) * ctx.space.scale < 3) return;
    moved = true;
    model.transact(() => {
      for (const [id, st] of start) {
        model.set(id, { x: round1(st.s.x + dx), y: round1(st.s.y + dy) });
      }
    });
  });
  return {
    move: (r) => {
      q = r;
      frame.schedule();
    },
    end: () => {
      frame.flush();
      if (moved) {
        const dx = q.x - p.x;
        const dy = q.y - p.y;
        model.transact(() => {
          for (const [id, st] of start) model.set(id, reanchor(ctx, st.x + dx, st.y + dy));
        });
      }
      model.begin();
    },
    cancel: () => {
      frame.flush();
      if (moved) model.undo.undo();
      model.begin();
    },
  };
}
