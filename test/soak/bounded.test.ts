// npm run soak's scenario 7 at small scale: each bounded-work attack against the tickerplant process
// beside an honest feed and subscriber. The process stays up, the honest subscriber loses nothing, the
// defence logs its line, the attack gets nothing through. (Disk full on a real tmpfs is soak-only, since
// CI may not mount; test/integration/journal-faults.test.ts covers it with an injected failing writer.)
import t from 'tap';
import { runBoundedScenario } from '../../soak/bounded.js';

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
