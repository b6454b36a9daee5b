// npm run soak's scenario 6 (it is small already): injections over q IPC, wrong passwords and oversized
// handshakes at a tickerplant with --users, lnd and a journal; then its debug output searched for secrets.
import t from 'tap';
import { runSecurityScenario } from '../../soak/security.js';

t.test('injections evaluate nothing, hostile handshakes are refused, and no secret reaches the debug log', async (t) => {
  const r = await runSecurityScenario({ payments: 3 });
  t.comment(`${r.injections} injections (${r.refusedWithError} refused with an error, ${r.closedConnection} closed the connection); ${r.handshakes} hostile handshakes; ${r.logLines} log lines searched`);
  t.equal(r.evaluated, 0, 'no injection answered with a value');
  t.notOk(r.markerCreated, 'the marker file was never created');
  t.same(r.stateChanged, [], '.u.w, .u.i, .u.j, .u.t, .u.L, .u.pendingInvoices and the journal unchanged');
  t.equal(r.accepted, 0, 'no wrong password or oversized handshake accepted');
  t.equal(r.controlsAccepted, r.controls, 'the right passwords (plain and md5 in the users file) accepted');
  t.equal(r.proofsAccepted, r.preimages * 2, 'proof of payment works with the preimage in hex and base64');
  t.equal(r.secretHits, 0, 'no macaroon, password or preimage (hex or base64) in the output');
  t.same(r.failures, []);
});
