// npm run soak's scenario 7 at small scale: each bounded-work attack against the tickerplant process
// beside an honest feed and subscriber. The process stays up, the honest subscriber loses nothing, the
// defence logs its line, the attack gets nothing through. Disk full runs on a real 1 MiB tmpfs (mount
// needs root: where it is refused the test says so and skips; test/integration/journal-faults.test.ts
// covers the same with a fault hook).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runBoundedScenario } from '../../soak/bounded.js';

/** Whether a tmpfs can be mounted here (root): false, or why not. */
function mountRefused(): string | false {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'soak-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return false;
  } catch {
    return 'mount refused (not root?): test/integration/journal-faults.test.ts covers a full disk with a fault hook';
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test('decode amplification, pipelined bypass, partial-frame hoarding, connection exhaustion and unauthenticated WebSockets are refused; the honest pair is served', async (t) => {
  const r = await runBoundedScenario({
    only: ['decode', 'pipelined', 'hoarding', 'connections', 'websocket'],
    nullItems: 16 * 1024 * 1024, pipelined: 30_000, hoarders: 4, hoardMiB: 24, idle: 200, wsAttempts: 20, rate: 500,
  });
  for (const a of r.attacks) {
    t.comment(`${a.name}: lost ${a.rowsLost} of ${a.acked}, RSS ${(a.rssBefore / 2 ** 20).toFixed(0)} → ${(a.rssPeak / 2 ** 20).toFixed(0)} MiB, max stall ${a.maxStallMs.toFixed(0)} ms; ${a.note}`);
    t.ok(a.alive, `${a.name}: the process stayed up`);
    t.equal(a.rowsLost, 0, `${a.name}: the honest subscriber lost nothing`);
    t.ok(a.defences > 0, `${a.name}: the defence logged its line (${a.defences})`);
    t.equal(a.breaches, 0, `${a.name}: nothing got through`);
  }
  t.equal(r.attacks.length, 5);
  t.same(r.failures, []);
});

t.test("a full disk (a real 1 MiB tmpfs): a sync feed gets 'journal, nothing unjournaled is published, no acknowledged row is lost, and writing resumes once there is room", { skip: mountRefused() }, async (t) => {
  const r = await runBoundedScenario({
    only: ['diskfull'], nullItems: 0, pipelined: 0, hoarders: 0, hoardMiB: 0, idle: 0, wsAttempts: 0, rate: 500, diskRoomKiB: 48,
  });
  const a = r.attacks[0];
  if (!a) { t.fail('no result'); return; }
  t.ok(a.ran, a.note);
  t.comment(`diskfull: lost ${a.rowsLost} of ${a.acked}, RSS ${(a.rssBefore / 2 ** 20).toFixed(0)} → ${(a.rssPeak / 2 ** 20).toFixed(0)} MiB, max stall ${a.maxStallMs.toFixed(0)} ms; ${a.note}`);
  t.ok(a.alive, 'the process stayed up');
  t.ok(a.acked > 0, `rows were acknowledged (${a.acked})`);
  t.equal(a.rowsLost, 0, 'no acknowledged row is missing from the subscriber or the journal');
  t.equal(a.defences, 1, 'the fault was logged once');
  t.equal(a.breaches, 0, 'no published row is missing from the journal');
  t.same(r.failures, [], 'and writing resumed');
});
