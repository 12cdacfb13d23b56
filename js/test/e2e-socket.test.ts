// e2e/socket.ts driven through a fake socket underneath (no network): the handshake, sealed
// sends, opened receives, and that anything wrong ends the connection (bad_frame) at once. Last, a
// real y-websocket WebsocketProvider over it: its first sync step goes out sealed, a sealed
// update from the server lands in its document, and a tampered frame makes it reconnect with a
// fresh C.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { randomBytes } from "../viewer/e2e/aead";
import {
  BAD_FRAME,
  sealedWebSocket,
  type BaseSocket,
  type CloseLike,
  type SealedSocket,
} from "../viewer/e2e/socket";
import { clientNonceOf, flip, KEY, ROOM, TestRoom, text, toHex } from "./e2e-helpers";

const URL_BOARD = `ws://127.0.0.1:1/ws/${ROOM}/board?token=t0k&pid=p1`;

/** A socket class recording what it was asked to do; the test plays the server through it. */
function fakeBase() {
  const made: Fake[] = [];
  class Fake implements BaseSocket {
    binaryType = "blob";
    readyState = 0;
    onopen: ((event: unknown) => void) | null = null;
    onmessage: ((event: { data: unknown }) => void) | null = null;
    onclose: ((event: CloseLike) => void) | null = null;
    onerror: ((event: unknown) => void) | null = null;
    sent: Uint8Array[] = [];
    closedWith: [number | undefined, string | undefined] | null = null;

    constructor(
      readonly url: string,
      readonly protocols?: string | string[],
    ) {
      made.push(this);
    }

    send(data: Uint8Array): void {
      assert.equal(this.readyState, 1, "sent on an open socket only");
      this.sent.push(data.slice());
    }

    close(code?: number, reason?: string): void {
      this.closedWith = [code, reason];
      this.readyState = 2;
    }

    // The server's side.
    open(): void {
      this.readyState = 1;
      this.onopen?.({ type: "open" });
    }

    deliver(data: Uint8Array | string): void {
      this.onmessage?.({ data: typeof data === "string" ? data : data.slice().buffer });
    }

    end(code: number, reason = ""): void {
      this.readyState = 3;
      this.onclose?.({ code, reason, wasClean: true });
    }
  }
  return { Fake, made };
}

/** A sealed socket on a fake, with what it reported. */
function connect(doc: string | null = null, url = URL_BOARD) {
  const { Fake, made } = fakeBase();
  const Sealed = sealedWebSocket(KEY, ROOM, doc, Fake);
  const ws = new Sealed(url);
  const base = made[0];
  const events: string[] = [];
  const received: Uint8Array[] = [];
  const closes: CloseLike[] = [];
  ws.onopen = () => events.push("open");
  ws.onmessage = (e) => {
    assert.ok(e.data instanceof ArrayBuffer);
    received.push(new Uint8Array(e.data));
  };
  ws.onclose = (e) => {
    events.push("close");
    closes.push(e);
  };
  const room = new TestRoom(KEY, ROOM, doc ?? "board");
  return { ws, base, events, received, closes, room };
}

/** connect(), and the server's hello delivered. */
function opened(doc: string | null = null) {
  const c = connect(doc);
  c.room.down(text("to the people before this one")); // the floor is 1
  const conn = c.room.connection(clientNonceOf(c.base.url));
  c.base.open();
  c.base.deliver(conn.hello());
  assert.deepEqual(c.events, ["open"]);
  return { ...c, conn };
}

function assertDropped(c: ReturnType<typeof connect>, ws: SealedSocket): void {
  assert.deepEqual(c.closes, [{ code: BAD_FRAME, reason: "bad frame", wasClean: false }]);
  assert.deepEqual(c.base.closedWith, [BAD_FRAME, "bad frame"]);
  assert.equal(ws.readyState, ws.CLOSED);
}

