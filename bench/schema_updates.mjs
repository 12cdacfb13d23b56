// Updates for bench/schema_check.py, made by the real yjs the way the viewer makes them
// (bench/board_writes.mjs = js/viewer/board/shapes.ts encodeShape):
// - OUT/gestures.bin: STROKES pen gestures by 10 clients in turn; each is the update that adds
//   the shape (its map and fields, first point), three growing writes of `pts` (16, 32, 48
//   points: the viewer writes them at most every 50 ms while drawing) and the release write
//   (64 points x, y, pressure). Records: u8 kind (0 add, 1 points), u32 LE length, bytes.
// - OUT/reconnect.bin: one update adding 4,000 such strokes at once (a long offline session's
//   reconnect: ~48,000 structs, just under the server's 50,000 a message).
// - OUT/board.bin: a board of about BOARD_MB MB (100-point pen strokes by 30 clients, each added
//   and then given its final points), as one update (Y.mergeUpdates of every client's state).
// Usage: node bench/schema_updates.mjs OUT STROKES BOARD_MB
import * as Y from 'yjs'
import { writeFileSync } from 'node:fs'
import { addShape, penFields, penPoints, setPoints } from './board_writes.mjs'

const [out, strokesStr, boardStr] = process.argv.slice(2)
const STROKES = +strokesStr, BOARD = +boardStr * 1e6
let seed = 5
const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647

function record(parts, kind, u) {
  const head = Buffer.alloc(5)
  head.writeUInt8(kind, 0)
  head.writeUInt32LE(u.length, 1)
  parts.push(head, Buffer.from(u))
}

// gestures
const docs = Array.from({ length: 10 }, () => new Y.Doc())
const parts = []
let kind = 0
docs.forEach(d => d.on('update', (u) => record(parts, kind, u)))
for (let k = 0; k < STROKES; k++) {
  const doc = docs[k % docs.length]
  const points = penPoints(64, 3, rnd)
  kind = 0
  const id = addShape(doc, penFields({ k, points: points.slice(0, 3), by: `Guest ${k % 10}`, at: 1764450000000 + k }))
  kind = 1
  for (const n of [16, 32, 48]) setPoints(doc, id, points.slice(0, n * 3))
  setPoints(doc, id, points)
}
writeFileSync(`${out}/gestures.bin`, Buffer.concat(parts))

// one big reconnect
const offline = new Y.Doc()
offline.transact(() => {
  const shapes = offline.getMap('shapes')
  for (let k = 0; k < 4000; k++) {
    const m = new Y.Map()
    for (const [f, v] of Object.entries(penFields({ k, points: penPoints(64, 3, rnd), by: 'Offline', at: 1764450000000 + k }))) m.set(f, v)
    shapes.set(`offline-${k}`, m)
  }
})
const reconnect = Y.encodeStateAsUpdate(offline)
writeFileSync(`${out}/reconnect.bin`, reconnect)

// a big board
const writers = Array.from({ length: 30 }, () => new Y.Doc())
let bytes = 0, strokes = 0
while (bytes < BOARD) {
  const doc = writers[strokes % writers.length]
  const points = penPoints(100, 3, rnd)
  const id = addShape(doc, penFields({ k: strokes, points: points.slice(0, 3), by: `Guest ${strokes % 30}`, at: 1764450000000 + strokes }))
  setPoints(doc, id, points)
  strokes++
  bytes += 1450 // ~ a 100-point pen stroke in the document (docs/benchmarks.md); checked below
}
let board = Y.mergeUpdates(writers.map(d => Y.encodeStateAsUpdate(d)))
writeFileSync(`${out}/board.bin`, board)
console.log(JSON.stringify({ gestures: STROKES, updates: parts.length / 2, reconnect_bytes: reconnect.length, board_bytes: board.length, board_strokes: strokes }))
