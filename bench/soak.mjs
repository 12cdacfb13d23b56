// Soak clients: N y-websocket clients move cursors at 20 Hz and each adds a 64-point stroke
// (Float32 bytes) every 2 s for SECONDS; then every client prints a digest of its document.
// KEEP > 0: each client erases its strokes older than its last KEEP (a steady-state document, so
// memory growth means a leak, not more drawing).
// Usage: node bench/soak.mjs WS_BASE TOKEN N SECONDS [KEEP]
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { createHash } from 'node:crypto'
import { EventEmitter } from 'events'
EventEmitter.defaultMaxListeners = 0

const [wsBase, token, nStr, secStr, keepStr] = process.argv.slice(2)
const N = +nStr, SECONDS = +secStr, KEEP = +(keepStr || 0)
const clients = []
for (let i = 0; i < N; i++) {
  const doc = new Y.Doc()
  const p = new WebsocketProvider(wsBase, 'board', doc, { WebSocketPolyfill: WebSocket, disableBc: true, params: { token } })
  p.awareness.setLocalState({ user: { name: `soak ${i}`, color: '#336699' } })
  clients.push({ doc, p, strokes: 0 })
}
const timers = clients.map((c, i) => [
  setInterval(() => c.p.awareness.setLocalStateField('cursor', { cell: 'intro', x: Math.random() * 900, y: i }), 50),
  setInterval(() => {
    const pts = new Float32Array(64 * 3).map(() => Math.random() * 500)
    const shapes = c.doc.getMap('shapes')
    shapes.set(`${c.doc.clientID}-${c.strokes++}`, { kind: 'pen', cell: 'intro', pts: new Uint8Array(pts.buffer) })
    if (KEEP > 0 && c.strokes > KEEP) shapes.delete(`${c.doc.clientID}-${c.strokes - KEEP - 1}`)
  }, 2000 + i * 7),
])
await new Promise(r => setTimeout(r, SECONDS * 1000))
timers.flat().forEach(clearInterval)
await new Promise(r => setTimeout(r, 3000))
const digest = (doc) => {
  const m = doc.getMap('shapes')
  const h = createHash('sha256')
  for (const k of [...m.keys()].sort()) h.update(k + ':' + Buffer.from(m.get(k).pts).toString('base64'))
  return m.size + ':' + h.digest('hex').slice(0, 16)
}
const digests = clients.map(c => digest(c.doc))
console.log(JSON.stringify({ clients: N, strokes: clients.reduce((a, c) => a + c.strokes, 0), distinct: new Set(digests).size, digest: digests[0] }))
clients.forEach(c => c.p.destroy())
process.exit(0)
