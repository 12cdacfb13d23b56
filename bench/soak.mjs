// Soak clients: N y-websocket clients move cursors at 20 Hz and each draws a 64-point pen stroke
// every 2 s for SECONDS, written as a page writes it (bench/board_writes.mjs): the shape map with
// its first point, the points growing twice 50 ms apart, then the release write with all 64
// (x, y, pressure as Float32 bytes); then every client prints a digest of its document.
// KEEP > 0: each client erases its strokes older than its last KEEP (a steady-state document, so
// memory growth means a leak, not more drawing).
// Prints one JSON line; "closes" counts websocket closes by "code reason" (expected: none).
// Usage: node bench/soak.mjs WS_BASE TOKEN N SECONDS [KEEP]
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { createHash } from 'node:crypto'
import { EventEmitter } from 'events'
import { addShape, penFields, penPoints, setPoints, viewerState, watchCloses, round1, DEMO_CELLS } from './board_writes.mjs'
EventEmitter.defaultMaxListeners = 0

const [wsBase, token, nStr, secStr, keepStr] = process.argv.slice(2)
const N = +nStr, SECONDS = +secStr, KEEP = +(keepStr || 0)
const clients = []
for (let i = 0; i < N; i++) {
  const doc = new Y.Doc()
  const p = new WebsocketProvider(wsBase, 'board', doc, { WebSocketPolyfill: WebSocket, disableBc: true, params: { token } })
  p.awareness.setLocalState(viewerState(i, `soak ${i}`))
  clients.push({ doc, p, strokes: 0, ids: [] })
}
const closes = watchCloses(clients.map(c => c.p))
const later = (ms, fn) => setTimeout(fn, ms)

function draw(c, i) {
  const k = c.strokes++
  const points = penPoints(64, 3)
  const fields = penFields({ k: k + i, points: points.slice(0, 3), by: `soak ${i}`, c: '#336699', s: 4.5 })
  const id = addShape(c.doc, fields)
  c.ids.push(id)
  later(50, () => setPoints(c.doc, id, points.slice(0, 32 * 3)))
  later(100, () => setPoints(c.doc, id, points.slice(0, 56 * 3)))
  later(150, () => setPoints(c.doc, id, points)) // the release write
  if (KEEP > 0 && c.ids.length > KEEP) {
    const old = c.ids.shift()
    c.doc.transact(() => c.doc.getMap('shapes').delete(old))
  }
}

const timers = clients.map((c, i) => [
  setInterval(() => {
    const cursor = { cell: DEMO_CELLS[i % DEMO_CELLS.length], x: round1(Math.random() * 900), y: i }
    c.p.awareness.setLocalState({ ...c.p.awareness.getLocalState(), cursor })
  }, 50),
  setInterval(() => draw(c, i), 2000 + i * 7),
])
await new Promise(r => setTimeout(r, SECONDS * 1000))
timers.flat().forEach(clearInterval)
await new Promise(r => setTimeout(r, 3000))
const digest = (doc) => {
  const m = doc.getMap('shapes')
  const h = createHash('sha256')
  for (const k of [...m.keys()].sort()) {
    const shape = m.get(k)
    h.update(k + ':' + (shape instanceof Y.Map ? Buffer.from(shape.get('pts')).toString('base64') : '?'))
  }
  return m.size + ':' + h.digest('hex').slice(0, 16)
}
const digests = clients.map(c => digest(c.doc))
console.log(JSON.stringify({ clients: N, strokes: clients.reduce((a, c) => a + c.strokes, 0), distinct: new Set(digests).size, digest: digests[0], closes }))
clients.forEach(c => c.p.destroy())
process.exit(0)
