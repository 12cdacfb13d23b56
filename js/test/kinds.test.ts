// board/kinds: each kind's geometry (box, distance to its ink, scaling), looked up in one table.
import assert from "node:assert/strict";
import { test } from "node:test";
import { boxesMeet, padBox, unionBox, type Box } from "../viewer/board/geometry";
import { distanceTo, KIND, localBox } from "../viewer/board/kinds";
import { decodePoints } from "../viewer/board/points";
import type { ShapeType } from "../viewer/board/schema";
import type { Shape } from "../viewer/board/shapes";

function shape(t: ShapeType, extra: Partial<Shape> = {}): Shape {
  return {
    id: t,
    t,
    cell: "c",
    ci: 0,
    x: 0,
    y: 0,
    pts: new Float32Array(0),
    d: 2,
    w: 0,
    h: 0,
    c: "#1e1e1e",
    s: 4,
    text: "",
    by: "",
    at: 0,
    ans: 0,
    ...extra,
  };
}

const near = (a: number, b: number, eps = 1e-6): boolean => Math.abs(a - b) <= eps;

test("strokes: the box of the points, padded by half the width + 1", () => {
  const pen = shape("pen", { pts: Float32Array.from([0, 0, 10, -5, 20, 5]) });
  assert.deepEqual(localBox(pen), { x0: -3, y0: -8, x1: 23, y1: 8 });
  const hl = shape("hl", { d: 3, s: 12, pts: Float32Array.from([1, 1, 0.5, 2, 2, 0.5]) });
  assert.deepEqual(localBox(hl), { x0: -6, y0: -6, x1: 9, y1: 9 });
  assert.deepEqual(localBox(shape("pen")), { x0: -3, y0: -3, x1: 3, y1: 3 }); // no points yet
});

test("frames: from the anchor to (w, h) either way; an arrow's head reaches further", () => {
  assert.deepEqual(localBox(shape("rect", { w: -40, h: 20 })), { x0: -43, y0: -3, x1: 3, y1: 23 });
  assert.deepEqual(localBox(shape("ellipse", { w: 40, h: 20 })), { x0: -3, y0: -3, x1: 43, y1: 23 });
  assert.deepEqual(localBox(shape("arrow", { w: 40, h: 0 })), { x0: -10, y0: -10, x1: 50, y1: 10 });
});

test("text and notes: measured once laid out, estimated before; notes at least 40 px", () => {
  const text = shape("text", { s: 20, text: "hello" });
  assert.deepEqual(localBox(text), { x0: 0, y0: 0, x1: 60, y1: 26 });
  assert.deepEqual(localBox(text, { w: 51, h: 24 }), { x0: 0, y0: 0, x1: 51, y1: 24 });
  assert.deepEqual(localBox(shape("note", { w: 10, h: 200 })), { x0: 0, y0: 0, x1: 40, y1: 200 });
});

test("distance to the ink: 0 on it, the stroke's half width counts", () => {
  const pen = shape("pen", { pts: Float32Array.from([0, 0, 100, 0]) });
  assert.equal(distanceTo(pen, 50, 1, localBox(pen)), 0);
  assert.ok(near(distanceTo(pen, 50, 10, localBox(pen)), 8));
  assert.equal(distanceTo(shape("pen"), 0, 0, localBox(shape("pen"))), Infinity);
  const arrow = shape("arrow", { w: 100, h: 0 });
  assert.ok(near(distanceTo(arrow, 120, 0, localBox(arrow)), 18));
});

test("rectangles and ellipses are hit on their outline, not inside", () => {
  const rect = shape("rect", { w: 100, h: 50 });
  assert.equal(distanceTo(rect, 100, 25, localBox(rect)), 0);
  assert.ok(near(distanceTo(rect, 50, 25, localBox(rect)), 23));
  const ellipse = shape("ellipse", { w: 100, h: 50 });
  assert.ok(distanceTo(ellipse, 100, 25, localBox(ellipse)) < 0.5);
  assert.ok(distanceTo(ellipse, 50, 25, localBox(ellipse)) > 20);
});

test("text and notes are filled: 0 anywhere inside their box", () => {
  const note = shape("note", { w: 200, h: 120 });
  const box = localBox(note);
  assert.equal(distanceTo(note, 100, 60, box), 0);
  assert.ok(near(distanceTo(note, 203, 124, box), 5));
});

test("scaling: points scale, frames scale, text scales its font within 6..200", () => {
  const pen = shape("pen", { d: 3, pts: Float32Array.from([2, 4, 0.5, 6, 8, 0.7]) });
  const f = KIND.pen.scale(pen, 2, 0.5);
  assert.deepEqual(Array.from(decodePoints(f.pts)), Array.from(Float32Array.from([4, 2, 0.5, 12, 4, 0.7])));
  assert.deepEqual(KIND.rect.scale(shape("rect", { w: 10, h: -3 }), 1.5, 2), { w: 15, h: -6 });
  assert.deepEqual(KIND.note.scale(shape("note", { w: 200, h: 120 }), 0.5, 0.5), { w: 100, h: 60 });
  assert.deepEqual(KIND.text.scale(shape("text", { s: 20 }), 9, 2), { s: 40 });
  assert.deepEqual(KIND.text.scale(shape("text", { s: 20 }), 1, 100), { s: 200 });
  assert.deepEqual(KIND.text.scale(shape("text", { s: 20 }), 1, 0.05), { s: 6 });
});

test("each kind says where it is drawn, its size list and how its text is typed", () => {
  const table = Object.fromEntries(
    Object.entries(KIND).map(([t, k]) => [t, [k.layer, k.size, k.editor?.label ?? null]]),
  );
  assert.deepEqual(table, {
    pen: ["ink", "pen", null],
    hl: ["hl", "hl", null],
    arrow: ["ink", "line", null],
    rect: ["ink", "line", null],
    ellipse: ["ink", "line", null],
    text: ["html", "text", "Text"],
    note: ["html", "line", "Sticky note text"],
    ask: ["html", "text", null],
  });
});

test("box helpers", () => {
  const a: Box = { x0: 0, y0: 0, x1: 10, y1: 10 };
  assert.ok(boxesMeet(a, { x0: 10, y0: 10, x1: 20, y1: 20 }));
  assert.ok(!boxesMeet(a, { x0: 10.1, y0: 0, x1: 20, y1: 5 }));
  assert.deepEqual(unionBox(a, { x0: -5, y0: 2, x1: 3, y1: 30 }), { x0: -5, y0: 0, x1: 10, y1: 30 });
  assert.deepEqual(padBox(a, 2), { x0: -2, y0: -2, x1: 12, y1: 12 });
});
