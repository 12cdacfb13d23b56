// Shared by the e2e-*.test.ts files: Python's seal.py as an oracle (js/test/e2e_seal.py, one
// command per process), hex helpers, and a TS stand-in for the server's side of the sealed
// socket protocol (RoomSeal + ConnectionSeal), so socket.ts can be driven without a server. The
// stand-in's bytes are checked against Python's ClientSeal in e2e-frames.test.ts.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  aad,
  concat,
  HEADER,
  ID_BYTES,
  NONCE_BYTES,
  openSync,
  randomBytes,
  readU64,
  sealSync,
  SealError,
  SEQ_BYTES,
  u64,
} from "../viewer/e2e/aead";

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "e2e_seal.py");

/** A fixed share key (the tests check round trips, so any 32 bytes do). */
export const KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + 3) & 0xff);
export const ROOM = "r0Om-x_9";

export const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
export const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

let interpreter = "";

/** Run seal.py commands (e2e_seal.py's OPS: {op, ...args}) in one Python process; their answers. */
export function pythonAll(commands: Record<string, unknown>[]): unknown[] {
  // The real interpreter, once: version-manager shims cost a shell per call. `python` first:
  // the one CI (.ci/run) installs the package into; $PYTHON overrides.
  const which = ["-c", "import sys; print(sys.executable)"];
  for (const name of process.env.PYTHON ? [process.env.PYTHON] : ["python", "python3"]) {
    if (interpreter) break;
    const found = spawnSync(name, which, { encoding: "utf8" });
    if (found.status === 0) interpreter = found.stdout.trim();
  }
  const input = JSON.stringify(commands);
  const opts = { input, encoding: "utf8", maxBuffer: 1 << 28 } as const;
  const run = spawnSync(interpreter.trim(), [SCRIPT], opts);
  if (run.status !== 0) throw new Error(`e2e_seal.py failed: ${run.stderr || run.error}`);
  return JSON.parse(run.stdout) as unknown[];
}

/** One seal.py command and its answer. */
export function python<T>(op: string, args: Record<string, unknown>): T {
  return pythonAll([{ op, ...args }])[0] as T;
}

/** The server's side of one room's sealed sockets, as seal.py's RoomSeal/ConnectionSeal. */
export class TestRoom {
  sent = 0;
  readonly epoch = randomBytes(ID_BYTES);

  constructor(
    readonly key: Uint8Array,
    readonly room: string,
    readonly doc: string,
  ) {}

  down(message: Uint8Array): Uint8Array {
    this.sent += 1;
    const seq = u64(this.sent);
    const nonce = randomBytes(NONCE_BYTES);
    const ad = aad(this.room, this.doc, "down", concat(this.epoch, seq));
    return concat(seq, nonce, sealSync(this.key, nonce, message, ad));
  }

  connection(clientNonce: Uint8Array): TestConnection {
    return new TestConnection(this, clientNonce);
  }
}

export class TestConnection {
  readonly serverNonce = randomBytes(ID_BYTES);
  received = 0;

  constructor(
    readonly room: TestRoom,
    readonly clientNonce: Uint8Array,
  ) {}

  hello(): Uint8Array {
    const r = this.room;
    const nonce = randomBytes(NONCE_BYTES);
    const body = concat(this.serverNonce, u64(r.sent), r.epoch);
    const ad = aad(r.room, r.doc, "hello", this.clientNonce);
    return concat(u64(0), nonce, sealSync(r.key, nonce, body, ad));
  }

  open(frame: Uint8Array): Uint8Array {
    const seq = readU64(frame);
    if (seq !== this.received + 1) throw new SealError("frame out of order or replayed");
    const r = this.room;
    const ad = aad(r.room, r.doc, "up", concat(this.serverNonce, frame.subarray(0, SEQ_BYTES)));
    const message = openSync(r.key, frame.subarray(SEQ_BYTES, HEADER), frame.subarray(HEADER), ad);
    this.received = seq;
    return message;
  }
}

/** The e2e= query parameter of a socket URL, as bytes. */
export function clientNonceOf(url: string): Uint8Array {
  const c = new URL(url).searchParams.get("e2e");
  if (!c || !/^[0-9a-f]{32}$/.test(c)) throw new Error(`no e2e=<32 hex> in ${url}`);
  return fromHex(c);
}

/** A copy with one bit flipped at `at` (negative: from the end). */
export function flip(bytes: Uint8Array, at: number): Uint8Array {
  const out = bytes.slice();
  out[at < 0 ? out.length + at : at] ^= 0x01;
  return out;
}
