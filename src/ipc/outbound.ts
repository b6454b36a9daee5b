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
  hold(): void;
  release(): void;
}

export class Outbound {
  private packed: Buffer | null | undefined;
  private forms: Map<string, unknown> | undefined;
  readonly gate: OutboundGate | undefined = currentGate;
  /** `region`: where `plain` lies when it is shared memory (see Region). */
  constructor(readonly plain: Buffer, readonly region?: Region) {}

  /** Another encoding of the same message (e.g. JSON for WebSocket clients), also computed once. */
  derived<T>(key: string, make: (plain: Buffer) => T): T {
    this.forms ??= new Map();
    if (!this.forms.has(key)) this.forms.set(key, make(this.plain));
    return this.forms.get(key) as T;
  }

  /** The bytes for a peer: compressed as q would for a remote one (kdb-ipc-and-tick.md §5.1). */
  forPeer(local: boolean, capability: number): Buffer {
    if (!shouldCompress(this.plain.length, local, capability)) return this.plain;
    if (this.packed === undefined) this.packed = compress(this.plain) ?? null;
    return this.packed ?? this.plain;
  }
}
