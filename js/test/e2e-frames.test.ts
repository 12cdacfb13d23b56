// e2e/frames.ts against seal.py (the wire format): Python's ClientSeal and the browser's
// ClientFrames produce the same bytes, frames sealed by Python's RoomSeal open in TS, and the
// browser's up frames open in Python's ConnectionSeal (which refuses them replayed or altered).
import assert from "node:assert/strict";
import { test } from "node:test";
import { HEADER, NONCE_BYTES, randomBytes, SealError, SEQ_BYTES } from "../viewer/e2e/aead";
import { ClientFrames } from "../viewer/e2e/frames";
import { flip, fromHex, KEY, python, pythonAll, ROOM, TestRoom, text, toHex } from "./e2e-helpers";

const MESSAGES = ["", "sync step 1", "ü ✓ 🎉", "x".repeat(70_000)].map((s) => toHex(text(s)));

interface Session {
  client_nonce: string;
  hello: string;
  downs: string[];
  ups: string[];
}

test("ClientFrames writes the very bytes Python's ClientSeal writes (same C and nonces)", () => {
  const docs = ["board", "control"];
  const args = { op: "client", key: toHex(KEY), room: ROOM, before: 5, downs: MESSAGES };
  const sessions = pythonAll(docs.map((doc) => ({ ...args, doc, ups: MESSAGES }))) as Session[];
  for (const [i, doc] of docs.entries()) {
    const py = sessions[i];
    // Replay Python's randomness: C first, then each up frame's nonce.
    const randoms = [
      fromHex(py.client_nonce),
      ...py.ups.map((f) => fromHex(f).slice(SEQ_BYTES, HEADER)),
    ];
    const frames = new ClientFrames(KEY, ROOM, doc, (n) => {
      const next = randoms.shift();
      assert.equal(next?.length, n);
      return next;
    });
    assert.equal(frames.query(), `e2e=${py.client_nonce}`);
    frames.openHello(fromHex(py.hello));
    assert.deepEqual(py.downs.map((f) => toHex(frames.down(fromHex(f)))), MESSAGES);
    assert.deepEqual(
      MESSAGES.map((m) => toHex(frames.up(fromHex(m)))),
      py.ups,
    );
  }
});

test("a Python room's frames open in TS; TS up frames open in Python, never altered", () => {
  const frames = new ClientFrames(KEY, ROOM, "board");
  const clientNonce = toHex(frames.clientNonce);
  const server = python<{ hello: string; downs: string[]; server_nonce: string }>("server", {
    key: toHex(KEY),
    room: ROOM,
    doc: "board",
    client_nonce: clientNonce,
    before: 3,
    messages: MESSAGES,
  });
  frames.openHello(fromHex(server.hello));
  assert.deepEqual(server.downs.map((f) => toHex(frames.down(fromHex(f)))), MESSAGES);
  const ups = MESSAGES.map((m) => frames.up(fromHex(m)));
  const [a, b] = ups;
  // Each list goes to a fresh ConnectionSeal with the S of the hello above.
  const cases: [string, Uint8Array[]][] = [
    ["board", ups],
    ["board", [a, a]],
    ["board", [b]],
    ["board", [flip(a, -1)]],
    ["board", [flip(a, SEQ_BYTES + NONCE_BYTES)]],
    ["board", [flip(a, SEQ_BYTES - 1)]],
    ["control", [a]],
  ];
  const opened = pythonAll(
    cases.map(([doc, list]) => ({
      op: "open_up",
      key: toHex(KEY),
      room: ROOM,
      doc,
      client_nonce: clientNonce,
      server_nonce: server.server_nonce,
      frames: list.map(toHex),
    })),
  ).map((r) => (r as { messages: string[] }).messages);
  const [first] = MESSAGES;
  assert.deepEqual(opened, [
    MESSAGES, // all of them, in order
    [first, "SealError"], // replayed
    ["SealError"], // seq 2 first
    ["SealError"], // tag altered
    ["SealError"], // ciphertext altered
    ["SealError"], // seq altered (1 -> 0)
    ["SealError"], // another doc
  ]);
});

test("the tests' stand-in server writes frames Python's ClientSeal opens", () => {
  const room = new TestRoom(KEY, ROOM, "control");
  room.down(text("before this connection"));
  const clientNonce = randomBytes(16);
  const conn = room.connection(clientNonce);
  const hello = conn.hello();
  const downs = MESSAGES.map((m) => toHex(room.down(fromHex(m))));
  const got = python<{ messages: string[] }>("client_open", {
    key: toHex(KEY),
    room: ROOM,
    doc: "control",
    client_nonce: toHex(clientNonce),
    hello: toHex(hello),
    downs,
  });
  assert.deepEqual(got.messages, MESSAGES);
});

test("down frames: strictly increasing above the floor, gaps allowed, nothing else", () => {
  const room = new TestRoom(KEY, ROOM, "board");
  const early = room.down(text("sealed before the hello"));
  const frames = new ClientFrames(KEY, ROOM, "board");
  const conn = room.connection(frames.clientNonce);
  const hello = conn.hello();
  const [f2, f3, f4, f5] = ["a", "b", "c", "d"].map((s) => room.down(text(s)));
  assert.throws(() => frames.down(f2), SealError, "a down frame before the hello");
  assert.throws(() => frames.up(text("x")), SealError, "an up frame before the hello");
  frames.openHello(hello);
  assert.throws(() => frames.openHello(hello), SealError, "a second hello");
  assert.throws(() => frames.down(early), SealError, "at or below the floor");
  assert.deepEqual(frames.down(f3), text("b")); // f2 went to others only: a gap is fine
  assert.throws(() => frames.down(f2), SealError, "older than the last");
  assert.throws(() => frames.down(f3), SealError, "replayed");
  assert.throws(() => frames.down(flip(f4, -3)), SealError, "tampered ciphertext");
  assert.throws(() => frames.down(flip(f4, SEQ_BYTES)), SealError, "tampered nonce");
  assert.deepEqual(frames.down(f4), text("c"), "a refused frame leaves the state as it was");
  assert.throws(() => frames.down(f5.subarray(0, HEADER + 15)), SealError, "cut short");
  const other = new TestRoom(KEY, ROOM, "control");
  other.sent = 10;
  assert.throws(() => frames.down(other.down(text("e"))), SealError, "another doc's frame");
  const elsewhere = new TestRoom(KEY, "another", "board");
  elsewhere.sent = 10;
  assert.throws(() => frames.down(elsewhere.down(text("e"))), SealError, "another room's");
  const wrongKey = new TestRoom(randomBytes(32), ROOM, "board");
  wrongKey.sent = 10;
  assert.throws(() => frames.down(wrongKey.down(text("e"))), SealError, "another key's");
  assert.deepEqual(frames.down(f5), text("d"));
});

test("a hello for another connection (another C) does not open", () => {
  const room = new TestRoom(KEY, ROOM, "board");
  const frames = new ClientFrames(KEY, ROOM, "board");
  const replayed = room.connection(randomBytes(16)).hello();
  assert.throws(() => frames.openHello(replayed), SealError);
  assert.throws(() => frames.openHello(room.down(text("not a hello"))), SealError);
  assert.equal(frames.opened, false);
  frames.openHello(room.connection(frames.clientNonce).hello());
  assert.equal(frames.opened, true);
});
