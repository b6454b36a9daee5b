// npm run soak's scenario 1 at small scale: fuzzed frames and handshakes at a tickerplant process
// (node dist/cli.js) over many pipelined connections, beside a feed and an honest subscriber.
import t from 'tap';
import { runFuzzScenario } from '../../soak/fuzz.js';

t.test('20,000 hostile frames and handshakes leave the tickerplant alive, answering and losing no acknowledged row', async (t) => {
  const r = await runFuzzScenario({
    inputs: 20_000, concurrency: 16, seed: Number(process.env['FUZZ_SEED'] ?? 20240102) >>> 0, feedRate: 2000, chaserEvery: 50,
    randomMean: 8, budgetMs: 60_000,
  });
  t.comment(`${r.inputs} inputs over ${r.tally.connections} connections in ${r.seconds.toFixed(1)} s; ≥ ${r.tally.processed} proven read; RSS ${(r.rssBefore / 2 ** 20).toFixed(0)} → ${(r.rssAfter / 2 ** 20).toFixed(0)} MiB`);
  for (const [msg, count] of r.topMessages) t.comment(`${String(count).padStart(7)}  ${msg}`);
  t.ok(r.inputs >= 20_000, 'all inputs sent');
  t.equal(r.crashes, 0, 'no crash');
  t.ok(r.aliveAtEnd, 'answers a query at the end');
  t.equal(r.probeFailures, 0, 'answered every liveness probe during the attack');
  t.equal(r.rowsLost, 0, 'every acknowledged row reached the honest subscriber');
  t.equal(r.duplicates, 0, 'no row twice');
  t.ok(r.tally.mutants > 1000 && r.tally.random > 5000 && r.tally.handshakesHostile > 100, 'mutants, random frames and hostile handshakes all sent');
  t.ok(r.tally.processed > r.inputs / 2, 'most inputs provably read (answered chasers)');
  t.same(r.errorLines, [], 'no error-level log line (an internal exception)');
  t.equal(r.tally.hung, 0, 'every attacker connection closed');
  t.same(r.failures, []);
});
