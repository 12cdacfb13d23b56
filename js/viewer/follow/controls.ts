// The lead controls in the top bar: "You lead" / "Nobody leads", Follow <name> / Following <name>,
// "Take lead", "Stop leading".

import { h } from "../dom";
import type { ControlsView } from "./state";

export interface ControlsHandlers {
  take(): void;
  release(): void;
  /** The follow toggle: pause when following, resume otherwise. */
  toggle(): void;
}

export class LeadControls {
  private readonly note = h("span", { class: "jupyterspot-lead-note", "data-testid": "lead-status" });
  private readonly takeBtn = h(
    "button",
    { class: "jupyterspot-lead-btn", type: "button", "data-testid": "take-lead" },
    "Take lead",
  );
  private readonly releaseBtn = h(
    "button",
    { class: "jupyterspot-lead-btn", type: "button", "data-testid": "release-lead" },
    "Stop leading",
  );
  private readonly followBtn = h("button", {
    class: "jupyterspot-lead-btn jupyterspot-follow-btn",
    type: "button",
    "data-testid": "follow-toggle",
  });

  constructor(row: HTMLElement, on: ControlsHandlers) {
    this.takeBtn.addEventListener("click", () => on.take());
    this.releaseBtn.addEventListener("click", () => on.release());
    this.followBtn.addEventListener("click", () => on.toggle());
    row.append(this.note, this.followBtn, this.takeBtn, this.releaseBtn);
  }

  /** `name`: the leader's name ("" when nobody leads). */
  render(v: ControlsView, name: string): void {
    this.releaseBtn.hidden = !v.leading;
    this.takeBtn.hidden = v.leading;
    this.takeBtn.disabled = v.guestLocked;
    this.takeBtn.title = v.guestLocked
      ? "The host decides who leads"
      : "Everyone follows your scrolling";
    this.followBtn.hidden = !v.showFollow;
    this.followBtn.textContent = v.following ? `Following ${name}` : `Follow ${name}`;
    this.followBtn.setAttribute("aria-pressed", String(v.following));
    this.followBtn.title = v.following ? "Stop following and read on your own" : `Follow ${name} again (F)`;
    this.note.textContent = v.note;
    this.note.hidden = !this.note.textContent;
  }
}
