// One relay instance: Hocuspocus (with its Redis extension, so every instance behind the same
// Redis serves the same documents) plus what makes the share's kernel the source of truth.
//
// - Documents are "<room>/board" and "<room>/control". Only the kernel writes them: every page's
//   connection is read-only here, and a page's document update is forwarded to the kernel, which
//   checks it with its own schema (jupyterspot_magic/collab/schema.py) and, once accepted, writes
//   it back through its link; Redis then carries it to every instance.
// - The kernel connects OUT to /kernel with the relay secret (a kernel behind NAT is the normal
//   case) and tells the relay who may join: hashes of the guest and host tokens, the banned
//   browsers, view-only. That policy lives in Redis, so every instance enforces it.
// - Awareness (cursors, scroll, lead requests) fans out here, checked against the same schema
//   (awareness.mjs), and is forwarded to the kernel, which runs the lead and lists the people.
//
// Channels in Redis (besides the extension's own): jsrelay:policy:<room> (a key: the policy JSON),
// jsrelay:all (every instance: policy changed, roll call), jsrelay:kernel:<room> (to the kernel
// of a room, read by the instance it is connected to), jsrelay:inst:<id> (to the pages' sockets
// on one instance). Frames are frames.mjs's.

import crypto from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Hocuspocus } from '@hocuspocus/server'
import { Redis as RedisExtension } from '@hocuspocus/extension-redis'
import IORedis from 'ioredis'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness'
import { encodeFrame, decodeFrame } from './frames.mjs'
import { ReactionGate, awarenessRefusal, stripReactions } from './awareness.mjs'
import { awarenessEntries, encodeEntries, enforceColor, loadPalette } from './colors.mjs'

const CONTRACTS = process.env.JUPYTERSPOT_CONTRACTS ??
  new URL('../jupyterspot_magic/contracts/', import.meta.url).pathname
const CLOSE = Object.fromEntries(
  Object.entries(JSON.parse(readFileSync(`${CONTRACTS}/close_codes.json`, 'utf8')))
    .map(([name, c]) => [name, c.code]))
const PALETTE = loadPalette(CONTRACTS) // presence colours: colors.mjs

const DOC_NAME = /^([A-Za-z0-9_-]{1,64})\/(board|control)$/
const PID = /^[A-Za-z0-9_-]{1,64}$/
const MAX_MESSAGE = 4 * 1024 * 1024 // like the share server's board room
const MESSAGES_PER_SECOND = 300
const MESSAGE_BURST = 1000
const SYNC_STEP2 = 1
const SYNC_UPDATE = 2
// A room's policy key expires POLICY_TTL after the last refresh; the instance holding the kernel's
// link refreshes it every TTL/10 while the kernel answers pings. A kernel that vanished without
// `end` leaves its room open at most 2 ticks (the dead link found) + TTL + 1 tick (every
// instance's sweep): 13 minutes with the default 600 s.
const POLICY_TTL = 600 // s
const MAX_REASON = 123 // bytes: a websocket close reason's limit (RFC 6455 5.5); ws throws past it

/** A close reason cut to MAX_REASON UTF-8 bytes on a character boundary: reasons quote what a
 * guest sent (the kernel's refusals), and ws.close() throws RangeError on a longer one. */
export function clipReason (text) {
  const bytes = Buffer.from(String(text ?? ''))
  if (bytes.length <= MAX_REASON) return bytes.toString('utf8')
  let end = MAX_REASON
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end-- // never inside a character
  return bytes.subarray(0, end).toString('utf8')
}

/** A code ws.close() accepts (RFC 6455 7.4): anything else from a frame becomes bad_frame. */
const validCode = (code) => Number.isInteger(code) &&
  ((code >= 3000 && code <= 4999) || [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014].includes(code))

const sha256 = (text) => crypto.createHash('sha256').update(text).digest('hex')
const sameHex = (a, b) => typeof a === 'string' && typeof b === 'string' && a.length === b.length &&
  crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b))

