// The browser's side of a sealed websocket (seal.py, "frames"; ClientSeal there is the same thing
// in Python, byte for byte):
//   frame = seq:u64be || nonce:12 || AES-GCM(key, nonce, message, aad)
//   hello   (down, seq 0)  aad "jsp-e2e/1|" room "|" doc "|hello|" C
//                          body S:16 || floor:u64be || E:16 (the room's epoch in this server)
//   down    (seq > last)   aad "jsp-e2e/1|" room "|" doc "|down|" E seq
//   up      (1, 2, 3...)   aad "jsp-e2e/1|" room "|" doc "|up|" S seq
// C is 16 fresh random bytes per connection, sent as `?e2e=<hex>`; S is the server's. Pure logic,
// synchronous (noble), no DOM: socket.ts drives it, tests and Node clients use it directly.

import {
  aad,
  concat,
  HEADER,
  hex,
  ID_BYTES,
  NONCE_BYTES,
  openSync,
  randomBytes,
  readU64,
  sealSync,
  SealError,
  SEQ_BYTES,
  TAG_BYTES,
  u64,
  type RandomSource,
} from "./aead";

export class ClientFrames {
  readonly clientNonce: Uint8Array;
  private serverNonce: Uint8Array | null = null;
  private epoch = new Uint8Array(0);
  private sent = 0;
  /** The last downlink seq accepted (the hello sets it to the room's floor). */
  private last = -1;

  constructor(
    private readonly key: Uint8Array,
    private readonly room: string,
    private readonly doc: string,
    private readonly random: RandomSource = randomBytes,
  ) {
    this.clientNonce = random(ID_BYTES);
  }

  /** The socket URL's query parameter: `e2e=<32 hex>`. */
  query(): string {
    return `e2e=${hex(this.clientNonce)}`;
  }

  get opened(): boolean {
    return this.serverNonce !== null;
  }

  openHello(frame: Uint8Array): void {
    if (this.serverNonce) throw new SealError("a second hello");
    const body = this.open(frame, 0, aad(this.room, this.doc, "hello", this.clientNonce));
    if (body.length !== 2 * ID_BYTES + SEQ_BYTES) {
      throw new SealError("a hello is S:16 || floor:8 || E:16");
    }
    this.last = readU64(body, ID_BYTES);
    this.epoch = body.slice(ID_BYTES + SEQ_BYTES);
    this.serverNonce = body.slice(0, ID_BYTES);
  }

  /** `message` sealed as this connection's next up frame. */
  up(message: Uint8Array): Uint8Array {
    if (!this.serverNonce) throw new SealError("the hello comes first");
    this.sent += 1;
    const seq = u64(this.sent);
    const nonce = this.random(NONCE_BYTES);
    const ad = aad(this.room, this.doc, "up", concat(this.serverNonce, seq));
    return concat(seq, nonce, sealSync(this.key, nonce, message, ad));
  }

  /** The message inside a down frame; SealError when tampered, replayed, out of order. */
  down(frame: Uint8Array): Uint8Array {
    if (!this.serverNonce) throw new SealError("the hello comes first");
    if (frame.length < HEADER + TAG_BYTES) throw new SealError("a sealed frame is at least 36 bytes");
    const seq = readU64(frame);
    if (seq <= this.last) throw new SealError("frame out of order or replayed");
    const ad = aad(this.room, this.doc, "down", concat(this.epoch, frame.subarray(0, 8)));
    const message = this.open(frame, seq, ad);
    this.last = seq;
    return message;
  }

  private open(frame: Uint8Array, seq: number, ad: Uint8Array): Uint8Array {
    if (frame.length < HEADER + TAG_BYTES || readU64(frame) !== seq) {
      throw new SealError("not the frame expected here");
    }
    return openSync(this.key, frame.subarray(SEQ_BYTES, HEADER), frame.subarray(HEADER), ad);
  }
}
