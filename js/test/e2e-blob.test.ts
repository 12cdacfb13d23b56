// e2e/blob.ts and e2e/key.ts against seal.py: blobs (the page, changed cells, the export) sealed
// by Python open in TS through both ciphers (WebCrypto and noble) and TS blobs open in Python; a
// blob opens only with its key, room and kind. The key from a link's fragment.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  aad,
  NONCE_BYTES,
  openAsync,
  openSync,
  randomBytes,
  sealSync,
  SealError,
} from "../viewer/e2e/aead";
import { openBlob, openBlobText, sealBlob, type BlobKind } from "../viewer/e2e/blob";
import { keyFromHash, KEY_MESSAGES } from "../viewer/e2e/key";
import { flip, fromHex, KEY, pythonAll, ROOM, text, toHex } from "./e2e-helpers";

const PAGE = `<!doctype html><title>Ü ✓</title>${"<p>cell output 12345</p>\n".repeat(40_000)}`;
const CELLS = JSON.stringify({ version: "v2", cells: [{ id: "a", html: "<div>ü</div>" }] });
const KEYS = [KEY, ...Array.from({ length: 6 }, () => randomBytes(32))];

// One Python process for the whole file: blobs of each kind, and link fragments of some keys.
const [pageBlob, cellsBlob, exportBlob, fragments] = pythonAll([
  ...(
    [
      ["page", PAGE],
      ["cells", CELLS],
      ["export", ""],
    ] as const
  ).map(([kind, body]) => ({
    op: "seal_blob",
    key: toHex(KEY),
    room: ROOM,
    kind,
    body: toHex(text(body)),
  })),
  { op: "key_text", keys: KEYS.map(toHex) },
]) as [{ blob: string }, { blob: string }, { blob: string }, { texts: string[] }];

test("blobs sealed by Python open in TS, each as its kind", async () => {
  assert.equal(await openBlobText(KEY, ROOM, "page", fromHex(pageBlob.blob)), PAGE);
  assert.equal(await openBlobText(KEY, ROOM, "cells", fromHex(cellsBlob.blob)), CELLS);
  assert.equal((await openBlob(KEY, ROOM, "export", fromHex(exportBlob.blob))).length, 0);
  // The page is compressed before it is sealed (ciphertext does not compress).
  assert.ok(fromHex(pageBlob.blob).length < PAGE.length / 20);
});

test("a blob does not open with another key, room or kind, nor altered", async () => {
  const blob = fromHex(cellsBlob.blob);
  const refused: [string, () => Promise<unknown>][] = [
    ["key", () => openBlob(randomBytes(32), ROOM, "cells", blob)],
    ["room", () => openBlob(KEY, `${ROOM}x`, "cells", blob)],
    ["kind", () => openBlob(KEY, ROOM, "page", blob)],
    ["nonce", () => openBlob(KEY, ROOM, "cells", flip(blob, 0))],
    ["ciphertext", () => openBlob(KEY, ROOM, "cells", flip(blob, NONCE_BYTES + 2))],
    ["tag", () => openBlob(KEY, ROOM, "cells", flip(blob, -1))],
    ["cut", () => openBlob(KEY, ROOM, "cells", blob.subarray(0, blob.length - 1))],
    ["empty", () => openBlob(KEY, ROOM, "cells", new Uint8Array(0))],
  ];
  assert.equal(await openBlobText(KEY, ROOM, "cells", blob), CELLS); // the positive control
  for (const [what, opening] of refused) await assert.rejects(opening, SealError, what);
});

test("blobs sealed in TS open in Python", async () => {
  const kinds: BlobKind[] = ["page", "cells", "export"];
  const bodies = [PAGE, CELLS, "ü"].map(text);
  const blobs = await Promise.all(kinds.map((k, i) => sealBlob(KEY, ROOM, k, bodies[i])));
  const commands = kinds.map((kind, i) => ({
    op: "open_blob",
    key: toHex(KEY),
    room: ROOM,
    kind,
    blob: toHex(blobs[i]),
  }));
  // The positive controls, then the same blob under another kind and altered.
  const altered = toHex(flip(blobs[1], -1));
  commands.push({ ...commands[1], kind: "page" }, { ...commands[1], blob: altered });
  const opened = pythonAll(commands).map((r) => (r as { body: string }).body);
  assert.deepEqual(opened, [...bodies.map(toHex), "SealError", "SealError"]);
});

test("WebCrypto and noble open the same bytes and refuse the same", async () => {
  const subtle = globalThis.crypto.subtle;
  assert.ok(subtle, "Node has WebCrypto: both paths are tested");
  const message = Uint8Array.from({ length: 1 << 18 }, (_, i) => (i * 31 + (i >> 9)) & 0xff);
  const nonce = randomBytes(NONCE_BYTES);
  const ad = aad(ROOM, "page");
  const sealed = sealSync(KEY, nonce, message, ad);
  for (const via of [subtle, null]) {
    assert.deepEqual(await openAsync(KEY, nonce, sealed, ad, via), message);
    await assert.rejects(openAsync(KEY, nonce, flip(sealed, 5), ad, via), SealError);
    await assert.rejects(openAsync(randomBytes(32), nonce, sealed, ad, via), SealError);
    await assert.rejects(openAsync(KEY, nonce, sealed, aad(ROOM, "cells"), via), SealError);
  }
  assert.deepEqual(openSync(KEY, nonce, sealed, ad), message);
});

test("the key comes from the fragment Python writes; missing and malformed told apart", () => {
  assert.equal(fragments.texts.length, KEYS.length);
  for (const [i, t] of fragments.texts.entries()) {
    assert.deepEqual(keyFromHash(`#k=${t}`).key, KEYS[i]);
    assert.deepEqual(keyFromHash(`#k=${t}=`).key, KEYS[i], "with seal.py's optional padding");
    assert.deepEqual(keyFromHash(`#x=1&k=${t}`).key, KEYS[i], "among other fields");
  }
  for (const hash of ["", "#", "#k=", "#x=1", "#key=abc"]) {
    assert.equal(keyFromHash(hash).problem, "missing", hash);
  }
  const whole = fragments.texts[0];
  const cut = whole.slice(0, 42);
  for (const bad of [cut, `${whole}A`, `${cut}!`, "abc", `${whole}==`]) {
    assert.equal(keyFromHash(`#k=${bad}`).problem, "malformed", bad);
    assert.equal(keyFromHash(`#k=${bad}`).key, undefined);
  }
  assert.match(KEY_MESSAGES.missing, /incomplete.*after #/);
});
