// Editing the text of a text shape or sticky note: a plain <textarea> (what people type is only
// ever stored and shown as text). In place where the page is readable at its zoom; on a shrunk
// page (phones) in a sheet at the bottom of the screen with a 16px font, so the browser does not
// zoom the page on focus. Every keystroke reaches the others live; an empty shape is removed
// when editing ends.

import { h } from "../dom";
import { KIND } from "./kinds";
import type { BoardModel } from "./model";
import type { Renderer } from "./render";
import { MAX_TEXT } from "./schema";
import type { Space } from "./space";
import { onPress } from "./toolbar";

export class NoteEditor {
  private ta: HTMLTextAreaElement | null = null;
  private sheet: HTMLElement | null = null;
  private id: string | null = null;
  onClose: () => void = () => undefined;

  constructor(
    private readonly model: BoardModel,
    private readonly renderer: Renderer,
    private readonly space: Space,
  ) {}

  get editing(): string | null {
    return this.id;
  }

  /** Edit a shape's text; `fresh`: it was just created (creation and typing: one undo step). */
  open(id: string, fresh = false): void {
    this.close();
    const s = this.model.get(id);
    const look = s && KIND[s.t].editor;
    if (!s || !look) return;
    const origin = this.renderer.originOf(s);
    if (!origin) return;
    this.id = id;
    if (!fresh) this.model.begin();
    const ta = h("textarea", {
      class: "jupyterspot-board-editor",
      "data-testid": "note-editor",
      "aria-label": look.label,
    });
    ta.maxLength = MAX_TEXT;
    ta.spellcheck = true;
    ta.value = s.text;
    ta.placeholder = look.placeholder;
    const inPlace = this.space.scale >= 0.75;
    if (inPlace) {
      ta.classList.add(look.className);
      ta.style.transform = `translate(${origin.x}px, ${origin.y}px)`;
      ta.style.fontSize = `${s.s}px`;
      ta.style.color = s.c;
      look.dress?.(ta, s, true);
      this.renderer.editing = id;
      this.renderer.elementOf(id)?.classList.add("jupyterspot-editing");
      // Above the tools' input surface, so the caret can be placed with the pointer.
      this.renderer.layer.classList.add("jupyterspot-board-editing");
      this.renderer.html.appendChild(ta);
    } else {
      const sheet = h("div", { class: "jupyterspot-board-sheet" });
      const done = h("button", { type: "button" }, "Done");
      done.addEventListener("pointerdown", (e) => e.preventDefault()); // keep focus until click
      onPress(done, () => this.close());
      sheet.append(ta, done);
      look.dress?.(ta, s, false);
      document.body.appendChild(sheet);
      this.sheet = sheet;
    }
    this.ta = ta;
    const grow = (): void => {
      if (!inPlace) return;
      ta.style.height = "auto";
      ta.style.height = `${ta.scrollHeight}px`;
    };
    ta.addEventListener("input", () => {
      grow();
      this.model.set(id, { text: ta.value });
    });
    ta.addEventListener("keydown", (e) => {
      e.stopPropagation(); // no tool shortcuts while typing
      if (e.key === "Escape" || (e.key === "Enter" && (e.ctrlKey || e.metaKey))) {
        e.preventDefault();
        this.close();
      }
    });
    ta.addEventListener("blur", () => {
      // Clicking "Done" or elsewhere: close after the click has been handled.
      setTimeout(() => {
        if (this.ta === ta && document.activeElement !== ta) this.close();
      }, 0);
    });
    grow();
    ta.focus({ preventScroll: !inPlace });
  }

  close(): void {
    const id = this.id;
    const ta = this.ta;
    if (!id || !ta) return;
    this.id = null;
    this.ta = null;
    const text = ta.value;
    ta.remove();
    this.sheet?.remove();
    this.sheet = null;
    this.renderer.editing = null;
    this.renderer.layer.classList.remove("jupyterspot-board-editing");
    this.renderer.elementOf(id)?.classList.remove("jupyterspot-editing");
    if (!text.trim()) this.model.remove([id]);
    else if (this.model.get(id)?.text !== text) this.model.set(id, { text });
    this.model.begin();
    this.onClose();
  }
}
