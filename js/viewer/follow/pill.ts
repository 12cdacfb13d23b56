// The "Following <name> · paused — Resume" pill, shown while this page broke away from a leader.

import { h } from "../dom";

export class PausedPill {
  readonly el: HTMLElement;
  private readonly text = h("span", { class: "jupyterspot-pill-text" });

  constructor(onResume: () => void) {
    const resume = h(
      "button",
      { class: "jupyterspot-pill-resume", type: "button", "data-testid": "follow-resume" },
      "Resume",
    );
    resume.title = "Jump back to the leader and follow (key F)";
    resume.addEventListener("click", onResume);
    this.el = h(
      "div",
      { class: "jupyterspot-follow-pill", "data-testid": "follow-pill", role: "status" },
      this.text,
      resume,
    );
    this.el.hidden = true;
    document.body.appendChild(this.el);
  }

  render(show: boolean, leaderName: string): void {
    this.el.hidden = !show;
    if (show) this.text.textContent = `Following ${leaderName} · paused —`;
  }
}
