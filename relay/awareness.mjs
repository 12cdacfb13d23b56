// The awareness schema, as the share server enforces it (jupyterspot_magic/collab/schema.py,
// AWARENESS_FIELDS; docs/protocol.md, "Awareness state of each client"). Awareness fans out on the
// relay without a round trip through the kernel, so the relay checks it itself: a state this
// refuses closes its sender, as on the share server. tests/test_relay_awareness.py runs the same
// samples through both checks so they cannot drift.

export const MAX_STATE = 4 * 1024 // characters of JSON, like collab/room.py's MAX_STATE
const COORD = 1e7
const BIG = 2 ** 53
// A reaction's or chat line's seq: a safe integer, so a number JSON.parse rounds (2^53 + 1
// reads as 2^53) is refused here as Python refuses it (schema.py SEQ_MAX).
const SEQ_MAX = Number.MAX_SAFE_INTEGER

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v)
const only = (v, keys) => Object.keys(v).every((k) => keys.includes(k))
const text = (v, max) => typeof v === 'string' && v.length <= max
const number = (v, lo, hi) => typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi
const integer = (v, lo, hi) => number(v, lo, hi) && Number.isInteger(v)
const absent = (v) => v === undefined || v === null

const anchor = (v) => v === null || (isObject(v) && only(v, ['cell', 'x', 'y']) &&
  text(v.cell, 200) && number(v.x, -COORD, COORD) && number(v.y, -COORD, COORD))

const user = (v) => isObject(v) && only(v, ['name', 'color', 'role']) &&
  (absent(v.name) || text(v.name, 100)) &&
  (absent(v.color) || text(v.color, 32)) &&
  (v.role === undefined || v.role === 'guest' || v.role === 'host')

const scroll = (v) => v === null || (isObject(v) && only(v, ['cell', 'offset', 'index', 'count']) &&
  text(v.cell, 200) && number(v.offset, -COORD, COORD) &&
  (absent(v.index) || integer(v.index, 0, 1e6)) && (absent(v.count) || integer(v.count, 0, 1e6)))

const leadRequest = (v) => isObject(v) && only(v, ['seq', 'op', 'to']) &&
  integer(v.seq, 0, BIG) && ['take', 'release', 'hand'].includes(v.op) &&
  (absent(v.to) || integer(v.to, 0, BIG))

// Issue 18's meeting tools (schema.py REACTIONS, CHAT_TEXT). A chat line's bound is in code
// points, as Python's len() counts them (an emoji is one, not two UTF-16 units).
const REACTIONS = ['up', 'what', 'look', 'yay', 'hand']
const points = (v, max) => typeof v === 'string' && [...v].length <= max

const react = (v) => v === null || (isObject(v) && only(v, ['n', 'seq', 'cell', 'x', 'y']) &&
  REACTIONS.includes(v.n) && integer(v.seq, 0, SEQ_MAX) && points(v.cell, 200) &&
  number(v.x, -COORD, COORD) && number(v.y, -COORD, COORD))

const chat = (v) => v === null || (isObject(v) && only(v, ['text', 'seq']) &&
  points(v.text, 60) && integer(v.seq, 0, SEQ_MAX))

const FIELDS = {
  user,
  cursor: anchor,
  laser: anchor,
  scroll,
  following: (v) => v === null || integer(v, 0, BIG),
  leadRequest,
  react,
  hand: (v) => typeof v === 'boolean',
  chat,
}

/** Why `state` (a parsed awareness state) may not be relayed, or null when it may. */
export function awarenessRefusal (state) {
  if (!isObject(state)) return 'awareness state is not an object'
  if (JSON.stringify(state).length > MAX_STATE) return 'awareness state too large'
  for (const [key, value] of Object.entries(state)) {
    const check = FIELDS[key]
    if (!check) return `unknown awareness field ${JSON.stringify(key.slice(0, 40))}`
    if (!check(value)) return `awareness field ${JSON.stringify(key)} out of bounds`
  }
  return null
}

// The host's `reactions` switch covers these (collab/reactions.py FIELDS); the kernel tells the
// relay the switch in its policy (relay.mjs setPolicy), and while it is off they are stripped.
export const SWITCHED = ['react', 'hand', 'chat']

/** `state` (parsed) without react/hand/chat, in place; whether it had any. */
export function stripReactions (state) {
  const had = SWITCHED.some((k) => k in state)
  for (const k of SWITCHED) delete state[k]
  return had
}

// New reactions / chat lines a second per socket, and the burst (collab/reactions.py RATES,
// held equal by tests/unit/test_relay_awareness.py).
export const RATES = { react: [4, 8], chat: [1, 3] }

/** One socket's budget for new reactions and chat lines, shared by its client ids, as the share
 * server's (collab/reactions.py Gate): a new seq takes a token; a seq seen before keeps its
 * decision; over budget the field is removed from the state (the socket stays). `bucket(rate,
 * burst)` makes a token bucket with `take()`. */
export class ReactionGate {
  constructor (bucket) {
    this.buckets = Object.fromEntries(Object.entries(RATES).map(([k, [r, b]]) => [k, bucket(r, b)]))
    this.seen = new Map() // "<client id>/<field>" -> [seq, relayed]
  }

  /** Strip from `state` (parsed, checked) what is over budget, in place. */
  admit (clientId, state) {
    for (const field of Object.keys(this.buckets)) {
      const value = state[field]
      if (!isObject(value)) continue
      const key = `${clientId}/${field}`
      const known = this.seen.get(key)
      let relayed
      if (known && known[0] === value.seq) relayed = known[1]
      else {
        relayed = this.buckets[field].take()
        this.seen.set(key, [value.seq, relayed])
      }
      if (!relayed) delete state[field]
    }
  }
}
