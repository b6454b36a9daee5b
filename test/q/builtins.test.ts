// The builtins (count key in first enlist type not null), $[c;a;b] and indexing, on the tick-shaped Env.
import t from 'tap';
import { NULL_LONG } from '../../src/ipc/types.js';
import {
  NULL, bool, char, int, list, long, longs, short, sym, symbols,
} from '../../src/ipc/values.js';
import type { QValue } from '../../src/ipc/values.js';
import { evaluateString } from '../../src/q/eval.js';
import { ctx, qError, sync, tickEnv } from './fixture.js';

const { env } = tickEnv();
const value = (src: string): QValue => sync(evaluateString(src, env, ctx));
const bools = (...bits: number[]): QValue => ({ type: 1, attr: 0, data: Uint8Array.from(bits) });

t.test('count counts items of lists, vectors, dicts and namespaces, and atoms as one', async (t) => {
  t.strictSame(value('count 1 2 3'), long(3n));
  t.strictSame(value('count `a'), long(1n));
  t.strictSame(value('count ()'), long(0n));
  t.strictSame(value('count .u.t'), long(2n));
  t.strictSame(value('count .u'), long(7n), 'six members and the null key');
  t.strictSame(value('count "abc"'), long(3n));
});

t.test('key lists a namespace with a leading null symbol, whether named or evaluated', async (t) => {
  const names = symbols(['', 'sub', 'upd', 'i', 'L', 't', 'w']);
  t.strictSame(value('key`.u'), names);
  t.strictSame(value('key .u'), names);
  t.strictSame(value('key .u.w'), symbols(['quote', 'trade']));
  t.strictSame(value('key `.u.w'), symbols(['quote', 'trade']), 'a name of a dict gives its keys');
  t.strictSame(value('key `.u.i'), sym('.u.i'), 'a defined name gives itself');
  t.strictSame(value('key `nope'), list(), 'an undefined name gives ()');
  t.strictSame(value('key 1 2 3'), sym('long'));
  t.equal(qError(() => evaluateString('key `:.', env, ctx)), "'access", 'never a directory listing');
});

t.test('in tests membership for atoms and each item of a list', async (t) => {
  t.strictSame(value('`m in key`.u'), bool(false));
  t.strictSame(value('`i in key`.u'), bool(true));
  t.strictSame(value('`a`i in key`.u'), bools(0, 1));
  t.strictSame(value('2 in 1 2 3'), bool(true));
  t.strictSame(value('2i in 1 2 3'), bool(true), 'numbers compare by value across widths');
  t.strictSame(value('0N in 1 0N'), bool(true), 'nulls match nulls');
  t.strictSame(value('`a in `a'), bool(true));
  t.strictSame(value('`a in (`a;1)'), bool(true));
  t.strictSame(value('1 in .u.w'), bool(false), 'a dict is searched by value');
});

t.test('first, enlist and type', async (t) => {
  t.strictSame(value('first `a`b'), sym('a'));
  t.strictSame(value('first (1 2;`b)'), longs([1n, 2n]));
  t.strictSame(value('first ()'), NULL);
  t.strictSame(value('first `a'), sym('a'));
  t.strictSame(value('enlist `a'), symbols(['a']));
  t.strictSame(value('enlist 1 2'), list(longs([1n, 2n])));
  t.strictSame(value('enlist[1;2]'), longs([1n, 2n]));
  t.strictSame(value('type .u.i'), short(-7));
  t.strictSame(value('type .u'), short(99));
  t.strictSame(value('type .u.sub'), short(100));
  t.strictSame(value('type ()'), short(0));
});

t.test('not and null work on atoms and vectors', async (t) => {
  t.strictSame(value('not 0b'), bool(true));
  t.strictSame(value('not 1 0 2'), bools(0, 1, 0));
  t.strictSame(value('not " "'), bool(false), 'a space is char 32, not zero');
  t.strictSame(value('not 0n'), bool(false));
  t.strictSame(value('null `'), bool(true));
  t.strictSame(value('null[::]'), bool(true));
  t.strictSame(value('null 1 0N 3'), bools(0, 1, 0));
  t.strictSame(value('null (`a;0N)'), bools(0, 1));
  t.strictSame(value('null " "'), bool(true));
  t.equal(qError(() => evaluateString('not `a', env, ctx)), "'type");
});

t.test('$[c;a;b] evaluates only the chosen branch', async (t) => {
  const spy = tickEnv();
  t.strictSame(sync(evaluateString('$[1b;`yes;.u.sub[`;`]]', spy.env, ctx)), sym('yes'));
  t.strictSame(sync(evaluateString('$[0;.u.sub[`;`];`no]', spy.env, ctx)), sym('no'));
  t.strictSame(sync(evaluateString('$[0b;`a;0b;`b;`c]', spy.env, ctx)), sym('c'));
  t.strictSame(sync(evaluateString('$[0b;`a;1b;`b;`c]', spy.env, ctx)), sym('b'));
  t.equal(spy.calls.length, 0);
  t.equal(qError(() => evaluateString('$[`a;1;2]', spy.env, ctx)), "'type");
  t.equal(qError(() => evaluateString('$[1 2;1;2]', spy.env, ctx)), "'type");
});

t.test('vectors, lists and dicts are indexed by position or key; out of range gives a null', async (t) => {
  t.strictSame(value('(1 2 3) 1'), long(2n));
  t.strictSame(value('1 2 3[0 2]'), longs([1n, 3n]));
  t.strictSame(value('(1 2 3) 5'), long(NULL_LONG));
  t.strictSame(value('"abc" 1'), char('b'));
  t.strictSame(value('`a`b`c 2'), sym('c'));
  t.strictSame(value('(`a;1) 1'), long(1n));
  t.strictSame(value('.u.w `trade'), list(list(int(7), sym(''))));
  t.strictSame(value('(::) `x'), sym('x'), 'generic null applied is the identity');
  t.equal(qError(() => evaluateString('`a 1', env, ctx)), "'a", 'a symbol is dereferenced first');
  t.equal(qError(() => evaluateString('(1.5) 0', env, ctx)), "'type");
  t.equal(qError(() => evaluateString('.u.i 0', env, ctx)), "'nyi", 'an integer is a handle in q');
});
