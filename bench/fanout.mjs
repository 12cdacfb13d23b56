// Fan-out benchmark with schema-valid writes. Follows ../shared/bench/fanout/fanout.mjs (same
// clients, scenarios, timing and output line) with the writes made valid under our board schema
// (docs/protocol.md "### board", jupyterspot_magic/collab/schema.py), which refuses the shared harness's
// root map "strokes" of plain objects and its awareness field "c":
// - "strokes": one writer adds a real pen shape (a Y.Map in "shapes" with the viewer's fields,
//   64 points x 3 Float32 in `pts`, bench/board_writes.mjs) at RATE/s, its send time in `at`
//   (ms, performance.timeOrigin + performance.now()); every other client records the delay from
//   write to its own observe.
// - "cursors": every client sets its awareness `cursor: {cell: 'bench', x, y: i}` at HZ, with
//   x = ms since the run started (one process, one clock; within the schema's +-1e7 bound); each
//   client records the delay of the others' states from x.
// Every client starts with a page's awareness state (user, cursor null, scroll). The same code
// runs against both servers. Output adds "closes" (websocket closes by "code reason") if any, and
// "docAtSync" (what the room's document held when the run started: {bytes, roots}).
// Usage: node fanout.mjs URL ROOM N SCENARIO SECONDS [RATE|HZ]
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { EventEmitter } from 'events'
import { addShape, penFields, penPoints, viewerState, watchCloses } from './board_writes.mjs'
EventEmitter.defaultMaxListeners = 0

const [url, room, nStr, scenario, secStr, rateStr] = process.argv.slice(2)
const N = +nStr, SECONDS = +secStr, RATE = +(rateStr || 50)
const now = () => performance.timeOrigin + performance.now()
const clients = []
const lat = []
let connected = 0
for (let i = 0; i < N; i++) {
  const doc = new Y.Doc()
  const params = Object.fromEntries(new URLSearchParams(process.env.FANOUT_PARAMS || ""))
  const p = new WebsocketProvider(url, room, doc, { WebSocketPolyfill: WebSocket, disableBc: true, params })
  p.awareness.setLocalState(viewerState(i))
  p.on('sync', (s) => { if (s) connected++ })
  clients.push({ doc, p })
}
const closes = watchCloses(clients.map(c => c.p))
const extraInfo = {}
const extra = () => ({ ...extraInfo, ...(Object.keys(closes).length ? { closes } : {}) })
const t0 = Date.now()
while (connected < N) {
  if (Date.now() - t0 > 30000) { console.log(JSON.stringify({ scenario, N, error: `only ${connected}/${N} synced in 30 s`, ...extra() })); process.exit(2) }
  await new Promise(r => setTimeout(r, 20))
}
const syncMs = Date.now() - t0
// What the room held when the run started (client 0's document after sync): the encoded size
// (2 bytes = an empty document) and its root names. Both servers must start empty.
const docAtSync = { bytes: Y.encodeStateAsUpdate(clients[0].doc).length, roots: [...clients[0].doc.share.keys()] }
if (scenario === 'strokes') {
  for (let i = 1; i < N; i++) {
    const m = clients[i].doc.getMap('shapes')
    m.observe(ev => {
      for (const k of ev.keysChanged) {
        const v = m.get(k)
        if (v instanceof Y.Map && typeof v.get('at') === 'number') lat.push(now() - v.get('at'))
      }
    })
  }
  const w = clients[0].doc
  const points = penPoints(64, 3) // the same 64 x 3 numbers each time, like the shared harness
  let k = 0
  const iv = setInterval(() => {
    addShape(w, penFields({ k: k++, points, by: 'writer', at: now() }))
  }, 1000 / RATE)
  await new Promise(r => setTimeout(r, SECONDS * 1000))
  clearInterval(iv)
  extraInfo.sent = k
} else {
  const start = performance.now()
  const since = () => performance.now() - start
  for (let i = 0; i < N; i++) {
    const a = clients[i].p.awareness
    a.on('change', ({ updated, added }) => {
      for (const id of [...updated, ...added]) {
        if (id === a.clientID) continue
        const st = a.getStates().get(id)
        if (st && st.cursor && st.cursor.cell === 'bench') { lat.push(since() - st.cursor.x) }
      }
    })
  }
  const ivs = clients.map((c, i) => setInterval(() => {
    c.p.awareness.setLocalStateField('cursor', { cell: 'bench', x: since(), y: i })
  }, 1000 / RATE))
  await new Promise(r => setTimeout(r, SECONDS * 1000))
  ivs.forEach(clearInterval)
}
await new Promise(r => setTimeout(r, 500))
const done = lat.slice()
if (process.env.FANOUT_LATE) { // diagnostics: how many more arrive within FANOUT_LATE s
  await new Promise(r => setTimeout(r, +process.env.FANOUT_LATE * 1000))
  extraInfo.late = lat.length - done.length
}
done.sort((a, b) => a - b)
const q = p => done.length ? done[Math.min(done.length - 1, Math.floor(p * done.length))].toFixed(1) : 'nan'
console.log(JSON.stringify({ scenario, N, rate: RATE, seconds: SECONDS, syncMs, docAtSync, received: done.length, p50: +q(0.5), p95: +q(0.95), p99: +q(0.99), max: +q(1), ...extra() }))
clients.forEach(c => { c.p.destroy() })
process.exit(0)
