// board/points.ts: the Float32 point codec and stroke simplification.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodePoints, encodePoints, MAX_POINTS, simplify } from "../viewer/board/points";

test("points round-trip through Float32 little-endian bytes", () => {
  const values = [0, 0, 12.5, -3.25, 1e6, -1e6, 0.1, 7];
  const bytes = encodePoints(values);
  assert.equal(bytes.byteLength, values.length * 4);
  // Little-endian: 12.5 = 0x41480000.
  assert.deepEqual(Array.from(bytes.subarray(8, 12)), [0x00, 0x00, 0x48, 0x41]);
  assert.deepEqual(Array.from(decodePoints(bytes)), Array.from(Float32Array.from(values)));
});

test("decoding is defensive: wrong types, odd lengths, offsets, non-finite values", () => {
  assert.equal(decodePoints("not bytes").length, 0);
  assert.equal(decodePoints([1, 2, 3]).length, 0);
  assert.equal(decodePoints(new Uint8Array(7)).length, 1); // trailing bytes ignored
  const nan = new Uint8Array(8);
  new DataView(nan.buffer).setFloat32(0, NaN, true);
  new DataView(nan.buffer).setFloat32(4, Infinity, true);
  assert.deepEqual(Array.from(decodePoints(nan)), [0, 0]);
  const inner = encodePoints([1, 2, 3]);
  const shifted = new Uint8Array(inner.byteLength + 3);
  shifted.set(inner, 3);
  assert.deepEqual(Array.from(decodePoints(shifted.subarray(3))), [1, 2, 3]);
});

test("at most MAX_POINTS points of three numbers are encoded or decoded", () => {
  const many = new Float32Array(MAX_POINTS * 3 + 30).fill(1);
  assert.equal(encodePoints(many).byteLength, MAX_POINTS * 3 * 4);
  assert.equal(decodePoints(new Uint8Array((MAX_POINTS * 3 + 30) * 4)).length, MAX_POINTS * 3);
});

test("simplify keeps the ends and drops points within epsilon of the line", () => {
  const line = [0, 0, 1, 0.05, 2, -0.05, 3, 0.02, 4, 0];
  assert.deepEqual(simplify(line, 2, 0.1), [0, 0, 4, 0]);
  // A corner further than epsilon stays.
  const corner = [0, 0, 5, 0.1, 10, 0, 10, 5, 10, 10];
  assert.deepEqual(simplify(corner, 2, 0.5), [0, 0, 10, 0, 10, 10]);
});

test("simplify measures x, y only and keeps each kept point's pressure", () => {
  const pts = [0, 0, 0.2, 1, 0, 0.9, 2, 0, 0.5];
  assert.deepEqual(simplify(pts, 3, 0.1), [0, 0, 0.2, 2, 0, 0.5]);
  const zig = [0, 0, 0.1, 5, 5, 0.6, 10, 0, 0.3];
  assert.deepEqual(simplify(zig, 3, 1), zig);
});

test("simplify leaves strokes of one or two points alone", () => {
  assert.deepEqual(simplify([1, 2], 2, 10), [1, 2]);
  assert.deepEqual(simplify([1, 2, 3, 4], 2, 10), [1, 2, 3, 4]);
  assert.deepEqual(simplify([], 2, 1), []);
});

test("simplify reduces a dense, gently curved stroke", () => {
  const pts: number[] = [];
  for (let i = 0; i <= 1000; i++) pts.push(i / 10, Math.sin(i / 300) * 20);
  const out = simplify(pts, 2, 0.3);
  assert.ok(out.length < pts.length / 10, `${out.length / 2} points kept`);
  assert.deepEqual(out.slice(0, 2), pts.slice(0, 2));
  assert.deepEqual(out.slice(-2), pts.slice(-2));
});
