// The select tool: the resize handle of the selection resizes it; a shape under the pointer is
// selected (shift toggles) and dragged; elsewhere a marquee selects what it meets.

import { svg } from "../../dom";
import { frameTask } from "../../frame";
import { boxesMeet } from "../geometry";
import { hitAt, type Gesture } from "./context";
import { moveSelection } from "./move";
import { resize } from "./resize";

export const select: Gesture = (ctx, p, e) => {
  const { selection, renderer, space } = ctx;
  const selBox = renderer.boxAround(selection);
  const handle = 10 / space.scale;
  if (selBox && Math.abs(p.x - selBox.x1) <= handle && Math.abs(p.y - selBox.y1) <= handle) {
    return resize(ctx, selBox);
  }
  const hit = hitAt(ctx, p, e.pointerType === "touch" ? 12 : 6);
  if (hit) {
    if (e.shiftKey) {
      if (selection.has(hit.id)) selection.delete(hit.id);
      else selection.add(hit.id);
    } else if (!selection.has(hit.id)) {
      selection.clear();
      selection.add(hit.id);
    }
    ctx.selectionChanged();
    return selection.has(hit.id) ? moveSelection(ctx, p) : null;
  }
  if (!e.shiftKey) selection.clear();
  ctx.selectionChanged();
  const before = new Set(selection);
  const rect = svg("rect", { class: "jupyterspot-marquee" });
  renderer.overlay.appendChild(rect);
  let q = p;
  const frame = frameTask(() => {
    const b = {
      x0: Math.min(p.x, q.x),
      y0: Math.min(p.y, q.y),
      x1: Math.max(p.x, q.x),
      y1: Math.max(p.y, q.y),
    };
    rect.setAttribute("x", String(b.x0));
    rect.setAttribute("y", String(b.y0));
    rect.setAttribute("width", String(b.x1 - b.x0));
    rect.setAttribute("height", String(b.y1 - b.y0));
    selection.clear();
    for (const id of before) selection.add(id);
    for (const { shape, box } of renderer.placed()) {
      if (boxesMeet(box, b)) selection.add(shape.id);
    }
    ctx.selectionChanged();
  });
  return {
    move: (r) => {
      q = r;
      frame.schedule();
    },
    end: () => {
      frame.flush();
      rect.remove();
    },
    cancel: () => rect.remove(),
  };
};
