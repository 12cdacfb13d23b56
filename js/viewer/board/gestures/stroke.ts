// Pen and highlighter: a freehand stroke. Points are simplified while drawing (closer than a
// fraction of the pen width: dropped) and again at the release (Ramer-Douglas-Peucker).

import { frameTask } from "../../frame";
import { round1 } from "../geometry";
import { MAX_POINTS, simplify } from "../points";
import { encodeShape } from "../shapes";
import { newShape, type Gesture } from "./context";
import { writeThrottle } from "./throttle";

export const stroke =
  (t: "pen" | "hl"): Gesture =>
  (ctx, p, e) => {
    const shape = newShape(ctx, t, p);
    if (!shape) return null;
    const id = shape.id;
    const { model, renderer } = ctx;
    const pressure =
      t === "pen" &&
      (e.pointerType === "pen" ||
        (e.pointerType === "touch" && e.pressure > 0 && e.pressure < 1 && e.pressure !== 0.5));
    const d = pressure ? 3 : 2;
    shape.d = d;
    const pts: number[] = d === 3 ? [0, 0, e.pressure] : [0, 0];
    const x0 = p.x - shape.x;
    const y0 = p.y - shape.y;
    const minStep = Math.max(0.6, shape.s * 0.12);
    shape.pts = Float32Array.from(pts);
    model.begin();
    model.add(id, encodeShape(shape));
    // Points reach the doc at most every SYNC_MS (with a trailing write), independently of the
    // animation frames that draw the local preview: under load frames come late and seldom.
    const writes = writeThrottle(() => model.setPoints(id, pts));
    const frame = frameTask(() => {
      renderer.preview({ ...shape, pts: Float32Array.from(pts) });
    });
    renderer.preview(shape);
    let done = false;
    return {
      move: (q, ev) => {
        if (done) return;
        const x = round1(q.x - x0 - shape.x);
        const y = round1(q.y - y0 - shape.y);
        const n = pts.length;
        // Simplify while drawing: drop points closer than a fraction of the pen width.
        if (Math.hypot(x - pts[n - d], y - pts[n - d + 1]) < minStep) return;
        if (pts.length >= 3 * MAX_POINTS) return;
        pts.push(x, y);
        if (d === 3) pts.push(Math.round(ev.pressure * 100) / 100);
        writes.poke();
        frame.schedule();
      },
      end: () => {
        if (done) return;
        done = true;
        // Nothing pending may run after the release: the simplified points below are the last
        // write of this gesture (a later throttled write would store a stale copy).
        writes.stop();
        frame.flush(); // the local preview with every point, until the doc's copy is drawn
        const eps = t === "pen" ? 0.2 + shape.s * 0.03 : 0.5;
        // One transaction: the stroke's final points, in the same undo step as the rest.
        model.setPoints(id, simplify(pts, d, eps));
        renderer.preview(null, id);
        // Erased (or undone) while it was being drawn: no local ghost.
        if (!model.get(id)) renderer.update(id, null);
        model.begin();
      },
      cancel: () => {
        if (done) return;
        done = true;
        writes.stop();
        frame.cancel();
        renderer.preview(null, id);
        model.remove([id]);
        renderer.update(id, null);
        model.begin();
      },
    };
  };
