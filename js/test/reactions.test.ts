// reactions.ts: a page's send rates (4 reactions a second, one chat line a second) and the chat
// line's cut (60 code points, as the server counts them: collab/schema.py CHAT_TEXT).
import assert from "node:assert/strict";
import { test } from "node:test";
import { CHAT_MAX, cutChat, RateLimit, REACT_PER_SECOND } from "../viewer/reactions";

test("at most REACT_PER_SECOND in any second, then again once the window moved on", () => {
  let now = 0;
  const rate = new RateLimit(REACT_PER_SECOND, 1000, () => now);
  const first = Array.from({ length: 20 }, () => rate.take()).filter(Boolean).length;
  assert.equal(first, 4);
  now = 999;
  assert.equal(rate.take(), false);
  now = 1000;
  assert.equal(rate.take(), true);
  // a steady hostile loop over 10 s gets 4 a second, no more
  let sent = 0;
  for (now = 2000; now < 12000; now += 5) if (rate.take()) sent++;
  assert.equal(sent, 40);
});

test("a chat line is cut to 60 code points (an emoji is one) and trimmed", () => {
  assert.equal(cutChat("  hi  "), "hi");
  assert.equal([...cutChat("a".repeat(100))].length, CHAT_MAX);
  const emoji = cutChat("😀".repeat(70));
  assert.equal([...emoji].length, 60);
  assert.equal(emoji.length, 120); // UTF-16 units: the server counts code points
  assert.equal(cutChat("<img src=x onerror=alert(1)>"), "<img src=x onerror=alert(1)>"); // text
});

test("a chat line is one line", () => {
  assert.equal(cutChat("a\nb\r\nc\u2028d"), "a b c d");
});
