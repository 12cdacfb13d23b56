// The two Yjs rooms of a share (docs/protocol.md, "Rooms"): "board" (shapes + awareness) and
// "control" (leader and policies, written by the kernel/host only), and one connection state
// for the UI derived from both. What a server close means comes from close-codes.ts.

import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import type { Awareness } from "y-protocols/awareness";
import { CLOSE_DETAIL, closeCodeOf, retryAfter, SHARE_STOPPED, shouldReconnect } from "./close-codes";

export type ConnectionState = "connecting" | "live" | "reconnecting" | "invalid" | "stopped";

const NORMAL_MAX_BACKOFF_MS = 2500;
const SLOW_MAX_BACKOFF_MS = 15000;

export interface ConnectionStatus {
  state: ConnectionState;
  /** Extra reason worth showing (e.g. "room is full"), or "". */
  detail: string;
}

/** A random key per browser, kept across reloads: what the host's "remove" bans. */
function participantKey(): string {
  const name = "jupyterspot.pid";
  try {
    const known = localStorage.getItem(name);
    if (known && /^[A-Za-z0-9_-]{8,64}$/.test(known)) return known;
    const fresh = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
      b.toString(16).padStart(2, "0"),
    ).join("");
    localStorage.setItem(name, fresh);
    return fresh;
  } catch {
    return ""; // storage blocked: the server then treats this browser as having no key
  }
}

export class Connection {
  readonly boardDoc = new Y.Doc();
  readonly controlDoc = new Y.Doc();
  readonly board: WebsocketProvider;
  readonly control: WebsocketProvider;
  readonly awareness: Awareness;
  status: ConnectionStatus = { state: "connecting", detail: "" };
  private everLive = false;
  private invalid = false;
  private stopped = false;
  private detail = "";
  private listeners = new Set<(s: ConnectionStatus) => void>();

  constructor(wsBase: string, token: string) {
    const params = { token, pid: participantKey() };
    const opts = {
      params,
      disableBc: true,
      maxBackoffTime: NORMAL_MAX_BACKOFF_MS,
      // y-websocket >= 3.1 stops after 4400-4499 by its own rule; the contract's "retry" column
      // decides here instead (the contract numbers "never" codes into that range, so both agree).
      shouldReconnect,
    };
    this.board = new WebsocketProvider(wsBase, "board", this.boardDoc, opts);
    this.control = new WebsocketProvider(wsBase, "control", this.controlDoc, opts);
    this.awareness = this.board.awareness;
    // Presence lives on the board room only; don't announce an empty state in control.
    this.control.awareness.setLocalState(null);
    // Others dropped our state (same clock) when the server saw us leave; re-announcing it with
    // the old clock would be ignored, so bump the clock on every (re)connect.
    this.board.on("status", (e: { status: string }) => {
      const state = this.awareness.getLocalState();
      if (e.status === "connected" && state !== null) this.awareness.setLocalState({ ...state });
    });
    for (const provider of [this.board, this.control]) {
      provider.on("status", () => this.update());
      provider.on("sync", () => this.update());
      provider.on("connection-close", (event) => this.onClose(provider, event));
    }
    this.update();
  }

  onStatus(cb: (s: ConnectionStatus) => void): () => void {
    this.listeners.add(cb);
    cb(this.status);
    return () => this.listeners.delete(cb);
  }

  /** Stop both rooms for good (no more reconnects). */
  stop(): void {
    for (const provider of [this.board, this.control]) {
      // Not provider.disconnect() from inside a close handler: it re-enters the close path.
      provider.shouldConnect = false;
      provider.ws?.close();
    }
  }

  private onClose(provider: WebsocketProvider, event: CloseEvent | null): void {
    const code = event?.code ?? 0;
    const close = closeCodeOf(code);
    if (close) this.detail = CLOSE_DETAIL[close.name] ?? this.detail;
    const retry = retryAfter(code);
    if (retry === "never") {
      // The link is dead (or we were removed): retrying would only hammer the server.
      this.invalid = true;
      for (const p of [this.board, this.control]) p.shouldConnect = false;
      queueMicrotask(() => this.stop());
    } else if (retry === "slow") {
      if (close?.name === SHARE_STOPPED) this.stopped = true;
      this.slowDown();
    } else if (close) {
      console.warn(`jupyterspot: ${provider.roomname} closed the connection: ${close.meaning}`);
    }
    this.update();
  }

  /** Retry every 15 s instead of every 2.5 s. */
  private slowDown(): void {
    for (const p of [this.board, this.control]) {
      p.maxBackoffTime = SLOW_MAX_BACKOFF_MS;
      // y-websocket 3.1 waits min(2^n * 100 ms, maxBackoffTime), n counting every close since the
      // last sync (it adds this close after this handler runs): 2^8 * 100 ms caps at 15 s.
      p.wsUnsuccessfulReconnects = Math.max(p.wsUnsuccessfulReconnects, 7);
    }
  }

  private isLive(p: WebsocketProvider): boolean {
    return p.wsconnected && p.synced;
  }

  private update(): void {
    let state: ConnectionState;
    if (this.invalid) {
      state = "invalid";
    } else if (this.isLive(this.board) && this.isLive(this.control)) {
      state = "live";
      this.everLive = true;
      this.stopped = false;
      this.detail = "";
      for (const p of [this.board, this.control]) p.maxBackoffTime = NORMAL_MAX_BACKOFF_MS;
    } else if (this.stopped) {
      state = "stopped";
    } else {
      // A server that said why (room full) is retried: say so even before the first join.
      state = this.everLive || this.detail ? "reconnecting" : "connecting";
    }
    if (state === this.status.state && this.detail === this.status.detail) return;
    this.status = { state, detail: this.detail };
    for (const cb of this.listeners) cb(this.status);
  }
}
