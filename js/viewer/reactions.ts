// Meeting tools in presence (issue 18): a reaction (👍 ❓ 👀 🎉 ✋) at the pointer or on the cell
// you look at, a raised hand that stays until lowered, and cursor chat (`/`, ≤ 60 characters,
// a few seconds by the cursor). All three are awareness fields (collab/schema.py
// AWARENESS_FIELDS: `react`, `hand`, `chat`); the host's control switch `reactions` turns them
// off (the server then strips them, collab/reactions.py; here the tools and what is shown go).
//
// Everything another person typed is shown with textContent only. A page sends at most
// REACT_PER_SECOND reactions a second and one chat line a second.

import type { Awareness } from "y-protocols/awareness";
import type * as Y from "yjs";
import { h, typingIn } from "./dom";
import { frameTask } from "./frame";
import type { Anchor, Layout } from "./layout";
import type { PresenceState } from "./presence";

export const REACTIONS = [
  { name: "up", emoji: "👍", label: "Thumbs up" },
  { name: "what", emoji: "❓", label: "A question" },
  { name: "look", emoji: "👀", label: "Look at this" },
  { name: "yay", emoji: "🎉", label: "Yay" },
  { name: "hand", emoji: "✋", label: "Raise or lower your hand" },
] as const;
export type ReactionName = (typeof REACTIONS)[number]["name"];
const EMOJI = new Map<string, string>(REACTIONS.map((r) => [r.name, r.emoji]));

export const CHAT_MAX = 60; // code points, as collab/schema.py CHAT_TEXT counts them
export const REACT_MS = 3000;
export const CHAT_MS = 5000;
export const REACT_PER_SECOND = 4;
export const CHAT_EVERY_MS = 1000;

/** `text` on one line (line breaks become spaces), cut to `max` code points (an emoji is
 * one), trimmed. */
export function cutChat(text: string, max = CHAT_MAX): string {
  const line = text.replace(/[\r\n\u2028\u2029\v\f\u0085]+/g, " ");
  return [...line.trim()].slice(0, max).join("").trim();
}

/** What a page keeps on screen from others at once: a flood (or many people) costs a bounded
 * number of nodes (the server already cuts a socket to 4 new reactions a second). */
export const MAX_SHOWN_PER_SENDER = 6;
export const MAX_SHOWN = 60;

/** At most `count` events in any `windowMs`: `take()` says whether one may happen now. */
export class RateLimit {
  private times: number[] = [];
  constructor(
    private readonly count: number,
    private readonly windowMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  take(): boolean {
    const t = this.now();
    this.times = this.times.filter((s) => t - s < this.windowMs);
    if (this.times.length >= this.count) return false;
    this.times.push(t);
    return true;
  }
}

interface ReactState {
  n: string;
  seq: number;
  cell: string;
  x: number;
  y: number;
}

function reactOf(state: PresenceState): ReactState | null {
  const r = state.react as ReactState | null | undefined;
  return r && typeof r === "object" && EMOJI.has(r.n) && typeof r.cell === "string" ? r : null;
}

function chatOf(state: PresenceState): { text: string; seq: number } | null {
  const c = state.chat as { text: unknown; seq: unknown } | null | undefined;
  if (!c || typeof c !== "object" || typeof c.text !== "string" || typeof c.seq !== "number") {
    return null;
  }
  return { text: cutChat(c.text), seq: c.seq };
}

/** Shown for a while at an anchor (a reaction, a chat line), moved along as the page scrolls. */
interface Floating {
  el: HTMLElement;
  anchor: () => Anchor | null;
  until: number;
  of: number; // the sender's client id
  at: string; // the transform last written ("" : none yet)
}

export interface ReactionsOptions {
  awareness: Awareness;
  controlDoc: Y.Doc;
  layout: Layout;
  /** The palette's react button (board/toolbar.ts, data-testid="react"). */
  button: HTMLButtonElement;
  /** Where the floating things go (the cursors' layer: the window's width, clipped). */
  layer: HTMLElement;
}

export class Reactions {
  readonly menu: HTMLElement;
  private readonly awareness: Awareness;
  private readonly layout: Layout;
  private readonly layer: HTMLElement;
  private readonly button: HTMLButtonElement;
  private readonly control: Y.Map<unknown>;
  private on = true;
  private reactSeq = 0;
  private chatSeq = 0;
  private readonly reactRate = new RateLimit(REACT_PER_SECOND, 1000);
  private readonly chatRate = new RateLimit(1, CHAT_EVERY_MS);
  /** Per client, the last reaction / chat seq seen (first sight: remembered, not shown). */
  private readonly seen = new Map<number, { react: number | null; chat: number | null }>();
  private floating: Floating[] = [];
  private pointer: { x: number; y: number } | null = null;
  private chatBox: HTMLFormElement | null = null;
  private readonly task = frameTask(() => this.place(), 100);

