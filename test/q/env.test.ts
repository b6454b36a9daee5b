// The Env: defining natives and variables by qualified name, implied namespaces, and refused definitions.
import t from 'tap';
import { NULL, long } from '../../src/ipc/values.js';
import { Env } from '../../src/q/env.js';
import { evaluateString } from '../../src/q/eval.js';
import { ctx, sync } from './fixture.js';

t.test('dotted names create their namespace, listed in definition order', async (t) => {
  const env = new Env();
  env.defineVariable('.u.i', () => long(1n));
  env.defineFunction('.u.sub', 2, () => NULL);
  env.defineVariable('.u.i', () => long(2n)); // redefinition keeps the member's place
  t.strictSame(env.members('.u'), ['i', 'sub']);
  t.strictSame(env.lookup('.u'), { kind: 'namespace', name: '.u', members: ['i', 'sub'] });
  t.equal(env.lookup('.u.sub')?.kind, 'function');
  t.strictSame(sync(evaluateString('.u.i', env, ctx)), long(2n));
});

t.test('nested namespaces appear as members of their parent', async (t) => {
  const env = new Env();
  env.defineVariable('.a.b.c', () => long(3n));
  t.strictSame(env.members('.a'), ['b']);
  t.strictSame(env.members('.a.b'), ['c']);
  t.strictSame(sync(evaluateString('.a `b', env, ctx)), sync(evaluateString('.a.b', env, ctx)));
  t.strictSame(sync(evaluateString('.a.b `c', env, ctx)), long(3n));
});

t.test('root names such as upd and tables need no namespace', async (t) => {
  const env = new Env();
  env.defineFunction('upd', 2, () => NULL);
  t.equal(env.lookup('upd')?.kind, 'function');
  t.strictSame(env.members(''), []);
});

t.test('a function value handed out by the Env maps back to its native', async (t) => {
  const env = new Env();
  env.defineFunction('.u.end', 1, () => NULL);
  const entry = env.lookup('.u.end');
  t.equal(entry?.kind, 'function');
  if (entry?.kind !== 'function') return;
  t.equal(env.functionOf(entry.value), entry);
  t.equal(env.functionOf({ type: 100, context: '', source: new Uint8Array(Buffer.from('.u.end')) }), undefined,
    'a look-alike lambda from a client is not the native');
  t.ok(Object.isFrozen(entry.value));
});

t.test('invalid names, arities and clashes are programming errors', async (t) => {
  const env = new Env();
  env.defineVariable('.u.i', () => NULL);
  t.throws(() => env.defineFunction('.u', 1, () => NULL), TypeError, 'a bare namespace');
  t.throws(() => env.defineFunction('.u.i.x', 1, () => NULL), TypeError, 'under a variable');
  t.throws(() => env.defineVariable('a.b', () => NULL), TypeError);
  t.throws(() => env.defineVariable('1a', () => NULL), TypeError);
  t.throws(() => env.defineVariable('.u.', () => NULL), TypeError);
  t.throws(() => env.defineFunction('count', 1, () => NULL), TypeError, 'a builtin');
  t.throws(() => env.defineVariable('.z.w', () => NULL), TypeError, 'the caller handle');
  t.throws(() => env.defineFunction('f', 0, () => NULL), RangeError);
  t.throws(() => env.defineFunction('f', 9, () => NULL), RangeError);
  t.throws(() => env.defineFunction('f', 1.5, () => NULL), RangeError);
  env.defineVariable('.x.y.z', () => NULL);
  t.throws(() => env.defineVariable('.x.y', () => NULL), TypeError, 'over a namespace');
  t.strictSame(env.members('.u'), ['i'], 'a refused name leaves the Env unchanged');
});
