// The presenter's queue of open questions (host pages only; data-testid="questions"), a section
// of the top bar: each row (data-queue-question=<shape id>) has "Go there" (question-goto) and
// "Answered" (question-answered); the head has the host's switch (questions-switch). Every
// question and name is inserted with textContent.

import { h } from "../dom";
import type { Shape } from "../board/shapes";

export interface QueueHandlers {
  goto(s: Shape): void;
  answer(s: Shape): void;
  setOpen(on: boolean): void;
}

export class QuestionQueue {
  readonly el: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly count: HTMLElement;
  private readonly toggle: HTMLButtonElement;
  private on = true;
  private signature = "";

  constructor(private readonly handlers: QueueHandlers) {
    this.count = h("span", { class: "jupyterspot-questions-count" }, "0");
    this.toggle = h("button", {
      type: "button",
      class: "jupyterspot-lead-btn",
      "data-testid": "questions-switch",
    });
    this.toggle.addEventListener("click", () => handlers.setOpen(!this.on));
    this.list = h("ol", { class: "jupyterspot-questions-list" });
    this.el = h(
      "section",
      { class: "jupyterspot-questions", "data-testid": "questions", "aria-label": "Open questions" },
      h("div", { class: "jupyterspot-questions-head" }, "Questions ", this.count, this.toggle),
      this.list,
    );
    this.setSwitch(true);
  }

  setSwitch(on: boolean): void {
    this.on = on;
    this.toggle.textContent = on ? "Turn off" : "Turn on";
    this.toggle.title = on ? "Stop taking new questions" : "Take questions again";
    this.el.toggleAttribute("data-off", !on);
  }

  /** The open questions, oldest first. */
  show(open: Shape[]): void {
    const signature = JSON.stringify(open.map((s) => [s.id, s.text, s.by]));
    if (signature === this.signature) return;
    this.signature = signature;
    this.count.textContent = String(open.length);
    this.list.replaceChildren(...open.map((s) => this.row(s)));
  }

  private row(s: Shape): HTMLLIElement {
    const goto = h("button", { type: "button", class: "jupyterspot-lead-btn", "data-testid": "question-goto" }, "Go there");
    const done = h(
      "button",
      { type: "button", class: "jupyterspot-lead-btn", "data-testid": "question-answered" },
      "Answered",
    );
    goto.addEventListener("click", () => this.handlers.goto(s));
    done.addEventListener("click", () => this.handlers.answer(s));
    const text = h("div", { class: "jupyterspot-questions-text" });
    text.textContent = s.text;
    const by = h("div", { class: "jupyterspot-questions-by" });
    by.textContent = s.by;
    return h("li", { "data-queue-question": s.id }, text, by, h("div", {}, goto, done));
  }
}
