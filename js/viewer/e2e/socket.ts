// A WebSocket that speaks the sealed protocol of an encrypted share (seal.py, "frames"), for
// y-websocket's `WebSocketPolyfill` option: y-websocket keeps speaking plain Yjs messages and
// this class seals what it sends and opens what it receives.
//
//   const SealedWS = sealedWebSocket(key, room, doc, BaseWS);
//   new WebsocketProvider(wsBase, "board", ydoc, { WebSocketPolyfill: SealedWS, ... });
//
// key: the share's 32 bytes (key.ts reads them from the link's `#k=`); room: the share's room id
// (page config `room`); doc: "board" or "control", or null to take it from the socket URL's last
// path segment (what WebsocketProvider puts there); BaseWS: the WebSocket class underneath,
// the browser's by default. Node clients pass the `ws` package's class and build this file with
// esbuild (`esbuild js/viewer/e2e/socket.ts --bundle --format=esm --platform=node`); it needs
// no DOM, only globalThis.crypto.getRandomValues (Node >= 19).
//
// Per connection: a fresh C goes into the URL as `e2e=<32 hex>`; onopen fires only once the
// server's hello (seq 0) opened, so y-websocket's first sync step already goes out sealed. Every
// send is an up frame (seq 1, 2, 3...), every received message a down frame (seq strictly
// increasing above the hello's floor), delivered as {data: ArrayBuffer}. Anything that does not
// open (tampered, replayed, out of order, for another connection, not binary) ends the socket at
// once with bad_frame (4500, retried with backoff), as the server does with a bad up frame;
// y-websocket then connects again with a new C.
//
// y-websocket 3.1.0 (node_modules/y-websocket/src/y-websocket.js) uses exactly: the constructor
// (url, protocols), binaryType, onopen, onmessage, onerror, onclose, send, close, readyState and
// the instance's OPEN; tests read `url`. bench/e2e_fanout.mjs also times ClientFrames' up/down
// (re-exported here) and overrides received(data) to skip opening: keep those names.

import { SealError } from "./aead";
import { ClientFrames } from "./frames";

export { ClientFrames };

/** What this class needs of the socket underneath (the browser's WebSocket, `ws` in Node). */
export interface BaseSocket {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount?: number;
  readonly protocol?: string;
  readonly extensions?: string;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: CloseLike) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type BaseSocketClass = new (url: string, protocols?: string | string[]) => BaseSocket;

export interface CloseLike {
  code: number;
  reason: string;
  wasClean?: boolean;
}

/** seal.py's bad_frame (jupyterspot_magic/contracts/close_codes.json): retried with backoff. */
export const BAD_FRAME = 4500;

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

function bytesOf(data: unknown): Uint8Array | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return null; // text or a Blob: never a sealed frame (binaryType is always "arraybuffer")
}

/** An ArrayBuffer holding exactly `bytes` (MessageEvent.data with binaryType "arraybuffer"). */
function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  const { buffer, byteOffset, byteLength } = bytes;
  if (buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength) {
    return buffer;
  }
  return bytes.slice().buffer as ArrayBuffer;
}

function docOf(url: string): string {
  const path = url.split("?", 1)[0].replace(/\/+$/, "");
  return decodeURIComponent(path.slice(path.lastIndexOf("/") + 1));
}

interface SealedOptions {
  key: Uint8Array;
  room: string;
  doc: string | null;
  Base: BaseSocketClass;
}

export class SealedSocket {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSING = CLOSING;
  readonly CLOSED = CLOSED;

  /** The URL actually opened (with `e2e=`). */
  readonly url: string;
  /** Always delivered as ArrayBuffer, whatever is set here (y-websocket sets "arraybuffer"). */
  binaryType = "arraybuffer";
  onopen: ((event: { type: string }) => void) | null = null;
  onmessage: ((event: { type: string; data: ArrayBuffer }) => void) | null = null;
  onclose: ((event: CloseLike) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  private state = CONNECTING;
  private readonly frames: ClientFrames;
  private readonly base: BaseSocket;

  constructor(o: SealedOptions, url: string | URL, protocols?: string | string[]) {
    const href = String(url);
    this.frames = new ClientFrames(o.key, o.room, o.doc ?? docOf(href));
    this.url = `${href}${href.includes("?") ? "&" : "?"}${this.frames.query()}`;
    this.base = new o.Base(this.url, protocols);
    this.base.binaryType = "arraybuffer";
    this.base.onmessage = (event) => this.received(event.data);
    this.base.onerror = (event) => {
      if (this.state !== CLOSED) this.onerror?.(event);
    };
    this.base.onclose = (event) => this.ended(event);
    // base.onopen: nothing yet, this socket is open once the hello has come.
  }

  get readyState(): number {
    return this.state;
  }

  get bufferedAmount(): number {
    return this.base.bufferedAmount ?? 0;
  }

  get protocol(): string {
    return this.base.protocol ?? "";
  }

  get extensions(): string {
    return this.base.extensions ?? "";
  }

  send(data: Uint8Array | ArrayBuffer | ArrayBufferView | string): void {
    if (this.state === CONNECTING) throw new Error("SealedSocket: send before open");
    if (this.state !== OPEN) return; // like a closing WebSocket: dropped
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : bytesOf(data);
    if (!bytes) throw new TypeError("SealedSocket: send() takes bytes");
    this.base.send(this.frames.up(bytes));
  }

  close(code?: number, reason?: string): void {
    if (this.state === CLOSING || this.state === CLOSED) return;
    this.state = CLOSING;
    this.base.close(code, reason);
  }

  private received(data: unknown): void {
    if (this.state !== CONNECTING && this.state !== OPEN) return;
    const frame = bytesOf(data);
    try {
      if (!frame) throw new SealError("a text message on a sealed socket");
      if (!this.frames.opened) {
        this.frames.openHello(frame);
        this.state = OPEN;
        this.onopen?.({ type: "open" });
        return;
      }
      const message = this.frames.down(frame);
      this.onmessage?.({ type: "message", data: exactBuffer(message) });
    } catch (err) {
      if (!(err instanceof SealError)) throw err; // a bug in a handler, not a bad frame
      this.fail(err);
    }
  }

  /** A frame that does not open: end this connection now (the server may not agree to close
   * quickly; y-websocket must not wait for it) and report it as bad_frame. */
  private fail(err: SealError): void {
    console.warn("jupyterspot: dropping a sealed socket:", err.message);
    this.state = CLOSED;
    const base = this.base;
    base.onmessage = null;
    base.onclose = null;
    base.onerror = () => undefined; // Node's `ws` rethrows error events nobody listens to
    try {
      base.close(BAD_FRAME, "bad frame");
    } catch {
      // already closing
    }
    this.onclose?.({ code: BAD_FRAME, reason: "bad frame", wasClean: false });
  }

  private ended(event: CloseLike): void {
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    this.onclose?.(event);
  }
}

/** A WebSocket class sealed with `key` for `room`'s `doc` (null: the URL's last segment). */
export function sealedWebSocket(
  key: Uint8Array,
  room: string,
  doc: string | null = null,
  Base: BaseSocketClass = globalThis.WebSocket as unknown as BaseSocketClass,
): new (url: string | URL, protocols?: string | string[]) => SealedSocket {
  const o: SealedOptions = { key, room, doc, Base };
  return class extends SealedSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(o, url, protocols);
    }
  };
}
