// A real yjs + y-websocket client for the Python tests, driven by JSON lines.
// Usage: node peer.mjs WS_BASE ROOM TOKEN [PID]
// stdin commands:  {"cmd":"awareness", "state": {...}}   set the whole local awareness state
//                  {"cmd":"set", "map": "shapes", "key": k, "value": v}   write the document
//                  {"cmd":"dump"}   -> {"event":"dump", "states": {id: state}, "maps": {...}}
//                  {"cmd":"offline"} / {"cmd":"online"}   drop / restore the connection
//                  {"cmd":"exit"}
// stdout events:   {"event":"status"|"synced"|"close"|"awareness"|"dump"|"ready", ...}
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import readline from 'node:readline'

const [wsBase, room, token, pid] = process.argv.slice(2)
const doc = new Y.Doc()
const provider = new WebsocketProvider(wsBase, room, doc, {
  WebSocketPolyfill: WebSocket, disableBc: true,
  params: { ...(token ? { token } : {}), ...(pid ? { pid } : {}) },
})
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const states = () => Object.fromEntries([...provider.awareness.getStates()].map(([k, v]) => [k, v]))
const maps = () => Object.fromEntries(['shapes', 'control', 'strokes'].map(n => [n, doc.getMap(n).toJSON()]))

out({ event: 'ready', clientID: doc.clientID })
provider.on('status', (e) => out({ event: 'status', status: e.status }))
provider.on('sync', (s) => { if (s) out({ event: 'synced' }) })
provider.on('connection-close', (e) => {
  out({ event: 'close', code: e?.code, reason: e?.reason })
  if (e && e.code >= 4400 && e.code < 4500) provider.disconnect() // like the viewer: no retry storm
})
provider.awareness.on('change', () => out({ event: 'awareness', states: states() }))
doc.on('update', () => out({ event: 'doc', maps: maps() }))

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (line) => {
  const m = JSON.parse(line)
  if (m.cmd === 'awareness') provider.awareness.setLocalState(m.state)
  else if (m.cmd === 'set') doc.getMap(m.map).set(m.key, m.value)
  else if (m.cmd === 'dump') out({ event: 'dump', states: states(), maps: maps(), clientID: doc.clientID })
  else if (m.cmd === 'offline') provider.disconnect()
  else if (m.cmd === 'online') provider.connect()
  else if (m.cmd === 'exit') { provider.destroy(); process.exit(0) }
})
rl.on('close', () => { provider.destroy(); process.exit(0) })
