// The strings q clients really send (kdb-ipc-and-tick.md §6.5, §6.6, §8), evaluated against a tick-shaped Env.
import t from 'tap';
import { QError } from '../../src/errors.js';
import {
  NULL, float, int, list, long, str, sym, symbols, timespan,
} from '../../src/ipc/values.js';
import { evaluateString } from '../../src/q/eval.js';
import { LOG_PATH, TABLES, ctx, qError, subReply, sync, tickEnv } from './fixture.js';

const everyTable = list(...TABLES.map(subReply));
const logPosition = list(long(5n), sym(LOG_PATH));
const R_Q = '(.u.sub[`;`];`.u `i`L)';
const CHAINED_R_Q = '(.u.sub[`;`];$[`m in key`.u;(`.u `m)"`.u `i`L";`.u `i`L])';

t.test('the empty string (the sync chaser) returns generic null', async (t) => {
  const { env, calls } = tickEnv();
  t.strictSame(sync(evaluateString('', env, ctx)), NULL);
  t.strictSame(sync(evaluateString('   ', env, ctx)), NULL);
  t.equal(calls.length, 0);
});

t.test('.u.sub[`;`] subscribes the caller to every table and every symbol', async (t) => {
  const { env, calls } = tickEnv();
  t.strictSame(sync(evaluateString('.u.sub[`;`]', env, ctx)), everyTable);
  t.strictSame(calls, [{ name: '.u.sub', args: [sym(''), sym('')], ctx }]);
});

t.test('.u.sub[`trade;`MSFT.O`IBM.N] passes the table and a symbol vector', async (t) => {
  const { env, calls } = tickEnv();
  t.strictSame(sync(evaluateString('.u.sub[`trade;`MSFT.O`IBM.N]', env, ctx)), subReply('trade'));
  t.strictSame(calls.map((c) => c.args), [[sym('trade'), symbols(['MSFT.O', 'IBM.N'])]]);
});

t.test('.u.sub[`trade;`IBM] passes a single symbol as an atom', async (t) => {
  const { env, calls } = tickEnv();
  t.strictSame(sync(evaluateString('.u.sub[`trade;`IBM]', env, ctx)), subReply('trade'));
  t.strictSame(calls.map((c) => c.args), [[sym('trade'), sym('IBM')]]);
});

t.test("r.q's subscription string returns the schemas and the log position", async (t) => {
  const { env, calls } = tickEnv();
  t.strictSame(sync(evaluateString(R_Q, env, ctx)), list(everyTable, logPosition));
  t.equal(calls.length, 1);
});

t.test("chainedr.q's string takes the local log position when .u.m is not defined", async (t) => {
  const { env, calls } = tickEnv();
  t.strictSame(sync(evaluateString(CHAINED_R_Q, env, ctx)), list(everyTable, logPosition));
  t.equal(calls.length, 1);
});

t.test("chainedr.q's string is 'nyi when .u.m is a handle, and subscribes no one", async (t) => {
  const { env, calls } = tickEnv();
  env.defineVariable('.u.m', () => int(12));
  t.equal(qError(() => evaluateString(CHAINED_R_Q, env, ctx)), "'nyi");
  t.equal(calls.length, 0, 'q evaluates list items right to left, so .u.sub had not run yet');
});

t.test("chainedr.q's string forwards the query when the Env defines .u.m as a function", async (t) => {
  const { env, calls } = tickEnv();
  const upstream = list(long(40n), sym(':/tp/sym2024.01.02'));
  const forwarded: string[] = [];
  env.defineFunction('.u.m', 1, ([q]) => {
    forwarded.push(q?.type === 10 ? Buffer.from(q.data).toString() : 'not a string');
    return upstream;
  });
  t.strictSame(sync(evaluateString(CHAINED_R_Q, env, ctx)), list(everyTable, upstream));
  t.strictSame(forwarded, ['`.u `i`L']);
  t.equal(calls.length, 1);
});

