// Node y-websocket clients for bench/live_stream.py (issue 12). Two modes:
//
//   node live_stream.mjs guests WS_BASE PAGE_URL N
//     N light guests, each as js/viewer/live.ts: a control-room client that, when
//     control.version differs from its own, fetches x/cells?since=<its version> (the same retry
//     rule: an answer a step behind the control document is not applied, retried after 300 ms).
//     Each applied answer prints one line {ev:"cells", g, t, toks, imgs}: t = epoch ms
//     (performance.timeOrigin + now(), the machine's clock), toks = the "tok-N" markers and imgs =
//     the x/img names found in the cells that came with HTML, tv = when the guest first saw that
//     version in control.version. "ready" once all N applied a first
//     answer.
//
//   node live_stream.mjs presence WS_BASE TOKEN SECONDS HZ
//     Two clients on the board room; A sets its awareness cursor (x = a sequence number) at HZ,
//     B echoes the number in its own cursor, A records the round trip. One JSON line at the end:
//     {n, sent, p50, p95, max} in ms.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { viewerState } from './board_writes.mjs'

const now = () => performance.timeOrigin + performance.now()
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const [mode, ...args] = process.argv.slice(2)

function provider(wsBase, room, token, doc) {
  return new WebsocketProvider(wsBase, room, doc, {
    WebSocketPolyfill: WebSocket, disableBc: true, params: { token },
  })
}

function markers(cells) {
  const toks = new Set(), imgs = new Set()
  for (const c of cells) {
    if (c.html === null) continue
    for (const m of c.html.matchAll(/tok-\d+/g)) toks.add(m[0])
    for (const m of c.html.matchAll(/x\/img\/([0-9a-f]+)\.png/g)) imgs.add(m[1])
  }
  return { toks: [...toks], imgs: [...imgs] }
}

async function guests(wsBase, pageUrl, n) {
  const url = new URL(pageUrl)
  const token = url.searchParams.get('token')
  const base = url.origin + url.pathname // the page's folder: x/cells is relative to it
  let ready = 0
  for (let g = 0; g < n; g++) {
    const doc = new Y.Doc()
    const control = doc.getMap('control')
    provider(wsBase, 'control', token, doc)
    let version = null, busy = false
    const heard = new Map() // control.version -> when this guest first saw it
    const check = async () => {
      const want = control.get('version')
      if (busy || (version !== null && (typeof want !== 'string' || want === version))) return
      busy = true
      try {
        const since = encodeURIComponent(version ?? '')
        const res = await fetch(`${base}x/cells?token=${token}&since=${since}`, { cache: 'no-store' })
        const reply = await res.json()
        const t = now()
        if (version === null) { version = reply.version; if (++ready === n) out({ ev: 'ready' }) }
        else if (reply.version === control.get('version') && reply.cells) {
          version = reply.version
          out({ ev: 'cells', g, t, tv: heard.get(reply.version) ?? t, ...markers(reply.cells) })
        } else await sleep(300)
      } catch (err) {
        out({ ev: 'error', g, error: String(err) })
        await sleep(1000)
      } finally { busy = false }
      void check()
    }
    control.observe(() => {
      const v = control.get('version')
      if (typeof v === 'string' && !heard.has(v)) heard.set(v, now())
      void check()
    })
    void check()
  }
}

async function presence(wsBase, token, seconds, hz) {
  const a = new Y.Doc(), b = new Y.Doc()
  const pa = provider(wsBase, 'board', token, a), pb = provider(wsBase, 'board', token, b)
  let synced = 0
  for (const p of [pa, pb]) p.on('sync', (s) => { if (s) synced++ })
  pa.awareness.setLocalState(viewerState(0, 'ping'))
  pb.awareness.setLocalState(viewerState(1, 'pong'))
  const t0 = Date.now()
  while (synced < 2) {
    if (Date.now() - t0 > 30000) { out({ error: `only ${synced}/2 synced` }); process.exit(2) }
    await sleep(20)
  }
  const sent = new Map(), rtt = []
  let echoed = -1
  pb.awareness.on('change', () => { // B: echo A's number
    const st = pb.awareness.getStates().get(pa.awareness.clientID)
    const x = st?.cursor?.x
    if (typeof x === 'number' && x > echoed) {
      echoed = x
      pb.awareness.setLocalStateField('cursor', { cell: 'bench', x, y: 1 })
    }
  })
  pa.awareness.on('change', () => { // A: the echo came back
    const x = pa.awareness.getStates().get(pb.awareness.clientID)?.cursor?.x
    if (typeof x === 'number' && sent.has(x)) { rtt.push(now() - sent.get(x)); sent.delete(x) }
  })
  let seq = 0
  const iv = setInterval(() => {
    seq++
    sent.set(seq, now())
    pa.awareness.setLocalStateField('cursor', { cell: 'bench', x: seq, y: 0 })
  }, 1000 / hz)
  await sleep(seconds * 1000)
  clearInterval(iv)
  await sleep(1000) // the last echoes
  rtt.sort((x, y) => x - y)
  const q = (p) => (rtt.length ? +rtt[Math.min(rtt.length - 1, Math.floor(p * rtt.length))].toFixed(1) : null)
  out({ n: rtt.length, sent: seq, lost: sent.size, p50: q(0.5), p95: q(0.95), max: q(1) })
  pa.destroy(); pb.destroy()
  process.exit(0)
}

if (mode === 'guests') await guests(args[0], args[1], +args[2])
else if (mode === 'presence') await presence(args[0], args[1], +args[2], +args[3])
else { console.error('usage: see the header'); process.exit(2) }
