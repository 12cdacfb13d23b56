// Presence colours on the relay (docs/protocol.md, "Colours"). The share's kernel assigns them
// (jupyterspot_magic/collab/colors.py: one slot per page socket by join order, the presenter's
// slot for hosts only), because it alone sees every page on every relay instance: a table per
// instance would give two guests on two instances the same colour. The kernel answers a page whose
// state shows another colour with that page's own state, the right colour and the next clock
// (collab/room.py `_send_corrections`); the relay reads that answer on its way to the page,
// remembers the colour for the socket, and from then on rewrites every state the socket sends.
// Until the kernel's answer has come (a round trip), a guest's colour that is not a guest colour
// of the palette (the presenter's, or anything else) is dropped, a host's is the presenter's.
import { readFileSync } from 'node:fs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

export function loadPalette (contracts) {
  const spec = JSON.parse(readFileSync(`${contracts}/colors.json`, 'utf8'))
  const presenter = spec.palette[spec.presenterSlot]
  return { presenter, guests: spec.palette.filter((_c, i) => i !== spec.presenterSlot) }
}

/** Rewrite `state.user.color` (a parsed state, in place): `assigned` is the kernel's colour for
 * this socket, or undefined while it has not answered. */
export function enforceColor (state, role, assigned, palette) {
  const user = state?.user
  if (!user || typeof user !== 'object') return
  if (assigned) user.color = assigned
  else if (role === 'host') user.color = palette.presenter
  else if (!palette.guests.includes(user.color)) delete user.color
}

/** The entries of a y-websocket awareness message (type 1, then the update), else []. */
export function awarenessEntries (message) {
  try {
    const decoder = decoding.createDecoder(message)
    if (decoding.readVarUint(decoder) !== 1) return []
    const update = decoding.createDecoder(decoding.readVarUint8Array(decoder))
    const entries = []
    for (let n = decoding.readVarUint(update); n > 0; n--) {
      const clientId = decoding.readVarUint(update)
      const clock = decoding.readVarUint(update)
      entries.push({ clientId, clock, state: JSON.parse(decoding.readVarString(update)) })
    }
    return entries
  } catch {
    return []
  }
}

/** An awareness update (y-protocols' encoding) of these entries. */
export function encodeEntries (entries) {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, entries.length)
  for (const { clientId, clock, state } of entries) {
    encoding.writeVarUint(encoder, clientId)
    encoding.writeVarUint(encoder, clock)
    encoding.writeVarString(encoder, JSON.stringify(state))
  }
  return encoding.toUint8Array(encoder)
}