t.test('.u `i`L and `.u `i`L return the general list (.u.i;.u.L)', async (t) => {
  const { env } = tickEnv();
  t.strictSame(sync(evaluateString('.u `i`L', env, ctx)), logPosition);
  t.strictSame(sync(evaluateString('`.u `i`L', env, ctx)), logPosition);
  t.strictSame(sync(evaluateString('.u`i`L', env, ctx)), logPosition);
});

t.test('the .u variables read through their getters', async (t) => {
  const { env } = tickEnv();
  t.strictSame(sync(evaluateString('.u.i', env, ctx)), long(5n));
  t.strictSame(sync(evaluateString('.u.L', env, ctx)), sym(LOG_PATH));
  t.strictSame(sync(evaluateString('.u.t', env, ctx)), symbols(TABLES));
  const w = sync(evaluateString('.u.w', env, ctx));
  t.equal(w.type, 99);
});

t.test('tables[] and tables`. call the tables native with :: and `.', async (t) => {
  const { env, calls } = tickEnv();
  t.strictSame(sync(evaluateString('tables[]', env, ctx)), symbols(TABLES));
  t.strictSame(sync(evaluateString('tables`.', env, ctx)), symbols(TABLES));
  t.strictSame(calls.map((c) => c.args), [[NULL], [sym('.')]]);
});

t.test('count .u.w counts the tables in the subscription dict', async (t) => {
  const { env } = tickEnv();
  t.strictSame(sync(evaluateString('count .u.w', env, ctx)), long(2n));
});

t.test('.u.upd with a row of atoms passes a general list and returns ::', async (t) => {
  const { env, calls } = tickEnv();
  t.strictSame(sync(evaluateString('.u.upd[`trade;(`IBM;100f;10i)]', env, ctx)), NULL);
  t.strictSame(calls.map((c) => c.args), [[sym('trade'), list(sym('IBM'), float(100), int(10))]]);
});

t.test('.u.upd with a leading timespan keeps it as a timespan atom', async (t) => {
  const { env, calls } = tickEnv();
  sync(evaluateString('.u.upd[`trade;(0D10:00:00.000000000;`IBM;100f;10i)]', env, ctx));
  t.strictSame(calls.map((c) => c.args), [
    [sym('trade'), list(timespan(36_000_000_000_000n), sym('IBM'), float(100), int(10))],
  ]);
});

t.test('a trailing semicolon runs the statement and returns ::, as q does', async (t) => {
  const { env, calls } = tickEnv();
  t.strictSame(sync(evaluateString('.u.sub[`;`];', env, ctx)), NULL);
  t.equal(calls.length, 1);
  t.strictSame(sync(evaluateString(' \t.u.i \r\n', env, ctx)), long(5n), 'surrounding whitespace is ignored');
  t.strictSame(sync(evaluateString('.u.i;;', env, ctx)), NULL);
});

t.test('statements run left to right and the last one is the value', async (t) => {
  const { env, calls } = tickEnv();
  t.strictSame(sync(evaluateString('.u.sub[`trade;`IBM];.u.sub[`quote;`IBM];.u.i', env, ctx)), long(5n));
  t.strictSame(calls.map((c) => c.args[0]), [sym('trade'), sym('quote')]);
});

t.test('list items and arguments are evaluated right to left', async (t) => {
  const { env, calls } = tickEnv();
  sync(evaluateString('(.u.sub[`trade;`IBM];.u.sub[`quote;`IBM])', env, ctx));
  sync(evaluateString('.u.upd[.u.sub[`trade;`A];.u.sub[`quote;`B]]', env, ctx));
  t.strictSame(calls.map((c) => c.name === '.u.sub' ? c.args[0] : sym('upd')),
    [sym('quote'), sym('trade'), sym('quote'), sym('trade'), sym('upd')]);
});

t.test('the caller context reaches natives and .z.w and .z.u', async (t) => {
  const { env, calls } = tickEnv();
  sync(evaluateString('.u.sub[`;`]', env, { handle: 42, user: 'bob' }));
  t.strictSame(calls[0]?.ctx, { handle: 42, user: 'bob' });
  t.strictSame(sync(evaluateString('.z.w', env, ctx)), int(7));
  t.strictSame(sync(evaluateString('.z.u', env, ctx)), sym('alice'));
});

