// The one place q names are bound to the tickerplant: .u.sub, .u.upd, .u.w, .u.i, ... as the q subset
// evaluator sees them. Spec: tick.q and u.q names; kdb-ipc-and-tick.md §6.2–6.3.
import { QError } from '../errors.js';
import { date, int, list, long, NULL, NULL_LONG, symbols } from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';
import type { CallContext, Env } from '../q/index.js';
import type { SymFilter, Subscriber } from './subscriptions.js';
import type { Tickerplant } from './tickerplant.js';

/** How .u.sub reaches the caller's connection, and how a paywall may step in. */
export interface Binding {
  readonly tp: Tickerplant;
  /** The subscriber behind a caller's handle (its connection). */
  subscriberFor(ctx: CallContext): Subscriber;
  /** Replaces plain .u.sub (the paywall): one reply per table, possibly later. */
  subscribe?(subscriber: Subscriber, tables: readonly string[], filter: SymFilter, ctx: CallContext):
    QValue[] | Promise<QValue[]>;
}

/** Reads .u.sub's syms argument: ` for all, a symbol, a symbol list, or a general list of symbols. */
export function readFilter(x: QValue): SymFilter {
  if (x.type === -11) return x.value === '' ? null : new Set([x.value]);
  if (x.type === 11) return new Set(x.data);
  if (x.type === 0 && x.items.every((i) => i.type === -11)) {
    return new Set(x.items.map((i) => (i as { value: string }).value));
  }
  throw new QError('type');
}

export function tableName(x: QValue): string {
  if (x.type === -11) return x.value;
  throw new QError('type');
}

export function bindTick(env: Env, b: Binding): void {
  const { tp } = b;
  const subscribe = (s: Subscriber, tables: readonly string[], f: SymFilter, ctx: CallContext): QValue[] | Promise<QValue[]> =>
    b.subscribe ? b.subscribe(s, tables, f, ctx) : tables.map((t) => tp.sub(s, t, f));

  // u.q sub: ` subscribes to every table and returns the list of (t;schema) in .u.t order.
  env.defineFunction('.u.sub', 2, (args, ctx) => {
    const t = tableName(args[0] as QValue);
    const filter = readFilter(args[1] as QValue);
    if (t !== '' && !tp.tables.has(t)) throw new QError(t);
    const s = b.subscriberFor(ctx);
    const tables = t === '' ? tp.names : [t];
    const shape = (replies: QValue[]): QValue => (t === '' ? list(...replies) : replies[0] as QValue);
    const replies = subscribe(s, tables, filter, ctx);
    return replies instanceof Promise ? replies.then(shape) : shape(replies);
  });

  env.defineFunction('.u.upd', 2, (args) => {
    tp.upd(tableName(args[0] as QValue), args[1] as QValue, true);
    return NULL;
  });

  // `tables[]` / tables`. : the root tables, sorted.
  env.defineFunction('tables', 1, () => symbols([...tp.names]));

  env.defineVariable('.u.w', () => tp.w.toQ());
  env.defineVariable('.u.t', () => symbols([...tp.names]));
  env.defineVariable('.u.i', () => (tp.logging ? long(BigInt(tp.i)) : long(NULL_LONG)));
  env.defineVariable('.u.j', () => (tp.logging ? long(BigInt(tp.j)) : long(NULL_LONG)));
  env.defineVariable('.u.L', () => (tp.replayPoint() as { items: QValue[] }).items[1] as QValue);
  env.defineVariable('.u.l', () => int(tp.logging ? 1 : 0));
  env.defineVariable('.u.d', () => date(tp.d));
}
