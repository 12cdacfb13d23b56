// Scroll leadership in the viewer (docs/protocol.md, "Scroll leadership"): follow the leader,
// break away, come back, or follow anyone picked in the people list (their published scroll)
// until Esc, Resume, a new leader or the leader's "bring everyone back". This controller feeds the pure state (state.ts) with what happens (the
// control doc, the user's clicks and scrolls) and carries out its effects with the scroll driver
// (driver.ts), the user-scroll watch (user-scroll.ts) and the views (controls.ts, pill.ts,
// markers.ts, the people list of ui.ts).
//
// The leader is control.leader (written by the server only). This page asks for changes through
// its own awareness state: `leadRequest: {seq, op, to?}`; the server applies each seq once.

import type { Awareness } from "y-protocols/awareness";
import type * as Y from "yjs";
import { linkParam, type Role } from "../config";
import { isEditable } from "../dom";
import type { Layout } from "../layout";
import type { Participant, PersonPresence, TopBar } from "../ui";
import { AudienceMode } from "./audience";
import { LeadControls } from "./controls";
import { bottomInView, ScrollDriver } from "./driver";
import { ScrollMarkers } from "./markers";
import { nameOf, pageYOf, positionOf, scrollOf, stateOf, whereIs } from "./peers";
import { PausedPill } from "./pill";
import {
  asClientId,
  controlsView,
  followingOf,
  initialLead,
  personPresence,
  publicState,
  reduce,
  type FollowState,
  type LeadEffect,
  type LeadEvent,
  type LeadOp,
  type LeadState,
} from "./state";
import { UserScroll } from "./user-scroll";

export type { FollowState, LeadOp, LeadPolicy } from "./state";

export interface FollowOptions {
  role: Role;
  /** control.leader while the running cell leads (page config `kernelLeader`). */
  kernelLeader: number;
  awareness: Awareness;
  controlDoc: Y.Doc;
  layout: Layout;
  bar: TopBar;
}

export class Follow {
  private lead: LeadState;
  private readonly control: Y.Map<unknown>;
  /** What this page last published as awareness `following` (undefined: nothing yet). */
  private published: number | null | undefined = undefined;
  private readonly driver: ScrollDriver;
  private readonly user: UserScroll;
  private readonly controls: LeadControls;
  private readonly pill: PausedPill;
  private readonly markers: ScrollMarkers;
  private readonly audience: AudienceMode;
  /**
   * A cell whose bottom a following page shows instead of the leader's position (the running
   * cell, when the presenter chose "follow the running cell": running.ts calls showCell), and
   * where the leader was when it was set: once the leader moves (or another one leads), the
   * leader counts again. Pages that broke away are not following, so this never moves them.
   */
  private focus: { cell: string; leaderAt: string } | null = null;

