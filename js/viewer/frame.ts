// Work coalesced to one run per animation frame.

export interface FrameTask {
  /** Run on the next frame (any number of calls before it: one run). */
  schedule(): void;
  /** Run now (a pending run is dropped). */
  flush(): void;
  /** Drop the pending run. */
  cancel(): void;
}

/**
 * `fn` at most once per animation frame. With `fallbackMs`, a timer stands in when no frame comes
 * within that long: headless Chromium under load left a requested frame pending for seconds, and
 * a starved compositor must not hold back what others see (followers, remote strokes).
 */
export function frameTask(fn: () => void, fallbackMs?: number): FrameTask {
  let frame = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cancel = (): void => {
    if (frame) cancelAnimationFrame(frame);
    if (timer !== undefined) clearTimeout(timer);
    frame = 0;
    timer = undefined;
  };
  const run = (): void => {
    cancel();
    fn();
  };
  return {
    schedule() {
      if (frame) return;
      frame = requestAnimationFrame(run);
      if (fallbackMs !== undefined) timer = setTimeout(run, fallbackMs);
    },
    flush: run,
    cancel,
  };
}
