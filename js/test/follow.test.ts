// follow/: the pure lead state (state.ts), the scroll driver's easing (driver.ts) and the
// user-scroll verdict (user-scroll.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { still, stepToward, type Ease } from "../viewer/follow/driver";
import {
  asClientId,
  cellOfText,
  controlsView,
  followingOf,
  initialLead,
  personPresence,
  publicState,
  reduce,
  type LeadEvent,
  type LeadState,
} from "../viewer/follow/state";
import { scrollVerdict, scrollsThePage } from "../viewer/follow/user-scroll";

const ME = 7;
const control = (leader: number | null, extra: Partial<Extract<LeadEvent, { type: "control" }>> = {}) =>
  ({ type: "control", leader, policy: "anyone", recall: 0, synced: true, ...extra }) as const;
const types = (effects: { type: string }[]): string[] => effects.map((e) => e.type);

function run(events: LeadEvent[], from: LeadState = initialLead(ME)): LeadState {
  return events.reduce((s, e) => reduce(s, e).state, from);
}

test("nobody leads at first; the first control doc tells who does", () => {
  const s = initialLead(ME);
  assert.deepEqual(publicState(s), { leader: null, policy: "anyone", following: null, paused: false });
  const step = reduce(s, control(3));
  assert.deepEqual(publicState(step.state), { leader: 3, policy: "anyone", following: 3, paused: false });
  assert.deepEqual(types(step.effects), ["jump", "grace", "changed"]);
});

test("a page does not follow itself", () => {
  const s = run([control(ME)]);
  assert.equal(followingOf(s), null);
  assert.deepEqual(reduce(s, { type: "pause" }).effects, []);
});

test("breaking away pauses; resuming jumps back to the leader", () => {
  const paused = reduce(run([control(3)]), { type: "pause" });
  assert.equal(paused.state.paused, true);
  assert.equal(followingOf(paused.state), null);
  assert.deepEqual(types(paused.effects), ["changed"]);
  assert.deepEqual(reduce(paused.state, { type: "pause" }).effects, []); // already paused
  const resumed = reduce(paused.state, { type: "resume" });
  assert.equal(followingOf(resumed.state), 3);
  assert.deepEqual(types(resumed.effects), ["jump", "grace", "changed"]);
  assert.deepEqual(reduce(resumed.state, { type: "resume" }).effects, []); // not paused
});

test("pausing needs someone else leading", () => {
  assert.deepEqual(reduce(initialLead(ME), { type: "pause" }).effects, []);
  assert.equal(run([{ type: "pause" }]).paused, false);
});

test("a new leader is followed, even by a page that broke away from the previous one", () => {
  const s = run([control(3), { type: "pause" }]);
  const step = reduce(s, control(4));
  assert.deepEqual(publicState(step.state).following, 4);
  assert.deepEqual(types(step.effects), ["jump", "grace", "changed"]);
  // The same leader again (another field changed): no jump, still paused.
  const same = reduce(s, control(3, { policy: "host" }));
  assert.deepEqual(types(same.effects), ["changed"]);
  assert.equal(same.state.paused, true);
  assert.equal(same.state.policy, "host");
});

test("the leader leaving: nobody leads, nobody follows", () => {
  const s = run([control(3), { type: "pause" }, control(null)]);
  assert.deepEqual(publicState(s), { leader: null, policy: "anyone", following: null, paused: false });
});

test("the host's recall brings back who broke away, once per recall", () => {
  const s = run([control(3, { recall: 1 }), { type: "pause" }]);
  const recalled = reduce(s, control(3, { recall: 2 }));
  assert.equal(recalled.state.paused, false);
  assert.deepEqual(types(recalled.effects), ["jump", "grace", "changed"]);
  // The same recall value again does nothing; following pages are not disturbed by a recall.
  const again = reduce(run([{ type: "pause" }], recalled.state), control(3, { recall: 2 }));
  assert.equal(again.state.paused, true);
  const following = reduce(run([control(3, { recall: 1 })]), control(3, { recall: 5 }));
  assert.deepEqual(types(following.effects), ["changed"]);
});

test("a recall seen before the control doc synced is not a recall", () => {
  const s = run([control(3, { recall: 4, synced: false }), { type: "pause" }]);
  assert.equal(s.recall, null);
  const first = reduce(s, control(3, { recall: 4 }));
  assert.equal(first.state.paused, true);
  assert.equal(first.state.recall, 4);
});

test("clicking the leader: follow again when paused, jump to them when following", () => {
  const following = run([control(3)]);
  assert.deepEqual(types(reduce(following, { type: "rejoin" }).effects), ["jump", "align"]);
  const paused = run([{ type: "pause" }], following);
  const back = reduce(paused, { type: "rejoin" });
  assert.equal(followingOf(back.state), 3);
  assert.deepEqual(types(back.effects), ["jump", "grace", "changed"]);
  assert.deepEqual(reduce(run([control(ME)]), { type: "rejoin" }).effects, []);
});

