// The paywall's q names: .u.pendingInvoices (the seed's table), .u.subPaid (proof of payment) and, with
// the dev node only, .dev.pay. Rendering only: the paywall decides, these turn its answers into q values.
import { QError } from '../errors.js';
import { dict, list, long, str, symbols, text } from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';
import type { CallContext, Env } from '../q/index.js';
import { readFilter, tableName } from '../tick/index.js';
import type { Subscriber } from '../tick/index.js';
import type { InvoiceBackend } from './backend.js';
import type { Paywall } from './paywall.js';

export function bindPaywall(env: Env, paywall: Paywall, subscriberFor: (ctx: CallContext) => Subscriber): void {
  env.defineVariable('.u.pendingInvoices', () => paywall.pendingTable());
  // .u.subPaid[t;syms;preimage]: re-attach after a reconnect without paying again (within the period).
  env.defineFunction('.u.subPaid', 3, (args, ctx) => {
    const t = tableName(args[0] as QValue);
    const filter = readFilter(args[1] as QValue);
    const preimage = text(args[2] as QValue) ?? (args[2]?.type === -11 ? args[2].value : undefined);
    if (preimage === undefined) throw new QError('type');
    return paywall.subscribePaid(subscriberFor(ctx), t, filter, preimage);
  });
}

/** .dev.pay[payment_request]: pay the built-in dev node; answers like lnd's SendPayment (hash and preimage
 * base64 strings) with the amount paid as a long, as q would hold a number. */
export function bindDevPay(env: Env, backend: InvoiceBackend): void {
  const pay = backend.pay?.bind(backend);
  if (!pay) return;
  env.defineFunction('.dev.pay', 1, (args) => {
    const request = text(args[0] as Parameters<typeof text>[0]);
    if (request === undefined) throw new QError('type');
    let paid;
    try {
      paid = pay(request);
    } catch (err) {
      throw new QError(err instanceof Error ? err.message : 'pay');
    }
    return dict(symbols(['payment_hash', 'payment_preimage', 'amount_sat']),
      list(str(paid.invoice.rHash.toString('base64')), str(paid.preimage.toString('base64')),
        long(paid.invoice.amountPaidSat)));
  });
}
