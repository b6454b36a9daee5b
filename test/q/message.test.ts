// evaluateMessage: q's `value` on what arrives over IPC — strings, (f;args…) lists, symbols (§8).
import t from 'tap';
import {
  NULL, char, float, int, list, long, str, sym, symbols,
} from '../../src/ipc/values.js';
import type { QValue } from '../../src/ipc/values.js';
import { evaluateMessage } from '../../src/q/eval.js';
import { LOG_PATH, ctx, qError, subReply, sync, tickEnv } from './fixture.js';

const row = list(sym('IBM'), float(100), int(10));

t.test('a char vector is evaluated as q text', async (t) => {
  const { env, calls } = tickEnv();
  t.strictSame(sync(evaluateMessage(str('(.u.sub[`trade;`IBM];.u `i`L)'), env, ctx)),
    list(subReply('trade'), list(long(5n), sym(LOG_PATH))));
  t.equal(calls.length, 1);
  t.strictSame(sync(evaluateMessage(str(''), env, ctx)), NULL, 'the sync chaser');
});

t.test('string bytes that are not UTF-8 reach natives unchanged', async (t) => {
  const { env, calls } = tickEnv();
  const text = Buffer.concat([Buffer.from('.u.upd[`t;"'), Buffer.from([0xff, 0x80]), Buffer.from('"]')]);
  sync(evaluateMessage({ type: 10, attr: 0, data: new Uint8Array(text) }, env, ctx));
  t.strictSame(calls[0]?.args[1], { type: 10, attr: 0, data: Uint8Array.from([0xff, 0x80]) });
});

t.test('(`.u.sub;`trade;`IBM) calls .u.sub with the items as they are', async (t) => {
  const { env, calls } = tickEnv();
  t.strictSame(sync(evaluateMessage(list(sym('.u.sub'), sym('trade'), symbols(['IBM'])), env, ctx)), subReply('trade'));
  t.strictSame(calls, [{ name: '.u.sub', args: [sym('trade'), symbols(['IBM'])], ctx }]);
});

t.test('(".u.upd";`trade;row) names the function with a string, as feeds do', async (t) => {
  const { env, calls } = tickEnv();
  t.strictSame(sync(evaluateMessage(list(str('.u.upd'), sym('trade'), row), env, ctx)), NULL);
  t.strictSame(calls.map((c) => c.args), [[sym('trade'), row]]);
});

t.test('a one-character function name sent as a char atom is found too', async (t) => {
  const { env } = tickEnv();
  env.defineFunction('f', 1, ([x]) => x ?? NULL);
  t.strictSame(sync(evaluateMessage(list(char('f'), long(1n)), env, ctx)), long(1n));
  t.strictSame(sync(evaluateMessage(list(sym('f')), env, ctx)), NULL, '(f) alone is f[]');
});

t.test('a list call with the wrong number of arguments fails with rank and calls nothing', async (t) => {
  const { env, calls } = tickEnv();
  t.equal(qError(() => evaluateMessage(list(sym('.u.sub'), sym('trade')), env, ctx)), "'rank");
  t.equal(qError(() => evaluateMessage(list(sym('.u.upd'), sym('t'), row, row), env, ctx)), "'rank");
  t.equal(calls.length, 0);
});

t.test('a symbol reads the global it names', async (t) => {
  const { env } = tickEnv();
  t.strictSame(sync(evaluateMessage(sym('.u.i'), env, ctx)), long(5n));
  t.equal(sync(evaluateMessage(sym('.u'), env, ctx)).type, 99);
  t.equal(qError(() => evaluateMessage(sym('nope'), env, ctx)), "'nope");
  t.equal(qError(() => evaluateMessage(sym('system'), env, ctx)), "'access");
  t.equal(qError(() => evaluateMessage(sym(':/etc/passwd'), env, ctx)), "'access");
});

t.test('lists that do not name a defined function are refused with access', async (t) => {
  const { env, calls } = tickEnv();
  const refused: QValue[] = [
    list(sym('system'), str('ls')),
    list(str('system'), str('ls')),
    list(sym('value'), str('.u.i')),
    list(sym('count'), long(1n)),
    list(sym('.u.i'), long(0n)),
    list(sym('.u'), sym('i')),
    list(str('.u.sub[`;`]'), sym('trade'), sym('')),
    list({ type: 100, context: '', source: new Uint8Array(Buffer.from('.u.sub')) }, sym(''), sym('')),
    list(long(1n), long(2n)),
    list(),
  ];
  for (const msg of refused) t.equal(qError(() => evaluateMessage(msg, env, ctx)), "'access");
  t.equal(calls.length, 0);
});

t.test('other message types are refused with access', async (t) => {
  const { env } = tickEnv();
  for (const msg of [long(1n), NULL, symbols(['.u.i']), { type: 99, keys: symbols([]), values: list() } as QValue]) {
    t.equal(qError(() => evaluateMessage(msg, env, ctx)), "'access");
  }
});

t.test('a char vector over 64 KiB is refused with limit', async (t) => {
  const { env, calls } = tickEnv();
  t.equal(qError(() => evaluateMessage(str(`.u.sub[\`;\`];${' '.repeat(1024 * 1024)}`), env, ctx)), "'limit");
  t.equal(calls.length, 0);
});
