// What the others published in awareness, read defensively (other people wrote it): their name,
// their top cell (`scroll`) and where that is on this page.

import type { Awareness } from "y-protocols/awareness";
import { cleanName } from "../config";
import { guestName } from "../identity";
import type { Layout, ScrollPosition } from "../layout";
import { followingIn, type PresenceState } from "../presence";

export function stateOf(awareness: Awareness, clientId: number): PresenceState | undefined {
  return awareness.getStates().get(clientId) as PresenceState | undefined;
}

export function nameOf(awareness: Awareness, clientId: number): string {
  return cleanName(stateOf(awareness, clientId)?.user?.name) || guestName(clientId);
}

/** Their published top cell + offset, when it is usable. */
export function scrollOf(awareness: Awareness, clientId: number): ScrollPosition | null {
  const s = stateOf(awareness, clientId)?.scroll;
  if (!s || typeof s !== "object" || typeof s.cell !== "string" || !Number.isFinite(s.offset)) return null;
  return s;
}

/** Where someone is, walking the whole chain of whom they follow (a follower publishes no
 * scroll while following, presence.ts: theirs is stale; only the chain's end is where they all
 * are). `loop`: the chain comes back to this page, nobody in it is anywhere else: stay put. A
 * loop not through this page ends at its first repeat (nobody in it moves: theirs is the best). */
export function whereIs(
  awareness: Awareness,
  clientId: number,
): { scroll: ScrollPosition | null; loop: boolean } {
  const seen = new Set<number>([clientId]);
  let at = clientId;
  for (;;) {
    const next = followingIn(stateOf(awareness, at) ?? null);
    if (next === null || next === at || !stateOf(awareness, next)) break;
    if (next === awareness.clientID) return { scroll: null, loop: true };
    if (seen.has(next)) break;
    seen.add(next);
    at = next;
  }
  return { scroll: scrollOf(awareness, at), loop: false };
}

/** Where someone is (the end of the chain they follow); null in a loop through this page. */
export function positionOf(awareness: Awareness, clientId: number): ScrollPosition | null {
  return whereIs(awareness, clientId).scroll;
}

/** Page y of a published top cell + offset on this page (null while that cell is not rendered). */
export function pageYOf(layout: Layout, s: ScrollPosition): number | null {
  const cell = layout.cellById(s.cell);
  if (!cell || cell.getClientRects().length === 0) return null;
  const rect = cell.getBoundingClientRect();
  return window.scrollY + rect.top + s.offset * layout.scaleOf(cell, rect);
}
