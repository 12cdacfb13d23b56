// N y-websocket clients created in the same instant; prints how many synced within the timeout.
// Usage: node joiners.mjs WS_BASE TOKEN N TIMEOUT_MS
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { EventEmitter } from 'events'
EventEmitter.defaultMaxListeners = 0

const [wsBase, token, nStr, timeoutStr] = process.argv.slice(2)
const N = +nStr
const providers = []
let synced = 0
const t0 = performance.now()
for (let i = 0; i < N; i++) {
  const doc = new Y.Doc()
  const p = new WebsocketProvider(wsBase, 'board', doc, { WebSocketPolyfill: WebSocket, disableBc: true, params: { token } })
  p.once('sync', (s) => { if (s) synced++ })
  providers.push(p)
}
const deadline = t0 + +timeoutStr
while (synced < N && performance.now() < deadline) await new Promise(r => setTimeout(r, 10))
console.log(JSON.stringify({ synced, N, ms: Math.round(performance.now() - t0) }))
providers.forEach(p => p.destroy())
process.exit(0)