/** Refuse a document connection: the close code goes to the whole socket (a Hocuspocus
 * per-document close carries no code, and a page's two documents stand or fall together). */
class Refusal extends Error {
  constructor (code, reason) { super(reason); this.code = code; this.reason = reason }
}

class TokenBucket {
  constructor (rate, burst) { this.rate = rate; this.burst = burst; this.tokens = burst; this.at = Date.now() }
  take () {
    const now = Date.now()
    this.tokens = Math.min(this.burst, this.tokens + (now - this.at) / 1000 * this.rate)
    this.at = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}

export class Relay {
  constructor ({ redisUrl, secret, log = console, policyTtl = POLICY_TTL }) {
    if (!secret || secret.length < 16) throw new Error('the relay secret must be at least 16 characters')
    this.secretHash = sha256(secret)
    this.log = log
    this.id = crypto.randomBytes(6).toString('hex')
    this.seq = 0
    this.sockets = new Map() // socket id -> {id, ws, pid, docs: Map(name -> {room, kind, role, hash})}
    this.policies = new Map() // room -> policy (cache of jsrelay:policy:<room>)
    this.kernels = new Map() // room -> {ws, direct: {board, control}, queue}
    this.owners = new Map() // "<doc>#<client id>" -> socket id: a client id speaks for one socket
    this.epoch = 0 // counts policy and end messages: a policy read from Redis across one is stale
    if (!(policyTtl >= 1)) throw new Error('the policy TTL must be at least 1 s')
    this.policyTtl = Math.round(policyTtl)
    this.ticker = setInterval(() => this.tick().catch((e) => this.log.error(`relay: tick failed: ${e?.message ?? e}`)),
      this.policyTtl * 100) // ms: a tenth of the TTL
    this.ticker.unref()
    this.pub = new IORedis(redisUrl)
    this.sub = new IORedis(redisUrl)
    this.sub.on('messageBuffer', (channel, data) => this.guard('a Redis message', () => this.onChannel(channel.toString(), data)))
    this.ready = this.sub.subscribe('jsrelay:all', `jsrelay:inst:${this.id}`)
    this.hocuspocus = new Hocuspocus({
      name: `jupyterspot-relay-${this.id}`,
      quiet: true,
      extensions: [new RedisExtension({ redis: new IORedis(redisUrl), prefix: 'jsrelay-doc' })],
      onAuthenticate: (data) => this.authenticate(data),
      connected: (data) => this.joined(data),
      beforeSync: (data) => this.forwardSync(data),
      beforeHandleAwareness: (data) => this.checkAwareness(data),
      onAwarenessUpdate: (data) => this.forwardAwareness(data),
      onDisconnect: (data) => this.left(data),
    })
  }

  // -- pages ---------------------------------------------------------------------------------

  /** A page's websocket (any path but /kernel): Hocuspocus's protocol, two documents on it. */
  acceptPage (ws, request) {
    const url = new URL(request.url, 'http://relay')
    const raw = url.searchParams.get('pid') ?? ''
    const id = `${this.id}-${++this.seq}`
    // No browser key: this socket is its own (a kick then removes just it, as on the share server)
    // colors: document name -> the colour the kernel assigned this socket (colors.mjs)
    const sock = { id, ws, pid: PID.test(raw) ? raw : `s-${id}`, docs: new Map(), colors: new Map() }
    sock.gate = new ReactionGate((rate, burst) => new TokenBucket(rate, burst)) // awareness.mjs
    this.sockets.set(id, sock)
    const bucket = new TokenBucket(MESSAGES_PER_SECOND, MESSAGE_BURST)
    const headers = new Headers()
    const client = this.hocuspocus.handleConnection(
      ws, new Request(url.href, { headers }), { sock })
    ws.on('message', (data, isBinary) => this.guard('a page message', () => {
      if (!isBinary) return this.closeSocket(sock, CLOSE.bad_frame, 'binary frames only')
      if (!bucket.take()) return this.closeSocket(sock, CLOSE.too_many, 'too many messages')
      client.handleMessage(new Uint8Array(data))
    }))
    ws.on('close', (code, reason) => this.guard('a page close', () => {
      this.sockets.delete(id)
      for (const key of [...this.owners.keys()]) if (this.owners.get(key) === id) this.owners.delete(key)
      client.handleClose({ code, reason: reason.toString() })
    }))
  }

