// Property tests: whatever the bytes, answer() fails only with a QError, and a refusal ('access, 'limit)
// ran nothing — no call outward, no subscription. Token soups built from the forms' own pieces reach the
// handlers often enough to make that mean something.
import t from 'tap';
import fc from 'fast-check';
import { QError } from '../../src/errors.js';
import { answer } from '../../src/q/index.js';
import { rig } from './fixture.js';
import type { Rig } from './fixture.js';

const FRAGMENTS = [
  '.u.sub', '.u.upd', '.u.i', '.u.L', '.u.w', '.u.t', '.u', '.u.m', '.u.subPaid', '.dev.pay', 'tables', 'count', 'key',
  'in', 'system', 'value', 'exit', '.z.pw', '`', '`trade', '`quote', '`nosuch', '`IBM', '`i`L', '`.u', '`:x', '`m', '`.',
  '[', ']', '(', ')', ';', '$[', '$', '::', ':', '"', '"abc"', '"ok"', '"\\"', '\\', '{', '}', ' ', '-', '1', "'", '/',
  '\n', 'é', '\u0000', '.u.sub[`;`]', '.u `i`L', '(`.u `m)', '"`.u `i`L"',
];
const soup = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 30 }).map((parts) => parts.join(''));

/** Answers one text and checks the rules; true when a handler ran (something was called). */
function check(r: Rig, text: string): boolean {
  r.calls.length = 0;
  r.tp.disconnect(r.ctx.handle);
  let error: unknown;
  try {
    const reply = answer({ type: 10, attr: 0, data: new Uint8Array(Buffer.from(text, 'latin1')) }, r.ctx);
    if (reply instanceof Promise) reply.catch(() => undefined);
  } catch (err) {
    error = err;
  }
  if (error !== undefined && !(error instanceof QError)) throw error;
  const refused = error instanceof QError && (error.message === 'access' || error.message === 'limit');
  if (refused && (r.calls.length > 0 || r.tp.w.count() > 0)) throw new Error(`refused ${JSON.stringify(text)} but ran ${r.calls}`);
  return r.calls.length > 0;
}

t.test('random bytes fail only with QError and a refusal runs nothing', async (t) => {
  const r = rig(t, { chained: true, withPayments: true });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
    check(r, Buffer.from(b).toString('latin1'));
    return true;
  }), { numRuns: 3000 });
  t.pass('3000 byte strings');
});

t.test('token soup from the forms fails only with QError, a refusal runs nothing, and some soups are answered', async (t) => {
  let ran = 0;
  const r = rig(t, { chained: true, withPayments: true });
  fc.assert(fc.property(soup, (s) => {
    if (check(r, s)) ran++;
    return true;
  }), { numRuns: 5000 });
  t.ok(ran > 0, `handlers ran for ${ran} of 5000 soups`);
});
