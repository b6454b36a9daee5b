// Results stay synchronous unless a native returns a Promise; from then on the rest of the evaluation
// waits for it, in q's order.
import t from 'tap';
import { QError } from '../../src/errors.js';
import { NULL, list, long, longs, sym, symbols } from '../../src/ipc/values.js';
import type { QValue } from '../../src/ipc/values.js';
import { evaluateMessage, evaluateString } from '../../src/q/eval.js';
import { ctx, tickEnv } from './fixture.js';

function asyncEnv(): { env: ReturnType<typeof tickEnv>['env']; order: string[] } {
  const { env } = tickEnv();
  const order: string[] = [];
  env.defineFunction('.p.later', 1, async ([x]) => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    order.push('later');
    return x ?? NULL;
  });
  env.defineFunction('.p.now', 1, ([x]) => {
    order.push('now');
    return x ?? NULL;
  });
  env.defineFunction('.p.fail', 1, () => Promise.reject(new QError('stop')));
  return { env, order };
}

t.test('evaluation with only synchronous natives returns a value, not a Promise', async (t) => {
  const { env } = asyncEnv();
  const r = evaluateString('(.u.sub[`;`];.p.now `x)', env, ctx);
  t.notOk(r instanceof Promise);
  t.notOk(evaluateMessage(list(sym('.p.now'), long(1n)), env, ctx) instanceof Promise);
});

t.test('an asynchronous native makes the whole result a Promise of the q value', async (t) => {
  const { env } = asyncEnv();
  const r = evaluateString('(`a;.p.later `b)', env, ctx);
  t.ok(r instanceof Promise);
  t.strictSame(await r, symbols(['a', 'b']), 'collapsed like any list of atoms');
  const m = evaluateMessage(list(sym('.p.later'), long(3n)), env, ctx);
  t.ok(m instanceof Promise);
  t.strictSame(await m, long(3n));
});

t.test('later statements and left-hand items wait for an asynchronous native', async (t) => {
  const { env, order } = asyncEnv();
  const r: QValue | Promise<QValue> = evaluateString('.p.later 1;.p.now 2', env, ctx);
  t.strictSame(order, [], 'nothing after the pending native has run yet');
  t.strictSame(await r, long(2n));
  t.strictSame(order, ['later', 'now']);
  order.length = 0;
  t.strictSame(await evaluateString('(.p.now 1;.p.later 2)', env, ctx), longs([1n, 2n]));
  t.strictSame(order, ['later', 'now'], 'items run right to left');
  order.length = 0;
  t.strictSame(await evaluateString('.p.now .p.later `x', env, ctx), sym('x'));
  t.strictSame(order, ['later', 'now']);
  order.length = 0;
  t.strictSame(await evaluateString('$[.p.later 0b;.p.now `a;`b]', env, ctx), sym('b'));
  t.strictSame(order, ['later']);
});

t.test('a rejected native rejects the evaluation and stops what follows', async (t) => {
  const { env, order } = asyncEnv();
  await t.rejects(evaluateString('.p.fail 1;.p.now 2', env, ctx) as Promise<QValue>, new QError('stop'));
  t.strictSame(order, []);
});
