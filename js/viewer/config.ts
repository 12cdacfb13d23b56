// Reads what the page tells the viewer: the #jupyterspot-config JSON block (see docs/protocol.md,
// "Page configuration"), the token from the page's own query string, and the participant's name
// (?name= first, then localStorage, else none: the UI then asks without blocking).

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
}

const NAME_KEY = "jupyterspot.name";
export const MAX_NAME_LENGTH = 40;

export function readConfig(doc: Document = document): PageConfig {
  let raw: Record<string, unknown> = {};
  const el = doc.getElementById("jupyterspot-config");
  if (el?.textContent) {
    try {
      const parsed: unknown = JSON.parse(el.textContent);
      if (parsed && typeof parsed === "object") raw = parsed as Record<string, unknown>;
    } catch (err) {
      console.error("jupyterspot: unreadable #jupyterspot-config", err);
    }
  } else {
    console.error("jupyterspot: no #jupyterspot-config block on the page");
  }
  const str = (v: unknown, d: string): string => (typeof v === "string" ? v : d);
  const refWidth = Number(raw.refWidth);
  const cells = Number(raw.cells);
  return {
    room: str(raw.room, ""),
    role: raw.role === "host" ? "host" : "guest",
    wsBase: str(raw.wsBase, ""),
    refWidth: Number.isFinite(refWidth) && refWidth >= 200 ? refWidth : 1000,
    version: str(raw.version, ""),
    cells: Number.isFinite(cells) && cells >= 0 ? cells : 0,
    title: str(raw.title, ""),
  };
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
 * The participant's name and whether it came from the URL. `?name=` wins (and is remembered),
 * then the name remembered from an earlier visit; "" means nobody told us yet.
 */
export function readName(loc: Location = location): { name: string; fromUrl: boolean } {
  const fromUrl = cleanName(new URLSearchParams(loc.search).get("name"));
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
  return { name: stored, fromUrl: false };
}
