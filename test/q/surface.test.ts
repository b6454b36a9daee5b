// The closed table of accepted forms: each string, list and symbol a client really sends (r.q, chainedr.q,
// tick/c.q, node-q, the README) answered by its one handler against a real Tickerplant with a journal.
import t from 'tap';
import {
  NULL, char, date, dict, int, list, long, str, sym, symbols,
} from '../../src/ipc/values.js';
import type { QValue } from '../../src/ipc/values.js';
import { acceptsCall, answer } from '../../src/q/index.js';
import { invoiceDict } from '../../src/payments/index.js';
import { INVOICE, qError, rig, sync, tradeRows } from './fixture.js';

const R_Q = '(.u.sub[`;`];`.u `i`L)';
const CHAINED_R_Q = '(.u.sub[`;`];$[`m in key`.u;(`.u `m)"`.u `i`L";`.u `i`L])';

/** The subscription dict .u.w shows for one table: ((handle;syms);…). */
const wOf = (w: QValue, table: string): QValue | undefined => {
  if (w.type !== 99 || w.keys.type !== 11 || w.values.type !== 0) return undefined;
  return w.values.items[w.keys.data.indexOf(table)];
};

t.test('the empty string (the sync chaser) answers generic null and runs nothing', async (t) => {
  const r = rig(t);
  t.strictSame(sync(answer(str(''), r.ctx)), NULL);
  t.strictSame(sync(answer(str(' \t\r\n'), r.ctx)), NULL);
  t.strictSame(r.calls, []);
});

t.test('.u.sub[`;`] subscribes the caller to every table and answers (t;schema) for each, in .u.t order', async (t) => {
  const r = rig(t);
  t.strictSame(sync(answer(str('.u.sub[`;`]'), r.ctx)), list(r.tp.schemaReply('quote'), r.tp.schemaReply('trade')));
  t.equal(r.tp.w.count(), 2);
  t.ok(r.tp.w.has('trade', 7) && r.tp.w.has('quote', 7));
});

t.test('.u.sub[`trade;`MSFT.O`IBM.N] subscribes to one table for a symbol list', async (t) => {
  const r = rig(t);
  t.strictSame(sync(answer(str('.u.sub[`trade; `MSFT.O`IBM.N]'), r.ctx)), r.tp.schemaReply('trade'));
  t.strictSame(wOf(r.tp.w.toQ(), 'trade'), list(list(int(7), symbols(['MSFT.O', 'IBM.N']))));
  t.equal(r.tp.w.count('quote'), 0);
});

t.test('.u.sub takes q\'s one- and zero-item lists: enlist`IBM, `$() and ()', async (t) => {
  const r = rig(t);
  t.strictSame(sync(answer(str('.u.sub[`trade;enlist`IBM]'), r.ctx)), r.tp.schemaReply('trade'));
  t.strictSame(wOf(r.tp.w.toQ(), 'trade'), list(list(int(7), symbols(['IBM']))), 'a one-item list, not the atom');
  for (const none of ['`$()', '()', ' ` $ ( ) ']) {
    t.strictSame(sync(answer(str(`.u.sub[\`quote;${none}]`), r.ctx)), r.tp.schemaReply('quote'), none);
    t.strictSame(wOf(r.tp.w.toQ(), 'quote'), list(list(int(7), symbols([]))), `${none}: subscribed to no sym`);
  }
  t.strictSame(qError(() => sync(answer(str('.u.sub[`trade;enlist enlist`IBM]'), r.ctx))), "'access", 'nothing else composes');
});

t.test('.u.sub for an unknown table fails with the table name, as u.q signals it', async (t) => {
  const r = rig(t);
  t.equal(qError(() => answer(str('.u.sub[`nosuch;`]'), r.ctx)), "'nosuch");
  t.equal(qError(() => answer(list(sym('.u.sub'), sym('nosuch'), sym('')), r.ctx)), "'nosuch");
  t.equal(r.tp.w.count(), 0);
});

t.test("r.q's string answers the schemas and the replay point (.u.i;.u.L)", async (t) => {
  const r = rig(t);
  r.tp.upd('trade', tradeRows(['IBM']));
  r.tp.upd('trade', tradeRows(['MSFT']));
  const point = r.tp.replayPoint();
  t.strictSame((point as { items: QValue[] }).items[0], long(2n), 'two updates journaled and published');
  const every = list(r.tp.schemaReply('quote'), r.tp.schemaReply('trade'));
  t.strictSame(sync(answer(str(R_Q), r.ctx)), list(every, point));
  t.strictSame(sync(answer(str('(.u.sub[`trade;`IBM];.u `i`L)'), r.ctx)), list(r.tp.schemaReply('trade'), point));
});

t.test('.u `i`L, `.u `i`L, .u`i`L and (.u.i;.u.L) all answer the replay point', async (t) => {
  const r = rig(t);
  r.tp.upd('trade', tradeRows(['IBM']));
  for (const text of ['.u `i`L', '`.u `i`L', '.u`i`L', '(.u.i;.u.L)', ' .u  `i`L ']) {
    t.strictSame(sync(answer(str(text), r.ctx)), r.tp.replayPoint(), text);
  }
  t.strictSame(r.calls, []);
});

