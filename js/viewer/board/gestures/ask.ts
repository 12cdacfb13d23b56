// Ask about this: a tap on a cell opens a small box there to type the question (ask/box.ts);
// a drag does nothing (it was meant as a scroll or a slip).

import { newShape, type Gesture } from "./context";

export const ask: Gesture = (ctx, p) => {
  let last = p;
  return {
    move: (q) => {
      last = q;
    },
    end: () => {
      if (Math.hypot(last.x - p.x, last.y - p.y) * ctx.space.scale > 8) return;
      const shape = newShape(ctx, "ask", p);
      if (shape) ctx.ask(shape);
    },
    cancel: () => undefined,
  };
};