  /** Run an event listener's body: what it throws is logged in one line, never left to end the
   * process (an uncaught throw in a listener exits Node, and every page on this instance with it). */
  guard (what, fn) {
    try {
      fn()
    } catch (e) {
      this.log.error(`relay: ${what} failed: ${e?.message ?? e}`)
    }
  }

  closeSocket (sock, code, reason) {
    if (sock.ws.readyState > 1) return
    try {
      sock.ws.close(validCode(code) ? code : CLOSE.bad_frame, clipReason(reason))
    } catch (e) { // not expected after the checks above; the page must go all the same
      this.log.error(`relay: closing a page failed (${e?.message ?? e}); terminating it`)
      sock.ws.terminate()
    }
  }

  async authenticate ({ documentName, token, context, connectionConfig }) {
    const sock = context.sock
    try {
      const match = DOC_NAME.exec(documentName)
      if (!match) throw new Refusal(CLOSE.not_found, 'no such room')
      const [, room, kind] = match
      const policy = await this.policy(room)
      if (!policy) throw new Refusal(CLOSE.not_found, 'no such room')
      const hash = sha256(token ?? '')
      const role = sameHex(hash, policy.host) ? 'host' : sameHex(hash, policy.guest) ? 'guest' : null
      if (!role) throw new Refusal(CLOSE.invalid_token, 'invalid token')
      if (policy.banned.includes(sock.pid)) throw new Refusal(CLOSE.removed, 'removed by the host')
      connectionConfig.readOnly = true // the kernel writes the documents (see the top of this file)
      sock.docs.set(documentName, { room, kind, role, hash })
      return { room, kind, role }
    } catch (e) {
      if (e instanceof Refusal) setImmediate(() => this.closeSocket(sock, e.code, e.reason))
      throw e
    }
  }

  async policy (room) {
    while (!this.policies.has(room)) {
      const epoch = this.epoch
      const text = await this.pub.get(`jsrelay:policy:${room}`)
      if (epoch !== this.epoch) continue // a policy or an end arrived meanwhile: read again
      if (!text) return null
      this.policies.set(room, JSON.parse(text))
    }
    return this.policies.get(room)
  }

  joined ({ documentName, context }) {
    const doc = context.sock.docs.get(documentName)
    if (!doc) return
    // The share ended while this page was being let in (its docs were not set yet then).
    if (!this.policies.has(doc.room)) return this.closeSocket(context.sock, CLOSE.going_away, 'share stopped')
    this.toKernel(doc.room, this.joinHeader(context.sock, doc))
  }

  joinHeader (sock, doc) {
    return { op: 'join', sid: sock.id, doc: doc.kind, role: doc.role, pid: sock.pid }
  }

  left ({ documentName, context }) {
    const doc = context.sock?.docs.get(documentName)
    if (!doc) return
    context.sock.docs.delete(documentName)
    this.toKernel(doc.room, { op: 'leave', sid: context.sock.id, doc: doc.kind })
  }

  /** A page's document write: to the kernel, never into the relay's document (read-only). */
  async forwardSync ({ documentName, context, type, payload }) {
    if (type !== SYNC_STEP2 && type !== SYNC_UPDATE) return
    const doc = context.sock.docs.get(documentName)
    if (!doc || payload.length <= 2) return // nothing written (an empty update is 2 bytes)
    if (doc.kind === 'control' && doc.role !== 'host') return // guests never write control
    const policy = this.policies.get(doc.room)
    if (doc.kind === 'board' && doc.role === 'guest' && policy?.viewOnly) return // resynced later
    this.toKernel(doc.room, { op: 'sync', sid: context.sock.id, doc: doc.kind, type }, payload)
  }

