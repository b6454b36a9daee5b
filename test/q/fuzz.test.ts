// Property tests: any input fails only with a QError, and no native runs for input that does not parse
// (parse and name check, via prepare) — whatever the bytes.
import t from 'tap';
import fc from 'fast-check';
import { QError } from '../../src/errors.js';
import { evaluateMessage, evaluateString, prepare } from '../../src/q/eval.js';
import { ctx, tickEnv } from './fixture.js';

const FRAGMENTS = [
  '.u.sub', '.u.upd', '.u.i', '.u.L', '.u.w', '.u.t', '.u', '.u.m', 'tables', 'count', 'key', 'in', 'first',
  'enlist', 'type', 'not', 'null', 'system', 'value', 'exit', 'hopen', '.z.pw', '.z.w', 'foo', '`', '`trade',
  '`IBM', '`i`L', '`.u', '`:x', '`m', '[', ']', '(', ')', ';', '$[', '$', '::', ':', '"', '"abc"', '"\\"',
  '\\', '\\\\', '{', '}', ' ', ' ', '-', '1', '0N', '2.5', '10i', '0D10:00', '2024.01.02', '10:00:00.000',
  "'", '/', '!', ',', '+', '#', '@', '.', '0x2a', '101b', '\n', '\t', 'é', '\u0000',
];
const qSoup = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 30 }).map((parts) => parts.join(''));

// Expressions shaped by the grammar, so most parse and reach natives; then one random fragment spliced in.
const { expr } = fc.letrec<{ expr: string; atom: string }>((tie) => ({
  atom: fc.constantFrom('`trade', '`IBM', '`', '`i`L', '1', '10i', '2.5', '"abc"', '0D10:00', '.u.i', '.u.L',
    '.u.w', '.u', '::', '()', '`m', '1 2 3', '101b'),
  expr: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    tie('atom'),
    fc.tuple(tie('expr'), tie('expr')).map(([a, b]) => `.u.sub[${a};${b}]`),
    fc.tuple(tie('expr'), tie('expr')).map(([a, b]) => `.u.upd[${a};${b}]`),
    fc.tuple(tie('expr'), tie('expr')).map(([a, b]) => `(${a};${b})`),
    fc.tuple(tie('expr'), tie('expr'), tie('expr')).map(([a, b, c]) => `$[${a};${b};${c}]`),
    fc.tuple(tie('expr'), tie('expr')).map(([a, b]) => `${a} in ${b}`),
    fc.tuple(fc.constantFrom('count ', 'key ', 'first ', 'enlist ', 'type ', 'null ', 'not ', '.u ', 'tables'),
      tie('expr')).map(([f, a]) => `${f}${a}`),
    fc.constant('tables[]')),
}));
const spliced = fc.tuple(expr, fc.nat(), fc.option(fc.constantFrom(...FRAGMENTS), { freq: 2 }))
  .map(([e, at, frag]) => {
    const cut = at % (e.length + 1);
    return frag === null ? e : `${e.slice(0, cut)}${frag}${e.slice(cut)}`;
  });

interface Outcome { parsed: boolean; calls: number; error: unknown }

/** Evaluates src (bytes as q sees them) and reports whether it parsed, what ran and what was thrown. */
function outcome(src: string, run: 'string' | 'message'): Outcome {
  const { env, calls } = tickEnv();
  const bytes = Buffer.from(src, run === 'string' ? 'utf8' : 'latin1');
  let parsed = true;
  try {
    prepare(bytes.toString('latin1'), env);
  } catch {
    parsed = false;
  }
  let error: unknown;
  try {
    const r = run === 'string'
      ? evaluateString(src, env, ctx)
      : evaluateMessage({ type: 10, attr: 0, data: new Uint8Array(bytes) }, env, ctx);
    if (r instanceof Promise) error = new Error('unexpected Promise');
  } catch (err) {
    error = err;
  }
  return { parsed, calls: calls.length, error };
}

function check(o: Outcome): boolean {
  if (o.error !== undefined && !(o.error instanceof QError)) throw o.error;
  if (!o.parsed && o.calls > 0) throw new Error(`${o.calls} native call(s) for input that does not parse`);
  return true;
}

t.test('random text fails only with QError and runs no native unless it parses', async (t) => {
  fc.assert(fc.property(fc.fullUnicodeString({ maxLength: 200 }), (s) => check(outcome(s, 'string'))),
    { numRuns: 3000 });
  t.pass('3000 strings');
});

t.test('q-like token soup fails only with QError and runs no native unless it parses', async (t) => {
  let parsedAndCalled = 0;
  fc.assert(fc.property(qSoup, (s) => {
    const o = outcome(s, 'string');
    if (o.parsed && o.calls > 0) parsedAndCalled++;
    return check(o);
  }), { numRuns: 5000 });
  t.pass(`the soup reached natives ${parsedAndCalled} times`);
});

t.test('grammar-shaped expressions with a random splice obey the same rules', async (t) => {
  let parsedAndCalled = 0;
  let refusedAfterSplice = 0;
  fc.assert(fc.property(spliced, (src) => {
    const o = outcome(src, 'string');
    if (o.parsed && o.calls > 0) parsedAndCalled++;
    if (!o.parsed) refusedAfterSplice++;
    return check(o);
  }), { numRuns: 5000 });
  t.ok(parsedAndCalled > 500, `reached natives ${parsedAndCalled} times`);
  t.ok(refusedAfterSplice > 500, `refused ${refusedAfterSplice} times`);
});

t.test('random bytes as a char vector fail only with QError and run no native unless they parse', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) =>
    check(outcome(Buffer.from(b).toString('latin1'), 'message'))), { numRuns: 3000 });
  t.pass('3000 byte strings');
});

t.test('random deep nesting fails with limit or evaluates, never overflowing the stack', async (t) => {
  const nested = fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.constantFrom('(', '[', 'count ', '$[1b;', 'f['))
    .map(([n, open]) => `${open.repeat(n)}.u.i`);
  fc.assert(fc.property(nested, (s) => check(outcome(s, 'string'))), { numRuns: 300 });
  t.pass('300 nestings');
});

t.test('the largest in a client can send stays linear', async (t) => {
  const { env } = tickEnv();
  const side = Array.from({ length: 15_000 }, (_, i) => String(i % 10)).join(' ');
  const started = process.hrtime.bigint();
  const r = evaluateString(`count (${side}) in ${side}`, env, ctx);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.notOk(r instanceof Promise);
  t.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
});
