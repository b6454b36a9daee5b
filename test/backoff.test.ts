// Reconnect delays: exponential from the minimum to the cap, with equal jitter (half fixed, half random).
import t from 'tap';
import { backoffDelay } from '../src/backoff.js';

t.test('reconnect delays double per attempt up to the cap, with jitter in the upper half', async (t) => {
  const o = { minDelayMs: 100, maxDelayMs: 5000 };
  t.same([0, 1, 2, 3, 10].map((a) => backoffDelay(a, { ...o, random: () => 1 })), [100, 200, 400, 800, 5000]);
  t.same([0, 1, 2, 3, 10].map((a) => backoffDelay(a, { ...o, random: () => 0 })), [50, 100, 200, 400, 2500]);
  t.equal(backoffDelay(2, { ...o, random: () => 0.5 }), 300, 'halfway between the fixed half and the ceiling');
});

t.test('a long outage neither overflows nor exceeds the cap', async (t) => {
  t.equal(backoffDelay(1000, { minDelayMs: 100, maxDelayMs: 5000, random: () => 1 }), 5000);
  t.equal(backoffDelay(Number.MAX_SAFE_INTEGER, { minDelayMs: 100, maxDelayMs: 5000, random: () => 1 }), 5000);
});

t.test('the defaults are 100 ms to 5 s, and a cap below the minimum is raised to it', async (t) => {
  t.equal(backoffDelay(0, { random: () => 1 }), 100);
  t.equal(backoffDelay(20, { random: () => 1 }), 5000);
  t.equal(backoffDelay(5, { minDelayMs: 300, maxDelayMs: 10, random: () => 1 }), 300);
});

t.test('with the real random source every delay falls inside its attempt\'s jitter window', async (t) => {
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(3, { minDelayMs: 100, maxDelayMs: 5000 });
    seen.add(d);
    if (d < 400 || d > 800) t.fail(`delay ${d} outside [400, 800]`);
  }
  t.ok(seen.size > 1, 'clients that lost the same peer do not return in step');
});
