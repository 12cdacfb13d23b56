// Scroll leadership in the viewer (docs/protocol.md, "Scroll leadership"): follow the leader,
// break away, come back; the lead controls, the "paused" pill, who-follows-whom in the people
// list and everyone's position beside the scrollbar.
//
// The leader is control.leader (written by the server only). This page asks for changes through
// its own awareness state: `leadRequest: {seq, op, to?}`; the server applies each seq once.
// Following puts the leader's top cell + offset (reference px) at the top of this window, by cell
// anchor, so any window size lines up. The latest leader position is applied once per animation
// frame; long jumps ease over a few frames. Our own scrolls are recorded (expectedY) so only the
// user's scrolling (wheel, touch, keys, scrollbar, find-in-page: an unexplained scroll) breaks away.

import type { Awareness } from "y-protocols/awareness";
import type * as Y from "yjs";
import { cleanName, type PageConfig } from "./config";
import { guestName, safeColor } from "./identity";
import type { Layout } from "./layout";
import type { PresenceState } from "./presence";
import type { Participant, PersonPresence, TopBar } from "./ui";

export type LeadOp = "take" | "release" | "hand";
export type LeadPolicy = "anyone" | "host";

export interface FollowOptions {
  config: PageConfig;
  awareness: Awareness;
  controlDoc: Y.Doc;
  layout: Layout;
  bar: TopBar;
}

export interface FollowState {
  leader: number | null;
  policy: LeadPolicy;
  /** Whom this page follows right now (null when paused, leading or nobody leads). */
  following: number | null;
  paused: boolean;
}

/** The leader's position moving more than this many window heights in one update is a jump
 * (a link, Home/End, find, a marker click): eased over a few frames. Smaller steps are the
 * leader's own scrolling (smooth already, or one wheel notch): mirrored as they come. */
const JUMP_SHARE = 1;
/** A jump eases out over three frames (~50 ms): share of the way done after each frame. */
const EASE_STEPS = [0.55, 0.88, 1];
/** Jumps shorter than this (px) are not worth animating. */
const SNAP_PX = 48;
/** Further than this many window heights: jump (a long animation only delays and blurs). */
const JUMP_SCREENS = 3;
/** A scroll this soon after a resize or a content size change is the layout's, not the user's. */
const LAYOUT_QUIET_MS = 300;
/** If no animation frame comes within this long (a starved compositor, seen in headless
 * Chromium under load), step from a timer instead. */
const FRAME_FALLBACK_MS = 50;
/** After a resume, the user's own scroll may still be running out (a keyboard smooth scroll, a
 * touch fling): its scroll events are not a new break-away for this long. */
const RESUME_GRACE_MS = 400;
/** Tolerance (px) between where we scrolled and where the browser says we are. */
const OWN_SCROLL_SLACK = 2;
const SCROLL_KEYS = new Set([
  "ArrowUp",
  "ArrowDown",
  "PageUp",
  "PageDown",
  "Home",
  "End",
  " ",
  "Spacebar",
]);

function asClientId(v: unknown): number | null {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : null;
}

function isEditable(t: EventTarget | null): boolean {
  if (!(t instanceof HTMLElement)) return false;
  return t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName);
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls: string,
  attrs: Record<string, string> = {},
  text = "",
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = cls;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

export class Follow {
  leader: number | null = null;
  policy: LeadPolicy = "anyone";
  paused = false;
  private readonly self: number;
  private readonly control: Y.Map<unknown>;
  private recall: number | null = null;
  private seq = 0;
  private frame = 0;
  private jumpNext = false;
  /** While easing a jump: where it started and how many frames are done (null = not easing). */
  private easeFrom: number | null = null;
  private easeStep = 0;
  private lastTarget: number | null = null;
  private expectedY: number | null = null;
  private lastLayout = 0;
  private resumedAt = 0;
  private published: number | null | undefined = undefined;
  private markerFrame = 0;
  private readonly takeBtn: HTMLButtonElement;
  private readonly releaseBtn: HTMLButtonElement;
  private readonly followBtn: HTMLButtonElement;
  private readonly note: HTMLElement;
  readonly pill: HTMLElement;
  private readonly pillText: HTMLElement;
  readonly markers: HTMLElement;
  private markerViews = new Map<number, HTMLButtonElement>();