test("each socket gets a fresh e2e=<32 hex> in its URL; the doc comes from the URL", () => {
  const a = connect();
  const b = connect();
  for (const c of [a, b]) {
    assert.ok(c.base.url.startsWith(`${URL_BOARD}&e2e=`), c.base.url);
    assert.match(c.base.url, /&e2e=[0-9a-f]{32}$/);
    assert.equal(c.ws.url, c.base.url);
    assert.equal(c.base.binaryType, "arraybuffer");
  }
  assert.notEqual(toHex(clientNonceOf(a.base.url)), toHex(clientNonceOf(b.base.url)));
  assert.match(connect(null, "ws://h/ws/r/board").base.url, /\/board\?e2e=[0-9a-f]{32}$/);
  // "control" from the URL: a control room's hello opens, a board room's would not.
  const c = connect(null, URL_BOARD.replace("/board?", "/control?"));
  const control = new TestRoom(KEY, ROOM, "control");
  c.base.open();
  c.base.deliver(control.connection(clientNonceOf(c.base.url)).hello());
  assert.deepEqual(c.events, ["open"]);
});

test("open only once the hello opened; sends before it are refused", () => {
  const c = connect();
  assert.equal(c.ws.readyState, c.ws.CONNECTING);
  c.base.open();
  assert.deepEqual(c.events, [], "the socket underneath is open, the sealed one not yet");
  assert.equal(c.ws.readyState, c.ws.CONNECTING);
  assert.throws(() => c.ws.send(text("early")));
  c.base.deliver(c.room.connection(clientNonceOf(c.base.url)).hello());
  assert.deepEqual(c.events, ["open"]);
  assert.equal(c.ws.readyState, c.ws.OPEN);
  assert.equal(c.ws.readyState, (c.ws.constructor as unknown as { OPEN: number }).OPEN);
  assert.deepEqual(c.base.sent, []);
});

test("every send is the next up frame of this connection", () => {
  const c = opened();
  const messages = ["sync step 1", "", "awareness", "ü".repeat(5000)].map(text);
  for (const m of messages) c.ws.send(m);
  c.ws.send(text("as a buffer").buffer as ArrayBuffer);
  assert.equal(c.base.sent.length, messages.length + 1);
  assert.deepEqual(c.base.sent.slice(0, -1).map((f) => c.conn.open(f)), messages);
  assert.deepEqual(c.conn.open(c.base.sent[4]), text("as a buffer"));
  // Sealed: the plaintext is not on the wire.
  assert.ok(!Buffer.from(c.base.sent[0]).includes(Buffer.from("sync step 1")));
});

test("down frames are delivered opened, as exact ArrayBuffers, gaps allowed", () => {
  const c = opened();
  const [a, b, cc] = ["first", "second", "third"].map((s) => c.room.down(text(s)));
  c.base.deliver(a);
  c.base.deliver(cc); // b went to other people only
  assert.deepEqual(c.received, [text("first"), text("third")]);
  assert.equal(c.closes.length, 0);
  void b;
});

const REFUSED: [string, (c: ReturnType<typeof opened>) => Uint8Array | string][] = [
  ["tampered", (c) => flip(c.room.down(text("x")), -1)],
  ["replayed", (c) => {
    const f = c.room.down(text("x"));
    c.base.deliver(f);
    return f;
  }],
  ["out of order", (c) => {
    const older = c.room.down(text("x"));
    c.base.deliver(c.room.down(text("y")));
    return older;
  }],
  ["at the floor", () => {
    const room = new TestRoom(KEY, ROOM, "board"); // the same room's frame 1, before the hello
    return room.down(text("to the people before this one"));
  }],
  ["another doc", (c) => {
    const control = new TestRoom(KEY, ROOM, "control");
    control.sent = c.room.sent + 5;
    return control.down(text("x"));
  }],
  ["another key", (c) => {
    const other = new TestRoom(randomBytes(32), ROOM, "board");
    other.sent = c.room.sent + 5;
    return other.down(text("x"));
  }],
  ["a second hello", (c) => c.conn.hello()],
  ["text", () => "hello"],
  ["too short", () => new Uint8Array(10)],
];

for (const [what, make] of REFUSED) {
  test(`a down frame ${what}: the socket is dropped at once as bad_frame`, () => {
    const c = opened();
    const frame = make(c);
    const before = c.received.length;
    c.base.deliver(frame);
    assert.equal(c.received.length, before, "nothing delivered");
    assertDropped(c, c.ws);
    // Dead from now on: nothing more comes through, sends are dropped, no second close.
    c.base.deliver(c.room.down(text("later")));
    c.ws.send(text("after"));
    c.base.end(1006);
    assert.equal(c.received.length, before);
    assert.equal(c.closes.length, 1);
  });
}

