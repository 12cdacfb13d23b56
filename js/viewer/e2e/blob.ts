// Sealed HTTP bodies (seal.py, "blobs"): the page, changed cells and the export of an encrypted
// share arrive as nonce:12 || AES-GCM(key, nonce, gzip(body), "jsp-e2e/1|" room "|" kind).
// Opening one decrypts (WebCrypto when there, else noble) and then gunzips in the browser's own
// DecompressionStream.

import { aad, NONCE_BYTES, openAsync, randomBytes, sealSync, SealError, TAG_BYTES } from "./aead";

export type BlobKind = "page" | "cells" | "export";

async function through(bytes: Uint8Array, stream: GenericTransformStream): Promise<Uint8Array> {
  const piped = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(piped).arrayBuffer());
}

export function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  return through(bytes, new DecompressionStream("gzip"));
}

export function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  return through(bytes, new CompressionStream("gzip"));
}

/** The body inside a blob; SealError when it does not open (wrong key, tampered, other kind). */
export async function openBlob(
  key: Uint8Array,
  room: string,
  kind: BlobKind,
  blob: Uint8Array,
): Promise<Uint8Array> {
  return gunzip(await openNonced(key, blob, aad(room, kind)));
}

/** nonce:12 || AES-GCM(...) opened with `ad`: a blob before its gunzip, and a sealed picture. */
export function openNonced(key: Uint8Array, blob: Uint8Array, ad: Uint8Array): Promise<Uint8Array> {
  if (blob.length < NONCE_BYTES + TAG_BYTES) throw new SealError("too short for a sealed body");
  return openAsync(key, blob.subarray(0, NONCE_BYTES), blob.subarray(NONCE_BYTES), ad);
}

export async function openBlobText(
  key: Uint8Array,
  room: string,
  kind: BlobKind,
  blob: Uint8Array,
): Promise<string> {
  return new TextDecoder().decode(await openBlob(key, room, kind, blob));
}

/** A blob as the server seals one (tests and Node clients; the browser only opens them). */
export async function sealBlob(
  key: Uint8Array,
  room: string,
  kind: BlobKind,
  body: Uint8Array,
  random = randomBytes,
): Promise<Uint8Array> {
  const nonce = random(NONCE_BYTES);
  const sealed = sealSync(key, nonce, await gzip(body), aad(room, kind));
  const out = new Uint8Array(NONCE_BYTES + sealed.length);
  out.set(nonce);
  out.set(sealed, NONCE_BYTES);
  return out;
}

/** GET a sealed body at `url` (relative to the page) and open it. */
export async function fetchBlob(
  url: string,
  key: Uint8Array,
  room: string,
  kind: BlobKind,
  init: RequestInit = {},
): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    const res = await fetch(url, init);
    if (!res.ok) throw new HttpError(res.status);
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    throw err instanceof HttpError ? err : new HttpError(0, String(err));
  }
  return openBlob(key, room, kind, bytes);
}

/** A fetch that did not bring the body: `status` 0 when the network failed. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    detail = "",
  ) {
    super(status ? `HTTP ${status}` : `network error ${detail}`.trim());
  }
}
