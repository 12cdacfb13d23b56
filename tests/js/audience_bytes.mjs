// Bytes a listener receives while a room moves: M guests move their cursor at 10 Hz, a host at
// 20 Hz, L listeners sit still; every client is a real yjs + y-websocket page (board room). After
// a warm-up, each listener's received websocket bytes are counted for WINDOW_MS.
// Usage: node audience_bytes.mjs WS_BASE GUEST_TOKEN HOST_TOKEN M L WINDOW_MS
// Prints one JSON line: {"movers": M, "perListener": [bytes/s, ...], "hostBytes": bytes/s,
// "moverRate": cursor updates/s the movers really made, "totalBytes": bytes/s all pages got}
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { EventEmitter } from 'events'
EventEmitter.defaultMaxListeners = 0

const [wsBase, guestToken, hostToken, mStr, lStr, windowStr] = process.argv.slice(2)
const M = +mStr, L = +lStr, WINDOW = +windowStr
const sleep = (ms) => new Promise(r => setTimeout(r, ms))

// A WebSocket that counts the payload bytes it receives (what the server sent this page).
// `deaf`: the page does not read others' presence (awareness messages, type 1, are dropped
// before y-websocket sees them). Used for the movers only, so that one Node process can drive
// 80 of them: with audience mode off each would otherwise apply 80 x 10 states a second, and
// the load generator, not the server, would set the pace. The listeners measured read all.
function countingSocket (counter, deaf) {
  return class extends WebSocket {
    constructor (...args) {
      super(...args)
      this.on('message', (data) => { counter.bytes += data.length ?? data.byteLength })
    }

    set onmessage (handler) {
      super.onmessage = (event) => {
        if (deaf && new Uint8Array(event.data)[0] === 1) return
        handler(event)
      }
    }

    get onmessage () { return super.onmessage }
  }
}

function page (token, name, role, deaf = false) {
  const counter = { bytes: 0 }
  const provider = new WebsocketProvider(wsBase, 'board', new Y.Doc(), {
    WebSocketPolyfill: countingSocket(counter, deaf), disableBc: true, params: { token },
  })
  provider.awareness.setLocalState({ user: { name, color: '#1e88e5', role }, cursor: null })
  return { provider, counter }
}

const host = page(hostToken, 'Presenter', 'host')
const movers = Array.from({ length: M }, (_, i) => page(guestToken, `Mover ${i}`, 'guest', true))
const listeners = Array.from({ length: L }, (_, i) => page(guestToken, `Listener ${i}`, 'guest'))
const everyone = [host, ...movers, ...listeners]
const t0 = Date.now()
while (!everyone.every(p => p.provider.synced) && Date.now() - t0 < 30000) await sleep(20)
if (!everyone.every(p => p.provider.synced)) { console.log(JSON.stringify({ error: 'not synced' })); process.exit(1) }

let tick = 0
let moves = 0 // cursor updates the movers really made (timers slip when the machine is busy)
const move = (p, k) => p.provider.awareness.setLocalStateField('cursor', { cell: 'a', x: k % 1000, y: (k * 7) % 1000 })
const hostTimer = setInterval(() => move(host, ++tick), 50) // 20 Hz
// Movers at 10 Hz, spread over the 100 ms so the server sees a steady stream, not bursts.
const moverTimers = movers.map((p, i) => setTimeout(() => {
  let k = 0
  p.timer = setInterval(() => { move(p, ++k + i); moves++ }, 100)
}, (i * 100) / Math.max(1, M)))

await sleep(1500) // warm-up: every state has reached everyone who gets it
const total = () => everyone.reduce((sum, p) => sum + p.counter.bytes, 0)
const totalStart = total()
const start = listeners.map(l => l.counter.bytes)
const hostStart = host.counter.bytes
const movesStart = moves
const s0 = performance.now()
await sleep(WINDOW)
const seconds = (performance.now() - s0) / 1000
const perListener = listeners.map((l, i) => Math.round((l.counter.bytes - start[i]) / seconds))
const hostBytes = Math.round((host.counter.bytes - hostStart) / seconds)
const totalBytes = Math.round((total() - totalStart) / seconds) // the server's bytes out
const moverRate = Math.round((moves - movesStart) / seconds)
clearInterval(hostTimer)
moverTimers.forEach(clearTimeout)
movers.forEach(p => clearInterval(p.timer))
console.log(JSON.stringify({ movers: M, perListener, hostBytes, moverRate, totalBytes }))
everyone.forEach(p => p.provider.destroy())
process.exit(0)
