// Awareness storm: N clients each publish K cursor states as fast as timers allow; then every
// client must hold every other client's LAST state (coalescing may skip intermediate ones, never
// the latest). Then client 0 leaves and we time how long until everyone else has removed it.
// Usage: node storm.mjs WS_BASE TOKEN N K
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { EventEmitter } from 'events'
EventEmitter.defaultMaxListeners = 0

const [wsBase, token, nStr, kStr] = process.argv.slice(2)
const N = +nStr, K = +kStr
const sleep = (ms) => new Promise(r => setTimeout(r, ms))
const clients = []
for (let i = 0; i < N; i++) {
  const doc = new Y.Doc()
  const p = new WebsocketProvider(wsBase, 'board', doc, { WebSocketPolyfill: WebSocket, disableBc: true, params: { token } })
  clients.push(p)
}
const t0 = Date.now()
while (!clients.every(p => p.synced) && Date.now() - t0 < 20000) await sleep(10)
for (let k = 1; k <= K; k++) {
  clients.forEach((p, i) => p.awareness.setLocalStateField('cursor', { cell: 'c', x: k, y: i }))
  await sleep(1)
}
const complete = () => clients.every(p => clients.every(q => {
  if (p === q) return true
  const s = p.awareness.getStates().get(q.awareness.clientID)
  return s && s.cursor && s.cursor.x === K
}))
const t1 = Date.now()
while (!complete() && Date.now() - t1 < 5000) await sleep(5)
const latestMs = Date.now() - t1
const allLatest = complete()
const leaving = clients[0].awareness.clientID
clients[0].destroy()
const t2 = Date.now()
const gone = () => clients.slice(1).every(p => !p.awareness.getStates().has(leaving))
while (!gone() && Date.now() - t2 < 5000) await sleep(5)
console.log(JSON.stringify({ allLatest, latestMs, removedMs: Date.now() - t2, removed: gone() }))
clients.slice(1).forEach(p => p.destroy())
process.exit(0)