  constructor(private readonly o: FollowOptions) {
    const { awareness, bar, layout } = o;
    this.lead = initialLead(awareness.clientID);
    this.control = o.controlDoc.getMap("control");
    this.driver = new ScrollDriver(
      () => this.targetY(),
      () => this.isFollowing(),
    );
    this.controls = new LeadControls(bar.lead, {
      take: () => this.takeLead(),
      release: () => this.releaseLead(),
      toggle: () => (this.followsLeader() ? this.pause() : this.resume()),
    });
    this.pill = new PausedPill(() => this.resume());
    this.markers = new ScrollMarkers(
      awareness,
      layout,
      () => this.lead.leader,
      (id) => this.jumpTo(id),
    );

    this.audience = new AudienceMode(this.control, awareness, bar, o.role);
    bar.presenceOf = (p) => this.presenceOf(p);
    bar.onPersonClick = (id) => this.followPerson(id);
    bar.onHandLead = (id) => this.handLead(id);

    this.control.observe(() => this.onControl());
    awareness.on("change", (e: { added: number[]; updated: number[]; removed: number[] }) => {
      const person = this.lead.person;
      if (person !== null && e.removed.includes(person)) this.dispatch({ type: "gone", who: person });
      // A person followed may be following someone else (whereIs): any change may move them,
      // or close a loop back to this page (the pill says so).
      if (this.lead.person !== null) {
        this.driver.schedule();
        this.renderPill();
      }
      const leader = this.lead.leader;
      if (leader !== null && [...e.added, ...e.updated].includes(leader)) {
        if (this.focus && this.focus.leaderAt !== this.leaderAt()) this.focus = null;
        this.driver.schedule();
      }
      this.markers.schedule();
    });
    this.user = new UserScroll({
      root: layout.root,
      ours: (t) =>
        (t instanceof Node &&
          (bar.el.contains(t) || this.pill.el.contains(t) || this.markers.el.contains(t))) ||
        (t instanceof Element && t.closest("[data-jupyterspot-own]") !== null),
      following: () => this.isFollowing(),
      expectedY: () => this.driver.expectedY,
      pause: () => this.pause(),
      resume: () => this.resume(),
      realign: () => this.driver.schedule(),
    });
    // The reading zoom moves the page before its layout change is seen: not the user's scroll.
    layout.onZoom(() => this.user.layoutMoved());
    // Esc ends following a person (bubbling: a magnified output or a text box closes first and
    // marks the key handled).
    window.addEventListener("keydown", (e) => {
      if (e.key !== "Escape" || e.defaultPrevented || isEditable(e.target)) return;
      if (this.lead.person !== null) this.resume();
    });
    layout.onChange(() => {
      this.user.layoutMoved();
      this.driver.schedule();
      this.markers.schedule();
    });
    this.onControl();

    // The widget's "take lead" opens the presenter view with lead=1 (in the query, or after
    // an encrypted share's key in the fragment): lead at once, and drop it from the address.
    if (linkParam("lead") === "1") {
      const query = new URLSearchParams(location.search);
      const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
      query.delete("lead");
      hash.delete("lead");
      const q = query.toString();
      const h = hash.toString();
      history.replaceState(history.state, "", `${location.pathname}${q ? `?${q}` : ""}${h ? `#${h}` : ""}`);
      if (o.role === "host") this.takeLead();
    }
  }

  // -- public API (also the debug handle window.jupyterspot.follow) --

  state(): FollowState {
    return publicState(this.lead);
  }

  takeLead(): void {
    this.request("take");
  }

  releaseLead(): void {
    this.request("release");
  }

  handLead(clientId: number): void {
    this.request("hand", clientId);
  }

  /** Stop following (the user wants to read on their own). */
  pause(): void {
    this.dispatch({ type: "pause" });
  }

  /** Follow the leader again, jumping straight to where they are. */
  resume(): void {
    this.dispatch({ type: "resume" });
  }

  isFollowing(): boolean {
    return followingOf(this.lead) !== null;
  }

  /** Following the leader (not a person picked in the list, not on one's own). */
  followsLeader(): boolean {
    const f = followingOf(this.lead);
    return f !== null && f === this.lead.leader;
  }

  /** Follow this person's scroll (a click on their row). The leader's row means the leader;
   * a leader does not follow anyone: it goes to where they are (and everyone with it). */
  followPerson(clientId: number): void {
    if (this.lead.leader === this.lead.self) {
      this.jumpTo(clientId);
      return;
    }
    if (!stateOf(this.o.awareness, clientId)) return;
    this.dispatch({ type: "follow", who: clientId });
  }

  /** While following, show the bottom of cell `id` (its newest output) until the leader moves;
   * null: follow the leader's position again. */
  showCell(id: string | null): void {
    this.focus = id === null ? null : { cell: id, leaderAt: this.leaderAt() };
    this.driver.schedule();
  }

  /** The cell shown instead of the leader's position (tests: window.jupyterspot.follow). */
  shownCell(): string | null {
    return this.focus?.cell ?? null;
  }

  /** Go to where someone is; the leader's marker means "follow again". */
  jumpTo(clientId: number): void {
    if (clientId === this.lead.leader && clientId !== this.lead.self) {
      this.dispatch({ type: "rejoin" });
      return;
    }
    const scroll = positionOf(this.o.awareness, clientId);
    if (!scroll) return;
    this.pause();
    this.o.layout.scrollToCell(scroll.cell, scroll.offset);
  }

  // -- events in, effects out --

  private request(op: LeadOp, to?: number): void {
    if (this.o.awareness.getLocalState() === null) return; // left the page
    this.dispatch({ type: "request", op, to });
  }

  private onControl(): void {
    this.dispatch({
      type: "control",
      leader: asClientId(this.control.get("leader")),
      policy: this.control.get("leadPolicy") === "host" ? "host" : "anyone",
      recall: Number(this.control.get("recall") ?? 0) || 0,
      synced: this.control.has("version"),
    });
  }

  private dispatch(event: LeadEvent): void {
    const { state, effects } = reduce(this.lead, event);
    if (state.leader !== this.lead.leader) this.focus = null; // follow the new leader
    this.lead = state;
    for (const effect of effects) this.apply(effect);
  }

  private apply(effect: LeadEffect): void {
    switch (effect.type) {
      case "jump":
        this.driver.jump();
        break;
      case "grace":
        this.user.resumedAt = performance.now();
        break;
      case "align":
        this.driver.schedule();
        break;
      case "request":
        this.o.awareness.setLocalStateField("leadRequest", effect.request);
        break;
      case "changed":
        this.changed();
        break;
    }
  }

  private changed(): void {
    const following = followingOf(this.lead);
    if (following !== this.published && this.o.awareness.getLocalState() !== null) {
      this.published = following;
      this.o.awareness.setLocalStateField("following", following);
    }
    document.documentElement.toggleAttribute("data-jupyterspot-following", following !== null);
    const view = controlsView(this.lead, this.o.role === "host");
    const leader = this.lead.leader;
    const name = leader === null ? "" : this.nameOf(leader);
    this.controls.render(view, name);
    this.renderPill();
    this.o.bar.rerender();
    this.markers.schedule();
    this.driver.schedule();
  }

  private renderPill(): void {
    const view = controlsView(this.lead, this.o.role === "host");
    const leader = this.lead.leader;
    const person = view.person;
    this.pill.render(
      view.showPill,
      leader === null ? "" : this.nameOf(leader),
      person === null ? null : this.nameOf(person),
      person !== null && whereIs(this.o.awareness, person).loop,
    );
  }

  /** A person's name, or what the running cell is called while it leads. */
  private nameOf(clientId: number): string {
    return clientId === this.o.kernelLeader ? "the running cell" : nameOf(this.o.awareness, clientId);
  }

  /** Where the leader is, as a comparable string ("" when they publish no position). */
  private leaderAt(): string {
    const leader = this.lead.leader;
    const s = leader === null ? null : scrollOf(this.o.awareness, leader);
    return s ? `${s.cell}\n${s.offset}` : "";
  }

  /** Page y to scroll to (clamped): the shown cell's bottom in view, else the leader's top cell
   * + offset at the top of this window. Null: nothing to go to (yet). */
  private targetY(): number | null {
    const person = this.lead.person;
    const y =
      person !== null
        ? this.personY(person)
        : this.focus
          ? this.focusY(this.focus.cell)
          : this.leaderY();
    if (y === null) return null;
    const max = document.documentElement.scrollHeight - window.innerHeight;
    return Math.max(0, Math.min(y, max));
  }

  private leaderY(): number | null {
    const leader = this.lead.leader;
    const s = leader === null ? null : scrollOf(this.o.awareness, leader);
    return (s && pageYOf(this.o.layout, s)) ?? null;
  }

  /** Where a person picked in the list is: the end of the chain they follow (null in a loop
   * back to this page: stay where we are). */
  private personY(clientId: number): number | null {
    const s = positionOf(this.o.awareness, clientId);
    return (s && pageYOf(this.o.layout, s)) ?? null;
  }

  /** Null while the cell is not on the page (its HTML comes with the next content version). */
  private focusY(id: string): number | null {
    const cell = this.o.layout.cellById(id);
    if (!cell || cell.getClientRects().length === 0) return null;
    const r = cell.getBoundingClientRect();
    const cur = window.scrollY;
    return bottomInView(r.top + cur, r.bottom + cur, cur, window.innerHeight);
  }

  private presenceOf(p: Participant): PersonPresence {
    const st = stateOf(this.o.awareness, p.clientId);
    const s = positionOf(this.o.awareness, p.clientId);
    const presence = personPresence(
      this.lead,
      { clientId: p.clientId, self: p.self, following: asClientId(st?.following), index: s?.index, count: s?.count },
      this.o.role === "host",
      (id) => this.nameOf(id),
    );
    return { ...presence, floor: this.audience.floorFor(p) };
  }
}

export function startFollow(options: FollowOptions): Follow {
  return new Follow(options);
}