  /** Before a page's awareness fans out: documented fields only, a guest's role is "guest",
   * a client id speaks for the socket that announced it. Control has no awareness. */
  checkAwareness ({ documentName, context, states }) {
    if (!context?.sock) return // from another instance (checked there) or the relay itself
    const doc = context.sock.docs.get(documentName)
    if (!doc || doc.kind === 'control') { states.clear(); return }
    for (const [clientId, state] of [...states]) {
      const key = `${documentName}#${clientId}`
      const owner = this.owners.get(key)
      if (owner !== undefined && owner !== context.sock.id) { states.delete(clientId); continue }
      const refusal = awarenessRefusal(state)
      if (refusal) {
        this.closeSocket(context.sock, CLOSE.bad_frame, refusal)
        throw new Refusal(CLOSE.bad_frame, refusal)
      }
      if (doc.role !== 'host' && state.user && state.user.role !== undefined) state.user.role = 'guest'
      // The host's reactions switch (the kernel's policy), else the socket's reaction budget.
      if (this.policies.get(doc.room)?.reactions === false) stripReactions(state)
      else context.sock.gate.admit(clientId, state)
      enforceColor(state, doc.role, context.sock.colors.get(documentName), PALETTE)
      this.owners.set(key, context.sock.id)
    }
  }

  forwardAwareness ({ documentName, awareness, added, updated, removed, connection }) {
    const sock = connection?.context?.sock
    const doc = sock?.docs.get(documentName)
    if (!doc || doc.kind !== 'board') return
    const changed = added.concat(updated, removed)
    if (!changed.length) return
    const update = encodeAwarenessUpdate(awareness, changed)
    this.toKernel(doc.room, { op: 'awareness', sid: sock.id, doc: 'board' }, update)
  }

  // -- the kernel's link ---------------------------------------------------------------------

  kernelAllowed (authorization) {
    const given = /^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? ''
    return sameHex(sha256(given), this.secretHash)
  }

  acceptKernel (ws) {
    const link = { ws, room: null, direct: null, chain: Promise.resolve(), alive: true }
    ws.on('pong', () => { link.alive = true })
    ws.on('message', (data) => {
      // One at a time, in order: a document write must not overtake the hello that opens it.
      link.chain = link.chain.then(() => this.fromKernel(link, data)).catch((e) => {
        this.log.error('relay: closing a kernel link:', e.message)
        ws.close(CLOSE.bad_frame, 'bad kernel frame')
      })
    })
    ws.on('close', () => { link.chain = link.chain.then(() => this.dropKernel(link)) })
  }

  async fromKernel (link, data) {
    const { header, payload } = decodeFrame(data)
    if (header.op === 'hello') return this.hello(link, header)
    if (!link.room) throw new Error('no hello yet')
    if (header.op === 'policy') return this.setPolicy(link.room, header.policy)
    if (header.op === 'end') return this.endRoom(link.room)
    if (header.op === 'update') {
      const direct = link.direct[header.doc]
      if (!direct) throw new Error('unknown document')
      return direct.transact((doc) => Y.applyUpdate(doc, payload))
    }
    if (header.op === 'send' || header.op === 'close') {
      const instance = String(header.sid).split('-')[0]
      return this.pub.publish(`jsrelay:inst:${instance}`, Buffer.from(encodeFrame(header, payload)))
    }
    throw new Error(`unknown op ${header.op}`)
  }

  async hello (link, { room, policy, board, control }) {
    if (link.room || !DOC_NAME.test(`${room}/board`)) throw new Error('bad hello')
    link.room = room
    this.kernels.get(room)?.ws.close(CLOSE.going_away, 'another kernel linked this room')
    this.kernels.set(room, link)
    await this.sub.subscribe(`jsrelay:kernel:${room}`)
    await this.setPolicy(room, policy)
    link.direct = {
      board: await this.hocuspocus.openDirectConnection(`${room}/board`, { kernel: true }),
      control: await this.hocuspocus.openDirectConnection(`${room}/control`, { kernel: true }),
    }
    // What the relay holds beyond the kernel's state vectors (kept by pages while the kernel
    // was away): the kernel checks it like a page's write.
    const vectors = { board, control }
    for (const kind of ['board', 'control']) {
      const vector = new Uint8Array(Buffer.from(String(vectors[kind] ?? ''), 'base64'))
      const state = Y.encodeStateAsUpdate(link.direct[kind].document, vector.length ? vector : undefined)
      link.ws.send(encodeFrame({ op: 'state', doc: kind }, state))
    }
    await this.pub.publish('jsrelay:all', Buffer.from(encodeFrame({ op: 'roll', room })))
  }

