// A real page's two rooms on a relay (relay/), with the relay's provider (@hocuspocus/provider,
// from relay/node_modules, and the yjs it uses): the board and control documents on one socket.
// Usage: node relay_peer.mjs RELAY_URL ROOM TOKEN [PID]
// stdin commands:  {"cmd":"awareness", "state": {...}}   set the local awareness state (board)
//                  {"cmd":"shape", "key": k, "fields": {...}}   a shape with exactly these fields
//                  {"cmd":"control", "key": k, "value": v}   write the control document
//                  {"cmd":"root", "name": n, "key": k, "value": v}   write board root map n
//                  {"cmd":"dump"}   -> {"event":"dump", "states": {...}, "maps": {...}}
//                  {"cmd":"flood", "field": "react"|"chat", "count": n, "every": ms}   n new
//                      ones, one every `every` ms (a hostile page: each a new seq)
//                  {"cmd":"exit"}
// stdout events:   {"event":"ready"|"synced"|"authfail"|"close"|"doc"|"awareness"|"dump", ...}
import { createRequire } from 'node:module'
import readline from 'node:readline'

const require = createRequire(new URL('../../relay/package.json', import.meta.url))
const Y = require('yjs')
const { HocuspocusProvider, HocuspocusProviderWebsocket } = require('@hocuspocus/provider')
const WebSocket = require('ws')

const [url, room, token, pid] = process.argv.slice(2)
const brief = (k, v) => (v instanceof Uint8Array ? { bytes: v.length } : v)
const out = (o) => process.stdout.write(JSON.stringify(o, brief) + '\n')

const socket = new HocuspocusProviderWebsocket({
  url: pid ? `${url}/?pid=${encodeURIComponent(pid)}` : url,
  WebSocketPolyfill: WebSocket,
  maxAttempts: 1, // a refused page stays refused (the viewer decides retries from the code)
})
socket.on('close', ({ event }) => out({ event: 'close', code: event?.code, reason: event?.reason?.toString() }))
const open = (kind) => {
  const provider = new HocuspocusProvider({ websocketProvider: socket, name: `${room}/${kind}`, token })
  provider.on('synced', () => out({ event: 'synced', doc: kind }))
  provider.on('authenticationFailed', ({ reason }) => out({ event: 'authfail', doc: kind, reason }))
  provider.attach()
  return provider
}
const board = open('board')
const control = open('control')
control.awareness.setLocalState(null) // presence lives on the board, as in the viewer

const json = (v) => (v instanceof Y.AbstractType ? v.toJSON() : v)
const maps = () => ({
  shapes: Object.fromEntries([...board.document.getMap('shapes')].map(([k, v]) => [k, json(v)])),
  control: Object.fromEntries([...control.document.getMap('control')].map(([k, v]) => [k, json(v)])),
})
const states = () => Object.fromEntries(board.awareness.getStates())
board.document.on('update', () => out({ event: 'doc', maps: maps() }))
control.document.on('update', () => out({ event: 'doc', maps: maps() }))
board.awareness.on('change', () => out({ event: 'awareness', states: states() }))
out({ event: 'ready', clientID: board.document.clientID })

const shapeOf = (fields) => { const m = new Y.Map(); for (const [k, v] of Object.entries(fields)) m.set(k, v); return m }
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line)
  if (m.cmd === 'awareness') board.awareness.setLocalState(m.state)
  else if (m.cmd === 'shape') board.document.getMap('shapes').set(m.key, shapeOf(m.fields))
  else if (m.cmd === 'control') control.document.getMap('control').set(m.key, m.value)
  else if (m.cmd === 'root') board.document.getMap(m.name).set(m.key, m.value)
  else if (m.cmd === 'flood') {
    let seq = 0
    const next = () => {
      if (++seq > m.count) return out({ event: 'flooded', count: m.count })
      const value = m.field === 'chat' ? { text: `${seq}`, seq } : { n: 'up', seq, cell: 'a', x: 1, y: 2 }
      board.awareness.setLocalStateField(m.field, value)
      setTimeout(next, m.every ?? 0)
    }
    next()
  } else if (m.cmd === 'dump') out({ event: 'dump', states: states(), maps: maps() })
  else if (m.cmd === 'exit') process.exit(0)
}).on('close', () => process.exit(0))
