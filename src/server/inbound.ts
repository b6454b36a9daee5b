// The memory all connections may hold for messages that have not fully arrived (Limits.maxInboundBytes).
// One peer parking a 252 MiB partial frame per connection must not add up to gigabytes: past the total,
// the connection that has sent the most of a partial message is dropped, which is the hoarder, not whoever happened to read last.

/** A connection as the budget sees it: what it holds, and how to drop it. */
export interface InboundHolder {
  /** Memory held (buffer capacity): what the budget counts. */
  readonly heldBytes: number;
  /** Bytes actually received of the partial message: who is dropped first. */
  readonly partialBytes: number;
  dropForInbound(total: number, max: number): void;
}

export class InboundBudget {
  private readonly held = new Map<InboundHolder, number>();
  private sum = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes held across connections. */
  get total(): number { return this.sum; }

  /** Records what `h` holds now; drops the largest holders while the total is over the budget. */
  update(h: InboundHolder): void {
    const now = h.heldBytes;
    const before = this.held.get(h) ?? 0;
    if (now === before) return;
    this.sum += now - before;
    if (now === 0) this.held.delete(h); else this.held.set(h, now);
    while (this.sum > this.maxBytes && this.held.size > 0) {
      let top: InboundHolder | undefined;
      let most = -1;
      for (const c of this.held.keys()) if (c.partialBytes > most) { most = c.partialBytes; top = c; }
      const total = this.sum;
      this.release(top as InboundHolder);
      (top as InboundHolder).dropForInbound(total, this.maxBytes);
    }
  }

  /** Forgets `h` (closed, or its frame completed). */
  release(h: InboundHolder): void {
    const n = this.held.get(h);
    if (n === undefined) return;
    this.sum -= n;
    this.held.delete(h);
  }
}
