// Time for the tickerplant: wall-clock nanoseconds and the local UTC offset (tick.q's -o), injectable
// so tests move time (midnight, expiry) without sleeping.
import { EPOCH_OFFSET_MS, NANOS_PER_DAY } from './ipc/types.js';

export interface Clock {
  /** Unix time in nanoseconds. */
  nowNanos(): bigint;
  /** Offset of local time from UTC in minutes at the given instant (q's -o, or the system zone). */
  offsetMinutes(unixNanos: bigint): number;
}

/** The system clock: ns resolution from hrtime, anchored to Date.now() once. */
export function systemClock(utcOffsetHours?: number): Clock {
  const baseWall = BigInt(Date.now()) * 1_000_000n;
  const baseHr = process.hrtime.bigint();
  const fixed = utcOffsetHours === undefined ? undefined : Math.round(utcOffsetHours * 60);
  // The zone's offset only changes on the hour (DST): ask Date once per hour, not once per update.
  let hour = -1n;
  let offset = 0;
  return {
    nowNanos: () => baseWall + (process.hrtime.bigint() - baseHr),
    offsetMinutes: (unixNanos) => {
      if (fixed !== undefined) return fixed;
      const h = unixNanos / 3_600_000_000_000n;
      if (h !== hour) {
        hour = h;
        offset = -new Date(Number(unixNanos / 1_000_000n)).getTimezoneOffset();
      }
      return offset;
    },
  };
}

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  constructor(private nanos: bigint, private readonly offset = 0) {}
  nowNanos(): bigint { return this.nanos; }
  offsetMinutes(): number { return this.offset; }
  set(unixNanos: bigint): void { this.nanos = unixNanos; }
  advance(nanos: bigint): void { this.nanos += nanos; }
}

/** Nanoseconds from 1970.01.01 to 2000.01.01, q's epoch. */
const EPOCH_NANOS = BigInt(EPOCH_OFFSET_MS) * 1_000_000n;

/** Local wall-clock time as q sees it: date (days since 2000.01.01) and time of day (ns). */
export function localNow(clock: Clock): { date: number; timeOfDay: bigint } {
  return localAt(clock, clock.nowNanos());
}

/** localNow for a given instant (Unix ns). */
export function localAt(clock: Clock, utc: bigint): { date: number; timeOfDay: bigint } {
  const local = utc + BigInt(clock.offsetMinutes(utc)) * 60_000_000_000n - EPOCH_NANOS;
  let days = local / NANOS_PER_DAY;
  let rem = local % NANOS_PER_DAY;
  if (rem < 0n) { rem += NANOS_PER_DAY; days -= 1n; }
  return { date: Number(days), timeOfDay: rem };
}
