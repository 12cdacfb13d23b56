// The share key from the link's fragment, `#k=<base64url, no padding>` (seal.py's key_text):
// browsers never send the fragment to a server. Missing (a link pasted without its `#...`) and
// malformed (cut short, mangled) are told apart so the page can say which.

import { KEY_BYTES } from "./aead";

export type KeyProblem = "missing" | "malformed";

export type KeyResult =
  | { key: Uint8Array; problem?: undefined }
  | { key?: undefined; problem: KeyProblem };

/** What a page says when it cannot open the share (one line each, shown as text). */
export const KEY_MESSAGES: Readonly<Record<KeyProblem | "wrong", string>> = {
  missing:
    "This link is incomplete: the part after # that holds the key is missing. " +
    "Ask the presenter for the whole link.",
  malformed:
    "This link is incomplete: the key after #k= is cut short or damaged. " +
    "Ask the presenter for the whole link.",
  wrong: "This link's key does not open this share.",
};

/** 32 bytes are 43 base64url characters (an "=" of padding is tolerated, as seal.py does). */
const KEY_TEXT = /^[A-Za-z0-9_-]{43}=?$/;

export function keyFromText(text: string): Uint8Array | null {
  if (!KEY_TEXT.test(text)) return null;
  const b64 = text.replace(/=$/, "").replace(/-/g, "+").replace(/_/g, "/") + "=";
  let raw: string;
  try {
    raw = atob(b64);
  } catch {
    return null;
  }
  const key = Uint8Array.from(raw, (c) => c.charCodeAt(0));
  return key.length === KEY_BYTES ? key : null;
}

/** The key in a fragment ("#k=...", possibly among other `&`-separated fields). */
export function keyFromHash(hash: string): KeyResult {
  const fields = new URLSearchParams(hash.replace(/^#/, ""));
  const text = fields.get("k");
  if (!text) return { problem: "missing" };
  const key = keyFromText(text);
  return key ? { key } : { problem: "malformed" };
}

export function readKey(loc: Pick<Location, "hash"> = location): KeyResult {
  return keyFromHash(loc.hash);
}
