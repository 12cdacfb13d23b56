// Scroll leadership as data (docs/protocol.md, "Scroll leadership"): who leads, whether this page
// follows them (or someone else it picked in the people list), and what has to happen when that
// changes. A pure reducer, no DOM: the Follow
// controller (index.ts) turns control-doc changes and the user's actions into events and carries
// out the effects (the scroll driver, the views, awareness).

export type LeadOp = "take" | "release" | "hand";
export type LeadPolicy = "anyone" | "host";

export interface LeadState {
  /** This page's awareness client id. */
  readonly self: number;
  /** control.leader (written by the server only). */
  leader: number | null;
  policy: LeadPolicy;
  /** The user broke away from the leader (read on their own). */
  paused: boolean;
  /** Someone other than the leader this page chose to follow (a click on their row in the people
   * list), null: the leader. A new leader, a recall, Esc, Resume or the user's own scrolling
   * clear it: the leader's "bring everyone back" always wins. */
  person: number | null;
  /** The last control.recall seen (null until the control doc has arrived). */
  recall: number | null;
  /** Sequence number of this page's last lead request (the server applies each seq once). */
  seq: number;
}

/** What `window.jupyterspot.follow.state()` returns. */
export interface FollowState {
  leader: number | null;
  policy: LeadPolicy;
  /** Whom this page follows right now (null when paused, leading or nobody leads). */
  following: number | null;
  paused: boolean;
}

export type LeadEvent =
  /** The control doc changed (`synced`: it carries a version, i.e. it came from the server). */
  | { type: "control"; leader: number | null; policy: LeadPolicy; recall: number; synced: boolean }
  /** Stop following (the user scrolled, or pressed the button). */
  | { type: "pause" }
  /** Follow the leader again, jumping straight to where they are (also ends following a person). */
  | { type: "resume" }
  /** Follow this person (a click on their row); the leader's row means the leader. */
  | { type: "follow"; who: number }
  /** This person's presence went away (tab closed): stop following them. */
  | { type: "gone"; who: number }
  /** The leader's marker or row was clicked: follow again, or jump to them if already following. */
  | { type: "rejoin" }
  /** Ask the server to change the leader. */
  | { type: "request"; op: LeadOp; to?: number };

export interface LeadRequest {
  seq: number;
  op: LeadOp;
  to?: number;
}

export type LeadEffect =
  /** Following state or leader changed: publish, redraw the controls, realign. */
  | { type: "changed" }
  /** The next alignment jumps straight to the leader (no easing). */
  | { type: "jump" }
  /** The user's own scroll that may still be running out is not a new break-away: the resume
   * grace starts now. */
  | { type: "grace" }
  /** Align to the leader on the next frame. */
  | { type: "align" }
  /** Publish this request in awareness `leadRequest`. */
  | { type: "request"; request: LeadRequest };

export interface Step {
  state: LeadState;
  effects: LeadEffect[];
}

export function initialLead(self: number): LeadState {
  return { self, leader: null, policy: "anyone", paused: false, person: null, recall: null, seq: 0 };
}

export function asClientId(v: unknown): number | null {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : null;
}

/** Whom this page follows: the person it picked, else the leader, unless nobody leads, we lead,
 * or we broke away. */
export function followingOf(s: LeadState): number | null {
  if (s.person !== null) return s.person;
  return s.leader !== null && s.leader !== s.self && !s.paused ? s.leader : null;
}

export function publicState(s: LeadState): FollowState {
  return { leader: s.leader, policy: s.policy, following: followingOf(s), paused: s.paused };
}

const resumed = (s: LeadState): Step => ({
  state: { ...s, paused: false, person: null },
  effects: [{ type: "jump" }, { type: "grace" }, { type: "changed" }],
});

/** Follow `who` instead of the leader. The leader does not follow (they would drag everyone
 * along to a position they no longer publish): the controller jumps there instead. */
function followPerson(s: LeadState, who: number): Step {
  if (who === s.self || s.leader === s.self) return { state: s, effects: [] };
  if (who === s.leader) return reduce(s, { type: "rejoin" });
  if (who === s.person) return { state: s, effects: [{ type: "jump" }, { type: "align" }] };
  return {
    state: { ...s, paused: false, person: who },
    effects: [{ type: "jump" }, { type: "grace" }, { type: "changed" }],
  };
}