test("lead requests carry a new sequence number each, `to` only for a hand-over", () => {
  const a = reduce(initialLead(ME), { type: "request", op: "take" });
  assert.deepEqual(a.effects, [{ type: "request", request: { seq: 1, op: "take" } }]);
  const b = reduce(a.state, { type: "request", op: "hand", to: 0 });
  assert.deepEqual(b.effects, [{ type: "request", request: { seq: 2, op: "hand", to: 0 } }]);
  assert.equal(b.state.seq, 2);
});

test("the reducer never changes the state it is given", () => {
  const s = run([control(3, { recall: 1 })]);
  const frozen = Object.freeze({ ...s });
  const events = [control(4), { type: "pause" }, { type: "resume" }, { type: "rejoin" }, { type: "follow", who: 9 }];
  for (const e of events as LeadEvent[]) {
    reduce(frozen, e);
  }
  assert.deepEqual(frozen, s);
});

test("client ids from the control doc: non-negative integers only", () => {
  assert.equal(asClientId(5), 5);
  for (const v of [-1, 1.5, "5", null, undefined, Number.NaN]) assert.equal(asClientId(v), null);
});

test("the people list: who follows whom, where, and who may hand the lead", () => {
  const names = (id: number): string => ({ 3: "Bo", 9: "Cy" })[id] ?? "?";
  const s = run([control(3)]);
  const me = personPresence(s, { clientId: ME, self: true, following: null }, false, names);
  assert.deepEqual(me, { leads: false, detail: "following Bo", canHand: false });
  const bo = personPresence(s, { clientId: 3, self: false, following: null, index: 4, count: 10 }, false, names);
  assert.deepEqual(bo, { leads: true, detail: "cell 5 of 10", canHand: false });
  const cy = personPresence(s, { clientId: 9, self: false, following: null }, true, names);
  assert.deepEqual(cy, { leads: false, detail: "on their own", canHand: true });
  const leading = run([control(ME)]);
  const follower = personPresence(leading, { clientId: 9, self: false, following: ME }, false, names);
  assert.deepEqual(follower, { leads: false, detail: "following you", canHand: true });
  const hostOnly = run([control(ME, { policy: "host" })]);
  assert.equal(personPresence(hostOnly, { clientId: 9, self: false, following: ME }, false, names).canHand, false);
  assert.equal(personPresence(initialLead(ME), { clientId: 9, self: false, following: null }, false, names).detail, "");
});

test("published cell positions are checked before they are shown", () => {
  assert.equal(cellOfText(0, 3), "cell 1 of 3");
  assert.equal(cellOfText(1.5, 3), "");
  assert.equal(cellOfText(1, 0), "");
  assert.equal(cellOfText("1", 3), "");
  assert.equal(cellOfText(1, undefined), "");
});

test("the controls: what shows when nobody, I, or someone else leads", () => {
  assert.deepEqual(controlsView(initialLead(ME), false), {
    leading: false,
    guestLocked: false,
    following: false,
    person: null,
    showFollow: false,
    note: "Nobody leads",
    showPill: false,
  });
  assert.deepEqual(controlsView(run([control(ME)]), true), {
    leading: true,
    guestLocked: false,
    following: false,
    person: null,
    showFollow: false,
    note: "You lead",
    showPill: false,
  });
  const paused = run([control(3, { policy: "host" }), { type: "pause" }]);
  assert.deepEqual(controlsView(paused, false), {
    leading: false,
    guestLocked: true,
    following: false,
    person: null,
    showFollow: true,
    note: "",
    showPill: true,
  });
  assert.equal(controlsView(paused, true).guestLocked, false);
});

test("following a person picked in the list, until Esc/Resume, a new leader or a recall", () => {
  const s = run([control(3, { recall: 1 })]);
  const picked = reduce(s, { type: "follow", who: 9 });
  assert.equal(followingOf(picked.state), 9);
  assert.deepEqual(types(picked.effects), ["jump", "grace", "changed"]);
  const view = controlsView(picked.state, false);
  assert.equal(view.following, false); // the leader's toggle is not pressed
  assert.equal(view.person, 9);
  assert.equal(view.showPill, true);
  // Resume (Esc, the pill's button, F): back to the leader.
  assert.equal(followingOf(reduce(picked.state, { type: "resume" }).state), 3);
  // The leader's "bring everyone back" wins; so does a new leader.
  const recalled = reduce(picked.state, control(3, { recall: 2 }));
  assert.equal(followingOf(recalled.state), 3);
  assert.deepEqual(types(recalled.effects), ["jump", "grace", "changed"]);
  assert.equal(followingOf(reduce(picked.state, control(4)).state), 4);
  // Their own scrolling: on their own, paused from the leader.
  const away = reduce(picked.state, { type: "pause" }).state;
  assert.deepEqual(publicState(away), { leader: 3, policy: "anyone", following: null, paused: true });
  // The person leaves: back to the leader; someone else leaving changes nothing.
  assert.equal(followingOf(reduce(picked.state, { type: "gone", who: 9 }).state), 3);
  assert.deepEqual(reduce(picked.state, { type: "gone", who: 5 }).effects, []);
});

