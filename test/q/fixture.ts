// A real Tickerplant (q/sym.q's trade and quote, a journal in a test folder) behind a Surface whose every
// outward call is recorded, so a test can prove that refused input ran nothing.
import type { Test } from 'tap';
import { ManualClock } from '../../src/clock.js';
import { Q, QError } from '../../src/errors.js';
import type { InvoiceInfo } from '../../src/payments/index.js';
import { floats, ints, list, symbols } from '../../src/ipc/values.js';
import type { QValue } from '../../src/ipc/values.js';
import { createLogger } from '../../src/log.js';
import type { AnswerContext, Surface } from '../../src/q/index.js';
import { loadSchema, Tickerplant } from '../../src/tick/index.js';
import type { Subscriber, TickEvent } from '../../src/tick/index.js';
import { LogSink, T0 } from '../helpers/tp.js';

export class Spy implements Subscriber {
  readonly got: TickEvent[] = [];
  constructor(readonly handle: number) {}
  deliver(event: TickEvent): void { this.got.push(event); }
}

export interface Rig {
  readonly tp: Tickerplant;
  readonly surface: Surface;
  /** Every call the surface made outward, by name. */
  readonly calls: string[];
  /** The context of handle 7, user alice. */
  readonly ctx: AnswerContext;
  /** What the rig's .u.m answered (a chained TP's upstream replay point). */
  readonly forwarded: string[];
}

export interface RigOptions {
  /** Define .u.m (a chained TP). */
  readonly chained?: boolean;
  readonly maxReplyBytes?: number;
  readonly withPayments?: boolean;
}

/** A row of trade with no time column (the tickerplant stamps it): (sym;price;size) as columns. */
export const tradeRows = (syms: string[]): QValue =>
  list(symbols(syms), floats(syms.map(() => 1)), ints(syms.map(() => 1)));

/** The invoice the rig's paywall offers for trade. */
export const INVOICE: InvoiceInfo = { hash: 'ab'.repeat(32), paymentRequest: 'lnbcrt10n1rig', amountSat: 1, addIndex: 5n, expiresAt: 0 };

export function rig(t: Test, o: RigOptions = {}): Rig {
  const dir = t.testdir();
  const tp = new Tickerplant({
    schemas: loadSchema('q/sym.q'), logDir: dir, clock: new ManualClock(T0), log: createLogger('silent', new LogSink()),
  });
  t.teardown(() => tp.close());
  const calls: string[] = [];
  const forwarded: string[] = [];
  const subscribers = new Map<number, Spy>();
  const surface: Surface = {
    tp,
    maxReplyBytes: o.maxReplyBytes ?? 64 * 1024 * 1024,
    subscriberFor(c) {
      calls.push('subscriberFor');
      let s = subscribers.get(c.handle);
      if (!s) subscribers.set(c.handle, s = new Spy(c.handle));
      return s;
    },
    ...(o.chained ? {
      forward: async (query: string) => {
        calls.push('forward');
        forwarded.push(query);
        return list({ type: -7, value: 40n }, { type: -11, value: ':/tp/sym2024.01.02' });
      },
    } : {}),
    ...(o.withPayments ? {
      paywall: {
        pendingTable: () => { calls.push('pendingTable'); return symbols(['pending']); },
        pendingReplyBytes: () => 100,
        // trade is priced (an invoice), quote free (subscribed at once), as a pricing file would say.
        subscribe: (s, buyer, tables, filter) => {
          calls.push(`subscribe ${tables.join(',')} ${buyer.user}`);
          return tables.map((n) => {
            if (n === 'trade') return { kind: 'invoice' as const, table: n, invoice: INVOICE };
            tp.sub(s, n, filter);
            return { kind: 'free' as const, table: n };
          });
        },
        subPaidLookedUp: async (_s, t, _f, preimage) => {
          calls.push(`subPaid ${t} ${preimage}`);
          return preimage === 'ok' ? { kind: 'claimed', table: t, hash: INVOICE.hash, until: null }
            : { kind: 'refused', table: t, error: Q.unpaid, reason: 'not settled' };
        },
      },
      devPay: (request: string) => {
        calls.push(`devPay ${request}`);
        if (request !== 'lnbc1') throw new Error('invalid payment request: /home/secret/path');
        return { hash: Buffer.alloc(32, 1), preimage: Buffer.alloc(32, 2), amountSat: 100n };
      },
    } : {}),
  };
  return { tp, surface, calls, forwarded, ctx: { handle: 7, user: 'alice', surface } };
}

/** The result, failing loudly if it went asynchronous. */
export function sync(v: QValue | Promise<QValue>): QValue {
  if (v instanceof Promise) throw new Error('expected a synchronous result');
  return v;
}

/** q's error text as a client would see it ('access), or what happened instead. */
export function qError(fn: () => unknown): string {
  try {
    const r = fn();
    return r instanceof Promise ? 'returned a Promise' : 'no error';
  } catch (err) {
    return err instanceof QError ? `'${err.message}` : `not a QError: ${String(err)}`;
  }
}
