// The q surface: the closed table of what a client may send, each form mapped to one handler, named as
// u.q names them. Nothing is evaluated: a message is matched whole against the table, and anything else
// is 'access before any handler runs. Nothing composes, so no reply can be multiplied by its request.
// Spec: KX kdb-tick tick/u.q (sub, add, .u.w/i/j/L/t/d), tick/r.q and kdb tick/chainedr.q (their
// subscription strings), tick/c.q (the (".u.sub";t;s) call); code.kx.com/q/basics/ipc (a server's
// `value` of a string, or of a (f;x;y) list).
import { Q, QError } from '../errors.js';
import { NULL, NULL_LONG, date, dict, list, long, str, sym, symbols } from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';
import { OneSym } from '../tick/index.js';
import { invoiceDict } from '../payments/index.js';
import type { Offer, Paywall } from '../payments/index.js';
import type { Subscriber, SymFilter, Tickerplant } from '../tick/index.js';
import { MAX_TEXT_BYTES, sameToken, tokenize } from './tokens.js';
import type { Token } from './tokens.js';

/** Who is asking: q's .z.w and .z.u. */
export interface Caller { readonly handle: number; readonly user: string }

/** What the q names reach, wired once by the app. */
export interface Surface {
  readonly tp: Tickerplant;
  /** The subscriber behind a caller's handle (its connection). */
  subscriberFor(caller: Caller): Subscriber;
  /** The caller's peer address (for the invoice book), when its connection has one. */
  peerOf?(handle: number): string | undefined;
  /** With payments on: .u.sub sells priced tables; .u.pendingInvoices and .u.subPaid exist. */
  readonly paywall?: Pick<Paywall, 'subscribe' | 'subPaidLookedUp' | 'pendingTable' | 'pendingReplyBytes'> | undefined;
  /** .dev.pay: only with the built-in dev node, so real lnd cannot be paid with fake money. */
  readonly devPay?: ((request: string) => { readonly hash: Buffer; readonly preimage: Buffer; readonly amountSat: bigint }) | undefined;
  /** A chained TP's .u.m: sends a replay-point query upstream (chainedtick.q keeps the handle there). */
  forward?(query: string): Promise<QValue>;
  /** --max-reply-bytes: a reply estimated larger is 'limit and never built. */
  readonly maxReplyBytes: number;
}

/** One message's context: the caller and the surface it reaches. */
export interface AnswerContext extends Caller { readonly surface: Surface }

type Reply = QValue | Promise<QValue>;
type Handler = (args: readonly QValue[], c: AnswerContext) => Reply;

const access = (): QError => new QError(Q.access);
const then = (r: Reply, f: (v: QValue) => QValue): Reply => (r instanceof Promise ? r.then(f) : f(r));

// ---- the handlers ---------------------------------------------------------------------------------

/** u.q sub[x;y]: x ` is every table (a list of (t;schema) in .u.t order), y ` every sym. */
function sub([x, y]: readonly QValue[], c: AnswerContext): Reply {
  const t = tableName(x);
  const filter = readFilter(y);
  const { tp, paywall } = c.surface;
  if (t !== '' && !tp.tables.has(t)) throw QError.named(t);
  const s = c.surface.subscriberFor(c);
  const tables = t === '' ? tp.names : [t];
  const shape = (r: QValue[]): QValue => (t === '' ? list(...r) : r[0] as QValue);
  if (!paywall) return shape(tables.map((n) => tp.sub(s, n, filter)));
  const offers = paywall.subscribe(s, { user: c.user, peer: c.surface.peerOf?.(c.handle) }, tables, filter);
  return offers instanceof Promise ? offers.then((o) => shape(render(tp, o))) : shape(render(tp, offers));
}

/** The paywall's answers in q: (t;schema) when free, (t;schema;invoice) when priced; a refusal is its q error. */
function render(tp: Tickerplant, offers: readonly Offer[]): QValue[] {
  const refused = offers.find((o) => o.kind === 'refused');
  if (refused) throw new QError(refused.error);
  return offers.map((o) => {
    const reply = tp.schemaReply(o.table);
    return o.kind === 'invoice' && reply.type === 0 ? list(...reply.items, invoiceDict(o.invoice)) : reply;
  });
}

/** .u.subPaid[t;syms;preimage]: re-attach within a paid period without paying again. */
function subPaid([x, y, z]: readonly QValue[], c: AnswerContext): Reply {
  const paywall = c.surface.paywall;
  if (!paywall) throw access();
  const t = tableName(x);
  if (!c.surface.tp.tables.has(t)) throw QError.named(t);
  const filter = readFilter(y);
  const preimage = textOf(z) ?? (z?.type === -11 ? z.value : undefined);
  if (preimage === undefined) throw new QError(Q.type);
  return paywall.subPaidLookedUp(c.surface.subscriberFor(c), t, filter, preimage).then((claim) => {
    if (claim.kind === 'refused') throw new QError(claim.error);
    return c.surface.tp.schemaReply(t);
  });
}

