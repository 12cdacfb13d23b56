// board/schema.ts + shapes.ts: the shape contract (jupyterspot_magic/contracts/shape.json) as the
// viewer writes and reads it.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as Y from "yjs";
import contract from "../../jupyterspot_magic/contracts/shape.json";
import { KIND } from "../viewer/board/kinds";
import { MAX_POINTS } from "../viewer/board/points";
import {
  FIELDS,
  KINDS,
  MAX_POINT_BYTES,
  MAX_TEXT,
  readValue,
  ROOT,
  SHAPE_ID,
  SHAPE_TYPES,
  valid,
  type ShapeType,
} from "../viewer/board/schema";
import {
  encodeShape,
  newId,
  newShapeMap,
  readShape,
  scriptedFields,
  type Shape,
  type ShapeFields,
} from "../viewer/board/shapes";

function shapeOf(t: ShapeType, extra: Partial<Shape> = {}): Shape {
  const strokes = KINDS[t].writes.includes("pts");
  const sized = KINDS[t].writes.includes("w"); // an ask has no size: read back as the defaults
  return {
    id: `s-${t}`,
    t,
    cell: "c-1234",
    ci: 3,
    x: 10.5,
    y: -4,
    pts: strokes ? Float32Array.from([0, 0, 5.5, 2, 11, 4.25]) : new Float32Array(0),
    d: 2,
    w: sized ? 80 : 0,
    h: sized ? -30 : 0,
    c: "#e03131",
    s: KINDS[t].writes.includes("s") ? 4.5 : 4,
    text: KINDS[t].writes.includes("text") ? "hello <b>not html</b>" : "",
    by: "Ana",
    at: 123456,
    ans: 0,
    ...extra,
  };
}

/** Store fields as a shape in a doc (a Y.Map reads back only once integrated) and read it. */
function roundTrip(fields: Record<string, unknown>, id = "s1"): Shape | null {
  const doc = new Y.Doc();
  const shapes = doc.getMap(ROOT);
  const m = new Y.Map<unknown>();
  shapes.set(id, m);
  for (const [k, v] of Object.entries(fields)) m.set(k, v);
  return readShape(id, shapes.get(id));
}

test("the kinds of the contract are the viewer's kinds", () => {
  assert.deepEqual([...SHAPE_TYPES].sort(), Object.keys(KINDS).sort());
  assert.deepEqual(Object.keys(KIND).sort(), Object.keys(KINDS).sort());
  assert.equal(MAX_POINT_BYTES, MAX_POINTS * 3 * 4);
  assert.equal(MAX_TEXT, 4000);
  for (const [t, k] of Object.entries(KINDS)) {
    for (const f of [...k.required, ...k.writes]) assert.ok(FIELDS[f], `${t}: ${f}`);
  }
});

test("a creation time reads as written, so newer shapes stack on top", () => {
  // `at` is ms since the epoch (~1.7e12): a clamp to the coordinate range (1e6) once made every
  // shape read as equally old, and stacking and hit testing fell back to insertion order.
  const older = roundTrip({ t: "rect", at: 1_764_000_000_000 }, "a");
  const newer = roundTrip({ t: "rect", at: 1_764_000_000_001 }, "b");
  assert.equal(older?.at, 1_764_000_000_000);
  assert.ok((newer?.at ?? 0) > (older?.at ?? 0));
});

test("every read default is itself a value the server accepts", () => {
  for (const [name, f] of Object.entries(FIELDS)) {
    if (f.read?.default !== undefined) assert.ok(valid(name, f.read.default), name);
  }
});

test("a shape of every kind encodes to exactly its kind's fields, all valid, and reads back", () => {
  for (const t of SHAPE_TYPES) {
    const shape = shapeOf(t);
    const fields = encodeShape(shape);
    assert.deepEqual(Object.keys(fields), contract.kinds[t].writes, t);
    for (const [k, v] of Object.entries(fields)) assert.ok(valid(k, v), `${t}.${k}`);
    const back = roundTrip(fields, shape.id);
    assert.ok(back, t);
    assert.deepEqual({ ...back, pts: Array.from(back.pts) }, { ...shape, pts: Array.from(shape.pts) }, t);
  }
});

test("pressure strokes (d = 3) round-trip; a ragged tail of numbers is dropped", () => {
  const pen = shapeOf("pen", { d: 3, pts: Float32Array.from([0, 0, 0.5, 4, 4, 0.75]) });
  const back = roundTrip(encodeShape(pen));
  assert.deepEqual(Array.from(back?.pts ?? []), [0, 0, 0.5, 4, 4, 0.75]);
  const ragged = roundTrip({ ...encodeShape(pen), pts: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) });
  assert.deepEqual(Array.from(ragged?.pts ?? []), [1, 2, 3]);
});

