// A stroke's points: plain numbers while drawing, Float32 little-endian bytes in the doc (4 bytes
// a number, `d` numbers a point: x, y[, pressure]), simplified when the stroke ends.

import { segDist } from "./geometry";

/** At most this many points a stroke (the server's maxPointBytes is this x 3 numbers x 4 bytes). */
export const MAX_POINTS = 20000;

/** Numbers -> Float32 little-endian bytes (4 bytes a number). */
export function encodePoints(values: ArrayLike<number>): Uint8Array {
  const n = Math.min(values.length, MAX_POINTS * 3);
  const bytes = new Uint8Array(n * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) view.setFloat32(i * 4, values[i], true);
  return bytes;
}

/** Float32 little-endian bytes -> numbers (non-finite values become 0). */
export function decodePoints(bytes: unknown): Float32Array {
  if (!(bytes instanceof Uint8Array)) return new Float32Array(0);
  const n = Math.min(bytes.byteLength >> 2, MAX_POINTS * 3);
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) {
    const v = view.getFloat32(i * 4, true);
    out[i] = Number.isFinite(v) ? v : 0;
  }
  return out;
}

/** Ramer-Douglas-Peucker on points with `d` numbers each (only x, y count for the distance). */
export function simplify(values: ArrayLike<number>, d: number, epsilon: number): number[] {
  const n = Math.floor(values.length / d);
  if (n <= 2) return Array.from(values);
  const keep = new Uint8Array(n);
  keep[0] = keep[n - 1] = 1;
  const stack: [number, number][] = [[0, n - 1]];
  while (stack.length) {
    const [a, b] = stack.pop() as [number, number];
    let worst = -1;
    let idx = -1;
    for (let i = a + 1; i < b; i++) {
      const dist = segDist(
        values[i * d],
        values[i * d + 1],
        values[a * d],
        values[a * d + 1],
        values[b * d],
        values[b * d + 1],
      );
      if (dist > worst) {
        worst = dist;
        idx = i;
      }
    }
    if (worst > epsilon && idx > 0) {
      keep[idx] = 1;
      stack.push([a, idx], [idx, b]);
    }
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (keep[i]) for (let k = 0; k < d; k++) out.push(values[i * d + k]);
  }
  return out;
}
