// relay-rooms.ts: the relay's page URL carries this browser's key as `pid` (relay/relay.mjs reads
// it from the query; any path is a page socket there), and nothing else changes in the URL.
import assert from "node:assert/strict";
import { test } from "node:test";
import { relayPageUrl } from "../viewer/relay-rooms";

test("the relay URL gets the browser key as pid", () => {
  assert.equal(
    relayPageUrl("wss://relay.example.org", "abc123"),
    "wss://relay.example.org/?pid=abc123",
  );
  assert.equal(
    relayPageUrl("ws://127.0.0.1:8080/js?x=1", "k-1_2"),
    "ws://127.0.0.1:8080/js?x=1&pid=k-1_2",
  );
});

test("no key (storage blocked): no pid, the relay names the socket itself", () => {
  assert.equal(relayPageUrl("wss://relay.example.org/", ""), "wss://relay.example.org/");
});