t.test("chainedr.q's string takes the local replay point when there is no upstream", async (t) => {
  const r = rig(t);
  t.strictSame(sync(answer(str(CHAINED_R_Q), r.ctx)),
    list(list(r.tp.schemaReply('quote'), r.tp.schemaReply('trade')), r.tp.replayPoint()));
});

t.test("chainedr.q's string on a chained TP forwards `.u `i`L upstream, then subscribes", async (t) => {
  const r = rig(t, { chained: true });
  const reply = answer(str(CHAINED_R_Q), r.ctx);
  t.ok(reply instanceof Promise);
  t.equal(r.tp.w.count(), 0, 'the subscription waits for the upstream answer, as q evaluates right to left');
  const upstream = list({ type: -7, value: 40n }, sym(':/tp/sym2024.01.02'));
  t.strictSame(await reply, list(list(r.tp.schemaReply('quote'), r.tp.schemaReply('trade')), upstream));
  t.strictSame(r.forwarded, ['`.u `i`L']);
  t.equal(r.tp.w.count(), 2);
});

t.test('(`.u `m)"query" forwards only the replay-point reads, and only on a chained TP', async (t) => {
  const chained = rig(t, { chained: true });
  for (const q of ['`.u `i`L', '.u `i`L', '(.u.i;.u.L)', '.u.i', '.u.L', '.u.d']) {
    await answer(str(`(\`.u \`m)"${q}"`), chained.ctx);
  }
  t.strictSame(chained.forwarded, ['`.u `i`L', '.u `i`L', '(.u.i;.u.L)', '.u.i', '.u.L', '.u.d']);
  for (const q of ['.u.upd[`trade;(`IBM;1f;1i)]', '.u.sub[`;`]', '.u.w', 'system\\"ls\\"']) {
    t.equal(qError(() => answer(str(`(\`.u \`m)"${q}"`), chained.ctx)), "'access", q);
  }
  t.equal(chained.forwarded.length, 6, 'nothing else was sent upstream');
  const local = rig(t);
  t.equal(qError(() => answer(str('(`.u `m)"`.u `i`L"'), local.ctx)), "'access", 'no .u.m without an upstream');
});

t.test('.u.i, .u.j, .u.L, .u.t and .u.d read the tickerplant', async (t) => {
  const r = rig(t);
  r.tp.upd('trade', tradeRows(['IBM']));
  t.strictSame(sync(answer(str('.u.i'), r.ctx)), long(1n));
  t.strictSame(sync(answer(str('.u.j'), r.ctx)), long(BigInt(r.tp.j)));
  t.strictSame(sync(answer(str('.u.L'), r.ctx)), (r.tp.replayPoint() as { items: QValue[] }).items[1]);
  t.strictSame(sync(answer(str('.u.t'), r.ctx)), symbols(['quote', 'trade']));
  t.strictSame(sync(answer(str('.u.d'), r.ctx)), date(r.tp.d));
});

t.test('a symbol message reads the variable it names; any other symbol is access', async (t) => {
  const r = rig(t);
  t.strictSame(sync(answer(sym('.u.t'), r.ctx)), symbols(['quote', 'trade']));
  for (const s of ['.u', 'system', ':/etc/passwd', '.u.sub', '.z.pw']) t.equal(qError(() => answer(sym(s), r.ctx)), "'access", s);
});

t.test('.u.w shows table!(list of (handle;syms)), a sym atom subscription as given', async (t) => {
  const r = rig(t);
  sync(answer(str('.u.sub[`trade;`IBM]'), r.ctx));
  sync(answer(str('.u.sub[`quote;`]'), { ...r.ctx, handle: 8 }));
  const w = sync(answer(str('.u.w'), r.ctx));
  t.strictSame(wOf(w, 'trade'), list(list(int(7), sym('IBM'))), 'u.q keeps y as given: an atom stays an atom');
  t.strictSame(wOf(w, 'quote'), list(list(int(8), sym(''))));
  t.strictSame(sync(answer(str('count .u.w'), r.ctx)), long(2n));
});

t.test('tables[] and tables`. answer the tables, sorted', async (t) => {
  const r = rig(t);
  t.strictSame(sync(answer(str('tables[]'), r.ctx)), symbols(['quote', 'trade']));
  t.strictSame(sync(answer(str('tables`.'), r.ctx)), symbols(['quote', 'trade']));
});

t.test('the list forms call .u.sub with the items as sent: symbol, symbol list or general list', async (t) => {
  const r = rig(t);
  t.strictSame(sync(answer(list(sym('.u.sub'), sym('trade'), symbols(['IBM', 'MSFT'])), r.ctx)), r.tp.schemaReply('trade'));
  t.strictSame(sync(answer(list(str('.u.sub'), sym('quote'), list(sym('IBM'), sym('AAPL'))), r.ctx)), r.tp.schemaReply('quote'));
  t.strictSame(wOf(r.tp.w.toQ(), 'quote'), list(list(int(7), symbols(['IBM', 'AAPL']))));
  t.strictSame(sync(answer(list(sym('.u.sub'), sym(''), sym('')), r.ctx)),
    list(r.tp.schemaReply('quote'), r.tp.schemaReply('trade')));
  t.equal(qError(() => answer(list(sym('.u.sub'), sym('trade'), str('IBM')), r.ctx)), "'type");
  t.equal(qError(() => answer(list(sym('.u.sub'), str('trade'), sym('')), r.ctx)), "'type");
});

