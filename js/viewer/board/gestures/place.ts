// Text and sticky note: a tap places a new one and opens the editor; a tap on an existing one
// edits it; a drag does nothing (it was meant as a scroll or a slip).

import { encodeShape } from "../shapes";
import { editable, hitAt, newShape, onTap, paletteSize, type Gesture } from "./context";

export const place =
  (tool: "text" | "note"): Gesture =>
  (ctx, p) =>
    onTap(ctx, p, () => {
      const existing = hitAt(ctx, p, 4, editable);
      if (existing) {
        ctx.edit(existing.id);
        return;
      }
      const size = paletteSize(ctx, "text");
      const at = tool === "note" ? { x: p.x - 12, y: p.y - 12 } : { x: p.x, y: p.y - size * 0.65 };
      const shape = newShape(ctx, tool, at);
      if (!shape) return;
      if (tool === "note") {
        shape.w = 200;
        shape.h = 120;
        shape.s = 16;
      }
      ctx.model.begin();
      ctx.model.add(shape.id, encodeShape(shape));
      ctx.edit(shape.id, true);
    });
