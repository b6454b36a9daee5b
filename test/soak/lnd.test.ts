// npm run soak's scenario 4 at small scale: 100 invoices paid at random moments while the fake lnd's
// invoice stream is dropped, ended, or lnd restarted; ledger and .u.w must agree with the settlements.
import t from 'tap';
import { runLndScenario } from '../../soak/lnd.js';

t.test('100 invoices through 5 lnd faults: none missed, none enabled twice, one ledger entry each', async (t) => {
  const r = await runLndScenario({ invoices: 100, faults: 5, concurrency: 20, keep: 40, budgetMs: 60_000, seed: 5 });
  t.comment(`${r.settled} settled in ${r.seconds.toFixed(1)} s, faults ${JSON.stringify(r.faults)}, ${r.retries} .u.sub retries, settle→data p99 ${r.settleToData.p99.toFixed(0)} ms`);
  t.equal(r.settled, 100, 'all 100 paid');
  t.equal(r.faults.drop + r.faults.end + r.faults.restart, 5, 'five stream faults');
  t.equal(r.missed, 0, 'every settled invoice enabled its subscriber (ledger and data)');
  t.equal(r.doubleEnables, 0, 'nothing enabled twice');
  t.equal(r.ledgerEntries, r.settled, 'one ledger entry per settlement');
  t.equal(r.ledgerUnique, r.settled);
  t.equal(r.orphans, 0, 'no settlement recorded as an orphan');
  t.equal(r.keptInW, r.kept, 'connected subscribers are in .u.w once each');
  t.equal(r.keptReceived, r.kept, 'and each got exactly one final row');
  t.equal(r.wEntries, r.kept, 'nobody else is in .u.w');
  t.same(r.failures, []);
});
