// npm run soak's scenario 2 at small scale: clients (a child process) connect, subscribe, re-subscribe
// with other syms, hang up and come back while a feed runs; an honest subscriber times every row.
import t from 'tap';
import { runConnectionsScenario } from '../../soak/connections.js';

t.test('50 churning clients: no errors, only rows for subscribed syms, nothing lost by the honest subscriber', async (t) => {
  const r = await runConnectionsScenario({ clients: 50, feedRate: 5000, symCount: 200, baselineMs: 500, churnMs: 2000, seed: 7 });
  t.comment(`${r.churn.connects} connects, ${r.churn.subscribes} subscribes, ${r.churn.rows} rows to churning clients; honest p99 ${r.baseline.p99.toFixed(0)} µs → ${r.latency.p99.toFixed(0)} µs with churn`);
  t.equal(r.allOpen, 50, 'all 50 connected and subscribed at once');
  t.ok(r.churn.connects > 50 && r.churn.disconnects > 0 && r.churn.subscribes > r.churn.connects, 'they re-subscribed and reconnected');
  t.equal(r.errors, 0, 'no connection, subscription or protocol error');
  t.equal(r.churn.wrongSymRows, 0, 'no row for a sym the client was not subscribed to at that moment');
  t.ok(r.churn.rows > 0, 'churning clients received rows');
  t.equal(r.rowsLost, 0, 'the honest subscriber got every acknowledged row');
  t.ok(r.latency.n > 1000, 'latency measured during the churn');
  t.same(r.failures, []);
});
