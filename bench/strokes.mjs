// N clients join the board; client 0 writes S pen strokes of P points (Float32 bytes, as the
// viewer stores them); prints {"ready"} once every client has them all, then waits for stdin to
// close (so the caller can measure while everyone is connected).
// Usage: node bench/strokes.mjs WS_BASE TOKEN N S P
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { EventEmitter } from 'events'
EventEmitter.defaultMaxListeners = 0

const [wsBase, token, nStr, sStr, pStr] = process.argv.slice(2)
const N = +nStr, S = +sStr, P = +pStr
const sleep = (ms) => new Promise(r => setTimeout(r, ms))
const clients = []
for (let i = 0; i < N; i++) {
  const doc = new Y.Doc()
  const p = new WebsocketProvider(wsBase, 'board', doc, { WebSocketPolyfill: WebSocket, disableBc: true, params: { token } })
  p.awareness.setLocalState({ user: { name: `c${i}` }, cursor: { cell: 'intro', x: i, y: i } })
  clients.push({ doc, p })
}
while (!clients.every(c => c.p.synced)) await sleep(10)
const shapes = clients[0].doc.getMap('shapes')
for (let s = 0; s < S; s++) {
  const pts = new Float32Array(P * 3).map((_, j) => (j * 7 + s) % 997)
  shapes.set(`stroke-${s}`, { kind: 'pen', cell: 'intro', color: '#e03131', size: 4, pts: new Uint8Array(pts.buffer) })
  if (s % 100 === 99) await sleep(5)
}
while (!clients.every(c => c.doc.getMap('shapes').size === S)) await sleep(20)
console.log(JSON.stringify({ ready: true, bytes: Y.encodeStateAsUpdate(clients[0].doc).length }))
process.stdin.resume()
process.stdin.on('end', () => { clients.forEach(c => c.p.destroy()); process.exit(0) })
