// The viewer's chrome: a compact fixed bar at the top right with the connection status, the
// participant list (collapsible) and a non-blocking name dialog. Everything other people typed is
// inserted as text (textContent), never as HTML.
//
// The bar never covers the notebook by default (issue 16): where the reference layout leaves a
// right margin of at least MARGIN_PANEL px it is a panel in that margin, no wider than the margin,
// list open; elsewhere it is a one-line pill in the page's top strip (viewer.css keeps 48 px
// above the first cell), the lead controls inline and the list closed until asked for. The first
// name prompt is part of the page's flow above the notebook, not over it.
//
// In audience mode (docs/protocol.md, "Audience mode") a guest's page receives only the hosts'
// and speakers' presence, so the list says so and shows the head count and the first names the
// server publishes in the control document; a host's list offers the floor.

import type { ConnectionStatus } from "./connection";
import { MAX_NAME_LENGTH } from "./config";
import { h, icon as pathIcon } from "./dom";
import { frameTask } from "./frame";
import { safeColor } from "./identity";

export interface Participant {
  clientId: number;
  name: string;
  color: string;
  role: string;
  self: boolean;
  /** A raised hand (awareness `hand`, reactions.ts): shown until lowered. */
  hand?: boolean;
}

/** What the follow logic adds to a participant's row (follow/). */
export interface PersonPresence {
  /** This person leads the scrolling. */
  leads: boolean;
  /** "following Alice · cell 12 of 40", shown under the name. */
  detail: string;
  /** Offer a "hand the lead" button (I am host or leader, they don't lead). */
  canHand: boolean;
  /** Audience mode, on a host's page: offer to give them the floor, or to take it back. */
  floor?: "give" | "take" | null;
}

/** What the control document says in audience mode (follow/audience.ts reads it). */
export interface AudienceView {
  /** People here (the server's count: a guest's page does not receive everyone). */
  count: number;
  /** The first names (hosts and speakers first), already cleaned. */
  names: string[];
}

/** Rows the list draws in audience mode (a host's page holds everyone's presence). */
export const MAX_ROWS = 100;

const STATUS_TEXT: Record<ConnectionStatus["state"], string> = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting…",
  invalid: "This link is no longer valid",
  stopped: "The share was stopped",
};

const icon = (d: string): SVGSVGElement => pathIcon(d, 14, 16);

const CHEVRON = "M4 6l4 4 4-4";
/** The narrowest right margin (px) the bar opens in as a panel (one 8 px gap each side). */
export const MARGIN_PANEL = 180;
const PENCIL = "M11 2.5l2.5 2.5L6 12.5 3 13l.5-3z";

export class TopBar {
  readonly el: HTMLElement;
  /** Where later tools (drawing, lead) add their buttons. */
  readonly tools: HTMLElement;
  readonly status: HTMLElement;
  readonly participants: HTMLUListElement;
  /** The lead and follow controls (follow/controls.ts fills it). */
  readonly lead: HTMLElement;
  /** "kernel busy", "live paused" (running.ts sets it; empty = hidden). */
  readonly activity: HTMLElement;
  /** Presence details per person (follow/); null = none. */
  presenceOf: ((p: Participant) => PersonPresence | null) | null = null;
  /** A click on someone else's row: jump to where they are. */
  onPersonClick: (clientId: number) => void = () => undefined;
  /** A click on "hand the lead" in someone's row. */
  onHandLead: (clientId: number) => void = () => undefined;
  /** A click on "give the floor" (give=true) or "take the floor" in someone's row. */
  onFloor: (clientId: number, give: boolean) => void = () => undefined;
  private people: Participant[] = [];
  private audience: AudienceView | null = null;
  private readonly summary: HTMLElement;
  /** In audience mode the list is drawn once per frame: a host's page there gets everyone's
   * presence changes. */
  private readonly drawTask = frameTask(() => this.draw(), 100);
  private statusText: HTMLElement;
  private toggle: HTMLButtonElement;
  private faces: HTMLElement;
  private count: HTMLElement;
  private signature = "";
  private dialog: HTMLFormElement | null = null;
  private readonly row: HTMLElement;
  /** The notebook root the bar keeps clear of (place()). */
  private root: HTMLElement | null = null;
  /** The user opened or closed the list: placing no longer decides that. */
  private userToggled = false;
  /** Called after the page's flow changed above the notebook (the inline name prompt). */
  onShift: () => void = () => undefined;
  /** Called when the user asks to change their name (the "you" entry). */
  onRenameRequest: () => void = () => undefined;