  constructor(private readonly o: FollowOptions) {
    this.self = o.awareness.clientID;
    this.control = o.controlDoc.getMap("control");

    // -- controls in the top bar --
    this.note = el("span", "jupyterspot-lead-note", { "data-testid": "lead-status" });
    this.takeBtn = el("button", "jupyterspot-lead-btn", { type: "button", "data-testid": "take-lead" }, "Take lead");
    this.releaseBtn = el(
      "button",
      "jupyterspot-lead-btn",
      { type: "button", "data-testid": "release-lead" },
      "Stop leading",
    );
    this.followBtn = el("button", "jupyterspot-lead-btn jupyterspot-follow-btn", {
      type: "button",
      "data-testid": "follow-toggle",
    });
    this.takeBtn.addEventListener("click", () => this.takeLead());
    this.releaseBtn.addEventListener("click", () => this.releaseLead());
    this.followBtn.addEventListener("click", () => (this.isFollowing() ? this.pause() : this.resume()));
    o.bar.lead.append(this.note, this.followBtn, this.takeBtn, this.releaseBtn);

    // -- the "paused" pill --
    this.pillText = el("span", "jupyterspot-pill-text");
    const resume = el("button", "jupyterspot-pill-resume", { type: "button", "data-testid": "follow-resume" }, "Resume");
    resume.title = "Jump back to the leader and follow (key F)";
    resume.addEventListener("click", () => this.resume());
    this.pill = el("div", "jupyterspot-follow-pill", { "data-testid": "follow-pill", role: "status" });
    this.pill.append(this.pillText, resume);
    this.pill.hidden = true;
    document.body.appendChild(this.pill);

    // -- everyone's position beside the scrollbar --
    this.markers = el("div", "jupyterspot-markers", { "data-testid": "scroll-markers" });
    document.body.appendChild(this.markers);

    // -- people list --
    o.bar.presenceOf = (p) => this.presenceOf(p);
    o.bar.onPersonClick = (id) => this.jumpTo(id);
    o.bar.onHandLead = (id) => this.handLead(id);

    this.control.observe(() => this.onControl());
    o.awareness.on("change", (e: { added: number[]; updated: number[]; removed: number[] }) => {
      if (this.leader !== null && [...e.added, ...e.updated].includes(this.leader)) this.schedule();
      this.scheduleMarkers();
    });
    o.layout.onChange(() => {
      this.lastLayout = performance.now();
      this.schedule();
      this.scheduleMarkers();
    });
    this.listenForUser();
    this.onControl();

    // The widget's "take lead" opens the presenter view with ?lead=1: lead at once.
    const params = new URLSearchParams(location.search);
    if (params.get("lead") === "1") {
      params.delete("lead");
      const query = params.toString();
      history.replaceState(history.state, "", `${location.pathname}${query ? `?${query}` : ""}${location.hash}`);
      if (o.config.role === "host") this.takeLead();
    }
  }

  // -- public API (also window.jupyterspot.follow) --

  state(): FollowState {
    return {
      leader: this.leader,
      policy: this.policy,
      following: this.isFollowing() ? this.leader : null,
      paused: this.paused,
    };
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
    if (this.paused || this.leader === null || this.leader === this.self) return;
    this.paused = true;
    this.changed();
  }

