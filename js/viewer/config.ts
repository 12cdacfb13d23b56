// Reads what the page tells the viewer: the #jupyterspot-config JSON block (see docs/protocol.md,
// "Page configuration"; its keys and types are jupyterspot_magic/contracts/page_config.json, which
// the server writes from too), the token from the page's own query string, and the participant's
// name (?name= first, then localStorage, else none: the UI then asks without blocking). This is
// the one reader of the config block.

import contract from "../../jupyterspot_magic/contracts/page_config.json";

export type Role = "guest" | "host";

export interface PageConfig {
  room: string;
  role: Role;
  /** Websocket base, relative to the page (resolved by wsBaseUrl). */
  wsBase: string;
  /** Reference layout width in CSS px. */
  refWidth: number;
  version: string;
  cells: number;
  title: string;
  /** An exported file: drawn from its embedded board snapshot, no connection. */
  offline: boolean;
  /** The relay's websocket URL (--relay), or "": the rooms are at wsBase. */
  relay: string;
  /** An end-to-end encrypted share: the key is in the link's fragment (e2e/key.ts), the page
   * came through e2e-loader.js, and sockets, cell updates and the export are sealed (e2e/). */
  e2e: boolean;
  /** control.leader while the running cell leads (collab/lead.py KERNEL_LEADER). */
  kernelLeader: number;
  /** The host page's default name for the presenter ("" on guests'): readName's fallback. */
  presenter: string;
}

interface KeyContract {
  type: string;
  values?: readonly (string | number)[];
}

/** The page-config keys and their types, as the server writes them. */
const CONFIG_KEYS: Readonly<Record<string, KeyContract>> = contract;

const DEFAULTS: PageConfig = {
  room: "",
  role: "guest",
  wsBase: "",
  refWidth: 1000,
  version: "",
  cells: 0,
  title: "",
  offline: false,
  relay: "",
  e2e: false,
  kernelLeader: contract.kernelLeader.values[0],
  presenter: "",
};

const NAME_KEY = "jupyterspot.name";
export const MAX_NAME_LENGTH = 40;

/** Does `v` have the type (and one of the values) the contract gives key `key`? */
function fits(key: string, v: unknown): boolean {
  const c = CONFIG_KEYS[key];
  if (!c || typeof v !== c.type) return false;
  if (c.type === "number" && !Number.isFinite(v)) return false;
  return !c.values || c.values.includes(v as string | number);
}

/** The config from the block's text; each key that is missing or not as the contract says gets
 * its default (logged when the text is not JSON at all). */
export function parseConfig(text: string): PageConfig {
  let raw: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object") raw = parsed as Record<string, unknown>;
  } catch (err) {
    console.error("jupyterspot: unreadable #jupyterspot-config", err);
  }
  const config: Record<string, unknown> = { ...DEFAULTS };
  for (const key of Object.keys(CONFIG_KEYS)) if (fits(key, raw[key])) config[key] = raw[key];
  const c = config as unknown as PageConfig;
  if (c.refWidth < 200) c.refWidth = DEFAULTS.refWidth;
  if (c.cells < 0) c.cells = DEFAULTS.cells;
  return c;
}

/** The page's own block of that id: the last one (after </main>; a notebook output can't come
 * later). */
export function pageBlock(id: string, doc: Document = document): HTMLElement | null {
  const all = doc.querySelectorAll<HTMLElement>(`script[id="${id}"]`);
  return all[all.length - 1] ?? null;
}

export function readConfig(doc: Document = document): PageConfig {
  const text = pageBlock("jupyterspot-config", doc)?.textContent;
  if (text) return parseConfig(text);
  console.error("jupyterspot: no #jupyterspot-config block on the page");
  return { ...DEFAULTS };
}

/** The share token from the page's own URL (the config block never holds it). */
export function readToken(loc: Location = location): string {
  return new URLSearchParams(loc.search).get("token") ?? "";
}

/** Resolve the relative wsBase against the page and switch http(s) to ws(s). */
export function wsBaseUrl(wsBase: string, loc: Location = location): string {
  const url = new URL(wsBase || ".", loc.href);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  url.search = "";
  url.hash = "";
  return url.href.replace(/\/+$/, "");
}

export function cleanName(name: unknown): string {
  if (typeof name !== "string") return "";
  // Collapse whitespace and control characters; names are shown as text only.
  // eslint-disable-next-line no-control-regex
  const cleaned = name.replace(/[\u0000-\u001f\u007f\s]+/g, " ").trim();
  return Array.from(cleaned).slice(0, MAX_NAME_LENGTH).join("");
}

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // disabled storage (privacy mode, sandboxed frame)
  }
}

export function storeName(name: string): void {
  try {
    storage()?.setItem(NAME_KEY, name);
  } catch {
    // quota or disabled storage: the name still works for this visit
  }
}

/**
 * A link parameter, from the query or else from the fragment: an encrypted share's links carry
 * `name` (and the widget's `lead`) after the key, `#k=…&name=…`, so the tunnel never sees them
 * (session/share.py host_url).
 */
export function linkParam(
  name: string,
  loc: Pick<Location, "search" | "hash"> = location,
): string | null {
  // The last of a repeated parameter: a name appended to a link overrides the one it carries
  // (the presenter's link carries --name when given).
  const last = (params: URLSearchParams) => params.getAll(name).pop() ?? null;
  const fragment = new URLSearchParams(loc.hash.replace(/^#/, ""));
  return last(new URLSearchParams(loc.search)) ?? last(fragment);
}

/**
 * The participant's name and whether it came from the URL. `?name=` (or `#…&name=`) wins (and
 * is remembered: the presenter's --name is explicit), then the name remembered from an earlier
 * visit, then `fallback` (the host page's default, config.presenter: never stored, so a name
 * the presenter types stays on the next load); "" means nobody told us yet.
 */
export function readName(
  loc: Location = location,
  fallback = "",
): { name: string; fromUrl: boolean } {
  const fromUrl = cleanName(linkParam("name", loc));
  if (fromUrl) {
    storeName(fromUrl);
    return { name: fromUrl, fromUrl: true };
  }
  let stored = "";
  try {
    stored = cleanName(storage()?.getItem(NAME_KEY));
  } catch {
    stored = "";
  }
  return { name: stored || cleanName(fallback), fromUrl: false };
}