  constructor(opts: ReactionsOptions) {
    this.awareness = opts.awareness;
    this.layout = opts.layout;
    this.layer = opts.layer;
    this.button = opts.button;
    this.control = opts.controlDoc.getMap("control");
    this.menu = this.buildMenu();
    document.body.appendChild(this.menu);
    this.button.addEventListener("click", () => this.openMenu(this.menu.hidden));
    document.addEventListener("pointerdown", (e) => {
      const t = e.target as Node;
      if (!this.menu.hidden && !this.menu.contains(t) && !this.button.contains(t)) {
        this.openMenu(false);
      }
    });
    document.addEventListener(
      "pointermove",
      (e) => {
        if (e.pointerType !== "touch") this.pointer = { x: e.clientX, y: e.clientY };
      },
      { passive: true },
    );
    document.documentElement.addEventListener("pointerleave", () => (this.pointer = null));
    document.addEventListener("keydown", (e) => this.key(e));
    this.awareness.on("change", () => this.heard());
    window.addEventListener("scroll", () => this.task.schedule(), { passive: true, capture: true });
    this.layout.onChange(() => this.task.schedule());
    this.control.observe(() => this.switched());
    this.switched();
    this.heard();
  }

  /** Whether the host lets people react (control `reactions`, on unless false). */
  get enabled(): boolean {
    return this.on;
  }

  get handRaised(): boolean {
    return (this.awareness.getLocalState() as PresenceState | null)?.hand === true;
  }

  /** Send reaction `name` at `at` (a viewport point), else at the pointer, else on the cell
   * in the middle of the window. ✋ raises the hand, or lowers it. False when not sent. */
  react(name: ReactionName, at?: { x: number; y: number }): boolean {
    if (!this.on) return false;
    if (name === "hand" && this.handRaised) {
      this.awareness.setLocalStateField("hand", false);
      return true;
    }
    const anchor = this.anchorAt(at ?? this.pointer);
    if (!anchor || !this.reactRate.take()) return false;
    const react = { n: name, seq: ++this.reactSeq, cell: anchor.cell, x: anchor.x, y: anchor.y };
    const state = this.awareness.getLocalState() ?? {};
    this.awareness.setLocalState({ ...state, react, ...(name === "hand" ? { hand: true } : {}) });
    return true;
  }

  /** Send a chat line (cut to CHAT_MAX); false when empty, off, or within a second of the last. */
  chat(text: string): boolean {
    const line = cutChat(text);
    if (!this.on || !line || !this.chatRate.take()) return false;
    this.awareness.setLocalStateField("chat", { text: line, seq: ++this.chatSeq });
    return true;
  }