  async dropKernel (link) {
    if (!link.room || this.kernels.get(link.room) !== link) return
    this.kernels.delete(link.room)
    await this.sub.unsubscribe(`jsrelay:kernel:${link.room}`)
    for (const direct of Object.values(link.direct ?? {})) await direct.disconnect()
  }

  async setPolicy (room, policy) {
    const clean = {
      guest: String(policy.guest), host: String(policy.host),
      banned: Array.isArray(policy.banned) ? policy.banned.map(String) : [],
      viewOnly: policy.viewOnly === true,
      reactions: policy.reactions !== false, // the host's switch (collab/reactions.py)
    }
    await this.pub.set(`jsrelay:policy:${room}`, JSON.stringify(clean), 'EX', this.policyTtl)
    await this.pub.publish('jsrelay:all', Buffer.from(encodeFrame({ op: 'policy', room, policy: clean })))
  }

  /** The share stopped (the kernel's `end`): its policy goes, so no instance lets a page in
   * (4404), and every instance closes the room's pages with going_away. */
  async endRoom (room) {
    await this.pub.del(`jsrelay:policy:${room}`)
    await this.pub.publish('jsrelay:all', Buffer.from(encodeFrame({ op: 'end', room })))
  }

  endLocal (room) {
    this.epoch++
    this.policies.delete(room)
    for (const sock of [...this.sockets.values()]) {
      if ([...sock.docs.values()].some((doc) => doc.room === room)) this.closeSocket(sock, CLOSE.going_away, 'share stopped')
    }
  }

  /** Every tenth of the TTL: the linked kernels' policies are refreshed (a kernel that stopped
   * answering pings is dropped first), and rooms whose policy expired end here too. */
  async tick () {
    for (const [room, link] of this.kernels) {
      if (!link.alive) { link.ws.terminate(); continue }
      link.alive = false
      try { link.ws.ping() } catch { continue } // closing already: its close drops it
      await this.pub.expire(`jsrelay:policy:${room}`, this.policyTtl)
    }
    for (const room of [...this.policies.keys()]) {
      const epoch = this.epoch
      const exists = await this.pub.exists(`jsrelay:policy:${room}`)
      if (!exists && epoch === this.epoch && this.policies.has(room)) this.endLocal(room)
    }
  }

  toKernel (room, header, payload) {
    const link = this.kernels.get(room)
    const frame = encodeFrame(header, payload)
    if (link) link.ws.send(frame) // connected here: no detour through Redis
    else this.pub.publish(`jsrelay:kernel:${room}`, Buffer.from(frame))
  }

  // -- Redis channels ------------------------------------------------------------------------

  onChannel (channel, data) {
    let frame
    try { frame = decodeFrame(data) } catch { return }
    const { header, payload } = frame
    if (channel.startsWith('jsrelay:kernel:')) {
      this.kernels.get(channel.slice('jsrelay:kernel:'.length))?.ws.send(data)
    } else if (header.op === 'policy') {
      this.epoch++
      this.enforce(header.room, header.policy)
    } else if (header.op === 'end') {
      this.endLocal(header.room)
    } else if (header.op === 'roll') {
      this.answerRollCall(header.room)
    } else if (header.op === 'send' || header.op === 'close') {
      this.toSocket(header, payload)
    }
  }

