// Who this client is to the others: awareness `user: {name, color, role}`.

import type { Role } from "./config";

export interface UserInfo {
  name: string;
  color: string;
  role: Role;
}

/** Distinguishable, pleasant colors that all carry white text. */
export const PALETTE = [
  "#e03131", // red
  "#1c7ed6", // blue
  "#2f9e44", // green
  "#9c36b5", // grape
  "#e8590c", // orange
  "#0c8599", // cyan
  "#c2255c", // pink
  "#5f3dc4", // violet
  "#5c940d", // lime
  "#1864ab", // navy
  "#b35c00", // amber
  "#087f5b", // teal
] as const;

export function colorFor(clientId: number): string {
  return PALETTE[Math.abs(clientId) % PALETTE.length];
}

const FALLBACK_COLOR = "#868e96";

/** Only accept "#rrggbb" from other people; anything else becomes grey. */
export function safeColor(color: unknown): string {
  return typeof color === "string" && /^#[0-9a-fA-F]{6}$/.test(color) ? color : FALLBACK_COLOR;
}

export function guestName(clientId: number): string {
  return `Guest ${String(Math.abs(clientId) % 10000).padStart(4, "0")}`;
}
