// A lecture from one machine: N pages join at once, each a real yjs + y-websocket page holding
// both rooms (board with a presence state, control), like the viewer. Prints one JSON line once
// every page is synced (or the timeout passed), then waits for commands on stdin:
//   {"cmd": "more", "n": K}   K more pages try to join; prints the close codes they got
//   {"cmd": "exit"}
// Usage: node audience_crowd.mjs WS_BASE TOKEN N TIMEOUT_MS
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import readline from 'node:readline'
import { EventEmitter } from 'events'
EventEmitter.defaultMaxListeners = 0

const [wsBase, token, nStr, timeoutStr] = process.argv.slice(2)
const sleep = (ms) => new Promise(r => setTimeout(r, ms))
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')

// The first close code each room's socket got (null: none yet). A closed page stops there: the
// test asks what the server answered, not what a retry would get.
function page (i) {
  const p = { closes: { board: null, control: null } }
  for (const room of ['board', 'control']) {
    const provider = new WebsocketProvider(wsBase, room, new Y.Doc(), {
      WebSocketPolyfill: WebSocket, disableBc: true, params: { token, pid: `crowd${i}` },
    })
    provider.on('connection-close', (e) => {
      if (!e || p.closes[room] !== null) return // our own disconnect() below reports null
      p.closes[room] = e.code
      provider.disconnect()
    })
    if (room === 'board') provider.awareness.setLocalState({ user: { name: `Student ${i}`, role: 'guest' } })
    else provider.awareness.setLocalState(null)
    p[room] = provider
  }
  return p
}

const synced = (p) => p.board.synced && p.control.synced
const pages = []
const N = +nStr
const t0 = performance.now()
for (let i = 0; i < N; i++) pages.push(page(i))
const deadline = t0 + +timeoutStr
while (!pages.every(synced) && performance.now() < deadline) await sleep(20)
const codes = pages.map(p => [p.closes.board, p.closes.control]).filter(c => c[0] !== null || c[1] !== null)
out({ event: 'joined', synced: pages.filter(synced).length, ms: Math.round(performance.now() - t0), codes: codes.slice(0, 10) })

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', async (line) => {
  const m = JSON.parse(line)
  if (m.cmd === 'more') {
    const late = Array.from({ length: m.n }, (_, i) => page(N + pages.length + i))
    pages.push(...late)
    const until = performance.now() + 10000
    const done = (p) => synced(p) || (p.closes.board !== null && p.closes.control !== null)
    while (!late.every(done) && performance.now() < until) await sleep(20)
    out({ event: 'more', synced: late.filter(synced).length, closes: late.map(p => [p.closes.board, p.closes.control]) })
  } else if (m.cmd === 'exit') {
    pages.forEach(p => { p.board.destroy(); p.control.destroy() })
    process.exit(0)
  }
})
rl.on('close', () => process.exit(0))