  /** A new policy: sockets whose token no longer grants their role, or whose browser is banned,
   * go at once, on every instance. */
  enforce (room, policy) {
    this.policies.set(room, policy)
    if (policy.reactions === false) this.stripHeld(room)
    for (const sock of this.sockets.values()) {
      for (const doc of sock.docs.values()) {
        if (doc.room !== room) continue
        if (policy.banned.includes(sock.pid)) this.closeSocket(sock, CLOSE.removed, 'removed by the host')
        else if (!sameHex(doc.hash, policy[doc.role])) this.closeSocket(sock, CLOSE.invalid_token, 'link rotated')
      }
    }
  }

  /** The reactions switch went off: the states this instance holds lose react/hand/chat (a
   * raised hand must not stay up), each with the next clock, as the share server does
   * (collab/room.py set_reactions). Only states of this instance's own sockets: each instance
   * strips its own, and Redis carries the result to the others. */
  stripHeld (room) {
    const name = `${room}/board`
    const document = this.hocuspocus.documents.get(name)
    if (!document) return
    const meta = document.awareness.meta
    const entries = []
    for (const [clientId, state] of document.awareness.getStates()) {
      if (!this.sockets.has(this.owners.get(`${name}#${clientId}`))) continue
      const bare = { ...state }
      if (stripReactions(bare)) entries.push({ clientId, clock: (meta.get(clientId)?.clock ?? 0) + 1, state: bare })
    }
    if (entries.length) applyAwarenessUpdate(document.awareness, encodeEntries(entries), { source: 'local' })
  }

  /** A kernel (re)linked: tell it who is here, with their presence, so it can ask them for
   * what it lacks and list them. */
  answerRollCall (room) {
    for (const sock of this.sockets.values()) {
      for (const [name, doc] of sock.docs) {
        if (doc.room !== room) continue
        this.toKernel(room, this.joinHeader(sock, doc))
        if (doc.kind !== 'board') continue
        const document = this.hocuspocus.documents.get(name)
        const mine = [...this.owners].filter(([k, id]) => id === sock.id && k.startsWith(`${name}#`))
          .map(([k]) => Number(k.slice(name.length + 1)))
          .filter((cid) => document?.awareness.getStates().has(cid))
        if (document && mine.length) {
          const update = encodeAwarenessUpdate(document.awareness, mine)
          this.toKernel(room, { op: 'awareness', sid: sock.id, doc: 'board' }, update)
        }
      }
    }
  }

  /** The kernel's message for one page's document (a sync request) or its close. */
  toSocket (header, payload) {
    const sock = this.sockets.get(header.sid)
    if (!sock) return
    if (header.op === 'close') return this.closeSocket(sock, Number(header.code), header.reason)
    const name = [...sock.docs].find(([, d]) => d.kind === header.doc)?.[0]
    if (!name) return
    if (header.doc === 'board') this.learnColor(sock, name, payload)
    const encoder = encoding.createEncoder()
    encoding.writeVarString(encoder, name) // Hocuspocus' address; y-websocket's message follows
    encoding.writeUint8Array(encoder, payload)
    sock.ws.send(encoding.toUint8Array(encoder))
  }

  /** The kernel's answer to a page whose state showed another colour: that page's own state,
   * with the assigned colour and the next clock (colors.mjs). Remembered for the socket, and put
   * into the relay's awareness so every page (on every instance, through Redis) sees it at once,
   * not only once the page announces again (a script never does). */
  learnColor (sock, name, payload) {
    const own = awarenessEntries(payload).filter(({ clientId, state }) =>
      state && this.owners.get(`${name}#${clientId}`) === sock.id)
    const color = own.map(({ state }) => state.user?.color)
      .find((c) => c === PALETTE.presenter || PALETTE.guests.includes(c))
    if (!color) return
    sock.colors.set(name, color)
    const document = this.hocuspocus.documents.get(name)
    if (document) applyAwarenessUpdate(document.awareness, encodeEntries(own), { source: 'local' })
  }

  async close () {
    clearInterval(this.ticker)
    await this.hocuspocus.closeConnections?.()
    this.pub.disconnect()
    this.sub.disconnect()
  }
}

export { MAX_MESSAGE }