/** .dev.pay[payment_request]: pays the dev node; answers as lnd's SendPayment does (base64), the amount a long. */
function devPay([x]: readonly QValue[], c: AnswerContext): Reply {
  const pay = c.surface.devPay;
  if (!pay) throw access();
  const request = textOf(x);
  if (request === undefined) throw new QError(Q.type);
  let paid;
  try {
    paid = pay(request);
  } catch (err) {
    throw err instanceof QError ? err : new QError(Q.pay); // the dev node's sentence is not the client's
  }
  return dict(symbols(['payment_hash', 'payment_preimage', 'amount_sat']),
    list(str(paid.hash.toString('base64')), str(paid.preimage.toString('base64')), long(paid.amountSat)));
}

/** `.u `i`L`: (.u.i;.u.L), or (0N;`) without a journal, so r.q replays nothing. */
const replayPoint = (c: AnswerContext): QValue => c.surface.tp.replayPoint();

/** r.q's `(.u.sub[x;y];`.u `i`L)`: q evaluates a list's items right to left, the replay point first. */
function subAndReplayPoint(args: readonly QValue[], c: AnswerContext): Reply {
  const point = replayPoint(c);
  return then(sub(args, c), (s) => list(s, point));
}

/** chainedr.q's string: `$[`m in key`.u;(`.u `m)"`.u `i`L";`.u `i`L]`, then the subscription. */
function chainedSub(args: readonly QValue[], c: AnswerContext): Reply {
  const forward = c.surface.forward;
  if (!forward) return subAndReplayPoint(args, c);
  return forward('`.u `i`L').then((point) => then(sub(args, c), (s) => list(s, point)));
}

/** `(`.u `m)"query"` on a chained TP: only the replay-point reads are sent upstream, nothing else. */
function forwardQuery([x]: readonly QValue[], c: AnswerContext): Reply {
  const forward = c.surface.forward;
  const query = textOf(x) as string;
  if (!forward || !FORWARDED.some((f) => matches(tokenize(query), f) !== undefined)) throw access();
  return forward(query);
}

/** A reply whose size is estimated first: past --max-reply-bytes it is 'limit and nothing is built. */
function bounded(c: AnswerContext, estimate: number, build: () => QValue): QValue {
  if (estimate > c.surface.maxReplyBytes) throw new QError(Q.limit);
  return build();
}

/** The variables a client may read, by name (as text, or as a symbol message). */
const VARIABLES: ReadonlyMap<string, (c: AnswerContext) => QValue> = new Map(Object.entries({
  '.u.w': (c) => bounded(c, c.surface.tp.w.replyBytes(), () => c.surface.tp.w.toQ()),
  '.u.i': ({ surface: { tp } }) => long(tp.logging ? BigInt(tp.i) : NULL_LONG),
  '.u.j': ({ surface: { tp } }) => long(tp.logging ? BigInt(tp.j) : NULL_LONG),
  '.u.L': (c) => (replayPoint(c) as { items: QValue[] }).items[1] as QValue,
  '.u.t': (c) => symbols([...c.surface.tp.names]),
  '.u.d': (c) => date(c.surface.tp.d),
  '.u.pendingInvoices': (c) => {
    const paywall = c.surface.paywall;
    if (!paywall) throw access();
    return bounded(c, paywall.pendingReplyBytes(), () => paywall.pendingTable());
  },
}));

/** The (f;x;y…) list forms: f a symbol or string naming one of these, with exactly its arguments. */
const CALLS: ReadonlyMap<string, { readonly arity: number; readonly fn: Handler }> = new Map(Object.entries({
  '.u.sub': { arity: 2, fn: sub },
  '.u.subPaid': { arity: 3, fn: subPaid },
  '.dev.pay': { arity: 1, fn: devPay },
}));

/** Updates go to the tickerplant's fast path (dispatch.ts), never through answer(). */
const UPDATES: ReadonlySet<string> = new Set(['.u.upd', 'upd']);

/**
 * The accepted strings. SYM stands for a symbol or symbol list, STR for a string; every other token must
 * be as written (white space between tokens is free, as in q).
 */
