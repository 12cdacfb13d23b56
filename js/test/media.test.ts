// media.ts pinMediaText: the page's width media queries answer as at the reference width.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pinMediaText } from "../viewer/media";

const at1000 = (q: string): string => pinMediaText(q, 1000);

test("a width query that fails at the reference width never matches", () => {
  assert.equal(at1000("(max-width: 760px)"), "not all");
  assert.equal(at1000("screen and (max-width: 760px)"), "not all");
  assert.equal(at1000("(max-width: 999.98px)"), "not all");
  assert.equal(at1000("(width < 1000px)"), "not all");
});

test("a width query that holds at the reference width always matches, other features stay", () => {
  assert.equal(at1000("(min-width: 760px)"), "all");
  assert.equal(at1000("(min-width: 1000px)"), "all");
  assert.equal(at1000("(width: 1000px)"), "all");
  assert.equal(at1000("(width >= 800px)"), "all");
  assert.equal(at1000("screen and (min-width: 500px)"), "screen");
  assert.equal(at1000("(orientation: portrait) and (min-width: 100px)"), "(orientation: portrait)");
  assert.equal(at1000("(min-width: 100px) and (max-width: 2000px)"), "all");
});

test("every width term of a query counts: one failing term fails the query", () => {
  assert.equal(at1000("(prefers-color-scheme: dark) and (max-width: 400px)"), "not all");
  assert.equal(at1000("(min-width: 100px) and (max-width: 400px)"), "not all");
});

test("em and rem count as 16px", () => {
  assert.equal(at1000("(max-width: 40em)"), "not all"); // 640px
  assert.equal(at1000("(min-width: 62.5rem)"), "all"); // exactly 1000px
  assert.equal(pinMediaText("(max-width: 62.5em)", 1001), "not all");
});

test("each query of a list is pinned on its own", () => {
  assert.equal(at1000("screen and (max-width: 500px), print"), "not all, print");
  assert.equal(at1000("(min-width: 1px), (max-width: 2px)"), "all, not all");
});

test("queries without width, and the rare forms (not, or), are left alone", () => {
  assert.equal(at1000("print"), "print");
  assert.equal(at1000("(orientation: landscape)"), "(orientation: landscape)");
  assert.equal(at1000("not screen and (max-width: 500px)"), "not screen and (max-width: 500px)");
  assert.equal(at1000("(max-width: 500px) or (hover: none)"), "(max-width: 500px) or (hover: none)");
});
