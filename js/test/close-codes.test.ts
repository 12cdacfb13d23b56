// close-codes.ts: what the viewer does after each server close, from
// jupyterspot_magic/contracts/close_codes.json.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import contract from "../../jupyterspot_magic/contracts/close_codes.json";
import {
  CLOSE_CODES,
  CLOSE_DETAIL,
  closeCodeOf,
  retryAfter,
  SHARE_STOPPED,
  shouldReconnect,
} from "../viewer/close-codes";

const code = (name: keyof typeof contract): number => contract[name].code;

test("the retry policy is the one the viewer had before the contract existed", () => {
  // Stop on a dead link or a removal, retry slowly when stopped or full, else with backoff.
  const policy = Object.fromEntries(CLOSE_CODES.map((c) => [c.name, retryAfter(c.code)]));
  assert.deepEqual(policy, {
    going_away: "slow",
    try_again: "backoff",
    bad_frame: "backoff",
    invalid_token: "never",
    removed: "never",
    not_found: "never",
    encrypted: "never",
    too_slow: "backoff",
    room_full: "slow",
    too_large: "backoff",
    too_many: "backoff",
  });
});

test("closes that are not the server's (network drops, 1006) reconnect with backoff", () => {
  for (const c of [0, 1000, 1006, 4000]) {
    assert.equal(closeCodeOf(c), null);
    assert.equal(retryAfter(c), "backoff");
    assert.equal(shouldReconnect({ code: c }), true);
  }
});

test("every code of the contract is known, once", () => {
  assert.equal(CLOSE_CODES.length, Object.keys(contract).length);
  assert.equal(new Set(CLOSE_CODES.map((c) => c.code)).size, CLOSE_CODES.length);
  for (const [name, e] of Object.entries(contract)) {
    assert.deepEqual(closeCodeOf(e.code), { name, code: e.code, retry: e.retry, meaning: e.meaning });
  }
});

test("the closes the page explains by name exist in the contract", () => {
  const names = new Set(Object.keys(contract));
  for (const name of [...Object.keys(CLOSE_DETAIL), SHARE_STOPPED]) assert.ok(names.has(name), name);
  assert.equal(closeCodeOf(code("removed"))?.name, "removed");
  assert.equal(closeCodeOf(code("room_full"))?.name, "room_full");
  assert.equal(closeCodeOf(code("going_away"))?.name, SHARE_STOPPED);
});

test("y-websocket's own default reconnect rule agrees with the contract on every code", () => {
  // The installed y-websocket's default shouldReconnect (3.1: stop after 4400-4499): a client
  // that does not pass ours (a script, a relay's clients) must still retry iff retry != never.
  const doc = new Y.Doc();
  const provider = new WebsocketProvider("ws://127.0.0.1:9", "none", doc, {
    connect: false,
    disableBc: true,
    WebSocketPolyfill: class {} as unknown as typeof WebSocket,
  });
  try {
    assert.equal(typeof provider.shouldReconnect, "function", "y-websocket older than 3.1");
    for (const c of CLOSE_CODES) {
      const event = { code: c.code, reason: "" } as CloseEvent;
      const wanted = c.retry !== "never";
      assert.equal(provider.shouldReconnect(event, provider), wanted, `${c.name} ${c.code}`);
      assert.equal(shouldReconnect(event), wanted, c.name);
    }
  } finally {
    provider.destroy();
    doc.destroy(); // and with it the awareness' timer, which would keep the test process alive
  }
});
