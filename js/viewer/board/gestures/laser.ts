// Laser pointer: shows where the pointer is to everyone while it is down (a mouse shows it on
// hover too: Input); never written to the doc (board/laser.ts draws the trails).

import type { Gesture } from "./context";

export const laser: Gesture = (ctx, p, e) => {
  ctx.laser(p);
  return {
    move: (q) => ctx.laser(q),
    end: () => {
      if (e.pointerType !== "mouse") ctx.laser(null);
    },
    cancel: () => ctx.laser(null),
  };
};