  constructor(
    title: string,
    private readonly onRelay = false,
  ) {
    this.tools = h("div", { class: "jupyterspot-tools" });
    this.statusText = h("span", { class: "jupyterspot-status-text" });
    this.status = h(
      "span",
      {
        class: "jupyterspot-status",
        "data-testid": "connection-status",
        "data-state": "connecting",
        role: "status",
        "aria-live": "polite",
      },
      h("span", { class: "jupyterspot-status-dot", "aria-hidden": "true" }),
      this.statusText,
    );
    this.faces = h("span", { class: "jupyterspot-faces", "aria-hidden": "true" });
    this.count = h("span", { class: "jupyterspot-count" });
    this.toggle = h(
      "button",
      {
        type: "button",
        class: "jupyterspot-people-toggle",
        "aria-controls": "jupyterspot-participants",
        title: "People here",
      },
      this.faces,
      this.count,
      icon(CHEVRON),
    );
    this.participants = h("ul", {
      class: "jupyterspot-participants",
      id: "jupyterspot-participants",
      "data-testid": "participants",
      "aria-label": "People here",
    });
    this.activity = h("span", {
      class: "jupyterspot-activity",
      "data-testid": "kernel-activity",
      role: "status",
    });
    this.activity.hidden = true;
    const row = (this.row = h(
      "div",
      { class: "jupyterspot-bar-row" },
      this.tools,
      this.status,
      this.activity,
      this.toggle,
    ));
    this.lead = h("div", { class: "jupyterspot-lead-row" });
    this.summary = h("div", { class: "jupyterspot-audience", "data-testid": "audience-summary" });
    this.summary.hidden = true;
    this.el = h(
      "div",
      { class: "jupyterspot-bar", "data-testid": "topbar", role: "region" },
      row,
      this.lead,
      this.summary,
      this.participants,
    );
    this.el.setAttribute("aria-label", title ? `Live share: ${title}` : "Live share");
    this.toggle.addEventListener("click", () => {
      this.userToggled = true;
      this.setOpen(!this.isOpen());
    });
    this.setOpen(false); // until place() knows the margin
    this.setStatus({ state: "connecting", detail: "" });
    document.body.appendChild(this.el);
  }

  /**
   * Keep clear of the notebook `root`: a panel in its right margin when that is wide enough,
   * else a pill in the top strip. Again on every resize (the layout's zoom changes the margin).
   */
  place(root: HTMLElement): void {
    if (!this.root) window.addEventListener("resize", () => this.root && this.place(this.root));
    this.root = root;
    const margin = document.documentElement.clientWidth - root.getBoundingClientRect().right;
    const panel = margin >= MARGIN_PANEL;
    this.el.dataset.place = panel ? "margin" : "pill";
    this.el.style.maxWidth = panel ? `${Math.min(300, Math.floor(margin - 16))}px` : "";
    // The lead controls: their own line in the panel, inline in the pill.
    if (panel) this.el.insertBefore(this.lead, this.summary);
    else this.row.insertBefore(this.lead, this.toggle);
    if (!this.userToggled) this.setOpen(panel);
  }

  isOpen(): boolean {
    return this.el.hasAttribute("data-open");
  }

  setOpen(open: boolean): void {
    this.el.toggleAttribute("data-open", open);
    this.toggle.setAttribute("aria-expanded", String(open));
  }

  setStatus(status: ConnectionStatus): void {
    let text = STATUS_TEXT[status.state];
    if (status.state === "reconnecting" && status.detail) text = `${status.detail}, retrying…`;
    if (status.state === "invalid" && status.detail) text = status.detail;
    this.status.setAttribute("data-state", status.state);
    this.statusText.textContent = text;
    this.el.setAttribute("data-state", status.state);
  }

