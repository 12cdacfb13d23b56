// The viewer's one set of DOM builders. Everything other people typed goes in as a text child
// (a string argument becomes a text node), never as HTML. Nothing here runs at import time, so
// modules that use these stay importable without a browser (the unit tests).

const SVG_NS = "http://www.w3.org/2000/svg";

type Child = Node | string;

/** An HTML element with attributes (set as given) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

/** An SVG element with attributes (numbers written as String(n)) and children. */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  ...children: Node[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** A one-path icon, `size` px square, drawn in a `box` x `box` viewBox; hidden from readers. */
export function icon(d: string, size: number, box: number): SVGSVGElement {
  return svg(
    "svg",
    { viewBox: `0 0 ${box} ${box}`, width: size, height: size, "aria-hidden": "true" },
    svg("path", { d }),
  );
}

/** Is the user typing into this target (keys are then theirs, not shortcuts)? A key typed in
 * a shadow DOM's input reaches document listeners retargeted to the shadow host: the host's
 * focused element is looked at then (open shadow roots; `typingIn` reads the event's path). */
export function isEditable(t: EventTarget | null): boolean {
  if (!(t instanceof HTMLElement)) return false;
  const inner = t.shadowRoot?.activeElement;
  if (inner && inner !== t && isEditable(inner)) return true;
  return t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName);
}

/** Is this key event typed into an editable element (also inside a shadow DOM)? */
export function typingIn(e: Event): boolean {
  return isEditable(e.composedPath()[0] ?? e.target) || isEditable(e.target);
}

/** Run `run` when the button is clicked (mouse, keyboard, pen) or tapped: a finger that lifts on
 * the button runs it from touchend. Chromium does not always turn a tap into a click on a
 * `touch-action: none` overlay after a pinch (tests/test_magnify.py missed the close 1 run in 3),
 * and a button that needs a second tap feels broken. touchend's preventDefault suppresses the
 * click that may still follow: it would run `run` twice, or land on the page under a view the
 * tap just closed. */
export function onPress(b: HTMLElement, run: () => void): void {
  b.addEventListener("click", run);
  b.addEventListener(
    "touchend",
    (e) => {
      const t = e.changedTouches[0];
      const r = b.getBoundingClientRect();
      const on = t && t.clientX >= r.left && t.clientX <= r.right && t.clientY >= r.top && t.clientY <= r.bottom;
      if (!on || e.touches.length > 0 || !e.cancelable) return; // slid off, a second finger, or scrolling
      if (b.matches(":disabled")) return;
      e.preventDefault();
      run();
    },
    { passive: false },
  );
}
