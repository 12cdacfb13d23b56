// AES-256-GCM as jupyterspot_magic/collab/seal.py uses it (that file's docstring is the wire
// format): the additional data (AAD) strings, big-endian u64 sequence numbers, and the cipher
// itself. @noble/ciphers works synchronously and outside secure contexts (a LAN http:// page has
// no crypto.subtle), which websocket frames need: y-websocket sends and reads them in order,
// synchronously. Large blobs use WebCrypto when the page has it (native speed for a 20 MB page);
// both give the same bytes.

import { gcm } from "@noble/ciphers/aes.js";

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** C (chosen by the browser per socket) and S (by the server). */
export const ID_BYTES = 16;
export const SEQ_BYTES = 8;
/** seq:8 || nonce:12, before the ciphertext of a frame. */
export const HEADER = SEQ_BYTES + NONCE_BYTES;
const PREFIX = "jsp-e2e/1|";

const utf8 = new TextEncoder();

/** A frame or blob that does not open: tampered, replayed, out of order or for elsewhere. */
export class SealError extends Error {
  override name = "SealError";
}

/** Where random bytes come from (tests inject a fixed source to compare bytes with Python). */
export type RandomSource = (n: number) => Uint8Array;

/** crypto.getRandomValues exists outside secure contexts too (unlike crypto.subtle). */
export const randomBytes: RandomSource = (n) => crypto.getRandomValues(new Uint8Array(n));

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** "jsp-e2e/1|" room "|" part "|" part ...: seal.py's _aad (text parts as UTF-8). */
export function aad(room: string, ...parts: (string | Uint8Array)[]): Uint8Array {
  const bytes = parts.map((p) => (typeof p === "string" ? utf8.encode(p) : p));
  const bar = utf8.encode("|");
  const joined: Uint8Array[] = [utf8.encode(PREFIX + room + "|")];
  bytes.forEach((p, i) => joined.push(...(i ? [bar, p] : [p])));
  return concat(...joined);
}

export function u64(n: number): Uint8Array {
  const out = new Uint8Array(SEQ_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(n / 2 ** 32));
  view.setUint32(4, n >>> 0);
  return out;
}

/** The big-endian u64 at `at`; beyond 2^53 (never sent: a counter starts at 0) is an error. */
export function readU64(bytes: Uint8Array, at = 0): number {
  if (bytes.length < at + SEQ_BYTES) throw new SealError("too short for a sequence number");
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, SEQ_BYTES);
  const hi = view.getUint32(0);
  if (hi > 0x1fffff) throw new SealError("sequence number out of range");
  return hi * 2 ** 32 + view.getUint32(4);
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** ciphertext || tag of `message` (noble: synchronous). */
export function sealSync(
  key: Uint8Array,
  nonce: Uint8Array,
  message: Uint8Array,
  ad: Uint8Array,
): Uint8Array {
  return gcm(key, nonce, ad).encrypt(message);
}

/** The message inside ciphertext || tag; SealError if it does not open. */
export function openSync(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad: Uint8Array,
): Uint8Array {
  try {
    return gcm(key, nonce, ad).decrypt(sealed);
  } catch (err) {
    throw new SealError(`does not open with the share's key (${String(err)})`);
  }
}

/** The bytes over a plain ArrayBuffer, as WebCrypto's BufferSource asks (copied only when
 * they sit in a SharedArrayBuffer). */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? (bytes as Uint8Array<ArrayBuffer>)
    : new Uint8Array(bytes);
}

/** openSync, but through WebCrypto when the page has it (secure contexts, Node): much faster
 * for megabytes. Same result, same SealError. (`subtle`: tests pass null for the noble path.) */
export async function openAsync(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad: Uint8Array,
  subtle: SubtleCrypto | null | undefined = globalThis.crypto?.subtle,
): Promise<Uint8Array> {
  if (subtle) {
    try {
      const k = await subtle.importKey("raw", own(key), "AES-GCM", false, ["decrypt"]);
      const params = { name: "AES-GCM", iv: own(nonce), additionalData: own(ad), tagLength: 128 };
      return new Uint8Array(await subtle.decrypt(params, k, own(sealed)));
    } catch (err) {
      // OperationError is WebCrypto's "the tag does not match"; anything else (a browser that
      // refuses the call) falls back to noble, which gives the same answer.
      if ((err as { name?: string } | null)?.name === "OperationError") {
        throw new SealError("does not open with the share's key");
      }
    }
  }
  return openSync(key, nonce, sealed, ad);
}
