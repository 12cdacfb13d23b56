// How often a gesture writes to the doc.

const SYNC_MS = 50; // a stroke in progress reaches the others at 20 Hz

/**
 * Run `fn` (a write) on `poke()` at most every SYNC_MS, and once more after a poke that came too
 * soon (a trailing write, on a timer): points drawn just before the pointer pauses or the page
 * stalls reach the others without waiting for the next move or the release. `stop()` cancels
 * the pending write for good (nothing is ever written after the gesture ended).
 */
export function writeThrottle(fn: () => void): { poke(): void; stop(): void } {
  let last = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const run = (): void => {
    timer = undefined;
    if (stopped) return;
    last = performance.now();
    fn();
  };
  return {
    poke() {
      if (stopped || timer !== undefined) return;
      const wait = SYNC_MS - (performance.now() - last);
      if (wait <= 0) run();
      else timer = setTimeout(run, wait);
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
