// The reading zoom without a double tap (layout.ts, reading.ts): an "Aa" button in the top bar,
// shown where the zoom can make text larger (phones, narrow windows), toggles it on the cell at
// the top of the screen, for a mouse, a keyboard, or whoever never guesses the gesture. On a
// touch screen the button says how once ("double-tap text"), until it or the gesture is used.

import { h } from "./dom";
import type { Layout } from "./layout";

const HINT_KEY = "jupyterspot.readHintSeen";
/** Below the top strip (viewer.css pads the body 48 px): the first content line on screen. */
const TOP_STRIP = 56;

function hintSeen(): boolean {
  try {
    return localStorage.getItem(HINT_KEY) === "1";
  } catch {
    return true; // no storage: never nag on every load
  }
}

function markHintSeen(): void {
  try {
    localStorage.setItem(HINT_KEY, "1");
  } catch {
    // storage disabled: the hint goes for this visit
  }
}

export function addReadButton(tools: HTMLElement, layout: Layout): HTMLButtonElement {
  const label = h("span", { class: "jupyterspot-read-label" }, "Aa");
  const hint = h("span", { class: "jupyterspot-read-hint" }, "double-tap text to read");
  const button = h(
    "button",
    {
      type: "button",
      class: "jupyterspot-read",
      "data-testid": "read-zoom",
      title: "Read larger (or double-tap text)",
      "aria-label": "Read larger",
      "aria-pressed": "false",
    },
    label,
    hint,
  );
  const touch = window.matchMedia?.("(pointer: coarse)").matches ?? false;
  hint.hidden = !touch || hintSeen();
  const update = (): void => {
    button.hidden = !layout.canRead();
    button.setAttribute("aria-pressed", String(layout.reading));
    if (layout.reading && !hint.hidden) {
      hint.hidden = true; // the gesture or the button was used: the hint did its job
      markHintSeen();
    }
  };
  button.addEventListener("click", () => {
    const root = layout.root.getBoundingClientRect();
    const x = Math.max(root.left, 0) + 8;
    layout.setReading(!layout.reading, x, TOP_STRIP);
    update();
  });
  layout.onChange(update);
  window.addEventListener("resize", update);
  tools.append(button);
  update();
  return button;
}
