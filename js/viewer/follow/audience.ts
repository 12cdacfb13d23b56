// Audience mode in the viewer (docs/protocol.md, "Audience mode"). In a big room the server sends
// a guest only the presence of hosts and speakers (the leader and those with the floor) and
// publishes in the control document whether the mode is on (`audience`), the head count
// (`people`) and the first names (`names`, a JSON array). This shows them in the people list, and
// on a host's page offers to give someone the floor (`floor`: client ids, comma separated, which
// the host writes; the server's control schema checks it).
//
// Everything here is read defensively: the control document comes from the server, but the
// names in it were typed by other people.

import type { Awareness } from "y-protocols/awareness";
import type * as Y from "yjs";
import { cleanName, type Role } from "../config";
import type { AudienceView, Participant, TopBar } from "../ui";

/** People who may have the floor at once (collab/schema.py MAX_FLOOR). */
export const MAX_FLOOR = 16;
/** Names shown (the server publishes at most 20, collab/crowd.py NAMES_SHOWN). */
const MAX_NAMES = 20;

/** `control.floor` ("12,345") as client ids; anything else is no floor. */
export function parseFloor(value: unknown): number[] {
  if (typeof value !== "string" || value === "") return [];
  return value
    .split(",")
    .slice(0, MAX_FLOOR)
    .filter((part) => /^\d{1,16}$/.test(part))
    .map(Number);
}

/** `control.names` (a JSON array of strings) as cleaned names; anything else is none. */
export function parseNames(value: unknown): string[] {
  if (typeof value !== "string") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed
    .slice(0, MAX_NAMES)
    .map((name) => (typeof name === "string" ? cleanName(name) : ""))
    .map((name) => name || "Guest");
}

/** What the people list shows in audience mode, or null when the mode is off. */
export function audienceView(control: { get(key: string): unknown }): AudienceView | null {
  if (control.get("audience") !== true) return null;
  const people = control.get("people");
  const count = typeof people === "number" && Number.isInteger(people) && people >= 0 ? people : 0;
  const names = parseNames(control.get("names"));
  return { count: Math.max(count, names.length), names };
}

/** The floor after giving it to (or taking it from) `clientId`; only people `present` keep it. */
export function nextFloor(
  floor: number[],
  clientId: number,
  give: boolean,
  present: (id: number) => boolean,
): number[] | null {
  const kept = floor.filter((id) => id !== clientId && present(id));
  if (!give) return kept;
  if (kept.length >= MAX_FLOOR) return null;
  return [...kept, clientId];
}

export class AudienceMode {
  private floor: number[] = [];
  private on = false;

  constructor(
    private readonly control: Y.Map<unknown>,
    private readonly awareness: Awareness,
    private readonly bar: TopBar,
    private readonly role: Role,
  ) {
    bar.onFloor = (id, give) => this.setFloor(id, give);
    control.observe(() => this.update());
    this.update();
  }

  /** The floor button of one row: only on a host's page, in audience mode, for a guest. */
  floorFor(p: Participant): "give" | "take" | null {
    if (this.role !== "host" || !this.on || p.self || p.role === "host") return null;
    if (this.floor.includes(p.clientId)) return "take";
    return this.floor.length < MAX_FLOOR ? "give" : null;
  }

  private update(): void {
    this.floor = parseFloor(this.control.get("floor"));
    const view = audienceView(this.control);
    this.on = view !== null;
    this.bar.setAudience(view);
    this.bar.rerender();
  }

  private setFloor(clientId: number, give: boolean): void {
    if (this.role !== "host") return; // the server drops a guest's control writes anyway
    const states = this.awareness.getStates();
    const next = nextFloor(this.floor, clientId, give, (id) => states.has(id));
    if (next !== null) this.control.set("floor", next.join(","));
  }
}
