// The scroll driver: puts the leader's top cell + offset (reference px) at the top of this window,
// by cell anchor, so any window size lines up. The latest leader position is applied once per
// animation frame; long jumps ease over a few frames. Every scroll it makes is recorded
// (expectedY), so that user-scroll.ts can tell the user's scrolling from ours.

import { frameTask } from "../frame";

/** The leader's position moving more than this many window heights in one update is a jump
 * (a link, Home/End, find, a marker click): eased over a few frames. Smaller steps are the
 * leader's own scrolling (smooth already, or one wheel notch): mirrored as they come. */
const JUMP_SHARE = 1;
/** A jump eases out over three frames (~50 ms): share of the way done after each frame. */
const EASE_STEPS = [0.55, 0.88, 1];
/** Jumps shorter than this (px) are not worth animating. */
const SNAP_PX = 48;
/** Further than this many window heights: jump (a long animation only delays and blurs). */
const JUMP_SCREENS = 3;
/** If no animation frame comes within this long (a starved compositor, seen in headless
 * Chromium under load), step from a timer instead. */
const FRAME_FALLBACK_MS = 50;

export interface Ease {
  /** The target of the previous step (null before the first). */
  lastTarget: number | null;
  /** While easing a jump: where it started (null = not easing). */
  from: number | null;
  /** Frames of the ease done. */
  step: number;
  /** The next step goes straight to the target (a resume, a new leader). */
  jumpNext: boolean;
}

export const still = (): Ease => ({ lastTarget: null, from: null, step: 0, jumpNext: false });

/**
 * One frame of following, as numbers: the window is at `cur`, the leader at `target` (page y),
 * the window is `viewport` px high. Returns where to scroll (null: already there) and the next
 * ease state.
 */
export function stepToward(
  e: Ease,
  target: number,
  cur: number,
  viewport: number,
): { y: number | null; ease: Ease } {
  const d = target - cur;
  const moved = e.lastTarget === null ? Infinity : Math.abs(target - e.lastTarget);
  const next: Ease = { ...e, lastTarget: target };
  if (Math.abs(d) < 1) return { y: null, ease: { ...next, jumpNext: false, from: null } };
  const far = Math.abs(d) > viewport * JUMP_SCREENS;
  if (moved > viewport * JUMP_SHARE) {
    next.from = cur;
    next.step = 0;
  }
  if (next.jumpNext || far || Math.abs(d) <= SNAP_PX) next.from = null;
  next.jumpNext = false;
  let y = target;
  if (next.from !== null) {
    // The target may move while easing (the leader keeps scrolling): ease towards it live.
    const k = EASE_STEPS[next.step++] ?? 1;
    y = next.from + (target - next.from) * k;
    if (k >= 1) next.from = null;
  }
  return { y, ease: next };
}

/** Room (px) left under a followed cell's bottom, so its last output line is not on the edge. */
export const BOTTOM_MARGIN = 24;

/**
 * Page y that shows a cell's bottom (its newest output) in a window `viewport` px high now at
 * `cur`: a cell already wholly in view stays put; otherwise its bottom goes `margin` px above
 * the window's bottom (a tall cell shows its end, a growing one keeps its newest line in view).
 * `top` and `bottom` are page y of the cell's edges.
 */
export function bottomInView(
  top: number,
  bottom: number,
  cur: number,
  viewport: number,
  margin = BOTTOM_MARGIN,
): number {
  if (top >= cur && bottom + margin <= cur + viewport) return cur;
  return bottom + margin - viewport;
}

export class ScrollDriver {
  /** Where our last scroll put the window (null before any). */
  expectedY: number | null = null;
  private ease = still();
  private readonly task = frameTask(() => this.step(), FRAME_FALLBACK_MS);

  /**
   * `target()`: the page y that puts the leader's top cell + offset at the top of this window,
   * or null while there is nothing to follow (not following, or the leader's cell is unknown).
   */
  constructor(
    private readonly target: () => number | null,
    private readonly following: () => boolean,
  ) {}

  /** Align on the next frame (when following). */
  schedule(): void {
    if (this.following()) this.task.schedule();
  }

  /** The next alignment goes straight to the leader, without easing. */
  jump(): void {
    this.ease.jumpNext = true;
  }

  private step(): void {
    if (!this.following()) return;
    const target = this.target();
    if (target === null) return;
    const cur = window.scrollY;
    const { y, ease } = stepToward(this.ease, target, cur, window.innerHeight);
    this.ease = ease;
    if (y === null) {
      this.expectedY = cur;
      return;
    }
    window.scrollTo({ top: y, behavior: "instant" });
    this.expectedY = window.scrollY;
    if (y !== target) this.schedule();
  }
}