  /** Follow the leader again, jumping straight to where they are. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.jumpNext = true;
    this.resumedAt = performance.now();
    this.changed();
  }

  isFollowing(): boolean {
    return this.leader !== null && this.leader !== this.self && !this.paused;
  }

  /** Go to where someone is; the leader's marker means "follow again". */
  jumpTo(clientId: number): void {
    if (clientId === this.leader && this.leader !== this.self) {
      if (this.paused) this.resume();
      else this.jumpNext = true;
      this.schedule();
      return;
    }
    const scroll = this.scrollOf(clientId);
    if (!scroll) return;
    this.pause();
    this.o.layout.scrollToCell(scroll.cell, scroll.offset);
  }

  // -- lead requests --

  private request(op: LeadOp, to?: number): void {
    const state = this.o.awareness.getLocalState();
    if (state === null) return;
    this.seq += 1;
    const req: Record<string, unknown> = { seq: this.seq, op };
    if (to !== undefined) req.to = to;
    this.o.awareness.setLocalStateField("leadRequest", req);
  }

  // -- control document --

  private onControl(): void {
    const leader = asClientId(this.control.get("leader"));
    this.policy = this.control.get("leadPolicy") === "host" ? "host" : "anyone";
    const recall = Number(this.control.get("recall") ?? 0) || 0;
    if (leader !== this.leader) {
      this.leader = leader;
      // A new leader: everyone follows them (breaking away was from the previous one).
      this.paused = false;
      this.jumpNext = true;
      this.resumedAt = performance.now();
    }
    if (this.recall !== null && recall !== this.recall && this.paused) {
      this.paused = false;
      this.jumpNext = true;
      this.resumedAt = performance.now();
    }
    if (this.control.has("version")) this.recall = recall;
    this.changed();
  }

  private changed(): void {
    const following = this.isFollowing() ? this.leader : null;
    if (following !== this.published && this.o.awareness.getLocalState() !== null) {
      this.published = following;
      this.o.awareness.setLocalStateField("following", following);
    }
    document.documentElement.toggleAttribute("data-jupyterspot-following", following !== null);
    this.renderControls();
    this.o.bar.rerender();
    this.scheduleMarkers();
    this.schedule();
  }

  // -- following --

  private scrollOf(clientId: number): { cell: string; offset: number; index: number; count: number } | null {
    const st = this.o.awareness.getStates().get(clientId) as PresenceState | undefined;
    const s = st?.scroll;
    if (!s || typeof s !== "object" || typeof s.cell !== "string" || !Number.isFinite(s.offset)) return null;
    return s;
  }

  /** Page y that puts the leader's top cell + offset at the top of this window (clamped). */
  private targetY(clientId: number): number | null {
    const s = this.scrollOf(clientId);
    if (!s) return null;
    const cell = this.o.layout.cellById(s.cell);
    if (!cell || cell.getClientRects().length === 0) return null;
    const rect = cell.getBoundingClientRect();
    const y = window.scrollY + rect.top + s.offset * this.o.layout.scaleOf(cell, rect);
    const max = document.documentElement.scrollHeight - window.innerHeight;
    return Math.max(0, Math.min(y, max));
  }

  private schedule(): void {
    if (this.frame || !this.isFollowing()) return;
    let timer = 0;
    const run = (): void => {
      cancelAnimationFrame(this.frame);
      clearTimeout(timer);
      this.frame = 0;
      this.step();
    };
    this.frame = requestAnimationFrame(run);
    timer = window.setTimeout(run, FRAME_FALLBACK_MS);
  }

