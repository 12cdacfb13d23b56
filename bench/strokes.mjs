// N clients join the board; client 0 writes S pen strokes of P points as the viewer stores them
// (bench/board_writes.mjs: a Y.Map per shape with the documented fields, points as Float32 x, y,
// pressure bytes), paced under the server's message rate; prints {"ready"} once every client has
// them all, then waits for stdin to close (so the caller can measure while everyone is
// connected).
// Usage: node bench/strokes.mjs WS_BASE TOKEN N S P
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { EventEmitter } from 'events'
import { addShape, penFields, penPoints, viewerState, watchCloses, DEMO_CELLS } from './board_writes.mjs'
EventEmitter.defaultMaxListeners = 0

const [wsBase, token, nStr, sStr, pStr] = process.argv.slice(2)
const N = +nStr, S = +sStr, P = +pStr
const sleep = (ms) => new Promise(r => setTimeout(r, ms))
const clients = []
for (let i = 0; i < N; i++) {
  const doc = new Y.Doc()
  const p = new WebsocketProvider(wsBase, 'board', doc, { WebSocketPolyfill: WebSocket, disableBc: true, params: { token } })
  p.awareness.setLocalState(viewerState(i, `c${i}`, { cell: DEMO_CELLS[i % DEMO_CELLS.length], x: i, y: i }))
  clients.push({ doc, p })
}
const closes = watchCloses(clients.map(c => c.p))
while (!clients.every(c => c.p.synced)) await sleep(10)
let seed = 3
const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647
const writer = clients[0].doc
for (let s = 0; s < S; s++) {
  // one transaction per stroke, like a page; <= 250 updates/s (the room allows 300/s a connection)
  addShape(writer, penFields({ k: s, points: penPoints(P, 3, rnd), by: 'c0' }))
  if (s % 50 === 49) await sleep(200)
}
const t0 = Date.now()
while (!clients.every(c => c.doc.getMap('shapes').size === S)) {
  if (Date.now() - t0 > 120000) {
    console.log(JSON.stringify({ ready: false, sizes: clients.map(c => c.doc.getMap('shapes').size), closes }))
    process.exit(1)
  }
  await sleep(20)
}
console.log(JSON.stringify({ ready: true, bytes: Y.encodeStateAsUpdate(writer).length, closes }))
process.stdin.resume()
process.stdin.on('end', () => { clients.forEach(c => c.p.destroy()); process.exit(0) })