  /** What the kernel does, next to the connection status ("" hides it). */
  setActivity(text: string, title: string, busy: boolean): void {
    this.activity.textContent = text;
    this.activity.title = title;
    this.activity.hidden = !text;
    this.activity.toggleAttribute("data-busy", busy);
  }

  /** Draw the list again with fresh presence details (leader or positions changed). */
  rerender(): void {
    this.setParticipants(this.people);
  }

  setParticipants(people: Participant[]): void {
    this.people = people;
    if (this.audience) this.drawTask.schedule();
    else this.draw(); // a small room: at once, as always
  }

  /** Audience mode on (the count and names the server published) or off (null). */
  setAudience(view: AudienceView | null): void {
    // A relay does not route presence by audience mode (docs/security.md): there everyone
    // still sees everyone, so the page must not say otherwise.
    this.audience = this.onRelay ? null : view;
    this.el.toggleAttribute("data-audience", this.audience !== null);
    this.drawTask.schedule();
  }

  /** Draw what was set, now (tests and the frame task). */
  draw(): void {
    this.drawTask.cancel();
    const people = this.audience ? this.people.slice(0, MAX_ROWS) : this.people;
    const extras = people.map((p) => this.presenceOf?.(p) ?? null);
    const signature = JSON.stringify([people, extras, this.audience, this.people.length]);
    if (signature === this.signature) return;
    this.signature = signature;
    const items = people.map((p, i) => this.item(p, extras[i]));
    const hidden = this.people.length - people.length;
    if (hidden > 0) items.push(h("li", { class: "jupyterspot-more" }, `and ${hidden} more`));
    this.participants.replaceChildren(...items);
    const count = this.audience ? this.audience.count : people.length;
    this.count.textContent = String(count);
    const title = count === 1 ? "1 person here" : `${count} people here`;
    this.toggle.title = this.audience ? `${title} (audience mode)` : title;
    this.drawSummary();
    this.faces.replaceChildren(
      ...people.slice(0, 4).map((p) => {
        const dot = h("span", { class: "jupyterspot-dot" });
        dot.style.background = safeColor(p.color);
        return dot;
      }),
    );
  }

  /** "Audience mode · 312 people", what it means, and the first names. */
  private drawSummary(): void {
    const view = this.audience;
    this.summary.hidden = view === null;
    if (view === null) {
      this.summary.replaceChildren();
      return;
    }
    const head = h("div", { class: "jupyterspot-audience-head" });
    head.textContent = `Audience mode · ${view.count === 1 ? "1 person" : `${view.count} people`}`;
    const note = h("div", { class: "jupyterspot-audience-note" });
    note.textContent = "You see the presenter and the speakers; the others see you only as a name.";
    const names = h("div", { class: "jupyterspot-audience-names", "data-testid": "audience-names" });
    const more = view.count - view.names.length;
    names.textContent = view.names.join(", ") + (more > 0 ? ` and ${more} more` : "");
    this.summary.replaceChildren(head, note, names);
  }

