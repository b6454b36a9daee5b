// Warnings a client can cause once per message or per connect (bad frames, a feed with a bug, a connect
// flood, .u.sub while lnd is down) are written once, then at most once a period, with how many were
// not: bytes in cannot become log volume, and whoever reads the log still sees that it goes on.
import type { Logger } from 'pino';
import type { Clock } from './clock.js';

/** Period between two lines of one kind, after the first. */
const PERIOD_MS = 10_000;

export class LogRate {
  private readonly kinds = new Map<string, { until: bigint; skipped: number }>();

  constructor(private readonly clock: Pick<Clock, 'nowNanos'>, private readonly periodMs = PERIOD_MS) {}

  /**
   * For one occurrence of `kind` (a fixed set: a message and a catalogue code, never client text):
   * undefined when it is not to be written; else how many of that kind were not written since the last.
   */
  take(kind: string): number | undefined {
    const now = this.clock.nowNanos();
    const k = this.kinds.get(kind);
    if (k !== undefined && now < k.until) {
      k.skipped++;
      return undefined;
    }
    this.kinds.set(kind, { until: now + BigInt(this.periodMs) * 1_000_000n, skipped: 0 });
    return k?.skipped ?? 0;
  }

  /** `msg` at warn, with `fields` and how many were skipped, when take(kind) says it is to be written. */
  warn(log: Logger, kind: string, fields: Record<string, unknown>, msg: string): void {
    const skipped = this.take(kind);
    if (skipped !== undefined) log.warn({ ...fields, skipped }, msg);
  }
}
