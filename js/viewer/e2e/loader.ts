// The page loader of an encrypted share (built to jupyterspot_magic/static/e2e-loader.js).
// GET /s/{room}/ answers a small plain page with no content: a
// <script id="jupyterspot-e2e" type="application/json">{"room": ..., "blob": "x/page?token=..."}
// block and this script. It takes the key from the link's fragment (never sent to a server),
// fetches the sealed page, opens it (seal.py, "blobs", kind "page") and writes it over itself,
// so the page's own scripts (the viewer bundle, the outputs' scripts) run as on a plain share.
// When it cannot, it says why in one line in the loader page's body.

import { SealError } from "./aead";
import { fetchBlob, HttpError } from "./blob";
import { KEY_MESSAGES, readKey } from "./key";

interface LoaderConfig {
  room: string;
  blob: string;
}

const MESSAGES = {
  ...KEY_MESSAGES,
  config: "This page is damaged: it does not say which share to open.",
  gone: "This link is no longer valid: the share was stopped or its link was changed.",
  network: "The share could not be reached. Check the connection, then reload this page.",
  http: (status: number) => `The share could not be loaded (HTTP ${status}). Reload to try again.`,
  broken: "The share's page could not be opened. Reload to try again.",
};

function readConfig(): LoaderConfig | null {
  const blocks = document.querySelectorAll('script[id="jupyterspot-e2e"]');
  try {
    const raw: unknown = JSON.parse(blocks[blocks.length - 1]?.textContent ?? "");
    const c = raw as Partial<LoaderConfig> | null;
    if (c && typeof c.room === "string" && typeof c.blob === "string" && c.room && c.blob) {
      return { room: c.room, blob: c.blob };
    }
  } catch {
    // falls through: no usable block
  }
  return null;
}

/** One line in the loader page's body (#jupyterspot-e2e-status if the page has it). */
function say(text: string, problem = true): void {
  let el = document.getElementById("jupyterspot-e2e-status");
  if (!el) {
    el = document.createElement("p");
    el.id = "jupyterspot-e2e-status";
    (document.body ?? document.documentElement).appendChild(el);
  }
  el.textContent = text;
  el.setAttribute("role", problem ? "alert" : "status");
  el.setAttribute("data-state", problem ? "error" : "loading");
}

function messageFor(err: unknown): string {
  if (err instanceof SealError) return MESSAGES.wrong;
  if (!(err instanceof HttpError)) return MESSAGES.broken;
  if (!err.status) return MESSAGES.network;
  return [401, 403, 404].includes(err.status) ? MESSAGES.gone : MESSAGES.http(err.status);
}

async function load(): Promise<void> {
  const config = readConfig();
  if (!config) return say(MESSAGES.config);
  const found = readKey();
  if (!found.key) return say(MESSAGES[found.problem]);
  let html: string;
  try {
    const opts: RequestInit = { credentials: "same-origin", cache: "default" };
    const body = await fetchBlob(config.blob, found.key, config.room, "page", opts);
    html = new TextDecoder().decode(body);
  } catch (err) {
    console.error("jupyterspot: could not open the share's page", err);
    return say(messageFor(err));
  }
  document.open();
  document.write(html);
  document.close();
}

void load();
