// The ask tool's inline box: a one-line input at the tapped point (data-testid="ask-input").
// Enter pins the question (one write: the shape with its text, which is all a view-only guest
// may send), Esc or leaving it empty cancels. What was typed is stored as text, never markup.

import { h } from "../dom";
import type { Board } from "../board";
import { ASK_MAX } from "../board/kinds/ask";
import { encodeShape, type Shape } from "../board/shapes";

export class AskBox {
  private form: HTMLFormElement | null = null;

  constructor(private readonly board: Board) {}

  get open(): boolean {
    return this.form !== null;
  }

  /** Type the question for `shape` (anchored already) next to its point. */
  show(shape: Shape): void {
    this.close();
    const space = this.board.space;
    const origin = space.cellOrigin(shape.cell, shape.ci) ?? { x: 0, y: 0 };
    const where = space.toClient(origin.x + shape.x, origin.y + shape.y);
    const input = h("input", {
      type: "text",
      class: "jupyterspot-ask-input",
      "data-testid": "ask-input",
      maxlength: String(ASK_MAX),
      placeholder: "Ask about this…",
      "aria-label": "Your question",
      enterkeyhint: "send",
    });
    const form = h("form", { class: "jupyterspot-ask-box" }, input);
    form.style.left = `${Math.max(4, Math.min(window.innerWidth - 260, where.x))}px`;
    form.style.top = `${Math.max(4, where.y)}px`;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = input.value.trim().slice(0, ASK_MAX);
      this.close();
      if (text) this.pin({ ...shape, text });
    });
    input.addEventListener("keydown", (e) => {
      e.stopPropagation(); // the board's shortcuts are not typed into the question
      if (e.key === "Escape") this.close();
    });
    form.addEventListener("pointerdown", (e) => e.stopPropagation());
    document.body.appendChild(form);
    this.form = form;
    input.focus();
  }

  close(): void {
    this.form?.remove();
    this.form = null;
  }

  private pin(shape: Shape): void {
    const { model } = this.board;
    model.begin();
    model.add(shape.id, encodeShape(shape));
    model.begin();
    this.board.setTool(null); // asked: back to reading
  }
}