t.test('a list call with the wrong number of arguments fails with rank and runs nothing', async (t) => {
  const r = rig(t, { withPayments: true });
  for (const msg of [list(sym('.u.sub'), sym('trade')), list(sym('.u.sub')), list(sym('.u.subPaid'), sym('t'), sym('')),
    list(str('.dev.pay'), str('a'), str('b'))]) {
    t.equal(qError(() => answer(msg, r.ctx)), "'rank");
  }
  t.strictSame(r.calls, []);
});

t.test('.u.pendingInvoices, .u.subPaid and .dev.pay answer with payments on, and are access without', async (t) => {
  const r = rig(t, { withPayments: true });
  t.strictSame(sync(answer(str('.u.pendingInvoices'), r.ctx)), symbols(['pending']));
  // .u.subPaid answers once the paywall has looked the payment up (a Promise: the connection keeps order).
  t.strictSame(await answer(str('.u.subPaid[`trade;`IBM;"ok"]'), r.ctx), r.tp.schemaReply('trade'));
  t.strictSame(await answer(list(str('.u.subPaid'), sym('trade'), list(sym('IBM')), str('ok')), r.ctx), r.tp.schemaReply('trade'));
  await t.rejects(Promise.resolve(answer(list(sym('.u.subPaid'), sym('trade'), sym('IBM'), str('bad')), r.ctx)), { message: 'unpaid' });
  t.strictSame(sync(answer(str('.u.sub[`trade;`IBM]'), r.ctx)), list(...(r.tp.schemaReply('trade') as { items: QValue[] }).items, invoiceDict(INVOICE)),
    'a priced table answers (t;schema;invoice)');
  t.strictSame(sync(answer(str('.u.sub[`quote;`]'), r.ctx)), r.tp.schemaReply('quote'), 'a free one (t;schema)');
  const paid = dict(symbols(['payment_hash', 'payment_preimage', 'amount_sat']),
    list(str(Buffer.alloc(32, 1).toString('base64')), str(Buffer.alloc(32, 2).toString('base64')), long(100n)));
  t.strictSame(sync(answer(list(sym('.dev.pay'), str('lnbc1')), r.ctx)), paid);
  t.strictSame(sync(answer(str('.dev.pay["lnbc1"]'), r.ctx)), paid);
  t.equal(qError(() => answer(list(sym('.dev.pay'), str('lnbc2')), r.ctx)), "'pay", "the dev node's sentence stays in the log");
  t.equal(qError(() => answer(list(sym('.dev.pay'), long(1n)), r.ctx)), "'type");

  const off = rig(t);
  for (const msg of [str('.u.pendingInvoices'), str('.u.subPaid[`trade;`IBM;"ok"]'), list(sym('.dev.pay'), str('lnbc1')),
    list(str('.u.subPaid'), sym('trade'), sym('IBM'), str('ok'))]) {
    t.equal(qError(() => answer(msg, off.ctx)), "'access");
  }
  t.strictSame(off.calls, []);
});

t.test('a reply estimated over --max-reply-bytes is limit, and .u.w is not built', async (t) => {
  const r = rig(t, { maxReplyBytes: 2048 });
  const syms = Array.from({ length: 300 }, (_, i) => `SYM${i}`);
  sync(answer(list(sym('.u.sub'), sym('trade'), symbols(syms)), r.ctx));
  let built = 0;
  const toQ = r.tp.w.toQ.bind(r.tp.w);
  r.tp.w.toQ = () => { built++; return toQ(); };
  t.equal(qError(() => answer(str('.u.w'), r.ctx)), "'limit");
  t.equal(qError(() => answer(sym('.u.w'), r.ctx)), "'limit");
  t.equal(built, 0, 'nothing was built');
  t.ok(r.tp.w.replyBytes() >= toQ().type, 'the estimate is a number of bytes');
  const roomy = rig(t, { maxReplyBytes: 1 << 20 });
  sync(answer(list(sym('.u.sub'), sym('trade'), symbols(syms)), roomy.ctx));
  t.equal(sync(answer(str('.u.w'), roomy.ctx)).type, 99, 'under the budget .u.w answers');
});

t.test('a one-character function name sent as a char atom is read like a string', async (t) => {
  const r = rig(t);
  t.equal(qError(() => answer(list(char('f'), long(1n)), r.ctx)), "'access");
});

t.test('acceptsCall names exactly the call forms and the updates', async (t) => {
  for (const n of ['.u.sub', '.u.subPaid', '.dev.pay', '.u.upd', 'upd']) t.ok(acceptsCall(n), n);
  for (const n of ['system', 'value', '.u.w', '.u.end', 'exit', '', 'toString', '__proto__', 'constructor']) t.notOk(acceptsCall(n), n);
});
