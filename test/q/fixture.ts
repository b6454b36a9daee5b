// A tickerplant-shaped Env for the q tests: .u.sub, .u.upd, .u.i, .u.L, .u.t, .u.w and tables, with every
// native call recorded so a test can prove that refused input ran nothing.
import { QError } from '../../src/errors.js';
import { Attr } from '../../src/ipc/types.js';
import {
  NULL, dict, floats, int, ints, list, long, sym, symbols, table, timespans,
} from '../../src/ipc/values.js';
import type { QValue } from '../../src/ipc/values.js';
import { Env } from '../../src/q/env.js';
import type { CallContext, Native } from '../../src/q/env.js';

export interface Call { readonly name: string; readonly args: QValue[]; readonly ctx: CallContext }

export const ctx: CallContext = { handle: 7, user: 'alice' };
export const LOG_PATH = ':./sym2024.01.02';
export const TABLES = ['quote', 'trade'];

export const schema = (): QValue => table(['time', 'sym', 'price', 'size'],
  [timespans([]), symbols([], Attr.Grouped), floats([]), ints([])]);

/** (name; empty schema), as .u.sub answers for one table. */
export const subReply = (name: string): QValue => list(sym(name), schema());

export function tickEnv(): { env: Env; calls: Call[] } {
  const env = new Env();
  const calls: Call[] = [];
  const spy = (name: string, fn: Native): Native => (args, c) => {
    calls.push({ name, args, ctx: c });
    return fn(args, c);
  };
  env.defineFunction('.u.sub', 2, spy('.u.sub', ([t]) => {
    if (t?.type !== -11) throw new QError('type');
    if (t.value === '') return list(...TABLES.map(subReply));
    if (!TABLES.includes(t.value)) throw new QError(t.value);
    return subReply(t.value);
  }));
  env.defineFunction('.u.upd', 2, spy('.u.upd', () => NULL));
  env.defineVariable('.u.i', () => long(5n));
  env.defineVariable('.u.L', () => sym(LOG_PATH));
  env.defineVariable('.u.t', () => symbols([...TABLES]));
  // quote has no subscriber; trade has handle 7 for every symbol.
  env.defineVariable('.u.w', () => dict(symbols([...TABLES]), list(list(), list(list(int(7), sym(''))))));
  env.defineFunction('tables', 1, spy('tables', () => symbols([...TABLES])));
  return { env, calls };
}

/** The result, failing loudly if evaluation went asynchronous. */
export function sync(v: QValue | Promise<QValue>): QValue {
  if (v instanceof Promise) throw new Error('expected a synchronous result');
  return v;
}

/** q's error text as a client would see it ('access), or a description of what happened instead. */
export function qError(fn: () => unknown): string {
  try {
    const r = fn();
    return r instanceof Promise ? 'returned a Promise' : 'no error';
  } catch (err) {
    return err instanceof QError ? `'${err.message}` : `not a QError: ${String(err)}`;
  }
}
