// follow/audience.ts: what the viewer reads from the control document in audience mode (the
// floor, the head count, the names other people typed) and the floor a host's click writes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { audienceView, MAX_FLOOR, nextFloor, parseFloor, parseNames } from "../viewer/follow/audience";
import { followingIn } from "../viewer/presence";

const control = (fields: Record<string, unknown>) => ({ get: (key: string) => fields[key] });

test("the floor is a list of client ids; anything else is no floor", () => {
  assert.deepEqual(parseFloor("12,345"), [12, 345]);
  assert.deepEqual(parseFloor(""), []);
  assert.deepEqual(parseFloor(undefined), []);
  assert.deepEqual(parseFloor(7), []);
  assert.deepEqual(parseFloor("1,x,-2,3.5,4"), [1, 4]);
  const many = Array.from({ length: 40 }, (_, i) => i).join(",");
  assert.equal(parseFloor(many).length, MAX_FLOOR);
});

test("names are a JSON array of strings, cleaned; anything else is none", () => {
  assert.deepEqual(parseNames('["Ana","Bob"]'), ["Ana", "Bob"]);
  assert.deepEqual(parseNames('["  Ana\\n\\u0007 Lee  ", 3, ""]'), ["Ana Lee", "Guest", "Guest"]);
  assert.deepEqual(parseNames("not json"), []);
  assert.deepEqual(parseNames('{"a":1}'), []);
  assert.deepEqual(parseNames(undefined), []);
  const long = JSON.stringify(Array.from({ length: 50 }, (_, i) => `P${i}`));
  assert.equal(parseNames(long).length, 20);
});

test("audience mode shows the server's count, never less than the names it lists", () => {
  assert.equal(audienceView(control({ people: 300 })), null); // mode off
  assert.deepEqual(audienceView(control({ audience: true, people: 312, names: '["Ana"]' })), {
    count: 312,
    names: ["Ana"],
  });
  assert.deepEqual(audienceView(control({ audience: true, people: -1, names: '["A","B"]' })), {
    count: 2,
    names: ["A", "B"],
  });
  assert.equal(audienceView(control({ audience: "yes", people: 5 })), null);
});

test("giving the floor adds, taking removes, the departed lose it, at most MAX_FLOOR", () => {
  const here = new Set([1, 2, 3]);
  const present = (id: number) => here.has(id);
  assert.deepEqual(nextFloor([1], 2, true, present), [1, 2]);
  assert.deepEqual(nextFloor([1, 2], 1, false, present), [2]);
  assert.deepEqual(nextFloor([1, 9], 3, true, present), [1, 3]); // 9 left
  const full = Array.from({ length: MAX_FLOOR }, (_, i) => i + 100);
  assert.equal(nextFloor(full, 2, true, () => true), null);
});

test("a state follows someone only when its `following` is a client id", () => {
  assert.equal(followingIn({ following: 42 }), 42);
  assert.equal(followingIn({ following: null }), null);
  assert.equal(followingIn({ following: "42" as unknown as number }), null);
  assert.equal(followingIn(null), null);
});
