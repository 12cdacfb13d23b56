// Several real y-websocket clients in one Node process, each with y-websocket's DEFAULT reconnect
// rule (no shouldReconnect of ours, no disconnect on close): what any y-websocket client that does
// not know our contract does after each of the server's close codes. Driven by
// tests/test_closecodes_clients.py with JSON lines.
// stdin:  {"cmd":"open", "id": i, "base": wsBase, "room": "board", "token": t, "pid": p}
//         {"cmd":"raw", "id": i, "b64": frame}   send one frame as it is (a bad or greedy client)
//         {"cmd":"big", "id": i, "bytes": n}     send one sync-update frame of n bytes
//         {"cmd":"destroy", "id": i}             leave for good
//         {"cmd":"at", "ms": t}                  -> {"id": "clock", "event": "at"} once t ms have passed
// stdout: {"id": i, "event": "ready", "clientID": n} and, per provider,
//         {"id": i, "event": "connecting"|"connected"|"disconnected"|"synced"|"close"|"closed",
//          "code"?: c, "n": sequence number, "ms": since start}
//         ("close": y-websocket's connection-close, every close; "closed": emitted only when its
//          shouldReconnect said no, i.e. it stopped reconnecting)
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import readline from 'node:readline'

const start = Date.now()
process.setMaxListeners(100) // each provider adds an exit listener
const providers = new Map()
let n = 0 // events in the order they happened, across all providers
const out = (o) => process.stdout.write(JSON.stringify({ ...o, n: n++, ms: Date.now() - start }) + '\n')

function open ({ id, base, room, token, pid }) {
  const doc = new Y.Doc()
  const params = { ...(token ? { token } : {}), ...(pid ? { pid } : {}) }
  const provider = new WebsocketProvider(base, room, doc, {
    WebSocketPolyfill: WebSocket, disableBc: true, params,
  })
  providers.set(id, { provider, doc })
  provider.on('status', (e) => out({ id, event: e.status }))
  provider.on('sync', (s) => { if (s) out({ id, event: 'synced' }) })
  provider.on('connection-close', (e) => out({ id, event: 'close', code: e?.code ?? null }))
  provider.on('closed', (e) => out({ id, event: 'closed', code: e.code }))
  out({ id, event: 'ready', clientID: doc.clientID })
}

function send (id, bytes) {
  const ws = providers.get(id).provider.ws
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(bytes)
  else out({ id, event: 'unsent' })
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (line) => {
  const m = JSON.parse(line)
  if (m.cmd === 'open') open(m)
  else if (m.cmd === 'raw') send(m.id, Buffer.from(m.b64, 'base64'))
  else if (m.cmd === 'big') {
    const frame = new Uint8Array(m.bytes)
    frame.set([0, 2]) // sync, update: the server refuses it on the frame header's length alone
    send(m.id, frame)
  } else if (m.cmd === 'at') {
    setTimeout(() => out({ id: 'clock', event: 'at' }), Math.max(0, m.ms - (Date.now() - start)))
  } else if (m.cmd === 'destroy') {
    const { provider, doc } = providers.get(m.id)
    provider.destroy()
    doc.destroy()
    providers.delete(m.id)
  }
})
rl.on('close', () => {
  for (const { provider, doc } of providers.values()) { provider.destroy(); doc.destroy() }
  process.exit(0)
})
