// Magnify (issue 18): any participant enlarges one output (a figure, an image, a table, a
// Plotly / Vega / Bokeh view) on their own screen, with zoom (wheel, pinch, + / -, 0 = fit) and
// pan (drag, arrow keys); Esc closes. Nothing of it reaches anyone else: no scroll, no follow
// state, no awareness (the presence publisher ignores events in [data-jupyterspot-own], presence.ts;
// they still bubble to the window, where a figure's drag, e.g. a Vega-Lite brush, listens).
//
// The real output element moves into the overlay and back (a clone would lose the figure's event
// handlers and a canvas's pixels). A placeholder of its exact box holds its place, so no cell
// changes height: this page's scroll, its followers' alignment and every anchor stay put. The
// overlay is fixed and the page is not scroll-locked (hiding the scrollbar would change the
// page's width). Zoom is a CSS transform (translate + scale) on a wrapper: vector content (SVG,
// text, tables) is rasterized at the final scale, and Plotly maps its pointer events through its
// ancestors' transforms, so a magnified Plotly figure keeps its hover and its own zoom.
//
// The magnify button is one floating button outside the notebook (data-testid "magnify"), put
// beside the top left corner of the output under the mouse (or of the output last tapped on a
// touch screen), in the prompt column, never on the figure's own controls (Plotly's modebar,
// Vega's actions and Bokeh's toolbar sit at the top right): a button inside each output would be
// shrunk with the page's fitted zoom on a phone.

import { h, isEditable, onPress } from "./dom";
import { frameTask } from "./frame";
import type { Layout } from "./layout";

/** What makes an output worth magnifying. */
const RICH =
  "img, svg, canvas, table, .jupyterspot-plotly, .jupyterspot-vega, .js-plotly-plot, .vega-embed, .bk-root, [data-root-id]";
