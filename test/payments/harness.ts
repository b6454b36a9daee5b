// Payments over a real backend (the fake lnd over TLS, or the dev node) with a ManualClock, a real
// Tickerplant and buyers that are plain subscribers: what the money rules are tested against.
import type { Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { LndBackend } from '../../src/lightning/index.js';
import { createLogger } from '../../src/log.js';
import { createPayments, openAppendFile } from '../../src/payments/index.js';
import type { AppendFile, InvoiceBackend, Offer, Payments } from '../../src/payments/index.js';
import { loadSchema, Tickerplant } from '../../src/tick/index.js';
import type { PaidEvent, Subscriber, TickEvent } from '../../src/tick/index.js';
import { FAKE_LND_CERT, startFakeLnd } from '../helpers/fake-lnd.js';
import type { FakeLnd, FakeLndOptions } from '../helpers/fake-lnd.js';
import { LogSink, T0 } from '../helpers/tp.js';

export class Buyer implements Subscriber {
  readonly sent: TickEvent[] = [];
  readonly paidEvents: PaidEvent[] = [];
  constructor(readonly handle: number) {}
  deliver(e: TickEvent): void { this.sent.push(e); }
  paid(e: PaidEvent): void { this.paidEvents.push(e); }
}

/** A file whose writes fail with `code` while `failing` is set: an injected full or broken disk. */
export class FlakyFile implements AppendFile {
  failing: string | undefined;
  private readonly real: AppendFile;
  constructor(readonly path: string) { this.real = openAppendFile(path); }
  readLines(): string[] { return this.real.readLines(); }
  append(text: string): void {
    if (this.failing) throw Object.assign(new Error(`${this.failing}: injected`), { code: this.failing });
    this.real.append(text);
  }
  replace(text: string): void { this.real.replace(text); }
  close(): void { this.real.close(); }
}

export interface Rig {
  readonly clock: ManualClock;
  readonly tp: Tickerplant;
  readonly payments: Payments;
  readonly buyers: Map<number, Buyer>;
  readonly sink: LogSink;
  readonly stateDir: string;
  buyer(handle: number): Buyer;
  leave(b: Buyer): void;
  /** The offers, awaited. */
  sub(b: Buyer, tables: string[], syms: string[] | null): Promise<Offer[]>;
}

export interface RigOptions {
  readonly backend: (clock: ManualClock, log: ReturnType<typeof createLogger>) => InvoiceBackend;
  readonly stateDir: string;
  readonly entitlementMs?: number;
  readonly maxPendingPerConn?: number;
  readonly maxPendingInvoices?: number;
  readonly files?: Map<string, AppendFile>;
  readonly clock?: ManualClock;
  readonly pricing?: string;
}

export async function startPaymentsRig(t: Test, o: RigOptions): Promise<Rig> {
  const clock = o.clock ?? new ManualClock(T0);
  const sink = new LogSink();
  const log = createLogger('debug', sink);
  const tp = new Tickerplant({ schemas: loadSchema('q/sym.q'), clock, log });
  const buyers = new Map<number, Buyer>();
  const payments = createPayments({
    backend: o.backend(clock, log), tp, clock, log, lookup: (h) => buyers.get(h), stateDir: o.stateDir,
    priceSat: 100, invoiceExpirySeconds: 3600, entitlementMs: o.entitlementMs,
    maxPendingPerConn: o.maxPendingPerConn, maxPendingInvoices: o.maxPendingInvoices,
    ...(o.pricing ? { pricingFile: o.pricing } : {}),
    ...(o.files ? { openFile: (p: string) => o.files?.get(p) ?? openAppendFile(p) } : {}),
  });
  t.teardown(async () => { await payments.close(); tp.close(); });
  await payments.start();
  return {
    clock, tp, payments, buyers, sink, stateDir: o.stateDir,
    buyer(handle) { const b = new Buyer(handle); buyers.set(handle, b); return b; },
    leave(b) { buyers.delete(b.handle); tp.disconnect(b.handle); payments.paywall.disconnect(b.handle); },
    async sub(b, tables, syms) {
      return payments.paywall.subscribe(b, { user: 'alice', peer: '127.0.0.1:1' }, tables, syms === null ? null : new Set(syms));
    },
  };
}

/** A fake lnd whose clock is the rig's, and an LndBackend factory aimed at it. */
export async function lndFor(t: Test, clock: { nowNanos(): bigint }, options: Partial<FakeLndOptions> = {}):
  Promise<{ fake: FakeLnd; backend: (c: ManualClock, log: ReturnType<typeof createLogger>) => InvoiceBackend }> {
  const fake = await startFakeLnd({ now: () => Number(clock.nowNanos() / 1_000_000n), ...options });
  t.teardown(() => fake.stop());
  return {
    fake,
    backend: (c, log) => new LndBackend({
      host: fake.host, tlsCert: FAKE_LND_CERT, macaroon: options.macaroon ?? fake.macaroon, log,
      stateFile: join(t.testdirName, 'lnd-cursor.json'), backoff: { initialMs: 10, maxMs: 50 },
      now: () => Number(c.nowNanos() / 1_000_000n),
    }),
  };
}

export const randomMacaroon = (): Buffer => randomBytes(64);

/** Polls (real time) for state a gRPC stream changes. */
export async function eventually(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}