test("following a person: with nobody leading, the leader's row, oneself, and the leader itself", () => {
  const alone = reduce(initialLead(ME), { type: "follow", who: 9 }).state;
  assert.equal(followingOf(alone), 9);
  const stop = reduce(alone, { type: "resume" }).state;
  assert.equal(followingOf(stop), null);
  assert.equal(controlsView(stop, false).showPill, false);
  const s = run([control(3), { type: "follow", who: 9 }]);
  assert.equal(followingOf(reduce(s, { type: "follow", who: 3 }).state), 3); // the leader's row
  assert.deepEqual(reduce(s, { type: "follow", who: ME }).effects, []);
  assert.deepEqual(reduce(run([control(ME)]), { type: "follow", who: 9 }).effects, []);
  assert.deepEqual(types(reduce(s, { type: "follow", who: 9 }).effects), ["jump", "align"]);
  const me = personPresence(s, { clientId: ME, self: true, following: null }, false, () => "Cy");
  assert.equal(me.detail, "following Cy");
});

// -- the scroll driver --

function steps(target: number, from: number, viewport: number, ease: Ease = still()): number[] {
  const ys: number[] = [];
  let cur = from;
  for (let i = 0; i < 10; i++) {
    const r = stepToward(ease, target, cur, viewport);
    ease = r.ease;
    if (r.y === null) break;
    ys.push(r.y);
    cur = r.y;
  }
  return ys;
}

test("already there: nothing to scroll, and a pending jump is spent", () => {
  const r = stepToward({ ...still(), jumpNext: true }, 100.5, 100, 800);
  assert.equal(r.y, null);
  assert.equal(r.ease.jumpNext, false);
});

test("small steps are applied at once, and so is a jump within snapping distance", () => {
  assert.deepEqual(steps(40, 0, 800), [40]);
  const ease = { ...still(), lastTarget: 1000 };
  assert.deepEqual(steps(1040, 1000, 800, ease), [1040]);
  assert.deepEqual(steps(1300, 1000, 800, ease), [1300]); // moved 300 < one window: mirrored
});

test("a jump of more than a window eases over three frames (so does the very first target)", () => {
  const ease = { ...still(), lastTarget: 0 };
  assert.deepEqual(steps(1000, 0, 800, ease).map(Math.round), [550, 880, 1000]);
  assert.deepEqual(steps(500, 0, 800), [275, 440, 500]);
});

test("no easing after a resume, nor for very long jumps", () => {
  assert.deepEqual(steps(1000, 0, 800, { ...still(), lastTarget: 0, jumpNext: true }), [1000]);
  assert.deepEqual(steps(5000, 0, 800, { ...still(), lastTarget: 0 }), [5000]); // > 3 windows
});

test("a target that moves while easing is eased towards live", () => {
  let r = stepToward({ ...still(), lastTarget: 0 }, 1000, 0, 800);
  assert.equal(r.y, 550);
  r = stepToward(r.ease, 1100, 550, 800);
  assert.ok(r.y !== null && near(r.y, 968));
  r = stepToward(r.ease, 1100, r.y, 800);
  assert.equal(r.y, 1100);
  assert.equal(r.ease.from, null);
});

const near = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9;

// -- user scrolls --

test("whose scroll: ours within 2 px, the layout's shortly after a change or a resume, else the user's", () => {
  assert.equal(scrollVerdict(500, 501.5, 10_000, 0, 0), "ours");
  assert.equal(scrollVerdict(500, 510, 10_000, 9_800, 0), "layout");
  assert.equal(scrollVerdict(500, 510, 10_000, 0, 9_700), "layout");
  assert.equal(scrollVerdict(500, 510, 10_000, 9_600, 9_500), "user");
  assert.equal(scrollVerdict(500, null, 10_000, 0, 0), "user");
});

test("the keys that scroll the page", () => {
  for (const k of ["ArrowDown", "PageUp", "Home", "End", " "]) assert.ok(scrollsThePage(k), k);
  for (const k of ["a", "Enter", "ArrowLeft", "Tab"]) assert.ok(!scrollsThePage(k), k);
});