/** Inside these the figure's own pointer gestures win (hover, its zoom box): drag elsewhere to pan. */
const INTERACTIVE = ".js-plotly-plot, .vega-embed, .bk-root, [data-root-id], .jupyterspot-plotly, .jupyterspot-vega";
const OUTPUT = ".jp-OutputArea-output";
/** The top strip the top bar may use (viewer.css): the button stays below it. */
const TOP_STRIP = 48;
const MARGIN = 16;
/** A tapped output's button stays this long (ms) on a touch screen. */
const TOUCH_SHOW_MS = 4000;
const STEP = 1.25;
const PAN_KEY_PX = 60;
/** Keys that would scroll the page behind the open view. */
const PAGE_KEYS = new Set(["PageUp", "PageDown", "Home", "End", " ", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"]);
const FOCUSABLE = "button, [href], input, select, textarea, [tabindex]:not([tabindex='-1'])";

/** Zoom state: the content's top-left corner at client (x, y), `z` client px per layout px. */
export interface View {
  z: number;
  x: number;
  y: number;
}

/** Zoom by `k` around the client point (cx, cy), within [min, max]: that point stays put. */
export function zoomAround(v: View, k: number, cx: number, cy: number, min: number, max: number): View {
  const z = Math.max(min, Math.min(max, v.z * k));
  const r = z / v.z;
  return { z, x: cx - (cx - v.x) * r, y: cy - (cy - v.y) * r };
}

/** The whole content `w` x `h` (layout px) centred in a `vw` x `vh` window, at most 4x. */
export function fitView(w: number, h: number, vw: number, vh: number, top = 0): View {
  const z = Math.min(4, (vw - 2 * MARGIN) / Math.max(1, w), (vh - top - 2 * MARGIN) / Math.max(1, h));
  return { z, x: (vw - w * z) / 2, y: top + (vh - top - h * z) / 2 };
}

/** Keep at least `keep` px of the content on the screen. */
export function clampPan(v: View, w: number, h: number, vw: number, vh: number, keep = 48): View {
  const cw = w * v.z;
  const ch = h * v.z;
  return {
    z: v.z,
    x: Math.max(keep - cw, Math.min(vw - keep, v.x)),
    y: Math.max(keep - ch, Math.min(vh - keep, v.y)),
  };
}

interface Opened {
  output: HTMLElement;
  placeholder: HTMLElement;
  /** The output's layout size (px at the reference width), kept while magnified. */
  w: number;
  h: number;
  style: string | null;
  fit: View;
  view: View;
  focus: Element | null;
}

export class Magnify {
  readonly button: HTMLButtonElement;
  readonly el: HTMLElement;
  private readonly stage: HTMLElement;
  private readonly level: HTMLElement;
  /** The output the button is for. */
  private target: HTMLElement | null = null;
  private touchTimer: ReturnType<typeof setTimeout> | undefined;
  private opened: Opened | null = null;
  private readonly place = frameTask(() => this.placeButton(), 100);
  private readonly pointers = new Map<number, { x: number; y: number }>();
  private panning = false;

  constructor(private readonly layout: Layout) {
    this.button = h(
      "button",
      {
        type: "button",
        class: "jupyterspot-magnify-btn",
        "data-testid": "magnify",
        title: "Magnify this output (only on your screen)",
        "aria-label": "Magnify this output",
      },
      "⤢",
    );
    this.button.hidden = true;
    this.button.addEventListener("click", () => this.target && this.open(this.target));
    document.body.appendChild(this.button);

    this.stage = h("div", { class: "jupyterspot-magnify-stage" });
    this.level = h("span", { class: "jupyterspot-magnify-level", "data-testid": "magnify-level" });
    const tool = (label: string, title: string, testid: string, run: () => void): HTMLButtonElement => {
      const b = h("button", { type: "button", title, "aria-label": title, "data-testid": testid }, label);
      onPress(b, run); // a tap always acts, even when Chromium makes no click of it (dom.ts)
      return b;
    };
    const bar = h(
      "div",
      { class: "jupyterspot-magnify-bar" },
      tool("−", "Zoom out (-)", "magnify-out", () => this.zoomBy(1 / STEP)),
      this.level,
      tool("+", "Zoom in (+)", "magnify-in", () => this.zoomBy(STEP)),
      tool("Fit", "Fit to the window (0)", "magnify-fit", () => this.fit()),
      tool("×", "Close (Esc)", "magnify-close", () => this.close()),
    );
    this.el = h(
      "div",
      {
        class: "jupyterspot-magnify",
        "data-testid": "magnify-view",
        role: "dialog",
        "aria-modal": "true",
        "aria-label": "Magnified output",
        tabindex: "-1",
        // The viewer's own chrome: gestures here are not the user scrolling the page (follow/).
        "data-jupyterspot-own": "",
      },
      this.stage,
      bar,
    );
    this.el.hidden = true;
    document.body.appendChild(this.el);
    this.listen();
  }

  isOpen(): boolean {
    return this.opened !== null;
  }

  /** Tests: the zoom (relative to fit) and the pan. */
  state(): { open: boolean; zoom: number; x: number; y: number } {
    const o = this.opened;
    return o
      ? { open: true, zoom: o.view.z / o.fit.z, x: o.view.x, y: o.view.y }
      : { open: false, zoom: 1, x: 0, y: 0 };
  }

  /** Magnify `output` (an element of the notebook, or anything inside one). */
  open(el: Element): void {
    const output = (el.closest(OUTPUT) as HTMLElement | null) ?? (el as HTMLElement);
    if (this.opened || !output.isConnected || !this.layout.root.contains(output)) return;
    const w = output.offsetWidth;
    const hgt = output.offsetHeight;
    const cs = getComputedStyle(output);
    const placeholder = h("div", { class: "jupyterspot-magnify-placeholder", "aria-hidden": "true" });
    // The exact used box (fractional px: offsetHeight rounds, and a rounded box moves the cells
    // below it by a pixel).
    placeholder.style.cssText =
      `box-sizing:${cs.boxSizing};width:${cs.width};height:${cs.height};padding:${cs.padding};` +
      `border:0 solid transparent;border-width:${cs.borderWidth};margin:${cs.margin};` +
      `display:${cs.display === "inline" ? "inline-block" : cs.display};flex:${cs.flex}`;
    const style = output.getAttribute("style");
    output.replaceWith(placeholder);
    // Laid out at its width on the page: the same line breaks and figure size, only scaled.
    output.style.width = `${w}px`;
    output.style.margin = "0";
    this.stage.appendChild(output);
    const fit = fitView(w, hgt, window.innerWidth, window.innerHeight, TOP_STRIP);
    this.opened = { output, placeholder, w, h: hgt, style, fit, view: fit, focus: document.activeElement };
    this.button.hidden = true;
    this.el.hidden = false;
    document.documentElement.toggleAttribute("data-jupyterspot-magnify", true);
    this.apply();
    this.el.focus({ preventScroll: true });
  }

  close(): void {
    const o = this.opened;
    if (!o) return;
    this.opened = null;
    this.pointers.clear();
    this.el.hidden = true;
    document.documentElement.removeAttribute("data-jupyterspot-magnify");
    if (o.style === null) o.output.removeAttribute("style");
    else o.output.setAttribute("style", o.style);
    // A content update may have replaced the cell meanwhile: then the new output stays.
    if (o.placeholder.isConnected) o.placeholder.replaceWith(o.output);
    else o.output.remove();
    if (o.focus instanceof HTMLElement) o.focus.focus({ preventScroll: true });
  }

  zoomBy(k: number, cx = window.innerWidth / 2, cy = window.innerHeight / 2): void {
    const o = this.opened;
    if (!o) return;
    const min = Math.min(o.fit.z, 1) / 2;
    const max = Math.max(o.fit.z, 1) * 8;
    this.setView(zoomAround(o.view, k, cx, cy, min, max));
  }

  fit(): void {
    const o = this.opened;
    if (!o) return;
    o.fit = fitView(o.w, o.h, window.innerWidth, window.innerHeight, TOP_STRIP);
    this.setView(o.fit);
  }

  private panBy(dx: number, dy: number): void {
    const o = this.opened;
    if (o) this.setView({ z: o.view.z, x: o.view.x + dx, y: o.view.y + dy });
  }

  private setView(v: View): void {
    const o = this.opened;
    if (!o) return;
    o.view = clampPan(v, o.w, o.h, window.innerWidth, window.innerHeight);
    this.apply();
  }

  private apply(): void {
    const o = this.opened;
    if (!o) return;
    const { x, y, z } = o.view;
    this.stage.style.transform = `translate(${x}px, ${y}px) scale(${z})`;
    this.level.textContent = `${Math.round((z / o.fit.z) * 100)}%`;
  }

  // -- the button --

  private outputOf(t: EventTarget | null): HTMLElement | null {
    if (!(t instanceof Element) || !this.layout.root.contains(t)) return null;
    const out = t.closest(OUTPUT) as HTMLElement | null;
    return out && (out.matches(RICH) || out.querySelector(RICH)) ? out : null;
  }

  private show(output: HTMLElement | null): void {
    if (output === this.target) return;
    this.target = output;
    this.place.schedule();
  }

  private placeButton(): void {
    const t = this.target;
    const b = this.button;
    if (!t || this.opened || !t.isConnected) {
      b.hidden = true;
      return;
    }
    const r = t.getBoundingClientRect();
    const size = 32;
    const top = Math.max(r.top, TOP_STRIP + 6);
    // Left of the output (its prompt column) when the cell has room there, else its top left.
    const cell = t.closest(".jp-Cell")?.getBoundingClientRect();
    // (On the screen: the reading zoom pans the page sideways, layout.ts.)
    const outside = r.left - size - 4;
    const left = cell && outside >= Math.max(cell.left, 0) ? outside : Math.max(r.left, 0) + 4;
    const right = Math.min(r.right, document.documentElement.clientWidth);
    b.hidden = top + size > r.bottom || r.bottom < 0 || r.top > window.innerHeight || left + size > right;
    b.style.transform = `translate(${Math.round(left)}px, ${Math.round(top)}px)`;
  }

  private listen(): void {
    const passive = { passive: true };
    document.addEventListener(
      "pointermove",
      (e) => {
        if (e.pointerType === "touch" || this.opened) return;
        if (e.target === this.button) return;
        this.show(this.outputOf(e.target));
      },
      passive,
    );
    document.addEventListener("click", (e) => {
      if ((e as PointerEvent).pointerType !== "touch" || this.opened) return;
      const out = this.outputOf(e.target);
      if (!out) return;
      this.show(out);
      clearTimeout(this.touchTimer);
      this.touchTimer = setTimeout(() => this.show(null), TOUCH_SHOW_MS);
    });
    window.addEventListener("scroll", () => this.place.schedule(), { passive: true, capture: true });
    this.layout.onChange(() => this.place.schedule());
    window.addEventListener("resize", () => {
      this.place.schedule();
      if (this.opened) this.setView(this.opened.view);
    });

    // Pointer events leave the overlay (a figure's drag listens on the window); the presence
    // publisher ignores them (presence.ts). Keys: the board's and reactions' keys never see the
    // overlay's (below); while open, the document's keys are the view's (modal()).
    const el = this.el;
    el.addEventListener("keydown", (e) => this.key(e));
    document.addEventListener("keydown", (e) => this.modal(e), { capture: true });
    el.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        e.stopPropagation();
        const k = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.002));
        this.zoomBy(k, e.clientX, e.clientY);
      },
      { passive: false },
    );
    el.addEventListener("pointerdown", (e) => this.down(e), { capture: true });
    el.addEventListener("pointermove", (e) => this.move(e), { capture: true });
    const up = (e: PointerEvent): void => {
      this.pointers.delete(e.pointerId);
      if (this.pointers.size === 0) this.panning = false;
    };
    el.addEventListener("pointerup", up, { capture: true });
    el.addEventListener("pointercancel", up, { capture: true });
  }

  /** While open the view is modal (aria-modal): Tab cycles inside it, Esc closes it wherever the
   * focus is, and no key scrolls the page behind it. */
  private modal(e: KeyboardEvent): void {
    if (!this.opened) return;
    const inside = e.target instanceof Node && this.el.contains(e.target);
    if (e.key === "Tab") {
      e.preventDefault();
      const all = [...this.el.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(
        (x) => x.getClientRects().length > 0,
      );
      if (all.length === 0) return this.el.focus({ preventScroll: true });
      const i = inside ? all.indexOf(document.activeElement as HTMLElement) : -1;
      const next = e.shiftKey ? (i <= 0 ? all.length - 1 : i - 1) : (i + 1) % all.length;
      all[next].focus({ preventScroll: true });
      return;
    }
    if (!inside) {
      // Focus left the view (a click behind it): the view's keys still apply.
      this.key(e);
    }
    if (PAGE_KEYS.has(e.key) && !isEditable(e.target)) e.preventDefault();
  }

  private key(e: KeyboardEvent): void {
    e.stopPropagation();
    const step: Record<string, [number, number]> = {
      ArrowLeft: [PAN_KEY_PX, 0],
      ArrowRight: [-PAN_KEY_PX, 0],
      ArrowUp: [0, PAN_KEY_PX],
      ArrowDown: [0, -PAN_KEY_PX],
    };
    if (e.key === "Escape") this.close();
    else if (e.key === "+" || e.key === "=") this.zoomBy(STEP);
    else if (e.key === "-" || e.key === "_") this.zoomBy(1 / STEP);
    else if (e.key === "0") this.fit();
    else if (step[e.key]) this.panBy(...step[e.key]);
    else return;
    e.preventDefault();
  }

  private down(e: PointerEvent): void {
    if (e.target instanceof Element && e.target.closest(".jupyterspot-magnify-bar")) return;
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    const onFigure = e.target instanceof Element && e.target.closest(INTERACTIVE) !== null;
    // One pointer drags the view, except on a live figure (its own gestures); two always pinch.
    this.panning = this.pointers.size >= 2 || !onFigure;
    if (this.panning) e.preventDefault();
  }

  private move(e: PointerEvent): void {
    const last = this.pointers.get(e.pointerId);
    if (!last || !this.panning) return;
    const others = [...this.pointers.entries()].filter(([id]) => id !== e.pointerId);
    if (others.length === 1) {
      // Pinch: zoom by the change of the fingers' distance around their midpoint, pan with it.
      const o = others[0][1];
      const before = Math.hypot(last.x - o.x, last.y - o.y);
      const after = Math.hypot(e.clientX - o.x, e.clientY - o.y);
      const mid = { x: (e.clientX + o.x) / 2, y: (e.clientY + o.y) / 2 };
      if (before > 0) this.zoomBy(after / before, mid.x, mid.y);
      this.panBy((e.clientX - last.x) / 2, (e.clientY - last.y) / 2);
    } else {
      this.panBy(e.clientX - last.x, e.clientY - last.y);
    }
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    e.preventDefault();
  }
}
