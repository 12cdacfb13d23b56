// The two Yjs rooms of a share (docs/protocol.md, "Rooms"): "board" (shapes + awareness) and
// "control" (leader and policies, written by the kernel/host only), and one connection state
// for the UI derived from both. What a server close means comes from close-codes.ts. The rooms
// are the share server's (y-websocket, rooms.ts) or, with --relay, the relay's (relay-rooms.ts).

import * as Y from "yjs";
import type { Awareness } from "y-protocols/awareness";
import { CLOSE_DETAIL, closeCodeOf, retryAfter, SHARE_STOPPED } from "./close-codes";
import { RelayRooms } from "./relay-rooms";
import { WebsocketRooms, type Rooms } from "./rooms";

export type ConnectionState = "connecting" | "live" | "reconnecting" | "invalid" | "stopped";

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

/** Where the rooms are: the share server (`wsBase`) unless the page config names a relay. */
export interface RoomsAddress {
  wsBase: string;
  /** The relay's websocket URL, or "". */
  relay: string;
  /** The share's room id (the relay's document names start with it). */
  room: string;
  /** The share key of an encrypted share (its sockets are sealed), else null. */
  key: Uint8Array | null;
}

export class Connection {
  readonly boardDoc = new Y.Doc();
  readonly controlDoc = new Y.Doc();
  readonly rooms: Rooms;
  readonly awareness: Awareness;
  status: ConnectionStatus = { state: "connecting", detail: "" };
  private everLive = false;
  private invalid = false;
  private stopped = false;
  private detail = "";
  private listeners = new Set<(s: ConnectionStatus) => void>();

  constructor(at: RoomsAddress, token: string) {
    const pid = participantKey();
    const docs: [Y.Doc, Y.Doc] = [this.boardDoc, this.controlDoc];
    const events = {
      changed: () => this.update(),
      connected: () => this.reannounce(),
      closed: (code: number, where: string) => this.onClose(code, where),
    };
    // The relay's rooms are never sealed (an encrypted share does not publish to a relay).
    const seal = at.key && { key: at.key, room: at.room };
    this.rooms = at.relay
      ? new RelayRooms(at.relay, at.room, token, pid, docs, events)
      : new WebsocketRooms(at.wsBase, token, pid, docs, events, seal);
    this.awareness = this.rooms.awareness;
    this.update();
  }

  /** The board's provider (a y-websocket WebsocketProvider or a HocuspocusProvider). */
  get board(): object {
    return this.rooms.board;
  }

  get control(): object {
    return this.rooms.control;
  }

  onStatus(cb: (s: ConnectionStatus) => void): () => void {
    this.listeners.add(cb);
    cb(this.status);
    return () => this.listeners.delete(cb);
  }

  /** Stop both rooms for good (no more reconnects). */
  stop(): void {
    this.rooms.stop();
  }

  /** Others dropped our state (same clock) when the server saw us leave; re-announcing it with
   * the old clock would be ignored, so bump the clock on every (re)connect. */
  private reannounce(): void {
    const state = this.awareness.getLocalState();
    if (state !== null) this.awareness.setLocalState({ ...state });
  }

  private onClose(code: number, where: string): void {
    const close = closeCodeOf(code);
    if (close) this.detail = CLOSE_DETAIL[close.name] ?? this.detail;
    const retry = retryAfter(code);
    if (retry === "never") {
      // The link is dead (or we were removed): retrying would only hammer the server.
      this.invalid = true;
      this.rooms.stop();
    } else if (retry === "slow") {
      if (close?.name === SHARE_STOPPED) this.stopped = true;
      this.rooms.setSlow(true); // retry every 15 s instead of every 2.5 s
    } else if (close) {
      console.warn(`jupyterspot: ${where} closed the connection: ${close.meaning}`);
    }
    this.update();
  }

  private update(): void {
    let state: ConnectionState;
    if (this.invalid) {
      state = "invalid";
    } else if (this.rooms.live()) {
      state = "live";
      this.everLive = true;
      this.stopped = false;
      this.detail = "";
      this.rooms.setSlow(false);
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
