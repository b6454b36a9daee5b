// The injected clock: manual timers fire in due order only when time is moved; system timers honour
// delays past setTimeout's 2^31-1 ms range instead of firing at once.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { ManualClock, MAX_TIMEOUT_MS, offsetMinutesOf, systemClock, unixMs } from '../src/clock.js';

t.test('a manual timer fires when time reaches it, not before, and once', async (t) => {
  const clock = new ManualClock(0n);
  const fired: bigint[] = [];
  clock.after(10, () => fired.push(clock.nowNanos()));
  clock.advanceMs(9);
  t.same(fired, []);
  clock.advanceMs(5);
  t.same(fired, [10_000_000n], 'fired at its own instant, not at the end of the advance');
  clock.advanceMs(100);
  t.equal(fired.length, 1);
  t.equal(clock.nowNanos(), 114_000_000n);
});

t.test('manual timers fire in due order, and a timer armed by a timer fires within the same advance', async (t) => {
  const clock = new ManualClock(0n);
  const order: string[] = [];
  clock.after(30, () => order.push('c'));
  clock.after(10, () => { order.push('a'); clock.after(5, () => order.push('a+5')); });
  clock.after(20, () => order.push('b'));
  clock.advanceMs(40);
  t.same(order, ['a', 'a+5', 'b', 'c']);
});

t.test('a cancelled timer never fires and an interval repeats until cancelled', async (t) => {
  const clock = new ManualClock(0n);
  let once = 0;
  let ticks = 0;
  clock.after(5, () => once++).cancel();
  const every = clock.every(10, () => ticks++);
  clock.advanceMs(35);
  t.equal(once, 0);
  t.equal(ticks, 3);
  every.cancel();
  clock.advanceMs(100);
  t.equal(ticks, 3);
  t.equal(clock.pending, 0);
});

t.test('setting the clock back fires nothing; setting it forward fires what fell due', async (t) => {
  const clock = new ManualClock(1_000_000_000n);
  let fired = 0;
  clock.after(1000, () => fired++);
  clock.set(0n);
  t.equal(fired, 0);
  t.equal(clock.nowNanos(), 0n);
  clock.set(2_000_000_000n);
  t.equal(fired, 1);
});

t.test('a system timer longer than setTimeout allows does not fire early', async (t) => {
  const clock = systemClock(0);
  let fired = false;
  const timer = clock.after(30 * 86_400_000, () => { fired = true; });
  t.ok(30 * 86_400_000 > MAX_TIMEOUT_MS);
  await new Promise((r) => setTimeout(r, 20));
  t.equal(fired, false, 'a 30-day timer has not fired after 20 ms (Node would clamp it to 1 ms)');
  timer.cancel();
});

t.test('a short system timer fires', async (t) => {
  const clock = systemClock(0);
  await new Promise<void>((resolve) => clock.after(1, resolve));
  t.pass('fired');
});

t.test("-o N is hours, or minutes when |N| > 23, as in q", async (t) => {
  t.equal(systemClock(5).offsetMinutes(0n), 300, '-o 5: five hours');
  t.equal(systemClock(-5).offsetMinutes(0n), -300);
  t.equal(systemClock(5.5).offsetMinutes(0n), 330, 'fractional hours');
  t.equal(systemClock(23).offsetMinutes(0n), 23 * 60, '23 is still hours');
  t.equal(systemClock(330).offsetMinutes(0n), 330, '-o 330: minutes (+05:30)');
  t.equal(systemClock(-24).offsetMinutes(0n), -24, '-o -24: minutes');
  t.equal(offsetMinutesOf(-300), -300);
});

t.test('an unref’d system timer lets the process exit; a ref’d one keeps it alive until it fires', async (t) => {
  const script = (unref: boolean): string => `import { systemClock } from ${JSON.stringify(new URL('../dist/clock.js', import.meta.url).href)};
const started = Date.now();
const timer = systemClock().after(${unref ? 60_000 : 300}, () => process.stdout.write('fired ' + (Date.now() - started)));
${unref ? 'timer.unref();' : ''}`;
  const run = (unref: boolean): { status: number | null; stdout: string } =>
    spawnSync(process.execPath, ['--input-type=module', '-e', script(unref)], { encoding: 'utf8', timeout: 30_000 });
  const quiet = run(true);
  t.equal(quiet.status, 0);
  t.equal(quiet.stdout, '', 'exited without waiting 60 s for the timer');
  const kept = run(false);
  t.match(kept.stdout, /^fired \d+$/, 'the ref’d timer ran before exit');
});

t.test('a manual timer’s unref changes nothing: it still fires when time is moved', async (t) => {
  const clock = new ManualClock(0n);
  let fired = 0;
  const timer = clock.after(5, () => { fired++; });
  t.equal(timer.unref(), timer);
  clock.advanceMs(5);
  t.equal(fired, 1);
});

t.test('unixMs is the clock\'s time in whole milliseconds, rounded down', async (t) => {
  t.equal(unixMs(new ManualClock(1_704_187_800_123_999_999n)), 1_704_187_800_123);
  t.equal(unixMs(new ManualClock(0n)), 0);
});
