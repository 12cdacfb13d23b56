// The running indicator (docs/protocol.md, control keys `kernel`, `running`, `runningSince`,
// `live`, `followRunning`): the cell the kernel runs now gets a class and a ticking "running 12 s"
// badge, the top bar says "kernel busy" / "live paused", and cells the saved file does not have
// (`data-jsp-unsaved`, run but never saved) get an "unsaved" badge. With `followRunning` the
// running cell is handed to the follow controller (follow/index.ts showCell), which brings pages
// that follow the lead to its newest output.
//
// The running cell may not be on the page yet (its HTML comes with the next content version):
// live.ts calls `swapped()` after every swap and the marker is put on as soon as it is there.

import type * as Y from "yjs";
import { h } from "./dom";
import type { Follow } from "./follow";
import { cellIdOf, type Layout } from "./layout";
import type { TopBar } from "./ui";

export type LiveMode = "on" | "paused" | "off";

/** What the control document says about the kernel, read defensively. */
export interface RunView {
  /** null: the server writes no `live` key (an older server). */
  live: LiveMode | null;
  busy: boolean;
  /** The running cell's id, or null. */
  running: string | null;
  /** When it started (ms since the epoch, the kernel's clock), or null. */
  since: number | null;
  /** The cell run last, and when it started: kept after it ends (a quick cell is over before
   * the page hears it ran; following the running cell goes to it all the same). */
  lastRun: string | null;
  lastRunAt: number | null;
  followRunning: boolean;
}

const LIVE_MODES: readonly string[] = ["on", "paused", "off"];

export function readRunView(get: (key: string) => unknown): RunView {
  const live = get("live");
  const running = get("running");
  const since = get("runningSince");
  const lastRun = get("lastRun");
  const lastRunAt = get("lastRunAt");
  return {
    live: typeof live === "string" && LIVE_MODES.includes(live) ? (live as LiveMode) : null,
    busy: get("kernel") === "busy",
    running: typeof running === "string" && running ? running : null,
    since: typeof since === "number" && Number.isFinite(since) ? since : null,
    lastRun: typeof lastRun === "string" && lastRun ? lastRun : null,
    lastRunAt: typeof lastRunAt === "number" && Number.isFinite(lastRunAt) ? lastRunAt : null,
    followRunning: get("followRunning") === true,
  };
}

/** "12 s", "2 min 05 s", "1 h 02 min" for `ms` elapsed; negative (clocks differ) is "0 s". */
export function elapsedText(ms: number): string {
  const s = Math.floor(Math.max(0, Number.isFinite(ms) ? ms : 0) / 1000);
  if (s < 60) return `${s} s`;
  const pad = (n: number): string => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad(Math.floor(s / 60) % 60)} min`;
}

/** The running cell's badge text; without a start time just "running". */
export function runningText(since: number | null, now: number): string {
  return since === null ? "running" : `running ${elapsedText(now - since)}`;
}

/** The top bar's words for the kernel: text ("" = nothing), its tooltip and whether busy. */
export function activityOf(v: RunView): { text: string; title: string; busy: boolean } {
  const parts: string[] = [];
  const titles: string[] = [];
  if (v.busy) {
    parts.push("kernel busy");
    titles.push("The notebook's kernel is running a cell");
  }
  if (v.live === "paused") {
    parts.push("live paused");
    titles.push("The presenter paused live updates: new outputs show when they save or resume");
  }
  return { text: parts.join(" · "), title: titles.join(". "), busy: v.busy };
}

/**
 * Should this change bring followers to the running cell? Yes when following the running cell
 * is on and a new run started (even one already over), or following was just switched on.
 */
export function followTarget(prev: RunView | null, next: RunView): string | null {
  if (!next.followRunning || next.lastRun === null) return null;
  const same = prev && prev.lastRun === next.lastRun && prev.lastRunAt === next.lastRunAt;
  if (prev && prev.followRunning && same) return null;
  return next.lastRun;
}

export const RUNNING_CLASS = "jupyterspot-running-cell";
const UNSAVED_TITLE = "Run in the kernel, not saved yet: the next save puts it in place";
/** Tick once a second: the badge shows whole seconds. */
const TICK_MS = 1000;

export interface RunningOptions {
  controlDoc: Y.Doc;
  layout: Layout;
  bar: TopBar;
  follow: Follow;
}

export class RunningIndicator {
  private readonly control: Y.Map<unknown>;
  private view: RunView | null = null;
  /** The cell that carries the running marker now. */
  private marked: HTMLElement | null = null;
  private readonly badge = h("span", {
    class: "jupyterspot-cell-badge jupyterspot-running-badge",
    "data-testid": "running-badge",
  });
  private timer = 0;

  constructor(private readonly o: RunningOptions) {
    this.control = o.controlDoc.getMap("control");
    this.control.observe(() => this.update());
    this.markUnsaved(o.layout.cells());
    this.update();
  }

  /** live.ts swapped these cells in: mark the running one if it is among them, follow it. */
  swapped(made: readonly HTMLElement[]): void {
    this.markUnsaved(made);
    this.mark();
    const v = this.view;
    if (v?.followRunning && v.lastRun && made.some((el) => cellIdOf(el) === v.lastRun)) {
      this.o.follow.showCell(v.lastRun);
    }
  }

  private update(): void {
    const prev = this.view;
    const next = readRunView((k) => this.control.get(k));
    this.view = next;
    const a = activityOf(next);
    this.o.bar.setActivity(a.text, a.title, a.busy);
    this.mark();
    const target = followTarget(prev, next);
    if (target !== null) this.o.follow.showCell(target);
    else if (prev?.followRunning && !next.followRunning) this.o.follow.showCell(null);
  }

  /** Put the marker on the running cell (if it is on the page), off any other; tick while on. */
  private mark(): void {
    const id = this.view?.running ?? null;
    const cell = id === null ? null : this.o.layout.cellById(id);
    if (cell !== this.marked) {
      this.marked?.classList.remove(RUNNING_CLASS);
      this.badge.remove();
      this.marked = cell;
      if (cell) {
        cell.classList.add(RUNNING_CLASS);
        badgesOf(cell).prepend(this.badge);
      }
    }
    this.tick();
    if (cell && !this.timer) this.timer = window.setInterval(() => this.tick(), TICK_MS);
    if (!cell && this.timer) {
      window.clearInterval(this.timer);
      this.timer = 0;
    }
  }

  private tick(): void {
    this.badge.textContent = runningText(this.view?.since ?? null, Date.now());
  }

  /** An "unsaved" badge on each cell (of `cells`) the saved file does not have yet. */
  private markUnsaved(cells: readonly HTMLElement[]): void {
    for (const cell of cells) {
      if (!cell.hasAttribute("data-jsp-unsaved")) continue;
      const box = badgesOf(cell);
      if (box.querySelector(".jupyterspot-unsaved-badge")) continue;
      const badge = h(
        "span",
        {
          class: "jupyterspot-cell-badge jupyterspot-unsaved-badge",
          "data-testid": "unsaved-badge",
        },
        "unsaved",
      );
      badge.title = UNSAVED_TITLE;
      box.append(badge);
    }
  }
}

/** The cell's badge holder (bottom right, running.css; made on first use). Out of MathJax's
 * reach. */
function badgesOf(cell: HTMLElement): HTMLElement {
  const found = cell.querySelector<HTMLElement>(":scope > .jupyterspot-cell-badges");
  if (found) return found;
  const box = h("span", { class: "jupyterspot-cell-badges jupyterspot-nomath" });
  cell.prepend(box);
  cell.classList.add("jupyterspot-has-badges");
  return box;
}