  /** The chat box by the pointer (Enter sends, Esc cancels). */
  openChat(): void {
    if (!this.on) return;
    this.chatBox?.remove();
    const input = h("input", {
      class: "jupyterspot-chat-input",
      "data-testid": "chat-input",
      maxlength: String(CHAT_MAX * 2), // UTF-16 units; the cut counts code points
      placeholder: "Say something (Enter)",
      "aria-label": "Cursor chat",
      autocomplete: "off",
    });
    const form = h("form", { class: "jupyterspot-chat-box" }, input);
    const p = this.pointer ?? { x: window.innerWidth / 2 - 120, y: window.innerHeight - 120 };
    form.style.left = `${Math.max(4, Math.min(p.x + 16, window.innerWidth - 260))}px`;
    form.style.top = `${Math.max(4, Math.min(p.y + 16, window.innerHeight - 48))}px`;
    const close = (): void => {
      form.remove();
      if (this.chatBox === form) this.chatBox = null;
    };
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (this.chat(input.value) || !cutChat(input.value)) close();
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        close();
      }
    });
    input.addEventListener("blur", () => setTimeout(close, 0));
    document.body.appendChild(form);
    this.chatBox = form;
    input.focus();
  }

  openMenu(open: boolean): void {
    if (open && !this.on) return;
    this.menu.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    if (!open) return;
    // Beside the button where it is (the left strip, the bottom bar, or the "more" menu).
    const r = this.button.getBoundingClientRect();
    const w = this.menu.offsetWidth;
    const hgt = this.menu.offsetHeight;
    const visible = r.width > 0;
    let left = visible ? r.right + 8 : window.innerWidth / 2 - w / 2;
    let top = visible ? r.top : window.innerHeight - hgt - 80;
    if (left + w > window.innerWidth - 4) left = r.left;
    if (visible && r.top > window.innerHeight / 2) top = r.top - hgt - 8;
    this.menu.style.left = `${Math.max(4, Math.min(left, window.innerWidth - w - 4))}px`;
    this.menu.style.top = `${Math.max(4, Math.min(top, window.innerHeight - hgt - 4))}px`;
  }

  private buildMenu(): HTMLElement {
    const menu = h("div", {
      class: "jupyterspot-react-menu",
      "data-testid": "react-menu",
      role: "menu",
      "aria-label": "React",
    });
    REACTIONS.forEach((r, i) => {
      const b = h(
        "button",
        {
          type: "button",
          role: "menuitem",
          class: "jupyterspot-react-choice",
          "data-react-choice": r.name,
          title: `${r.label} (${i + 1})`,
          "aria-label": r.label,
        },
        r.emoji,
      );
      b.addEventListener("click", () => {
        // From the menu the pointer is on the menu: the reaction goes on the cell in the
        // middle of the view (keys 1-5 use the pointer).
        this.react(r.name, { x: window.innerWidth / 2, y: window.innerHeight / 2 });
        this.openMenu(false);
      });
      menu.appendChild(b);
    });
    // Cursor chat without a keyboard's `/` (a phone): the same box, placed where there is room.
    const say = h(
      "button",
      {
        type: "button",
        role: "menuitem",
        class: "jupyterspot-react-say",
        "data-testid": "react-say",
        title: "Say something (/)",
      },
      "Say…",
    );
    say.addEventListener("click", () => {
      this.openMenu(false);
      this.openChat();
    });
    menu.appendChild(say);
    menu.hidden = true;
    menu.addEventListener("pointerdown", (e) => e.stopPropagation()); // no stroke starts here
    return menu;
  }

  private key(e: KeyboardEvent): void {
    if (e.defaultPrevented || typingIn(e) || !this.on) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "/") {
      e.preventDefault(); // the `/` is not typed into the box
      this.openChat();
      return;
    }
    const i = "12345".indexOf(e.key);
    if (e.key.length === 1 && i >= 0) {
      e.preventDefault();
      this.react(REACTIONS[i].name);
    }
  }

  private anchorAt(p: { x: number; y: number } | null): Anchor | null {
    const inside = p && p.x >= 0 && p.y >= 0 && p.x < window.innerWidth && p.y < window.innerHeight;
    const at = inside ? p : { x: window.innerWidth / 2, y: window.innerHeight / 2 };
    const a = this.layout.pointToAnchor(at.x, at.y);
    return a && { cell: a.cell, x: Math.round(a.x), y: Math.round(a.y) };
  }

  /** The control switch changed (or not): tools and what is shown follow it. */
  private switched(): void {
    const on = this.control.get("reactions") !== false;
    if (on === this.on) return;
    this.on = on;
    this.button.hidden = !on;
    this.button.toggleAttribute("data-off", !on);
    if (on) return;
    this.openMenu(false);
    this.chatBox?.remove();
    this.chatBox = null;
    for (const f of this.floating) f.el.remove();
    this.floating = [];
    const state = this.awareness.getLocalState() as PresenceState | null;
    if (state && ("react" in state || "hand" in state || "chat" in state)) {
      const { react: _r, hand: _h, chat: _c, ...rest } = state;
      this.awareness.setLocalState(rest);
    }
  }

  /** Someone's state changed: a new reaction or chat line floats for a while. */
  private heard(): void {
    const states = this.awareness.getStates() as Map<number, PresenceState>;
    for (const id of this.seen.keys()) if (!states.has(id)) this.seen.delete(id);
    for (const [id, state] of states) {
      const react = reactOf(state);
      const chat = chatOf(state);
      const before = this.seen.get(id);
      this.seen.set(id, { react: react?.seq ?? null, chat: chat?.seq ?? null });
      if (!this.on) continue;
      // First sight: a newcomer's old reaction is not news (own ones always are).
      if (!before && id !== this.awareness.clientID) continue;
      if (react && react.seq !== before?.react) this.showReaction(id, react);
      if (chat && chat.seq !== before?.chat && chat.text) this.showChat(id, chat.text);
    }
    this.task.schedule();
  }

  private showReaction(id: number, r: ReactState): void {
    const el = h("div", {
      class: "jupyterspot-reaction",
      "data-reaction": r.n,
      "data-reaction-of": String(id),
    });
    el.textContent = EMOJI.get(r.n) ?? "";
    const anchor = { cell: r.cell, x: r.x, y: r.y };
    this.float(id, el, () => anchor, REACT_MS);
  }

  private showChat(id: number, text: string): void {
    for (const f of this.floating) {
      if (f.el.dataset.chatOf === String(id)) f.until = 0; // one line per person
    }
    // The sender's name and colour on the bubble (text only, never markup): a guest cannot
    // pass a line off as the host's by putting it near the host's cursor.
    const user = (this.awareness.getStates().get(id) as PresenceState | undefined)?.user;
    const said = cutChat(String(user?.name ?? ""), 40) || "Guest";
    const name = h("span", { class: "jupyterspot-chat-name" }, said);
    const colored = typeof user?.color === "string" && /^#[0-9a-f]{3,8}$/i.test(user.color);
    const color = colored && user?.color ? user.color : "#888888";
    const el = h(
      "div",
      { class: "jupyterspot-chat", "data-chat-of": String(id) },
      name,
      h("span", { class: "jupyterspot-chat-text" }, text),
    );
    el.style.borderLeftColor = color;
    const where = (): Anchor | null => {
      const s = this.awareness.getStates().get(id) as PresenceState | undefined;
      const c = s?.cursor;
      if (c && typeof c.cell === "string") return c;
      const sc = s?.scroll;
      return sc && typeof sc.cell === "string" ? { cell: sc.cell, x: 24, y: sc.offset + 24 } : null;
    };
    this.float(id, el, where, CHAT_MS);
  }

  private float(of: number, el: HTMLElement, anchor: () => Anchor | null, ms: number): void {
    // Bounded: a sender's oldest go past MAX_SHOWN_PER_SENDER, anyone's past MAX_SHOWN.
    const mine = this.floating.filter((f) => f.of === of);
    const over = [
      ...mine.slice(0, Math.max(0, mine.length - MAX_SHOWN_PER_SENDER + 1)),
      ...this.floating.slice(0, Math.max(0, this.floating.length - MAX_SHOWN + 1)),
    ];
    if (over.length) {
      for (const f of over) f.el.remove();
      this.floating = this.floating.filter((f) => !over.includes(f));
    }
    el.hidden = true;
    this.layer.appendChild(el);
    this.floating.push({ el, anchor, until: performance.now() + ms, of, at: "" });
    setTimeout(() => this.task.schedule(), ms + 20);
  }

  /** Place what floats; drop what has had its time. */
  private place(): void {
    const now = performance.now();
    const rect = this.layer.getBoundingClientRect();
    this.floating = this.floating.filter((f) => {
      if (f.until <= now) {
        f.el.remove();
        return false;
      }
      const a = f.anchor();
      const p = a && this.layout.anchorToClient(a);
      const at = p ? `translate(${Math.round(p.x - rect.left)}px, ${Math.round(p.y - rect.top)}px)` : "";
      if (at === f.at) return true; // nothing moved: no style write (no restyle of the layer)
      f.at = at;
      f.el.hidden = !p;
      if (p) f.el.style.transform = at;
      return true;
    });
  }
}