  private item(p: Participant, extra: PersonPresence | null = null): HTMLLIElement {
    const dot = h("span", { class: "jupyterspot-dot", "aria-hidden": "true" });
    dot.style.background = safeColor(p.color);
    const name = h("span", { class: "jupyterspot-person-name" });
    name.textContent = p.name;
    name.title = p.name;
    const li = h("li", { class: "jupyterspot-person", "data-client-id": String(p.clientId) }, dot);
    li.append(name);
    if (p.self) {
      li.classList.add("jupyterspot-self");
      li.append(h("span", { class: "jupyterspot-you" }, "(you)"));
    }
    if (p.role === "host") li.append(h("span", { class: "jupyterspot-badge" }, "host"));
    if (p.hand) {
      const attrs = { class: "jupyterspot-raised", "data-testid": "hand-raised", title: "Hand raised" };
      li.append(h("span", attrs, "✋"));
    }
    if (extra?.leads) {
      li.setAttribute("data-leads", "");
      li.append(h("span", { class: "jupyterspot-badge jupyterspot-lead-badge" }, "leads"));
    }
    if (extra?.canHand) {
      const hand = h(
        "button",
        { type: "button", class: "jupyterspot-hand", "data-testid": "hand-lead" },
        "Hand lead",
      );
      hand.title = `Make ${p.name} the leader`;
      hand.addEventListener("click", (e) => {
        e.stopPropagation();
        this.onHandLead(p.clientId);
      });
      li.append(hand);
    }
    if (extra?.floor) {
      const give = extra.floor === "give";
      const floor = h(
        "button",
        {
          type: "button",
          class: "jupyterspot-hand jupyterspot-floor",
          "data-testid": give ? "give-floor" : "take-floor",
        },
        give ? "Give floor" : "Take floor",
      );
      floor.title = give
        ? `Let everyone see ${p.name}'s pointer and position`
        : `${p.name} back to the audience`;
      floor.addEventListener("click", (e) => {
        e.stopPropagation();
        this.onFloor(p.clientId, give);
      });
      li.append(floor);
    }
    if (!p.self) {
      li.classList.add("jupyterspot-jump");
      li.title = `Follow ${p.name}`;
      li.addEventListener("click", () => this.onPersonClick(p.clientId));
    }
    if (p.self) {
      const edit = h(
        "button",
        { type: "button", class: "jupyterspot-rename", title: "Change your name" },
        icon(PENCIL),
      );
      edit.setAttribute("aria-label", "Change your name");
      edit.addEventListener("click", () => this.onRenameRequest());
      li.append(edit);
    }
    if (extra?.detail) {
      // On its own line: "following Alice · cell 12 of 40".
      const detail = h("span", { class: "jupyterspot-person-detail" });
      detail.textContent = extra.detail;
      li.append(detail);
    }
    return li;
  }

  /**
   * Ask for a name without blocking anything. `inline`: a line in the page's flow above the
   * notebook (the first prompt, at load: it covers nothing); otherwise (the user asked to rename)
   * a small form under the bar. `onName` gets the entered name; dismissing keeps the current
   * (guest) name.
   */
  askName(
    current: string,
    placeholder: string,
    onName: (name: string) => void,
    inline = false,
  ): void {
    this.closeNameDialog();
    const input = h("input", {
      type: "text",
      class: "jupyterspot-name-input",
      maxlength: String(MAX_NAME_LENGTH),
      autocomplete: "nickname",
      spellcheck: "false",
      placeholder,
      "aria-label": "Your name",
      "data-testid": "name-input",
    });
    input.value = current;
    const submit = h(
      "button",
      { type: "submit", class: "jupyterspot-primary", "data-testid": "name-submit" },
      "Join",
    );
    const close = h(
      "button",
      { type: "button", class: "jupyterspot-close", title: "Not now", "aria-label": "Not now" },
      "×",
    );
    const form = h(
      "form",
      { class: "jupyterspot-name-dialog", "data-testid": "name-dialog", "aria-label": "Your name" },
      h("div", { class: "jupyterspot-name-title" }, "What should others call you?"),
      h("div", { class: "jupyterspot-name-row" }, input, submit),
      close,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const value = input.value;
      this.closeNameDialog();
      onName(value);
    });
    close.addEventListener("click", () => this.closeNameDialog());
    form.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.closeNameDialog();
    });
    this.dialog = form;
    const root = this.root;
    if (inline && root?.parentNode) {
      form.classList.add("jupyterspot-name-inline");
      root.parentNode.insertBefore(form, root);
      this.onShift();
    } else {
      this.el.appendChild(form);
    }
    // Don't pop up a phone keyboard uninvited.
    if (window.matchMedia?.("(pointer: fine)").matches) input.focus({ preventScroll: true });
  }

  closeNameDialog(): void {
    const inline = this.dialog?.classList.contains("jupyterspot-name-inline");
    this.dialog?.remove();
    this.dialog = null;
    if (inline) this.onShift();
  }
}