export function reduce(s: LeadState, e: LeadEvent): Step {
  switch (e.type) {
    case "control": {
      let next: LeadState = { ...s, policy: e.policy };
      let jump = false;
      if (e.leader !== s.leader) {
        // A new leader: everyone follows them (breaking away, or following someone else, was
        // under the previous one).
        next = { ...next, leader: e.leader, paused: false, person: null };
        jump = true;
      }
      // The host's "recall": everyone who broke away or follows someone else follows again.
      if (s.recall !== null && e.recall !== s.recall && (next.paused || next.person !== null)) {
        next = { ...next, paused: false, person: null };
        jump = true;
      }
      if (e.synced) next = { ...next, recall: e.recall };
      const effects: LeadEffect[] = jump ? [{ type: "jump" }, { type: "grace" }] : [];
      effects.push({ type: "changed" });
      return { state: next, effects };
    }
    case "pause": {
      // Scrolling while following a person: on your own (paused from the leader, if any).
      const away = s.leader !== null && s.leader !== s.self;
      if (s.person !== null) return { state: { ...s, person: null, paused: away }, effects: [{ type: "changed" }] };
      if (s.paused || !away) return { state: s, effects: [] };
      return { state: { ...s, paused: true }, effects: [{ type: "changed" }] };
    }
    case "resume":
      return s.paused || s.person !== null ? resumed(s) : { state: s, effects: [] };
    case "follow":
      return followPerson(s, e.who);
    case "gone":
      return e.who === s.person ? resumed(s) : { state: s, effects: [] };
    case "rejoin":
      if (s.leader === null || s.leader === s.self) return { state: s, effects: [] };
      if (s.paused || s.person !== null) return resumed(s);
      return { state: s, effects: [{ type: "jump" }, { type: "align" }] };
    case "request": {
      const seq = s.seq + 1;
      const request: LeadRequest = { seq, op: e.op };
      if (e.to !== undefined) request.to = e.to;
      return { state: { ...s, seq }, effects: [{ type: "request", request }] };
    }
  }
}

/** What the people list shows in one person's row (see ui.ts PersonPresence). */
export interface PersonView {
  clientId: number;
  self: boolean;
  /** Whom they follow (their awareness `following`). */
  following: number | null;
  /** Their top cell as published (other people wrote it: checked here). */
  index?: unknown;
  count?: unknown;
}

/** "cell 12 of 40" for a published top-cell index and count, "" when they make no sense. */
export function cellOfText(index: unknown, count: unknown): string {
  return Number.isInteger(index) && (count as number) > 0
    ? `cell ${(index as number) + 1} of ${count}`
    : "";
}

export function personPresence(
  s: LeadState,
  p: PersonView,
  iAmHost: boolean,
  nameOf: (clientId: number) => string,
): { leads: boolean; detail: string; canHand: boolean } {
  const parts: string[] = [];
  const leads = p.clientId === s.leader;
  const following = p.self ? followingOf(s) : p.following;
  if (following !== null) parts.push(`following ${following === s.self ? "you" : nameOf(following)}`);
  else if (s.leader !== null && !leads) parts.push("on their own");
  const where = cellOfText(p.index, p.count);
  if (where) parts.push(where);
  const iLead = s.leader === s.self;
  const canHand = !p.self && !leads && (iAmHost || (iLead && s.policy === "anyone"));
  return { leads, detail: parts.join(" · "), canHand };
}

/** The controls' text and visibility (the top bar's lead row and the "paused" pill). */
export interface ControlsView {
  leading: boolean;
  /** "Take lead" is disabled: the host decides and we are a guest. */
  guestLocked: boolean;
  /** Following the leader (the follow toggle is pressed). */
  following: boolean;
  /** Following someone else: the pill says whom, its button goes back to the leader. */
  person: number | null;
  /** Show the follow toggle (someone else leads). */
  showFollow: boolean;
  note: string;
  showPill: boolean;
}

export function controlsView(s: LeadState, iAmHost: boolean): ControlsView {
  const leading = s.leader !== null && s.leader === s.self;
  return {
    leading,
    guestLocked: s.policy === "host" && !iAmHost,
    following: s.person === null && followingOf(s) !== null,
    person: s.person,
    showFollow: s.leader !== null && !leading,
    note: leading ? "You lead" : s.leader === null ? "Nobody leads" : "",
    showPill: s.person !== null || (s.paused && s.leader !== null && !leading),
  };
}