t.test('an undefined name fails with the name as the error text', async (t) => {
  const { env } = tickEnv();
  t.equal(qError(() => evaluateString('foo', env, ctx)), "'foo");
  t.equal(qError(() => evaluateString('.u.nope[`a]', env, ctx)), "'.u.nope");
  t.equal(qError(() => evaluateString('`nope `a', env, ctx)), "'nope");
});

t.test('a wrong number of arguments fails with rank and calls nothing', async (t) => {
  const { env, calls } = tickEnv();
  for (const s of ['.u.sub[`trade]', '.u.sub[`a;`b;`c]', '.u.sub `trade', '.u.sub[]', 'tables[`a;`b]',
    'count[1;2]', 'in[`a]']) {
    t.equal(qError(() => evaluateString(s, env, ctx)), "'rank", s);
  }
  t.equal(calls.length, 0);
});

t.test('an error a native signals reaches the caller unchanged', async (t) => {
  const { env } = tickEnv();
  t.equal(qError(() => evaluateString('.u.sub[`foo;`]', env, ctx)), "'foo");
  const boom = new RangeError('disk on fire');
  env.defineFunction('.u.boom', 1, () => { throw boom; });
  t.throws(() => evaluateString('.u.boom[]', env, ctx), boom);
  const qe = new QError('type');
  env.defineFunction('.u.qe', 1, () => { throw qe; });
  t.throws(() => evaluateString('.u.qe 1', env, ctx), qe);
});

t.test('a function named without arguments evaluates to an opaque lambda that can be applied later', async (t) => {
  const { env, calls } = tickEnv();
  const f = sync(evaluateString('.u.sub', env, ctx));
  t.strictSame(f, { type: 100, context: '', source: new Uint8Array(Buffer.from('.u.sub')) });
  t.strictSame(sync(evaluateString('(`.u `sub)[`trade;`IBM]', env, ctx)), subReply('trade'));
  t.strictSame(sync(evaluateString('`.u.sub[`trade;`IBM]', env, ctx)), subReply('trade'));
  t.equal(calls.length, 2);
});

t.test('strings keep their bytes: UTF-8 text and q escapes reach natives as char vectors', async (t) => {
  const { env, calls } = tickEnv();
  sync(evaluateString('.u.upd[`t;"é\\"\\\\\\n\\101"]', env, ctx));
  t.strictSame(calls[0]?.args[1], { type: 10, attr: 0, data: Uint8Array.from([0xc3, 0xa9, 0x22, 0x5c, 0x0a, 0x41]) });
  sync(evaluateString('.u.upd[`t;("a";"")]', env, ctx));
  t.strictSame(calls[1]?.args[1], list({ type: -10, value: 'a' }, str('')));
});

t.test('the .u namespace evaluates to a dict with a leading null key, like q', async (t) => {
  const { env } = tickEnv();
  const u = sync(evaluateString('.u', env, ctx));
  t.equal(u.type, 99);
  if (u.type !== 99) return;
  t.strictSame(u.keys, symbols(['', 'sub', 'upd', 'i', 'L', 't', 'w']));
  t.equal(u.values.type, 0);
  if (u.values.type !== 0) return;
  t.strictSame(u.values.items[0], NULL);
  t.strictSame(u.values.items[3], long(5n));
  t.equal(u.values.items[1]?.type, 100);
  t.strictSame(sync(evaluateString('`.u', env, ctx)), sym('.u'), 'a symbol literal stays a symbol');
  t.strictSame(sync(evaluateString('.u[]', env, ctx)), u);
  t.strictSame(sync(evaluateString('.u `nope', env, ctx)), NULL, 'a missing member is ::');
  t.strictSame(sync(evaluateString('.u[`w;`trade]', env, ctx)), list(list(int(7), sym(''))));
  t.strictSame(sync(evaluateString('.u.w`quote`trade', env, ctx)), list(list(), list(list(int(7), sym('')))));
});
