// A message encoded once and shared by every connection it goes to (the idea of q's -25!): the
// compressed form, for peers q would compress to, is computed at most once.
import { compress, shouldCompress } from './compress.js';

export class Outbound {
  private packed: Buffer | null | undefined;
  private forms: Map<string, unknown> | undefined;
  constructor(readonly plain: Buffer) {}

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
