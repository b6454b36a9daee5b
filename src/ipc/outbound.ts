// A message encoded once and shared by every connection it goes to (the idea of q's -25!): the
// compressed form, for peers q would compress to, is computed at most once.
import { compress, shouldCompress } from './compress.js';

/**
 * A condition on leaving: a published row waits on its journal write (the write-ahead barrier). When
 * that write fails, the tickerplant withdraws the gate and no transport sends the message.
 */
export interface OutboundGate {
  readonly withdrawn: boolean;
}

/** The gate new messages get (see withGate); undefined outside a publish. */
let currentGate: OutboundGate | undefined;

/**
 * Runs fn with `gate` attached to every Outbound it creates: the tickerplant publishes rows whose
 * journal record is still staged, and the subscriber registry need not know about journals.
 */
export function withGate<T>(gate: OutboundGate | undefined, fn: () => T): T {
  const before = enterGate(gate);
  try {
    return fn();
  } finally {
    currentGate = before;
  }
}

/** withGate without a closure (the hot path's form): returns the gate to restore with leaveGate, in a finally. */
export function enterGate(gate: OutboundGate | undefined): OutboundGate | undefined {
  const before = currentGate;
  currentGate = gate;
  return before;
}

export function leaveGate(before: OutboundGate | undefined): void {
  currentGate = before;
}

/**
 * Memory shared by many messages and written again once no one holds it (layout.ts Slab): a queue that
 * keeps a message's bytes after its delivery returns holds the region until it has let go of them.
 */
export interface Region {
  readonly buf: Buffer;
  hold(): void;
  release(): void;
}

export class Outbound {
  private packed: Buffer | null | undefined;
  private forms: Map<string, unknown> | undefined;
  readonly gate: OutboundGate | undefined = currentGate;
  private view: Buffer | undefined;
  /** The shared memory the message lies in (see Region), at `at`; undefined for a buffer of its own. */
  readonly region: Region | undefined;
  readonly at: number;
  /** Bytes of the message (plain). */
  readonly length: number;

  /**
   * A message in a buffer of its own, or the `length` bytes at `at` of a region: a connection queues
   * those by offset, so a message cut from a slab costs no view of its own unless someone asks for plain.
   */
  constructor(plain: Buffer);
  constructor(region: Region, at: number, length: number);
  constructor(p: Buffer | Region, at = 0, length = 0) {
    if (p instanceof Uint8Array) {
      this.view = p;
      this.region = undefined;
      this.at = 0;
      this.length = p.length;
    } else {
      this.region = p;
      this.at = at;
      this.length = length;
    }
  }

  get plain(): Buffer {
    return this.view ??= (this.region as Region).buf.subarray(this.at, this.at + this.length);
  }

  /** Another encoding of the same message (e.g. JSON for WebSocket clients), also computed once. */
  derived<T>(key: string, make: (plain: Buffer) => T): T {
    this.forms ??= new Map();
    if (!this.forms.has(key)) this.forms.set(key, make(this.plain));
    return this.forms.get(key) as T;
  }

  /** The bytes for a peer: compressed as q would for a remote one (code.kx.com/q/basics/ipc, compression). */
  forPeer(local: boolean, capability: number): Buffer {
    if (!shouldCompress(this.length, local, capability)) return this.plain;
    if (this.packed === undefined) this.packed = compress(this.plain) ?? null;
    return this.packed ?? this.plain;
  }
}
