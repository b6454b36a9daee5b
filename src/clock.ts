// Time for the tickerplant: wall-clock nanoseconds, the local UTC offset (tick.q's -o) and timers, all
// injectable so tests move time (midnight, expiry, renewals, timeouts) without sleeping.
import { EPOCH_OFFSET_MS, NANOS_PER_DAY } from './ipc/types.js';

/** A pending timer; cancel() is idempotent. */
export interface Timer {
  cancel(): void;
  /** Lets the process exit while this timer is pending (Node's timeout.unref()); returns the timer. */
  unref(): Timer;
}

export interface Clock {
  /** Unix time in nanoseconds. */
  nowNanos(): bigint;
  /** Offset of local time from UTC in minutes at the given instant (q's -o, or the system zone). */
  offsetMinutes(unixNanos: bigint): number;
  /**
   * Calls fn once after ms milliseconds. Any delay is honoured, also past setTimeout's 2^31-1 ms range
   * (a 30-day entitlement): long delays are re-armed in chunks.
   */
  after(ms: number, fn: () => void): Timer;
  /** Calls fn every ms milliseconds until cancelled. */
  every(ms: number, fn: () => void): Timer;
}

/** Unix milliseconds on `clock`: what invoices, tokens and BOLT 11 timestamps count in. */
export const unixMs = (clock: Pick<Clock, 'nowNanos'>): number => Number(clock.nowNanos() / 1_000_000n);

/** setTimeout's largest delay (Node clamps anything above to 1 ms). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

function systemAfter(ms: number, fn: () => void): Timer {
  let handle: NodeJS.Timeout | undefined;
  let cancelled = false;
  let unrefd = false;
  const arm = (left: number): void => {
    const step = Math.min(Math.max(0, left), MAX_TIMEOUT_MS);
    handle = setTimeout(() => {
      if (cancelled) return;
      if (left > MAX_TIMEOUT_MS) arm(left - MAX_TIMEOUT_MS); else fn();
    }, step);
    if (unrefd) handle.unref();
  };
  arm(Number.isFinite(ms) ? ms : MAX_TIMEOUT_MS);
  const timer: Timer = {
    cancel() { cancelled = true; if (handle) clearTimeout(handle); },
    unref() { unrefd = true; handle?.unref(); return timer; },
  };
  return timer;
}

function systemEvery(ms: number, fn: () => void): Timer {
  const handle = setInterval(fn, Math.min(Math.max(1, ms), MAX_TIMEOUT_MS));
  const timer: Timer = { cancel() { clearInterval(handle); }, unref() { handle.unref(); return timer; } };
  return timer;
}

/**
 * q's -o N in minutes: N is hours, unless |N| > 23, when it is minutes (code.kx.com/q/basics/cmdline/#-o-utc-offset,
 * so -o 330 is +05:30).
 */
export function offsetMinutesOf(n: number): number {
  return Math.abs(n) > 23 ? Math.round(n) : Math.round(n * 60);
}

/** The system clock: ns resolution from hrtime, anchored to Date.now() once. */
export function systemClock(utcOffsetHours?: number): Clock {
  const baseWall = BigInt(Date.now()) * 1_000_000n;
  const baseHr = process.hrtime.bigint();
  const wallMinusHr = baseWall - baseHr;
  const fixed = utcOffsetHours === undefined ? undefined : offsetMinutesOf(utcOffsetHours);
  // A zone's offset changes only on a UTC quarter-hour (offsets are whole quarter-hours, and so are the
  // local times they change at): ask Date once per quarter-hour, not once per update.
  let hour = -1n;
  let offset = 0;
  return {
    nowNanos: () => process.hrtime.bigint() + wallMinusHr, // one bigint add per reading
    after: systemAfter,
    every: systemEvery,
    offsetMinutes: (unixNanos) => {
      if (fixed !== undefined) return fixed;
      const h = unixNanos / 900_000_000_000n;
      if (h !== hour) {
        hour = h;
        offset = -new Date(Number(unixNanos / 1_000_000n)).getTimezoneOffset();
      }
      return offset;
    },
  };
}

interface ManualTimer {
  at: bigint;
  seq: number;
  period: bigint | undefined;
  fn: () => void;
  live: boolean;
}

/**
 * A clock that only moves when told to. Its timers fire, in due order, inside set()/advance() (and
 * advanceMs()), never on their own: a test says how much time passes and sees what that time does.
 */
export class ManualClock implements Clock {
  private timers: ManualTimer[] = [];
  private seq = 0;
  constructor(private nanos: bigint, private readonly offset = 0) {}
  nowNanos(): bigint { return this.nanos; }
  offsetMinutes(): number { return this.offset; }
  after(ms: number, fn: () => void): Timer { return this.add(ms, undefined, fn); }
  every(ms: number, fn: () => void): Timer { return this.add(ms, BigInt(Math.max(1, Math.round(ms * 1e6))), fn); }
  /** Timers not yet fired nor cancelled. */
  get pending(): number { return this.timers.filter((t) => t.live).length; }
  /** Sets the time; moving forward fires what falls due, moving back fires nothing. */
  set(unixNanos: bigint): void { if (unixNanos < this.nanos) this.nanos = unixNanos; else this.runUntil(unixNanos); }
  advance(nanos: bigint): void { this.runUntil(this.nanos + nanos); }
  advanceMs(ms: number): void { this.advance(BigInt(Math.round(ms * 1e6))); }

  private add(ms: number, period: bigint | undefined, fn: () => void): Timer {
    const delay = Number.isFinite(ms) ? BigInt(Math.max(0, Math.round(ms * 1e6))) : 2n ** 62n;
    const timer: ManualTimer = { at: this.nanos + delay, seq: this.seq++, period, fn, live: true };
    this.timers.push(timer);
    const handle: Timer = { cancel: () => { timer.live = false; }, unref: () => handle };
    return handle;
  }

  /** Moves time to target, firing each due timer at its own instant (a timer may arm more timers). */
  private runUntil(target: bigint): void {
    for (;;) {
      this.timers = this.timers.filter((t) => t.live);
      let next: ManualTimer | undefined;
      for (const t of this.timers) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      if (next.at > this.nanos) this.nanos = next.at;
      if (next.period !== undefined) { next.at += next.period; next.seq = this.seq++; } else next.live = false;
      next.fn();
    }
    if (target > this.nanos) this.nanos = target;
  }
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