  /** One frame of following: apply the leader's latest position (or ease towards it). */
  private step(): void {
    if (!this.isFollowing() || this.leader === null) return;
    const target = this.targetY(this.leader);
    if (target === null) return;
    const cur = window.scrollY;
    const d = target - cur;
    const moved = this.lastTarget === null ? Infinity : Math.abs(target - this.lastTarget);
    this.lastTarget = target;
    if (Math.abs(d) < 1) {
      this.expectedY = cur;
      this.jumpNext = false;
      this.easeFrom = null;
      return;
    }
    const far = Math.abs(d) > window.innerHeight * JUMP_SCREENS;
    if (moved > window.innerHeight * JUMP_SHARE) {
      this.easeFrom = cur;
      this.easeStep = 0;
    }
    if (this.jumpNext || far || Math.abs(d) <= SNAP_PX) this.easeFrom = null;
    this.jumpNext = false;
    let y = target;
    if (this.easeFrom !== null) {
      // The target may move while easing (the leader keeps scrolling): ease towards it live.
      const k = EASE_STEPS[this.easeStep++] ?? 1;
      y = this.easeFrom + (target - this.easeFrom) * k;
      if (k >= 1) this.easeFrom = null;
    }
    this.scrollTo(y);
    if (y !== target) this.schedule();
  }

  private scrollTo(y: number): void {
    window.scrollTo({ top: y, behavior: "instant" });
    this.expectedY = window.scrollY;
  }

  // -- telling the user's scrolling from ours --

