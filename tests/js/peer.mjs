// A real yjs + y-websocket client for the Python tests, driven by JSON lines.
// Usage: node peer.mjs WS_BASE ROOM TOKEN [PID]
// stdin commands:  {"cmd":"awareness", "state": {...}}   set the whole local awareness state
//                  {"cmd":"set", "map": "shapes", "key": k, "value": v}   write the document
//                      (in "shapes", the board schema's only root, v is stored as a real text
//                      shape whose `text` is JSON of v; `maps` shows such shapes as v again)
//                  {"cmd":"shape", "key": k, "fields": {...}}   a shape with exactly these fields
//                  {"cmd":"field", "key": k, "field": f, "value": v}   change one field of a shape
//                  {"cmd":"dump"}   -> {"event":"dump", "states": {id: state}, "maps": {...}}
//                  {"cmd":"watch", "prefix": p}   later doc events show only shapes keyed p...
//                      (a board an attacker filled would make every event huge; dump shows all)
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
// Bytes (stroke points) are shown as {bytes: length}: events stay one short line each.
const brief = (k, v) => (v instanceof Uint8Array ? { bytes: v.length } : v)
const out = (o) => process.stdout.write(JSON.stringify(o, brief) + '\n')
const states = () => Object.fromEntries([...provider.awareness.getStates()].map(([k, v]) => [k, v]))
const TEST_SHAPE = { t: 'text', cell: 'a', ci: 0, x: 0, y: 0, c: '#1e1e1e', s: 12 }
const shapeOf = (fields) => { const m = new Y.Map(); for (const [k, v] of Object.entries(fields)) m.set(k, v); return m }
const unwrap = (v) => (v && v.by === 'peer.mjs' ? JSON.parse(v.text) : v)
let watch = null // {"cmd":"watch","prefix":p}: doc events carry only shapes whose key starts with p
const shown = (n, k, full) => full || n !== 'shapes' || watch === null || k.startsWith(watch)
const json = (v) => (v instanceof Y.AbstractType ? v.toJSON() : v)
const maps = (full = false) => Object.fromEntries(['shapes', 'control'].map(n => {
  const m = doc.getMap(n)
  const keys = [...m.keys()].filter(k => shown(n, k, full))
  return [n, Object.fromEntries(keys.map(k => [k, n === 'shapes' ? unwrap(json(m.get(k))) : json(m.get(k))]))]
}))
const set = (map, key, value) => map === 'shapes'
  ? doc.getMap('shapes').set(key, shapeOf({ ...TEST_SHAPE, text: JSON.stringify(value), by: 'peer.mjs' }))
  : doc.getMap(map).set(key, value)

out({ event: 'ready', clientID: doc.clientID })
provider.on('status', (e) => out({ event: 'status', status: e.status }))
provider.on('sync', (s) => { if (s) out({ event: 'synced' }) })
provider.on('connection-close', (e) => {
  out({ event: 'close', code: e?.code, reason: e?.reason })
  // a close the server chose (4400-4599, contracts/close_codes.json) ends the peer: no retry storm
  if (e && e.code >= 4400 && e.code < 4600) provider.disconnect()
})
provider.awareness.on('change', () => out({ event: 'awareness', states: states() }))
doc.on('update', () => out({ event: 'doc', maps: maps() }))

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (line) => {
  const m = JSON.parse(line)
  if (m.cmd === 'awareness') provider.awareness.setLocalState(m.state)
  else if (m.cmd === 'set') set(m.map, m.key, m.value)
  else if (m.cmd === 'shape') doc.getMap('shapes').set(m.key, shapeOf(m.fields))
  else if (m.cmd === 'field') doc.getMap('shapes').get(m.key).set(m.field, m.value)
  else if (m.cmd === 'dump') out({ event: 'dump', states: states(), maps: maps(true), clientID: doc.clientID })
  else if (m.cmd === 'watch') watch = m.prefix
  else if (m.cmd === 'offline') provider.disconnect()
  else if (m.cmd === 'online') provider.connect()
  else if (m.cmd === 'exit') { provider.destroy(); process.exit(0) }
})
rl.on('close', () => { provider.destroy(); process.exit(0) })
