// The paywall's q names: .u.pendingInvoices (the paper's table), .u.subPaid (proof of payment) and, with
// the dev node only, .dev.pay; plus the q form of .u.sub's answers. Rendering only: the paywall
// decides, these turn its typed answers into q values (a refusal is a q error: 'invoice, 'in use, ...).
import { QError } from '../errors.js';
import { dict, list, long, str, symbols, text } from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';
import type { CallContext, Env } from '../q/index.js';
import { readFilter, tableName } from '../tick/index.js';
import type { Subscriber, Tickerplant } from '../tick/index.js';
import type { InvoiceBackend } from './backend.js';
import type { Offer, Paywall } from './paywall.js';
import { invoiceDict } from './paywall.js';

/** .u.sub's replies, one per table: (t;schema) when free, (t;schema;invoice) when priced; a refusal throws. */
export function renderOffers(tp: Tickerplant, offers: readonly Offer[]): QValue[] {
  const refused = offers.find((o) => o.kind === 'refused');
  if (refused) throw new QError(refused.error);
  return offers.map((o) => {
    const reply = tp.schemaReply(o.table);
    return o.kind === 'invoice' && reply.type === 0 ? list(...reply.items, invoiceDict(o.invoice)) : reply;
  });
}

export function bindPaywall(env: Env, paywall: Paywall, tp: Tickerplant, subscriberFor: (ctx: CallContext) => Subscriber): void {
  env.defineVariable('.u.pendingInvoices', () => paywall.pendingTable());
  // .u.subPaid[t;syms;preimage]: re-attach after a reconnect without paying again (within the period).
  env.defineFunction('.u.subPaid', 3, (args, ctx) => {
    const t = tableName(args[0] as QValue);
    const filter = readFilter(args[1] as QValue);
    const preimage = text(args[2] as QValue) ?? (args[2]?.type === -11 ? args[2].value : undefined);
    if (preimage === undefined) throw new QError('type');
    const claim = paywall.subPaid(subscriberFor(ctx), t, filter, preimage);
    if (claim.kind === 'refused') throw new QError(claim.error);
    return tp.schemaReply(t);
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
