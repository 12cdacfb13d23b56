// A crowd of real yjs + y-websocket clients in one Node process, for bench/lecture.py and
// bench/kernel_busy.py: one presenter (optional) and N listeners, every one opening the rooms a
// page opens ("board" with its presence, "control" with none), with a page's awareness state and
// a per-browser `pid` (bench/board_writes.mjs writes as the viewer does, so our server's schema
// accepts everything; the same code runs against the Node reference server).
//
// - presenter: moves its cursor at `presenterHz` ({cell: 'bench', x: ms since this process
//   started, y: 0}) and, every `strokeEveryMs`, draws a 64-point pen stroke as the pen tool does
//   (the shape map with 8 points, then the points growing by 8 every 50 ms); its send time is the
//   shape's `at`. On our server it holds the host token.
// - listeners: move their own cursor at `moversHz` (0: idle, like a lecture's audience).
// - probes: `probes` listeners spread evenly over the crowd (every (N / probes)-th one; default:
//   all) and the presenter decode presence and
//   record delays: "presenter" (the presenter's cursor at a listener), "peers" (any other
//   client's cursor), "cursors" (both), "strokes" (a shape add, from `at`). The other listeners
//   skip presence
//   decoding (a no-op awareness handler: at N = 200 moving at 10 Hz, decoding every state
//   everywhere would take this one process ~400,000 states/s and make it, not the server, the
//   bottleneck) but still receive every byte, which is what "bytes" counts.
// - bytes: websocket message payloads received / sent by each client, counted by a WebSocket
//   subclass (frame headers, TCP and pings not included).
//
// Joins: listeners connect in batches of `batch`; a join is from `new WebsocketProvider` until
// every room of that client reported synced. Commands on stdin, one per line:
//   measure LABEL SECONDS JOINS   reset the counters, print {"phase":"start"}, run a window of
//                                 SECONDS (JOINS extra clients join one after another meanwhile,
//                                 each leaves once synced), print {"phase":"end"}, then the stats
//   quit                          close everything and exit
// Usage: node crowd.mjs CONFIG_JSON   (fields: see `cfg` below). Exits after `maxSeconds` anyway.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { EventEmitter } from 'events'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { addShape, penFields, penPoints, setPoints, viewerState } from './board_writes.mjs'
EventEmitter.defaultMaxListeners = 0

const cfg = {
  url: '', // base URL the provider appends "/<room>" to
  token: '', hostToken: '', // query parameters for our server; '' for Node's
  rooms: ['board', 'control'],
  listeners: 10, probes: -1, batch: 50,
  presenter: true, presenterHz: 20, strokeEveryMs: 1000,
  moversHz: 0,
  syncTimeoutMs: 60000, maxSeconds: 900,
  ...JSON.parse(process.argv[2] || '{}'),
}
if (cfg.probes < 0) cfg.probes = cfg.listeners
const T0 = performance.now()
const since = () => performance.now() - T0 // one process, one clock
const wall = () => performance.timeOrigin + performance.now()
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
setTimeout(() => { out({ error: `crowd.mjs gave up after ${cfg.maxSeconds} s` }); process.exit(3) }, cfg.maxSeconds * 1000).unref()

// --- counters, reset at each window ---
let rx = 0, tx = 0, rxListeners = 0, rxPresenter = 0
const lat = { presenter: [], peers: [], strokes: [] }
const reset = () => { rx = tx = rxListeners = rxPresenter = 0; for (const k in lat) lat[k] = [] }

function countingSocket(kind) {
  return class extends WebSocket {
    constructor (...args) {
      super(...args)
      this.on('message', (data) => {
        const n = data.byteLength ?? data.length
        rx += n
        if (kind === 'listener') rxListeners += n
        else if (kind === 'presenter') rxPresenter += n
      })
    }

    send (data, ...rest) { tx += data.byteLength ?? data.length; return super.send(data, ...rest) }
  }
}
const SOCKETS = { presenter: countingSocket('presenter'), listener: countingSocket('listener'), joiner: countingSocket('joiner') }

