// Eraser: removes every shape whose ink the pointer's path comes near (checked at steps of the
// eraser's radius, so a fast swipe misses nothing). One undo step for the whole swipe.

import { shapesNear } from "../hit";
import type { Gesture, Pt } from "./context";

export const eraser: Gesture = (ctx, p, e) => {
  const { model, renderer, space } = ctx;
  const radius = (e.pointerType === "touch" ? 14 : 8) / space.scale;
  model.begin();
  let prev = p;
  const erased = new Set<string>();
  const at = (q: Pt): void => {
    const steps = Math.max(1, Math.ceil(Math.hypot(q.x - prev.x, q.y - prev.y) / radius));
    const hits: string[] = [];
    for (let i = 1; i <= steps; i++) {
      const x = prev.x + ((q.x - prev.x) * i) / steps;
      const y = prev.y + ((q.y - prev.y) * i) / steps;
      for (const shape of shapesNear(renderer, x, y, radius, erased)) {
        erased.add(shape.id);
        hits.push(shape.id);
      }
    }
    prev = q;
    if (hits.length) model.remove(hits);
  };
  at(p);
  return {
    move: (q) => at(q),
    end: () => model.begin(),
    cancel: () => {
      if (erased.size) model.undo.undo();
      model.begin();
    },
  };
};
