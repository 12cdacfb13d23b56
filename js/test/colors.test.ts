// identity: the presence palette (jupyterspot_magic/contracts/colors.json) is twelve clearly
// different hues: every pair at least MIN_DE00 apart by CIEDE2000 (Sharma, Wu, Dalal 2005, checked
// here against the paper's own test pairs) and each readable as a cursor on the white page
// (WCAG 2.1 contrast >= 3:1, the bound for graphical objects).
import assert from "node:assert/strict";
import { test } from "node:test";
import { colorFor, PALETTE, PRESENTER_COLOR } from "../viewer/identity";

const MIN_DE00 = 20;
const MIN_CONTRAST = 3;

type Lab = [number, number, number];

const linear = (c: number): number => {
  const v = c / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
};
const rgb = (hex: string): number[] => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

function luminance(hex: string): number {
  const [r, g, b] = rgb(hex).map(linear);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrastOnWhite(hex: string): number {
  return 1.05 / (luminance(hex) + 0.05);
}

/** sRGB -> CIELAB (D65). */
function lab(hex: string): Lab {
  const [r, g, b] = rgb(hex).map(linear);
  const x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
  const y = 0.2126729 * r + 0.7151522 * g + 0.072175 * b;
  const z = (0.0193339 * r + 0.119192 * g + 0.9503041 * b) / 1.08883;
  const f = (t: number): number => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27) * t / 116 + 16 / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

const rad = (d: number): number => (d * Math.PI) / 180;
const deg = (r: number): number => ((r * 180) / Math.PI + 360) % 360;

/** CIEDE2000 colour difference (kL = kC = kH = 1). */
function de2000([l1, a1, b1]: Lab, [l2, a2, b2]: Lab): number {
  const cBar = (Math.hypot(a1, b1) + Math.hypot(a2, b2)) / 2;
  const g = 0.5 * (1 - Math.sqrt(cBar ** 7 / (cBar ** 7 + 25 ** 7)));
  const [a1p, a2p] = [(1 + g) * a1, (1 + g) * a2];
  const [c1p, c2p] = [Math.hypot(a1p, b1), Math.hypot(a2p, b2)];
  const h1p = c1p ? deg(Math.atan2(b1, a1p)) : 0;
  const h2p = c2p ? deg(Math.atan2(b2, a2p)) : 0;
  let dh = 0;
  if (c1p * c2p) {
    dh = h2p - h1p;
    if (dh > 180) dh -= 360;
    else if (dh < -180) dh += 360;
  }
  const dL = l2 - l1;
  const dC = c2p - c1p;
  const dH = 2 * Math.sqrt(c1p * c2p) * Math.sin(rad(dh / 2));
  const lBar = (l1 + l2) / 2;
  const cBarP = (c1p + c2p) / 2;
  let hBar = h1p + h2p;
  if (c1p * c2p) {
    if (Math.abs(h1p - h2p) <= 180) hBar = (h1p + h2p) / 2;
    else hBar = h1p + h2p < 360 ? (h1p + h2p + 360) / 2 : (h1p + h2p - 360) / 2;
  }
  const t =
    1 -
    0.17 * Math.cos(rad(hBar - 30)) +
    0.24 * Math.cos(rad(2 * hBar)) +
    0.32 * Math.cos(rad(3 * hBar + 6)) -
    0.2 * Math.cos(rad(4 * hBar - 63));
  const dTheta = 30 * Math.exp(-(((hBar - 275) / 25) ** 2));
  const rC = 2 * Math.sqrt(cBarP ** 7 / (cBarP ** 7 + 25 ** 7));
  const sL = 1 + (0.015 * (lBar - 50) ** 2) / Math.sqrt(20 + (lBar - 50) ** 2);
  const sC = 1 + 0.045 * cBarP;
  const sH = 1 + 0.015 * cBarP * t;
  const rT = -Math.sin(rad(2 * dTheta)) * rC;
  return Math.sqrt(
    (dL / sL) ** 2 + (dC / sC) ** 2 + (dH / sH) ** 2 + rT * (dC / sC) * (dH / sH),
  );
}

test("CIEDE2000 matches Sharma et al.'s test data", () => {
  const pairs: [Lab, Lab, number][] = [
    [[50, 2.6772, -79.7751], [50, 0, -82.7485], 2.0425],
    [[50, -1.3802, -84.2814], [50, 0, -82.7485], 1.0],
    [[50, 2.5, 0], [73, 25, -18], 27.1492],
    [[60.2574, -34.0099, 36.2677], [60.4626, -34.1751, 39.4387], 1.2644],
    [[22.7233, 20.0904, -46.694], [23.0331, 14.973, -42.5619], 2.0373],
    [[2.0776, 0.0795, -1.135], [0.9033, -0.0636, -0.5514], 0.9082],
  ];
  for (const [a, b, want] of pairs) assert.ok(Math.abs(de2000(a, b) - want) < 1e-4, `${a} ${b}`);
});

test("the palette: twelve distinct colours, every pair at least 20 apart (CIEDE2000)", () => {
  assert.equal(PALETTE.length, 12);
  assert.equal(new Set(PALETTE.map((c) => c.toLowerCase())).size, 12);
  let worst = Infinity;
  for (let i = 0; i < PALETTE.length; i++) {
    for (let j = i + 1; j < PALETTE.length; j++) {
      const d = de2000(lab(PALETTE[i]), lab(PALETTE[j]));
      worst = Math.min(worst, d);
      assert.ok(d >= MIN_DE00, `${PALETTE[i]} vs ${PALETTE[j]}: ${d.toFixed(1)}`);
    }
  }
  assert.ok(worst < MIN_DE00 + 5, "the bound stated is close to the real one"); // 23.3 today
});

test("every palette colour shows on the white page (contrast >= 3:1)", () => {
  for (const c of PALETTE) assert.ok(contrastOnWhite(c) >= MIN_CONTRAST, c);
});

test("the old palette fails the bound (blue/navy, the greens)", () => {
  const old = ["#1c7ed6", "#1864ab", "#2f9e44", "#5c940d"];
  assert.ok(de2000(lab(old[0]), lab(old[1])) < MIN_DE00);
  assert.ok(de2000(lab(old[2]), lab(old[3])) < MIN_DE00);
});

test("before the server answers: hosts guess the presenter's colour, guests a guest colour", () => {
  assert.equal(colorFor(123, "host"), PRESENTER_COLOR);
  for (let id = 0; id < 50; id++) assert.notEqual(colorFor(id, "guest"), PRESENTER_COLOR);
});
