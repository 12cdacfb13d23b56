// The fan-out benchmark of bench/fanout.mjs (same clients, scenarios, writes and timing) against
// one share, plain or end-to-end encrypted (issue 14), for bench/e2e_fanout.py. With `key`, every
// client speaks the sealed protocol of jupyterspot_magic/collab/seal.py through the viewer's own
// WebSocket wrapper (js/viewer/e2e/socket.ts, bundled for Node by e2e_fanout.py into a temporary
// dir and passed here as `socketModule`): y-websocket keeps speaking plain Yjs, the wrapper seals
// every message up and opens every message down, as a browser page does.
//
// - "strokes": client 0 adds a real 64-point pen shape (bench/board_writes.mjs) RATE times a
//   second with its send time in `at`; every other client records write -> its own observe.
// - "cursors": every client sets its awareness `cursor: {cell: 'bench', x: ms since start, y: i}`
//   at RATE Hz; each records the delay of the others' states.
// Lines on stdout: {"phase":"start"} once every client synced (the driver samples CPU times),
// {"phase":"end"} after SECONDS, then the result: delays p50/p95/p99/max (ms), how many were
// received, websocket closes if any, this process's event-loop lag.
// Usage: node e2e_fanout.mjs CONFIG_JSON
//   {url, token, scenario, n, seconds, rate, key: "<seal.key_text>" | "", room, socketModule,
//    probes (0: all)}
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { EventEmitter } from 'events'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { addShape, penFields, penPoints, viewerState, watchCloses } from './board_writes.mjs'
EventEmitter.defaultMaxListeners = 0

const cfg = JSON.parse(process.argv[2])
const N = cfg.n, RATE = cfg.rate
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const now = () => performance.timeOrigin + performance.now()

/** The link fragment's key (base64url, no padding) as bytes. */
const keyBytes = (text) => new Uint8Array(Buffer.from(text, 'base64url'))

let Socket = WebSocket
if (cfg.key) {
  const { sealedWebSocket, ClientFrames } = await import(cfg.socketModule)
  // doc null: "board" or "control" from the URL's last segment, as y-websocket builds it
  Socket = sealedWebSocket(keyBytes(cfg.key), cfg.room, null, WebSocket)
  timeCrypto(ClientFrames.prototype)
}

// Where the clients' time goes on the encrypted share: sealing each message sent (frames.ts
// `up`) and opening each received (`down`, @noble/ciphers' AES-GCM in JS), summed over all N
// clients of this one process (a browser pays its own share only), as ms per second.
const spent = { up: 0, ups: 0, down: 0, downs: 0 }
function timeCrypto (proto) {
  const wrap = (name, total, count) => {
    const inner = proto[name]
    proto[name] = function (...args) {
      const t = performance.now()
      try { return inner.apply(this, args) } finally { spent[total] += performance.now() - t; spent[count]++ }
    }
  }
  wrap('up', 'up', 'ups')
  wrap('down', 'down', 'downs')
}

