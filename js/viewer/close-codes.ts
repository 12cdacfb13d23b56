// The server's close codes and what the viewer does after each (retry never, slowly, or with
// backoff): one source, jupyterspot_magic/contracts/close_codes.json, which the server
// (collab/close_codes.py) and docs/protocol.md read too.

import table from "../../jupyterspot_magic/contracts/close_codes.json";

export type Retry = "never" | "slow" | "backoff";

export interface CloseCodeInfo {
  /** The contract's name for it ("room_full"). */
  name: string;
  code: number;
  retry: Retry;
  meaning: string;
}

const RETRIES: readonly string[] = ["never", "slow", "backoff"];

export const CLOSE_CODES: readonly CloseCodeInfo[] = Object.entries(table).map(([name, e]) => {
  if (!RETRIES.includes(e.retry)) throw new Error(`close_codes.json: bad retry for ${name}`);
  return { name, code: e.code, retry: e.retry as Retry, meaning: e.meaning };
});

const BY_CODE = new Map(CLOSE_CODES.map((c) => [c.code, c]));

/** What the server meant by closing with `code` (null: not one of its codes, e.g. a network drop). */
export function closeCodeOf(code: number): CloseCodeInfo | null {
  return BY_CODE.get(code) ?? null;
}

/** How the viewer reconnects after a close with `code` (anything unknown: with backoff). */
export function retryAfter(code: number): Retry {
  return closeCodeOf(code)?.retry ?? "backoff";
}

/**
 * y-websocket's `shouldReconnect` (>= 3.1) from the contract: reconnect unless "never". Its own
 * default stops after 4400-4499, which the contract's numbering matches; this keeps the viewer on
 * the contract even for a code outside that rule.
 */
export function shouldReconnect(event: { code: number }): boolean {
  return retryAfter(event.code) !== "never";
}

/** What the people see after the closes that say something to them (by contract name). */
export const CLOSE_DETAIL: Readonly<Record<string, string>> = {
  removed: "The host removed you from this session",
  room_full: "room is full",
};

/** The close that means the host stopped the share (the page says so while it retries). */
export const SHARE_STOPPED = "going_away";
