// The follow pill: "Following <leader> · paused — Resume" while this page broke away from a
// leader, and "Following <person> — Back to <leader>" while it follows someone it picked in the
// people list (the button, like Esc, goes back to the leader: "Stop" when nobody leads).

import { h } from "../dom";

export class PausedPill {
  readonly el: HTMLElement;
  private readonly text = h("span", { class: "jupyterspot-pill-text" });
  private readonly button = h(
    "button",
    { class: "jupyterspot-pill-resume", type: "button", "data-testid": "follow-resume" },
    "Resume",
  );

  constructor(onResume: () => void) {
    this.button.addEventListener("click", onResume);
    this.el = h(
      "div",
      { class: "jupyterspot-follow-pill", "data-testid": "follow-pill", role: "status" },
      this.text,
      this.button,
    );
    this.el.hidden = true;
    document.body.appendChild(this.el);
  }

  /** `person`: the name of whom this page follows instead of the leader (null: nobody);
   * `loop`: they follow (through others) this page, so it stays where it is. */
  render(show: boolean, leaderName: string, person: string | null, loop = false): void {
    this.el.hidden = !show;
    this.el.toggleAttribute("data-person", person !== null);
    this.el.toggleAttribute("data-loop", person !== null && loop);
    if (!show) return;
    if (person === null) {
      this.text.textContent = `Following ${leaderName} · paused —`;
      this.button.textContent = "Resume";
      this.button.title = "Jump back to the leader and follow (key F)";
      return;
    }
    this.text.textContent = loop
      ? `Following ${person}, who follows you: staying here —`
      : `Following ${person} —`;
    this.button.textContent = leaderName ? `Back to ${leaderName}` : "Stop";
    this.button.title = leaderName ? "Follow the leader again (Esc)" : "Stop following (Esc)";
  }
}