test("a hello for another connection: never open, dropped", () => {
  const c = connect();
  c.base.open();
  c.base.deliver(c.room.connection(randomBytes(16)).hello());
  assert.deepEqual(c.events, ["close"]);
  assertDropped(c, c.ws);
});

test("the server's close is passed on as it came (e.g. refused before the hello)", () => {
  const c = connect();
  c.base.end(4406, "encrypted");
  assert.deepEqual(c.closes, [{ code: 4406, reason: "encrypted", wasClean: true }]);
  assert.equal(c.ws.readyState, c.ws.CLOSED);
  const d = opened();
  d.ws.close(1000, "bye");
  assert.deepEqual(d.base.closedWith, [1000, "bye"]);
  assert.equal(d.ws.readyState, d.ws.CLOSING);
  d.base.end(1000, "bye");
  assert.deepEqual(d.closes, [{ code: 1000, reason: "bye", wasClean: true }]);
});

/** Poll until `ok()` (a condition, not a fixed sleep). */
async function until(ok: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("y-websocket over it: sealed sync, opened updates, a new C after a bad frame", async () => {
  const { Fake, made } = fakeBase();
  const doc = new Y.Doc();
  const provider = new WebsocketProvider("ws://127.0.0.1:1/ws/r0Om-x_9", "board", doc, {
    params: { token: "t" },
    disableBc: true,
    maxBackoffTime: 50,
    WebSocketPolyfill: sealedWebSocket(KEY, ROOM, null, Fake) as unknown as typeof WebSocket,
  });
  const closes: number[] = [];
  provider.on("connection-close", (e) => closes.push(e?.code ?? 0));
  try {
    await until(() => made.length === 1, "the first socket");
    const room = new TestRoom(KEY, ROOM, "board");
    const conn = room.connection(clientNonceOf(made[0].url));
    made[0].open();
    assert.deepEqual(made[0].sent, [], "y-websocket waits for the hello");
    made[0].deliver(conn.hello());
    assert.equal(provider.wsconnected, true);
    // y-websocket's first message: sync step 1 (messageSync 0, syncStep1 0), sealed as seq 1.
    const first = conn.open(made[0].sent[0]);
    assert.deepEqual([...first.subarray(0, 2)], [0, 0]);
    // The server's sync step 2 with someone else's text, sealed: it lands in the document.
    const other = new Y.Doc();
    other.getText("t").insert(0, "from the server");
    const update = Y.encodeStateAsUpdate(other);
    const step2 = syncMessage(1, update);
    made[0].deliver(room.down(step2));
    assert.equal(doc.getText("t").toString(), "from the server");
    assert.equal(provider.synced, true);
    // A local edit goes out as a later up frame (after the awareness and sync replies).
    const before = made[0].sent.length;
    doc.getText("t").insert(0, ">");
    const later = made[0].sent.slice(1).map((f) => conn.open(f));
    assert.equal(later.length, before); // all of them open, in order
    const edit = new Y.Doc();
    Y.applyUpdate(edit, Y.encodeStateAsUpdate(other));
    const last = decoding.createDecoder(later[later.length - 1]);
    assert.deepEqual([decoding.readVarUint(last), decoding.readVarUint(last)], [0, 2]);
    Y.applyUpdate(edit, decoding.readVarUint8Array(last));
    assert.equal(edit.getText("t").toString(), ">from the server");
    // A tampered frame: dropped as bad_frame, and y-websocket connects again with a new C.
    made[0].deliver(flip(room.down(step2), -1));
    assert.deepEqual(closes, [BAD_FRAME]);
    await until(() => made.length === 2, "the reconnect");
    assert.notEqual(toHex(clientNonceOf(made[1].url)), toHex(clientNonceOf(made[0].url)));
  } finally {
    provider.destroy();
    doc.destroy(); // stops its awareness' timer
  }
});

/** A y-protocols sync message: messageSync (0), then `type` (1: step 2, 2: update), then data. */
function syncMessage(type: number, data: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint(e, type);
  encoding.writeVarUint8Array(e, data);
  return encoding.toUint8Array(e);
}