// Probes: the clients that read what they receive and record delays (default: all N, as in
// fanout.mjs). The others go deaf once synced, as crowd.mjs's listeners do: the bytes still
// arrive, but nothing is opened or decoded (plain: y-websocket's handlers do nothing; e2e: the
// frame is dropped before it is opened), so that N browsers' work, which this one process does
// for all of them, does not decide the result and the server's part shows.
const PROBES = cfg.probes > 0 ? Math.min(cfg.probes, N) : N
const isProbe = (i) => (cfg.scenario === 'strokes' ? i >= 1 && i <= PROBES : i < PROBES)
const deafSocket = (Base, who) => class extends Base {
  received (data) { if (who.deaf && this.frames.opened) return; return super.received(data) }
}
const clients = []
let synced = 0
for (let i = 0; i < N; i++) {
  const doc = new Y.Doc()
  const params = cfg.token ? { token: cfg.token } : {}
  const who = { deaf: false }
  const WS = cfg.key && !isProbe(i) ? deafSocket(Socket, who) : Socket
  const p = new WebsocketProvider(cfg.url, 'board', doc, { WebSocketPolyfill: WS, disableBc: true, params })
  p.awareness.setLocalState(viewerState(i))
  p.on('sync', (s) => {
    if (!s) return
    synced++
    if (isProbe(i)) return
    who.deaf = true
    if (!cfg.key) p.messageHandlers = p.messageHandlers.map(() => () => {})
  })
  clients.push({ doc, p })
}
const closes = watchCloses(clients.map((c) => c.p))
const t0 = Date.now()
while (synced < N) {
  if (Date.now() - t0 > 60000) { out({ error: `only ${synced}/${N} synced in 60 s`, closes }); process.exit(2) }
  await new Promise((r) => setTimeout(r, 20))
}
const syncMs = Date.now() - t0
const docAtSync = Y.encodeStateAsUpdate(clients[0].doc).length // 2: empty

const lat = []
for (const k in spent) spent[k] = 0
const lag = monitorEventLoopDelay({ resolution: 5 })
out({ phase: 'start' })
lag.enable()
let sent = 0
if (cfg.scenario === 'strokes') {
  for (let i = 1; i < N; i++) {
    if (!isProbe(i)) continue
    const m = clients[i].doc.getMap('shapes')
    m.observe((ev) => {
      for (const k of ev.keysChanged) {
        const v = m.get(k)
        if (v instanceof Y.Map && typeof v.get('at') === 'number') lat.push(now() - v.get('at'))
      }
    })
  }
  const w = clients[0].doc
  const points = penPoints(64, 3)
  const iv = setInterval(() => { addShape(w, penFields({ k: sent++, points, by: 'writer', at: now() })) }, 1000 / RATE)
  await new Promise((r) => setTimeout(r, cfg.seconds * 1000))
  clearInterval(iv)
} else {
  const start = performance.now()
  const since = () => performance.now() - start
  for (let i = 0; i < N; i++) {
    if (!isProbe(i)) continue
    const a = clients[i].p.awareness
    a.on('change', ({ updated, added }) => {
      for (const id of [...updated, ...added]) {
        if (id === a.clientID) continue
        const st = a.getStates().get(id)
        if (st && st.cursor && st.cursor.cell === 'bench') lat.push(since() - st.cursor.x)
      }
    })
  }
  const ivs = clients.map((c, i) => setInterval(() => {
    sent++
    c.p.awareness.setLocalStateField('cursor', { cell: 'bench', x: since(), y: i })
  }, 1000 / RATE))
  await new Promise((r) => setTimeout(r, cfg.seconds * 1000))
  ivs.forEach(clearInterval)
}
out({ phase: 'end' })
const window = { ...spent }
await new Promise((r) => setTimeout(r, 500)) // late deliveries still count, as in fanout.mjs
lag.disable()
const done = lat.slice().sort((a, b) => a - b)
const q = (p) => (done.length ? +done[Math.min(done.length - 1, Math.floor(p * done.length))].toFixed(1) : null)
out({
  scenario: cfg.scenario, N, probes: PROBES, rate: RATE, seconds: cfg.seconds, e2e: Boolean(cfg.key), syncMs, docAtSync, sent,
  received: done.length, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: q(1),
  clientLoopLagMs: { p50: +(lag.percentile(50) / 1e6).toFixed(1), p99: +(lag.percentile(99) / 1e6).toFixed(1) },
  ...(cfg.key ? { clientCrypto: { upMsPerS: +(window.up / cfg.seconds).toFixed(1), downMsPerS: +(window.down / cfg.seconds).toFixed(1), ups: window.ups, downs: window.downs } } : {}),
  ...(Object.keys(closes).length ? { closes } : {}),
})
clients.forEach((c) => c.p.destroy())
process.exit(0)
