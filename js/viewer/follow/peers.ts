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

/** Where someone is: their published top cell, or, while they follow someone (a follower
 * publishes no scroll then, presence.ts), where the one they follow is. */
export function positionOf(awareness: Awareness, clientId: number): ScrollPosition | null {
  const followed = followingIn(stateOf(awareness, clientId) ?? null);
  if (followed !== null && followed !== clientId) {
    const there = scrollOf(awareness, followed);
    if (there) return there;
  }
  return scrollOf(awareness, clientId);
}

/** Page y of a published top cell + offset on this page (null while that cell is not rendered). */
export function pageYOf(layout: Layout, s: ScrollPosition): number | null {
  const cell = layout.cellById(s.cell);
  if (!cell || cell.getClientRects().length === 0) return null;
  const rect = cell.getBoundingClientRect();
  return window.scrollY + rect.top + s.offset * layout.scaleOf(cell, rect);
}
