// Board writes made the way the viewer makes them, for the benchmarks' Node clients. The share
// server checks every update and awareness state against docs/protocol.md ("### board";
// jupyterspot_magic/contracts/shape.json, read by collab/schema.py) and closes a sender of
// anything else with bad_frame, so the benchmarks write exactly what a page writes:
// - a shape is a Y.Map in the root map "shapes", keyed by a viewer-style id
//   (js/viewer/board/shapes.ts newId/newShapeMap), with the fields the pen's encoder writes
//   (shape.json kinds.pen.writes): t, cell, ci, x, y, c, s, by, at, d and pts (Float32
//   little-endian bytes); tests/unit/test_contracts.py checks penFields against the contract;
// - awareness is {user: {name, color, role}, cursor: {cell, x, y} | null, scroll: {cell,
//   offset, index, count}} (identity.ts, presence.ts).
// Also counts the websocket closes of a set of providers (a bad_frame here means a bench bug).
import * as Y from 'yjs'

// examples/demo.ipynb's cell ids, in order (the benchmarks share that notebook)
export const DEMO_CELLS = ['intro', 'imports', 'oscillator-md', 'oscillator-plot', 'table-md', 'table',
  'table-summary', 'gauss-md', 'histogram', 'stats', 'text-md', 'text', 'end']
// js/viewer/identity.ts PALETTE
export const PALETTE = ['#e03131', '#1c7ed6', '#2f9e44', '#9c36b5', '#e8590c', '#0c8599', '#c2255c',
  '#5f3dc4', '#5c940d', '#1864ab', '#b35c00', '#087f5b']

export const round1 = (v) => Math.round(v * 10) / 10

/** Numbers -> Float32 little-endian bytes (shapes.ts encodePoints). */
export function encodePoints(values) {
  const bytes = new Uint8Array(values.length * 4)
  const view = new DataView(bytes.buffer)
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true)
  return bytes
}

/** shapes.ts newId: `<client id base36>-<ms base36>-<random>`. */
export function newId(clientId) {
  const rnd = Math.random().toString(36).slice(2, 8)
  return `${clientId.toString(36)}-${Date.now().toString(36)}-${rnd}`
}

/** A pen-like random walk of `n` points relative to the anchor: x, y (0.1 px) and, for d = 3,
 *  pressure (0.01), as the pen tool stores them. */
export function penPoints(n, d = 3, rnd = Math.random) {
  const out = []
  let x = 0, y = 0, a = rnd() * 6.28
  for (let i = 0; i < n; i++) {
    out.push(round1(x), round1(y))
    if (d === 3) out.push(Math.round((0.3 + 0.5 * rnd()) * 100) / 100)
    a += (rnd() - 0.5) * 0.6
    x += Math.cos(a) * (2 + rnd() * 4)
    y += Math.sin(a) * (2 + rnd() * 4)
  }
  return out
}

/** The stored fields of a pen stroke (js/viewer/board/shapes.ts encodeShape). */
export function penFields({ k = 0, points, d = 3, c = PALETTE[0], s = 4, by = 'bench', at = Date.now(), x, y }) {
  const ci = k % DEMO_CELLS.length
  return {
    t: 'pen', cell: DEMO_CELLS[ci], ci,
    x: round1(x ?? 80 + (k * 37) % 600), y: round1(y ?? 10 + (k * 13) % 150),
    c, s, by, at, d, pts: encodePoints(points),
  }
}

/** shapes.ts newShapeMap. */
export function newShapeMap(fields) {
  const m = new Y.Map()
  for (const [k, v] of Object.entries(fields)) m.set(k, v)
  return m
}

/** BoardModel.add: one transaction that sets a new shape map; returns its id. */
export function addShape(doc, fields, id = newId(doc.clientID)) {
  doc.transact(() => doc.getMap('shapes').set(id, newShapeMap(fields)))
  return id
}

/** BoardModel.setPoints: overwrite a shape's pts (a stroke growing, or its release write). */
export function setPoints(doc, id, points) {
  const m = doc.getMap('shapes').get(id)
  if (m instanceof Y.Map) doc.transact(() => m.set('pts', encodePoints(points)))
}

/** A page's awareness state: who, where the pointer is, which cell is at the top. */
export function viewerState(i, name = `bench ${i}`, cursor = null) {
  const index = i % DEMO_CELLS.length
  return {
    user: { name, color: PALETTE[i % PALETTE.length], role: 'guest' },
    cursor,
    scroll: { cell: DEMO_CELLS[index], offset: 0, index, count: DEMO_CELLS.length },
  }
}

/** Count websocket closes per "code reason" of these providers (a provider reconnects after one). */
export function watchCloses(providers) {
  const closes = {}
  for (const p of providers) {
    p.on('connection-close', (ev) => {
      if (!ev) return
      const key = `${ev.code}${ev.reason ? ' ' + ev.reason : ''}`
      closes[key] = (closes[key] || 0) + 1
    })
  }
  return closes
}
