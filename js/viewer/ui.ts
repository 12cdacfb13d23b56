// The viewer's chrome: a compact fixed bar at the top right with the connection status, the
// participant list (collapsible) and a non-blocking name dialog. Everything other people typed is
// inserted as text (textContent), never as HTML.

import type { ConnectionStatus } from "./connection";
import { MAX_NAME_LENGTH } from "./config";
import { h, icon as pathIcon } from "./dom";
import { safeColor } from "./identity";

export interface Participant {
  clientId: number;
  name: string;
  color: string;
  role: string;
  self: boolean;
}

/** What the follow logic adds to a participant's row (follow/). */
export interface PersonPresence {
  /** This person leads the scrolling. */
  leads: boolean;
  /** "following Alice · cell 12 of 40", shown under the name. */
  detail: string;
  /** Offer a "hand the lead" button (I am host or leader, they don't lead). */
  canHand: boolean;
}

const STATUS_TEXT: Record<ConnectionStatus["state"], string> = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting…",
  invalid: "This link is no longer valid",
  stopped: "The share was stopped",
};

const icon = (d: string): SVGSVGElement => pathIcon(d, 14, 16);

const CHEVRON = "M4 6l4 4 4-4";
const PENCIL = "M11 2.5l2.5 2.5L6 12.5 3 13l.5-3z";

export class TopBar {
  readonly el: HTMLElement;
  /** Where later tools (drawing, lead) add their buttons. */
  readonly tools: HTMLElement;
  readonly status: HTMLElement;
  readonly participants: HTMLUListElement;
  /** The lead and follow controls (follow/controls.ts fills it). */
  readonly lead: HTMLElement;
  /** Presence details per person (follow/); null = none. */
  presenceOf: ((p: Participant) => PersonPresence | null) | null = null;
  /** A click on someone else's row: jump to where they are. */
  onPersonClick: (clientId: number) => void = () => undefined;
  /** A click on "hand the lead" in someone's row. */
  onHandLead: (clientId: number) => void = () => undefined;
  private people: Participant[] = [];
  private statusText: HTMLElement;
  private toggle: HTMLButtonElement;
  private faces: HTMLElement;
  private count: HTMLElement;
  private signature = "";
  private dialog: HTMLFormElement | null = null;
  /** Called when the user asks to change their name (the "you" entry). */
  onRenameRequest: () => void = () => undefined;

  constructor(title: string) {
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
    const row = h("div", { class: "jupyterspot-bar-row" }, this.tools, this.status, this.toggle);
    this.lead = h("div", { class: "jupyterspot-lead-row" });
    this.el = h(
      "div",
      { class: "jupyterspot-bar", "data-testid": "topbar", role: "region" },
      row,
      this.lead,
      this.participants,
    );
    this.el.setAttribute("aria-label", title ? `Live share: ${title}` : "Live share");
    this.toggle.addEventListener("click", () => this.setOpen(!this.isOpen()));
    // Expanded where there is room beside the notebook, collapsed on phones.
    this.setOpen(window.innerWidth >= 1100);
    this.setStatus({ state: "connecting", detail: "" });
    document.body.appendChild(this.el);
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

  /** Draw the list again with fresh presence details (leader or positions changed). */
  rerender(): void {
    this.setParticipants(this.people);
  }

  setParticipants(people: Participant[]): void {
    this.people = people;
    const extras = people.map((p) => this.presenceOf?.(p) ?? null);
    const signature = JSON.stringify([people, extras]);
    if (signature === this.signature) return;
    this.signature = signature;
    const items = people.map((p, i) => this.item(p, extras[i]));
    this.participants.replaceChildren(...items);
    this.count.textContent = String(people.length);
    this.toggle.title = people.length === 1 ? "1 person here" : `${people.length} people here`;
    this.faces.replaceChildren(
      ...people.slice(0, 4).map((p) => {
        const dot = h("span", { class: "jupyterspot-dot" });
        dot.style.background = safeColor(p.color);
        return dot;
      }),
    );
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
    if (!p.self) {
      li.classList.add("jupyterspot-jump");
      li.title = `Go to where ${p.name} is`;
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
   * Ask for a name without blocking anything: a small form under the bar. `onName` gets the
   * entered name; dismissing keeps the current (guest) name.
   */
  askName(current: string, placeholder: string, onName: (name: string) => void): void {
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
    this.el.appendChild(form);
    // Don't pop up a phone keyboard uninvited.
    if (window.matchMedia?.("(pointer: fine)").matches) input.focus({ preventScroll: true });
  }

  closeNameDialog(): void {
    this.dialog?.remove();
    this.dialog = null;
  }
}
