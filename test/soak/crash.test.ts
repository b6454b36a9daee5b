// npm run soak's scenario 3 at small scale: kill -9 under a sync and an async feed, restart on the same
// journal, compare; one tail cut mid-record by hand: refused with tick.q's message, then --truncate-log.
import t from 'tap';
import { runCrashScenario } from '../../soak/crash.js';

t.test('3 kill -9 cycles: every acknowledged or published sync row is in the journal; torn tails are refused then truncated', async (t) => {
  const r = await runCrashScenario({
    cycles: 3, tornCycles: [0], minRunMs: 150, maxRunMs: 500, window: 32, asyncRate: 5000, asyncChaserEvery: 50, seed: 11,
  });
  t.comment(`${r.journalRecords} records; sync ${r.syncAcked} acked of ${r.syncSent}; async ${r.asyncAcked} acked of ${r.asyncSent}, ${r.asyncAckedMissing} acked and ${r.asyncPublishedMissing} published rows not journaled`);
  t.equal(r.kills, 3);
  t.ok(r.syncAcked > 100, 'the sync feed was acknowledged before each kill');
  t.equal(r.syncAckedMissing, 0, 'no acknowledged sync row is missing from the journal');
  t.equal(r.syncPublishedMissing, 0, 'no published sync row is missing from the journal');
  t.equal(r.corruptReplayed, 0, 'replay() yielded only well-formed records');
  t.equal(r.duplicateRecords, 0, 'no row journaled twice');
  t.ok(r.tornByHand >= 1, 'a tail was cut by hand');
  t.equal(r.refusalsOk, r.tornByHand + r.tornByKill, "every torn tail was refused with exit 1 and 'Truncate to length <valid bytes>'");
  t.equal(r.truncationsOk, r.tornByHand + r.tornByKill, '--truncate-log left a valid journal');
  t.equal(r.restartsConsistent, r.restarts, '.u.i after each restart = valid records');
  t.same(r.failures, []);
});
