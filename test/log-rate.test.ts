// One line per kind per period (src/log-rate.ts): the first occurrence is written, the rest of the period
// counted and reported with the next line written.
import t from 'tap';
import { ManualClock } from '../src/clock.js';
import { LogRate } from '../src/log-rate.js';
import { T0 } from './helpers/tp.js';

t.test('the first of a kind is written; the rest of the period only counted, and the count goes with the next line', async (t) => {
  const clock = new ManualClock(T0);
  const rate = new LogRate(clock, 1000);
  t.equal(rate.take('refused'), 0, 'the first: written, none skipped');
  t.equal(rate.take('refused'), undefined);
  t.equal(rate.take('refused'), undefined);
  t.equal(rate.take('bad'), 0, 'another kind has its own period');
  clock.advanceMs(999);
  t.equal(rate.take('refused'), undefined, 'still in the period');
  clock.advanceMs(1);
  t.equal(rate.take('refused'), 3, 'written again, with the three skipped');
  t.equal(rate.take('refused'), undefined);
  clock.advanceMs(5000);
  t.equal(rate.take('refused'), 1);
});
