// Ask about this: a tap on a cell opens a small box there to type the question (ask/box.ts);
// a drag does nothing (it was meant as a scroll or a slip).

import { newShape, onTap, type Gesture } from "./context";

export const ask: Gesture = (ctx, p) =>
  onTap(ctx, p, () => {
    const shape = newShape(ctx, "ask", p);
    if (shape) ctx.ask(shape);
  });
