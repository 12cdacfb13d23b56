// close-codes.ts: what the viewer does after each server close, from
// jupyterspot_magic/contracts/close_codes.json.
import assert from "node:assert/strict";
import { test } from "node:test";
import contract from "../../jupyterspot_magic/contracts/close_codes.json";
import { CLOSE_CODES, CLOSE_DETAIL, closeCodeOf, retryAfter, SHARE_STOPPED } from "../viewer/close-codes";

test("the retry policy is the one the viewer had before the contract existed", () => {
  // Stop on a dead link or a removal, retry slowly when stopped or full, else with backoff.
  const policy = Object.fromEntries(
    [1001, 1013, 4400, 4401, 4403, 4404, 4408, 4409, 4413, 4429].map((c) => [c, retryAfter(c)]),
  );
  assert.deepEqual(policy, {
    1001: "slow",
    1013: "backoff",
    4400: "backoff",
    4401: "never",
    4403: "never",
    4404: "never",
    4408: "backoff",
    4409: "slow",
    4413: "backoff",
    4429: "backoff",
  });
});

test("closes that are not the server's (network drops, 1006) reconnect with backoff", () => {
  for (const code of [0, 1000, 1006, 4000]) {
    assert.equal(closeCodeOf(code), null);
    assert.equal(retryAfter(code), "backoff");
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
  assert.equal(closeCodeOf(4403)?.name, "removed");
  assert.equal(closeCodeOf(4409)?.name, "room_full");
  assert.equal(closeCodeOf(1001)?.name, SHARE_STOPPED);
});