test("what is not a shape of a known kind is ignored", () => {
  assert.equal(readShape("x", { t: "pen" }), null); // a plain object, not a Y.Map
  assert.equal(readShape("x", undefined), null);
  assert.equal(roundTrip({ t: "script", cell: "c" }), null);
  assert.equal(roundTrip({ t: 3 }), null);
  assert.equal(roundTrip({ cell: "c" }), null);
});

test("hostile field values are replaced by defaults or cut to what readers keep", () => {
  const s = roundTrip({
    t: "rect",
    cell: 42,
    ci: 2.5,
    x: Number.NaN,
    y: "12",
    w: 5e7,
    h: -Infinity,
    c: "red; background:url(x)",
    s: 5000,
    text: "t".repeat(5000),
    by: "b".repeat(100),
    pts: new Uint8Array(8),
    d: 7,
  });
  assert.ok(s);
  assert.deepEqual(
    { cell: s.cell, ci: s.ci, x: s.x, y: s.y, w: s.w, h: s.h, c: s.c, s: s.s, text: s.text, d: s.d },
    { cell: "", ci: 0, x: 0, y: 0, w: 0, h: 0, c: "#1e1e1e", s: 4, text: "", d: 2 },
  );
  assert.equal(s.by, "b".repeat(60));
  assert.equal(s.pts.length, 0); // a rect has no points, whatever is stored
});

test("valid values are clamped to what the viewer draws", () => {
  const s = roundTrip({ t: "arrow", x: 5e6, y: -5e6, s: 0, ci: 1_000_000 });
  assert.deepEqual([s?.x, s?.y, s?.s, s?.ci], [1e6, -1e6, 0.5, 1_000_000]);
  assert.equal(roundTrip({ t: "arrow", s: 900 })?.s, 200);
});

test("points that are not whole Float32 numbers or too many are refused", () => {
  assert.equal(valid("pts", new Uint8Array(6)), false);
  assert.equal(valid("pts", new Uint8Array(MAX_POINT_BYTES + 4)), false);
  assert.equal(valid("pts", [0, 0]), false);
  assert.equal(valid("pts", new Uint8Array(MAX_POINT_BYTES)), true);
  assert.equal(roundTrip({ t: "pen", pts: new Uint8Array(6) })?.pts.length, 0);
});

test("the server's checks: enums, integers, bounds, colors, lengths", () => {
  assert.ok(valid("t", "note") && !valid("t", "Note") && !valid("t", "toString"));
  assert.ok(valid("ci", 0) && valid("ci", 1_000_000) && !valid("ci", -1) && !valid("ci", 1.5));
  assert.ok(valid("d", 2) && valid("d", 3) && !valid("d", 4));
  assert.ok(valid("x", -1e7) && !valid("x", 1e7 + 1) && !valid("x", Number.NaN) && !valid("x", "1"));
  assert.ok(valid("c", "#A0b1c2") && !valid("c", "#abc") && !valid("c", "#a0b1c2 ") && !valid("c", 1));
  assert.ok(valid("text", "x".repeat(4000)) && !valid("text", "x".repeat(4001)));
  assert.ok(!valid("nope", 1) && !valid("__proto__", {}));
  assert.equal(readValue("nope", 1), undefined);
});

test("scripted fields keep only schema fields, normalised, and drop what the server refuses", () => {
  const f: ShapeFields = scriptedFields({
    t: "pen",
    id: "not-a-field",
    cell: "c".repeat(300),
    ci: -3.7,
    d: 2.5,
    x: 1e8,
    y: 4,
    c: "blue",
    s: 3,
    text: "x".repeat(5000),
    by: "y".repeat(100),
    pts: [0, 0, 3, 4],
    evil: "<script>",
  });
  assert.deepEqual(Object.keys(f).sort(), ["by", "cell", "ci", "d", "pts", "s", "t", "text", "y"]);
  assert.equal((f.cell as string).length, 200);
  assert.equal(f.ci, 0);
  assert.equal(f.d, 2);
  assert.equal((f.text as string).length, MAX_TEXT);
  assert.equal((f.by as string).length, 60);
  assert.deepEqual(Array.from(new Float32Array((f.pts as Uint8Array).slice().buffer)), [0, 0, 3, 4]);
  assert.equal(scriptedFields({ d: 3 }).d, 3);
});

test("new ids match the contract's id pattern", () => {
  for (const client of [0, 1, 2 ** 32 - 1, 123456789]) assert.match(newId(client), SHAPE_ID);
  assert.doesNotMatch("a b", SHAPE_ID);
  assert.doesNotMatch("x".repeat(101), SHAPE_ID);
});

test("newShapeMap stores every field as given", () => {
  const doc = new Y.Doc();
  const fields = encodeShape(shapeOf("note"));
  doc.getMap(ROOT).set("n", newShapeMap(fields));
  const m = doc.getMap(ROOT).get("n") as Y.Map<unknown>;
  assert.deepEqual(Object.fromEntries(m.entries()), fields);
});
