// One message between the kernel and the relay, or between relay instances over Redis:
// a JSON header (op and its fields) and an optional binary payload (a Yjs update, a y-websocket
// message). Wire form: lib0 varString(header JSON) + varUint8Array(payload). The kernel side is
// jupyterspot_magic/server/relay.py (encode_frame / decode_frame).

import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

const EMPTY = new Uint8Array(0)

export function encodeFrame (header, payload = EMPTY) {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, JSON.stringify(header))
  encoding.writeVarUint8Array(encoder, payload)
  return encoding.toUint8Array(encoder)
}

/** {header, payload}; throws on anything malformed (the caller drops or closes). */
export function decodeFrame (data) {
  const decoder = decoding.createDecoder(data instanceof Uint8Array ? data : new Uint8Array(data))
  const header = JSON.parse(decoding.readVarString(decoder))
  if (!header || typeof header !== 'object' || typeof header.op !== 'string') throw new Error('bad frame')
  const payload = decoding.hasContent(decoder) ? decoding.readVarUint8Array(decoder) : EMPTY
  return { header, payload }
}
