// Who this client is to the others: awareness `user: {name, color, role}`.

import type { Awareness } from "y-protocols/awareness";
import contract from "../../jupyterspot_magic/contracts/colors.json";
import type { Role } from "./config";

export interface UserInfo {
  name: string;
  color: string;
  role: Role;
}

/** The presence palette: twelve clearly different hues (every pair CIEDE2000 >= 20, each >= 3:1
 * on the white page; js/test/colors.test.ts), one source with the server (collab/colors.py). */
export const PALETTE: readonly string[] = contract.palette;
export const PRESENTER_COLOR = PALETTE[contract.presenterSlot];

/**
 * The colour to show before the server has assigned one: the presenter's for a host, else a
 * guest slot by client id. Only a guess: the share server gives each person a slot by join order
 * and answers a state with another colour with the assigned one (keepAssignedColor adopts it).
 */
export function colorFor(clientId: number, role: Role = "guest"): string {
  if (role === "host") return PRESENTER_COLOR;
  const guests = PALETTE.filter((_c, i) => i !== contract.presenterSlot);
  return guests[Math.abs(clientId) % guests.length];
}

/**
 * Keep `user.color` what the server assigned: the server sends this client its own state, with
 * its slot's colour, when the one we announced was not it (docs/protocol.md, "Colours"); later
 * announcements of `user` (a rename) must carry that colour, not the guess.
 */
export function keepAssignedColor(awareness: Awareness, user: UserInfo): void {
  awareness.on("change", () => {
    const own = (awareness.getLocalState() as { user?: { color?: unknown } } | null)?.user;
    const color = own?.color;
    if (typeof color === "string" && color !== user.color && safeColor(color) === color) {
      user.color = color;
    }
  });
}

const FALLBACK_COLOR = "#868e96";

/** Only accept "#rrggbb" from other people; anything else becomes grey. */
export function safeColor(color: unknown): string {
  return typeof color === "string" && /^#[0-9a-fA-F]{6}$/.test(color) ? color : FALLBACK_COLOR;
}

export function guestName(clientId: number): string {
  return `Guest ${String(Math.abs(clientId) % 10000).padStart(4, "0")}`;
}
