// Bytes a stroke costs in the board document: Float32 bytes (what the viewer stores) beside the
// same points as a number array (Yjs "any" content) and as JSON text.
// Usage: node bench/stroke_bytes.mjs [POINTS=100] [STROKES=2000]   -> one JSON line
import * as Y from "yjs";

const points = Number(process.argv[2] ?? 100);
const strokes = Number(process.argv[3] ?? 2000);

let seed = 7;
const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);

/** A mouse-like stroke: a random walk, coordinates rounded to 0.1 px like the viewer's. */
function stroke(d) {
  const out = [];
  let x = 0;
  let y = 0;
  let a = rnd() * 6.28;
  for (let i = 0; i < points; i++) {
    out.push(Math.round(x * 10) / 10, Math.round(y * 10) / 10);
    if (d === 3) out.push(Math.round((0.3 + 0.5 * rnd()) * 100) / 100);
    a += (rnd() - 0.5) * 0.6;
    x += Math.cos(a) * (2 + rnd() * 4);
    y += Math.sin(a) * (2 + rnd() * 4);
  }
  return out;
}

function float32(values) {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return bytes;
}

function docBytes(encode, d) {
  seed = 7;
  const doc = new Y.Doc();
  const shapes = doc.getMap("shapes");
  doc.transact(() => {
    for (let i = 0; i < strokes; i++) {
      const m = new Y.Map();
      const fields = {
        t: "pen", cell: `cell-${i % 40}`, ci: i % 40, x: 120.5, y: 48.2,
        c: "#e03131", s: 4.5, by: "Alice", at: 1763700000000 + i, d,
      };
      for (const [k, v] of Object.entries(fields)) m.set(k, v);
      m.set("pts", encode(stroke(d)));
      shapes.set(`k${i.toString(36)}-mwq3h2cv-${i}`, m);
    }
  });
  return Y.encodeStateAsUpdate(doc).length;
}

const result = { points, strokes };
for (const d of [2, 3]) {
  seed = 7;
  const pts = stroke(d);
  result[`d${d}`] = {
    payload_float32: float32(pts).length,
    payload_json: JSON.stringify(pts).length,
    doc_float32: docBytes(float32, d) / strokes,
    doc_number_array: docBytes((v) => v, d) / strokes,
    doc_json_string: docBytes((v) => JSON.stringify(v), d) / strokes,
  };
}
process.stdout.write(JSON.stringify(result) + "\n");