  private listenForUser(): void {
    const ours = (t: EventTarget | null): boolean =>
      t instanceof Node &&
      (this.o.bar.el.contains(t) || this.pill.contains(t) || this.markers.contains(t));
    const opts = { passive: true, capture: true };
    window.addEventListener(
      "wheel",
      (e) => {
        if (!e.ctrlKey && !ours(e.target)) this.pause();
      },
      opts,
    );
    // One finger on the drawing surface draws (the page does not move); two fingers scroll.
    const drawing = (e: TouchEvent): boolean =>
      e.touches.length === 1 &&
      e.target instanceof Element &&
      e.target.closest(".jupyterspot-board-input") !== null;
    window.addEventListener(
      "touchmove",
      (e) => {
        if (!ours(e.target) && !drawing(e)) this.pause();
      },
      opts,
    );
    window.addEventListener(
      "pointerdown",
      (e) => {
        const root = document.documentElement;
        // On the page's scrollbar (right of the client area) or middle-button autoscroll.
        const onScrollbar = e.clientX >= root.clientWidth || e.clientY >= root.clientHeight;
        if ((onScrollbar && !ours(e.target)) || e.button === 1) this.pause();
      },
      opts,
    );
    window.addEventListener(
      "keydown",
      (e) => {
        if (e.defaultPrevented || isEditable(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
        if ((e.key === "f" || e.key === "F") && !e.shiftKey) {
          if (this.paused) this.resume();
          return;
        }
        if (SCROLL_KEYS.has(e.key) && !ours(e.target)) this.pause();
      },
      opts,
    );
    const layoutMoved = (): void => {
      this.lastLayout = performance.now();
    };
    window.addEventListener("resize", layoutMoved, opts);
    if (typeof ResizeObserver !== "undefined") new ResizeObserver(layoutMoved).observe(this.o.layout.root);
    // Anything else that moves the page (find-in-page, text selection autoscroll, an anchor
    // link) while we follow is the user's doing.
    window.addEventListener(
      "scroll",
      () => {
        if (!this.isFollowing()) return;
        const y = window.scrollY;
        if (this.expectedY !== null && Math.abs(y - this.expectedY) <= OWN_SCROLL_SLACK) return;
        const now = performance.now();
        if (now - this.lastLayout < LAYOUT_QUIET_MS || now - this.resumedAt < RESUME_GRACE_MS) {
          this.schedule(); // the layout, or a scroll still running out, moved us: re-align
          return;
        }
        this.pause();
      },
      opts,
    );
  }

  // -- what people see --

  private nameOf(clientId: number): string {
    const st = this.o.awareness.getStates().get(clientId) as PresenceState | undefined;
    return cleanName(st?.user?.name) || guestName(clientId);
  }

  private renderControls(): void {
    const leader = this.leader;
    const leading = leader !== null && leader === this.self;
    const guestLocked = this.policy === "host" && this.o.config.role !== "host";
    this.releaseBtn.hidden = !leading;
    this.takeBtn.hidden = leading;
    this.takeBtn.disabled = guestLocked;
    this.takeBtn.title = guestLocked
      ? "The host decides who leads"
      : "Everyone follows your scrolling";
    this.followBtn.hidden = leader === null || leading;
    const name = leader === null ? "" : this.nameOf(leader);
    this.followBtn.textContent = this.isFollowing() ? `Following ${name}` : `Follow ${name}`;
    this.followBtn.setAttribute("aria-pressed", String(this.isFollowing()));
    this.followBtn.title = this.isFollowing() ? "Stop following and read on your own" : `Follow ${name} again (F)`;
    this.note.textContent = leading ? "You lead" : leader === null ? "Nobody leads" : "";
    this.note.hidden = !this.note.textContent;
    const showPill = this.paused && leader !== null && !leading;
    this.pill.hidden = !showPill;
    if (showPill) this.pillText.textContent = `Following ${name} · paused —`;
  }

  private presenceOf(p: Participant): PersonPresence {
    const st = this.o.awareness.getStates().get(p.clientId) as PresenceState | undefined;
    const parts: string[] = [];
    const leads = p.clientId === this.leader;
    const following = p.self ? this.state().following : asClientId(st?.following);
    if (following !== null) parts.push(`following ${following === this.self ? "you" : this.nameOf(following)}`);
    else if (this.leader !== null && !leads) parts.push("on their own");
    const s = this.scrollOf(p.clientId);
    if (s && Number.isInteger(s.index) && s.count > 0) parts.push(`cell ${s.index + 1} of ${s.count}`);
    const iHost = this.o.config.role === "host";
    const iLead = this.leader === this.self;
    const canHand = !p.self && !leads && (iHost || (iLead && this.policy === "anyone"));
    return { leads, detail: parts.join(" · "), canHand };
  }

  private scheduleMarkers(): void {
    if (this.markerFrame) return;
    this.markerFrame = requestAnimationFrame(() => {
      this.markerFrame = 0;
      this.renderMarkers();
    });
  }

  private renderMarkers(): void {
    const states = this.o.awareness.getStates() as Map<number, PresenceState>;
    const height = document.documentElement.scrollHeight || 1;
    const seen = new Set<number>();
    for (const [id, st] of states) {
      if (id === this.self || !st.user) continue;
      const s = this.scrollOf(id);
      const cell = s && this.o.layout.cellById(s.cell);
      if (!s || !cell || cell.getClientRects().length === 0) continue;
      const rect = cell.getBoundingClientRect();
      const y = window.scrollY + rect.top + s.offset * this.o.layout.scaleOf(cell, rect);
      seen.add(id);
      let m = this.markerViews.get(id);
      if (!m) {
        m = el("button", "jupyterspot-marker", { type: "button", "data-marker-of": String(id) });
        const target = id;
        m.addEventListener("click", () => this.jumpTo(target));
        this.markers.appendChild(m);
        this.markerViews.set(id, m);
      }
      const frac = Math.max(0, Math.min(1, y / height));
      m.style.top = `calc(${(frac * 100).toFixed(2)}% - 3px)`;
      m.style.setProperty("--jupyterspot-marker-color", safeColor(st.user.color));
      m.toggleAttribute("data-leads", id === this.leader);
      const where = Number.isInteger(s.index) && s.count > 0 ? ` · cell ${s.index + 1} of ${s.count}` : "";
      const label = `${this.nameOf(id)}${id === this.leader ? " (leads)" : ""}${where}`;
      if (m.title !== label) {
        m.title = label;
        m.setAttribute("aria-label", `Go to ${label}`);
      }
    }
    for (const [id, m] of this.markerViews) {
      if (!seen.has(id)) {
        m.remove();
        this.markerViews.delete(id);
      }
    }
  }
}

export function startFollow(options: FollowOptions): Follow {
  return new Follow(options);
}
