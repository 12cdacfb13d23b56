// running.ts: the control keys read defensively, the badge's elapsed time, the top bar's words,
// when followers are sent to the running cell; driver.ts bottomInView: where that takes them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BOTTOM_MARGIN, bottomInView } from "../viewer/follow/driver";
import {
  activityOf,
  elapsedText,
  followTarget,
  readRunView,
  runningText,
  type RunView,
} from "../viewer/running";

const view = (over: Partial<RunView> = {}): RunView => ({
  live: "on",
  busy: false,
  running: null,
  since: null,
  lastRun: null,
  lastRunAt: null,
  followRunning: false,
  ...over,
});

test("elapsed time: seconds, then minutes, then hours; never negative", () => {
  assert.equal(elapsedText(0), "0 s");
  assert.equal(elapsedText(12_999), "12 s");
  assert.equal(elapsedText(59_999), "59 s");
  assert.equal(elapsedText(60_000), "1 min 00 s");
  assert.equal(elapsedText(125_000), "2 min 05 s");
  assert.equal(elapsedText(3_600_000), "1 h 00 min");
  assert.equal(elapsedText(3_600_000 + 2 * 60_000 + 59_000), "1 h 02 min");
  // The kernel's clock ahead of this page's: a start "in the future" is 0 s, not "-3 s".
  assert.equal(elapsedText(-3_000), "0 s");
  assert.equal(elapsedText(NaN), "0 s");
});

test("the badge: running + elapsed since the kernel's start time, or just running", () => {
  assert.equal(runningText(1_000_000, 1_012_400), "running 12 s");
  assert.equal(runningText(1_000_000, 990_000), "running 0 s");
  assert.equal(runningText(null, 5), "running");
});

test("control keys are read defensively (anyone could have sent odd values to a page)", () => {
  const keys: Record<string, unknown> = {
    live: "paused",
    kernel: "busy",
    running: "abc",
    runningSince: 1_700_000_000_000,
    lastRun: "abc",
    lastRunAt: 1_700_000_000_000,
    followRunning: true,
  };
  assert.deepEqual(readRunView((k) => keys[k]), {
    live: "paused",
    busy: true,
    running: "abc",
    since: 1_700_000_000_000,
    lastRun: "abc",
    lastRunAt: 1_700_000_000_000,
    followRunning: true,
  });
  const odd: Record<string, unknown> = {
    live: "sometimes",
    kernel: "idle",
    running: "",
    runningSince: "yesterday",
    lastRun: 3,
    lastRunAt: NaN,
    followRunning: "yes",
  };
  assert.deepEqual(readRunView((k) => odd[k]), view({ live: null }));
  assert.deepEqual(readRunView(() => undefined), view({ live: null }));
  assert.equal(readRunView((k) => (k === "running" ? 42 : null)).running, null);
  assert.equal(readRunView((k) => (k === "runningSince" ? Infinity : null)).since, null);
});

test("the top bar: kernel busy, live paused, both, or nothing when idle", () => {
  assert.equal(activityOf(view()).text, "");
  assert.equal(activityOf(view({ live: "off" })).text, "");
  assert.deepEqual(
    { text: activityOf(view({ busy: true })).text, busy: activityOf(view({ busy: true })).busy },
    { text: "kernel busy", busy: true },
  );
  assert.equal(activityOf(view({ live: "paused" })).text, "live paused");
  assert.equal(activityOf(view({ live: "paused" })).busy, false);
  const both = activityOf(view({ busy: true, live: "paused" }));
  assert.equal(both.text, "kernel busy · live paused");
  assert.match(both.title, /running a cell/);
  assert.match(both.title, /paused/);
});

test("followers go to each new run's cell, or there when following is switched on", () => {
  const on = { followRunning: true };
  const ran = (cell: string, at: number): Partial<RunView> => ({ lastRun: cell, lastRunAt: at });
  assert.equal(followTarget(null, view({ ...on, ...ran("a", 1) })), "a");
  assert.equal(followTarget(view(on), view({ ...on, ...ran("a", 1) })), "a");
  assert.equal(followTarget(view({ ...on, ...ran("a", 1) }), view({ ...on, ...ran("b", 2) })), "b");
  // The same cell run again (a new start): go again; a quick run already over counts too.
  assert.equal(followTarget(view({ ...on, ...ran("a", 1) }), view({ ...on, ...ran("a", 3) })), "a");
  // The same run (another key changed, e.g. it ended): no new trip.
  const a = view({ ...on, ...ran("a", 1), running: "a", busy: true });
  assert.equal(followTarget(a, { ...a, running: null, busy: false }), null);
  // Switched on after "a" ran: go there.
  assert.equal(followTarget(view(ran("a", 1)), view({ ...on, ...ran("a", 1) })), "a");
  // Off, or nothing ran yet: nowhere.
  assert.equal(followTarget(null, view(ran("a", 1))), null);
  assert.equal(followTarget(view({ ...on, ...ran("a", 1) }), view(on)), null);
});

test("bottomInView: a cell wholly in view stays put; else its bottom goes near the window's bottom", () => {
  const vp = 800;
  // Wholly in view (top below the window's top, bottom above its bottom margin): stay at 1000.
  assert.equal(bottomInView(1100, 1500, 1000, vp), 1000);
  // Below the window: its bottom BOTTOM_MARGIN px above the window's bottom.
  assert.equal(bottomInView(3000, 3200, 1000, vp), 3200 + BOTTOM_MARGIN - vp);
  // Above the window: the same rule, scrolling up.
  assert.equal(bottomInView(100, 300, 1000, vp), 300 + BOTTOM_MARGIN - vp);
  // Growing past the window's bottom (new output lines): it follows the bottom.
  assert.equal(bottomInView(1100, 1790, 1000, vp), 1790 + BOTTOM_MARGIN - vp);
  // Taller than the window, top already above it: the end shows (the newest output).
  assert.equal(bottomInView(500, 5000, 1000, vp), 5000 + BOTTOM_MARGIN - vp);
  // Its top just above the window's top: not wholly in view, show its bottom.
  assert.equal(bottomInView(999, 1200, 1000, vp), 1200 + BOTTOM_MARGIN - vp);
});