const TEXTS: ReadonlyArray<readonly [string, Handler]> = [
  ['', () => NULL], // the empty string: a sync "chaser" clients send to wait for earlier async messages
  ['.u.sub[SYM;SYM]', sub],
  ['(.u.sub[SYM;SYM];`.u `i`L)', subAndReplayPoint], // r.q
  ['(.u.sub[SYM;SYM];.u `i`L)', subAndReplayPoint],
  ['(.u.sub[SYM;SYM];$[`m in key`.u;(`.u `m)"`.u `i`L";`.u `i`L])', chainedSub], // chainedr.q
  ['(`.u `m)STR', forwardQuery],
  ['.u `i`L', (_, c) => replayPoint(c)],
  ['`.u `i`L', (_, c) => replayPoint(c)],
  ['(.u.i;.u.L)', (_, c) => replayPoint(c)],
  ['count .u.w', (_, c) => long(BigInt(c.surface.tp.names.length))],
  ['tables[]', (_, c) => symbols([...c.surface.tp.names])],
  ['tables`.', (_, c) => symbols([...c.surface.tp.names])],
  ['.u.subPaid[SYM;SYM;STR]', subPaid],
  ['.dev.pay[STR]', devPay],
  ['.dev.pay STR', devPay],
  ...[...VARIABLES].map(([name, read]): readonly [string, Handler] => [name, (_, c) => read(c)]),
];

/** What a chained TP sends upstream for chainedr.q: the replay-point reads only. */
const FORWARDED: readonly Token[][] = ['.u `i`L', '`.u `i`L', '(.u.i;.u.L)', '.u.i', '.u.L', '.u.d'].map(tokenize);

const FORMS: ReadonlyArray<{ readonly pattern: readonly Token[]; readonly handler: Handler }> =
  TEXTS.map(([text, handler]) => ({ pattern: tokenize(text), handler }));

/** The arguments a form's SYM and STR placeholders captured, or undefined when the tokens do not fit it. */
function matches(tokens: readonly Token[], pattern: readonly Token[]): QValue[] | undefined {
  if (tokens.length !== pattern.length) return undefined;
  const args: QValue[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const p = pattern[k] as Token;
    const t = tokens[k] as Token;
    if (p.kind === 'name' && p.text === 'SYM' && t.kind === 'sym') {
      args.push(t.names.length === 1 && !t.list ? sym(t.names[0] as string) : symbols([...t.names]));
    } else if (p.kind === 'name' && p.text === 'STR' && t.kind === 'str') {
      args.push({ type: 10, attr: 0, data: t.bytes });
    } else if (!sameToken(p, t)) {
      return undefined;
    }
  }
  return args;
}

// ---- the entry points -----------------------------------------------------------------------------

/** Whether `name` is a function of the (f;x;y…) list forms: what may be decoded at all (dispatch.ts). */
export function acceptsCall(name: string): boolean {
  return CALLS.has(name) || UPDATES.has(name);
}

/** The longest string message accepted; a longer one is 'limit before it is decoded or read. */
export { MAX_TEXT_BYTES };

/** q's `value` of a message, restricted to the table above: a string, a (f;x;y…) list, or a symbol. */
export function answer(value: QValue, c: AnswerContext): Reply {
  switch (value.type) {
    case 10: return answerText(latin1(value.data), c);
    case -10: return answerText(value.value, c);
    case -11: {
      const read = VARIABLES.get(value.value);
      if (read === undefined) throw access();
      return read(c);
    }
    case 0: return answerCall(value.items, c);
    default: throw access();
  }
}

function answerText(text: string, c: AnswerContext): Reply {
  const tokens = tokenize(text);
  for (const form of FORMS) {
    const args = matches(tokens, form.pattern);
    if (args !== undefined) return form.handler(args, c);
  }
  throw access();
}

function answerCall(items: readonly QValue[], c: AnswerContext): Reply {
  const name = textOf(items[0]) ?? (items[0]?.type === -11 ? items[0].value : undefined);
  const call = name === undefined ? undefined : CALLS.get(name);
  if (call === undefined) throw access();
  const args = items.length === 1 ? [NULL] : items.slice(1); // (f) alone is f[], which passes ::
  if (args.length !== call.arity) throw new QError(Q.rank);
  return call.fn(args, c);
}

// ---- reading arguments ----------------------------------------------------------------------------

/** .u.sub's table: a symbol (` for every table). */
export function tableName(x: QValue | undefined): string {
  if (x?.type === -11) return x.value;
  throw new QError(Q.type);
}

/** .u.sub's syms: ` for all, a symbol, a symbol list, or a general list of symbols (node-q sends those). */
export function readFilter(x: QValue | undefined): SymFilter {
  if (x?.type === -11) return x.value === '' ? null : new OneSym([x.value]);
  if (x?.type === 11) return new Set(x.data);
  if (x?.type === 0 && x.items.every((i) => i.type === -11)) {
    return new Set(x.items.map((i) => (i as { value: string }).value));
  }
  throw new QError(Q.type);
}

/** A string argument: a char vector or a char atom. */
function textOf(x: QValue | undefined): string | undefined {
  if (x?.type === 10) return latin1(x.data);
  if (x?.type === -10) return x.value;
  return undefined;
}

/** q strings are bytes: one char per byte. */
function latin1(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
}