let presenterId = -1
const everyProvider = []
const closes = {} // websocket closes seen, by "code reason" (board_writes.mjs watchCloses' format)
const watchCloses = (p) => p.on('connection-close', (ev) => {
  if (!ev) return
  const key = `${ev.code}${ev.reason ? ' ' + ev.reason : ''}`
  closes[key] = (closes[key] || 0) + 1
})

/** One page: a provider per room; resolves with the join time once every room synced. */
function openClient (i, kind, { probe }) {
  const doc = new Y.Doc()
  const params = {}
  const token = kind === 'presenter' ? cfg.hostToken : cfg.token
  if (token) params.token = token
  params.pid = `bench-${kind}-${i}-${Math.random().toString(36).slice(2, 8)}`
  const t = performance.now()
  const providers = cfg.rooms.map((room) => {
    const p = new WebsocketProvider(cfg.url, room, room === 'board' ? doc : new Y.Doc(), {
      WebSocketPolyfill: SOCKETS[kind], disableBc: true, params,
    })
    if (room === 'board') {
      const state = viewerState(i, kind === 'presenter' ? 'presenter' : `bench ${i}`)
      if (kind === 'presenter' && cfg.hostToken) state.user.role = 'host'
      p.awareness.setLocalState(state)
      if (!probe) p.messageHandlers[1] = () => {} // see the header: bytes arrive, not decoded
    } else {
      p.awareness.setLocalState(null) // as the viewer: presence lives on the board room only
    }
    everyProvider.push(p)
    watchCloses(p)
    return p
  })
  const board = providers[cfg.rooms.indexOf('board')]
  if (probe && board) listen(doc, board, kind)
  const synced = Promise.all(providers.map((p) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} ${i} not synced in ${cfg.syncTimeoutMs} ms`)), cfg.syncTimeoutMs)
    const done = (s) => { if (s) { clearTimeout(timer); p.off('sync', done); resolve() } }
    p.on('sync', done)
  }))).then(() => performance.now() - t)
  return { doc, providers, board, synced }
}

function listen (doc, board, kind) {
  const a = board.awareness
  a.on('change', ({ updated, added }) => {
    const now = since()
    for (const id of [...updated, ...added]) {
      if (id === a.clientID) continue
      const st = a.getStates().get(id)
      if (!st || !st.cursor || st.cursor.cell !== 'bench') continue
      if (id === presenterId) lat.presenter.push(now - st.cursor.x)
      else lat.peers.push(now - st.cursor.x)
    }
  })
  if (kind === 'presenter') return
  const shapes = doc.getMap('shapes')
  shapes.observe((ev) => {
    const now = wall()
    for (const k of ev.keysChanged) {
      const v = shapes.get(k)
      if (v instanceof Y.Map && typeof v.get('at') === 'number' && ev.changes.keys.get(k)?.action === 'add') {
        lat.strokes.push(now - v.get('at'))
      }
    }
  })
}

const q = (arr, p) => {
  if (!arr.length) return null
  const s = arr.slice().sort((a, b) => a - b)
  return +s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1)
}
const stats = (arr) => ({ n: arr.length, p50: q(arr, 0.5), p95: q(arr, 0.95), p99: q(arr, 0.99), max: q(arr, 1) })

// --- connect: presenter first, then the listeners in batches ---
const tStart = performance.now()
let presenter = null
if (cfg.presenter) {
  presenter = openClient(0, 'presenter', { probe: true })
  presenterId = presenter.board.awareness.clientID
  await presenter.synced
}
const listeners = []
const joinMs = []
try {
  const stride = Math.max(1, Math.floor(cfg.listeners / Math.max(1, cfg.probes)))
  let probes = 0
  for (let i = 0; i < cfg.listeners; i += cfg.batch) {
    const batch = []
    for (let j = i; j < Math.min(cfg.listeners, i + cfg.batch); j++) {
      const probe = j % stride === 0 && probes < cfg.probes
      if (probe) probes++
      const c = openClient(j + 1, 'listener', { probe })
      listeners.push(c)
      batch.push(c.synced)
    }
    joinMs.push(...await Promise.all(batch))
  }
} catch (e) {
  out({ error: String(e.message || e), connected: joinMs.length, closes })
  process.exit(2)
}
const docAtSync = { bytes: Y.encodeStateAsUpdate(listeners[0]?.doc ?? new Y.Doc()).length, roots: [...(listeners[0]?.doc.share.keys() ?? [])] }
out({ phase: 'ready', listeners: listeners.length, sockets: everyProvider.length, connectMs: Math.round(performance.now() - tStart), join: stats(joinMs), docAtSync })

// --- movement, from now until quit ---
const timers = []
if (presenter) {
  const a = presenter.board.awareness
  timers.push(setInterval(() => a.setLocalStateField('cursor', { cell: 'bench', x: since(), y: 0 }), 1000 / cfg.presenterHz))
  if (cfg.strokeEveryMs > 0) {
    let k = 0
    timers.push(setInterval(() => {
      const points = penPoints(64, 3)
      const id = addShape(presenter.doc, penFields({ k: k++, points: points.slice(0, 8 * 3), by: 'presenter', at: wall() }))
      for (let m = 2; m <= 8; m++) setTimeout(() => setPoints(presenter.doc, id, points.slice(0, m * 8 * 3)), (m - 1) * 50)
    }, cfg.strokeEveryMs))
  }
}
if (cfg.moversHz > 0) {
  listeners.forEach((c, i) => {
    const a = c.board.awareness
    // each on its own phase, as real people are
    setTimeout(() => timers.push(setInterval(() => a.setLocalStateField('cursor', { cell: 'bench', x: since(), y: i + 1 }), 1000 / cfg.moversHz)), Math.random() * 1000 / cfg.moversHz)
  })
}

// --- windows on command ---
const lag = monitorEventLoopDelay({ resolution: 5 })
lag.enable()
let joiners = 0
async function measure (label, seconds, joins) {
  reset()
  lag.reset()
  const joined = []
  out({ phase: 'start', label })
  const t = performance.now()
  const end = t + seconds * 1000
  for (let j = 0; j < joins; j++) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, t + (j + 0.5) * seconds * 1000 / joins - performance.now())))
    const c = openClient(100000 + joiners++, 'joiner', { probe: false })
    try { joined.push(await c.synced) } catch { joined.push(Infinity) }
    c.providers.forEach((p) => p.destroy())
  }
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, end - performance.now())))
  const secs = (performance.now() - t) / 1000
  out({ phase: 'end', label })
  const listenerCount = listeners.length
  out({
    label, seconds: +secs.toFixed(2), listeners: listenerCount, probes: Math.min(cfg.probes, listenerCount),
    presenter: stats(lat.presenter), peers: stats(lat.peers), cursors: stats([...lat.presenter, ...lat.peers]),
    strokes: stats(lat.strokes),
    joins: stats(joined),
    bytes: {
      perListenerPerSec: Math.round(rxListeners / listenerCount / secs),
      presenterPerSec: Math.round(rxPresenter / secs),
      rxPerSec: Math.round(rx / secs), txPerSec: Math.round(tx / secs),
    },
    clientLoopLagMs: { p50: +(lag.percentile(50) / 1e6).toFixed(1), p99: +(lag.percentile(99) / 1e6).toFixed(1), max: +(lag.max / 1e6).toFixed(1) },
    ...(Object.keys(closes).length ? { closes } : {}),
  })
}

const rl = createInterface({ input: process.stdin })
for await (const line of rl) {
  const [cmd, label, seconds, joins] = line.trim().split(/\s+/)
  if (cmd === 'measure') await measure(label, +seconds, +(joins || 0))
  else if (cmd === 'quit') break
}
timers.forEach(clearInterval)
everyProvider.forEach((p) => p.destroy())
process.exit(0)
