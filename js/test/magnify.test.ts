// magnify.ts: the view's arithmetic (zoom about a point, fit, keeping the content on screen).
import assert from "node:assert/strict";
import { test } from "node:test";
import { clampPan, fitView, zoomAround } from "../viewer/magnify";

test("zooming keeps the point under the pointer where it is, within the bounds", () => {
  const v = { z: 1, x: 100, y: 50 };
  const z = zoomAround(v, 2, 300, 250, 0.5, 8);
  assert.deepEqual(z, { z: 2, x: -100, y: -150 });
  // The content point under (300, 250) before and after: (300 - x) / z.
  assert.equal((300 - v.x) / v.z, (300 - z.x) / z.z);
  assert.equal(zoomAround(v, 100, 0, 0, 0.5, 8).z, 8);
  assert.equal(zoomAround(v, 0.01, 0, 0, 0.5, 8).z, 0.5);
});

test("fit: the whole output centred below the top strip, at most 4x", () => {
  const f = fitView(1000, 500, 1400, 900, 48);
  assert.equal(f.z, (1400 - 32) / 1000);
  assert.equal(f.x, (1400 - 1000 * f.z) / 2);
  assert.ok(f.y >= 48);
  assert.equal(fitView(50, 20, 1400, 900).z, 4);
  const tall = fitView(800, 3000, 390, 844, 48);
  assert.ok(tall.z * 3000 <= 844 - 48);
});

test("panning never loses the content off the screen", () => {
  assert.deepEqual(clampPan({ z: 2, x: -5000, y: 5000 }, 100, 100, 800, 600), { z: 2, x: 48 - 200, y: 600 - 48 });
  assert.deepEqual(clampPan({ z: 1, x: 10, y: 20 }, 100, 100, 800, 600), { z: 1, x: 10, y: 20 });
});
