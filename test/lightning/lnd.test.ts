// Behaviour of the lnd gRPC backend (src/lightning/lnd.ts) against a real grpc-js fake lnd over TLS:
// invoices, settlement without loss across stream ends and restarts, auth and reachability errors, logs.
// Facts: ../shared/reference/lightning.md §2 (auth), §3.2–3.6 (replay, client pattern, fake).
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bolt11 from 'bolt11';
import t from 'tap';
import { LightningError } from '../../src/errors.js';
import { OTHER_CERT } from '../helpers/fake-lnd.js';
import { SettledLog, clientFor, fakeFor, statusWhere, tempDir } from './lnd-harness.js';

const REGTEST = { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] };
const sub = { valueSat: 200n, memo: 'Invoice:trade| AAPL GOOGL', expirySeconds: 3600 };

t.test('addInvoice returns a payment request that decodes to the amount, memo and hash', async (t) => {
  const fake = await fakeFor(t);
  const client = clientFor(t, fake);
  await client.start();
  t.same(client.status(), { up: true });
  const invoice = await client.addInvoice(sub);
  const decoded = bolt11.decode(invoice.paymentRequest, REGTEST);
  t.ok(invoice.paymentRequest.startsWith('lnbcrt2u1'), 'a regtest request for 200 sat');
  t.equal(decoded.satoshis, 200);
  t.equal(decoded.tagsObject.description, sub.memo);
  t.equal(decoded.tagsObject.payment_hash, invoice.rHash.toString('hex'));
  t.equal(decoded.tagsObject.expire_time, 3600);
  t.equal(invoice.addIndex, 1n);
  t.equal(invoice.state, 'OPEN');
  t.equal(invoice.valueSat, 200n);
  t.ok(fake.find(invoice.rHash), 'lnd stored it');
  const looked = await client.lookupInvoice(invoice.rHash);
  t.equal(looked?.memo, sub.memo);
  t.equal(await client.lookupInvoice(randomBytes(32)), undefined, 'an unknown hash is undefined');
});

t.test('a settle is reported once, with lnd\'s settle fields', async (t) => {
  const fake = await fakeFor(t);
  const client = clientFor(t, fake);
  const settled = new SettledLog(client);
  await client.start();
  const first = await client.addInvoice(sub);
  const second = await client.addInvoice({ ...sub, memo: 'second' });
  fake.settle(first.rHash);
  const got = await settled.waitFor(first.rHash);
  t.equal(got.state, 'SETTLED');
  t.equal(got.settleIndex, 1n);
  t.equal(got.amountPaidSat, 200n);
  t.equal(got.addIndex, 1n);
  fake.settle(second.rHash);
  await settled.waitFor(second.rHash);
  t.equal(settled.count(first.rHash), 1);
  t.equal(settled.seen.length, 2, 'OPEN add events are not reported');
});

t.test('an expired invoice is never reported and looks CANCELED on lookup', async (t) => {
  const fake = await fakeFor(t);
  const client = clientFor(t, fake);
  const settled = new SettledLog(client);
  await client.start();
  const expired = await client.addInvoice(sub);
  const paid = await client.addInvoice({ ...sub, memo: 'paid' });
  fake.expire(expired.rHash);
  fake.settle(paid.rHash);
  await settled.waitFor(paid.rHash);
  t.equal(settled.count(expired.rHash), 0);
  t.equal((await client.lookupInvoice(expired.rHash))?.state, 'CANCELED');
});

t.test('a stream ended with status OK reconnects and still reports a settle made meanwhile', async (t) => {
  const fake = await fakeFor(t);
  const client = clientFor(t, fake);
  const settled = new SettledLog(client);
  await client.start();
  const invoice = await client.addInvoice(sub);
  await fake.streamsOpen();
  const down = statusWhere(client, (s) => !s.up);
  fake.endStreams();
  fake.settle(invoice.rHash); // no stream is listening now
  t.match((await down).reason, /ended the invoice subscription/);
  await statusWhere(client, (s) => s.up);
  await settled.waitFor(invoice.rHash);
  t.equal(settled.count(invoice.rHash), 1);
});

t.test('a settle made while lnd restarts is reported after the client reconnects by itself', async (t) => {
  const fake = await fakeFor(t);
  const client = clientFor(t, fake);
  const settled = new SettledLog(client);
  await client.start();
  const early = await client.addInvoice(sub);
  const late = await client.addInvoice({ ...sub, memo: 'late' });
  fake.settle(early.rHash);
  await settled.waitFor(early.rHash);
  await fake.stop();
  fake.settle(late.rHash);
  await statusWhere(client, (s) => !s.up);
  await fake.restart();
  await settled.waitFor(late.rHash);
  t.equal(settled.count(early.rHash), 1);
  t.equal(settled.count(late.rHash), 1);
});

t.test('replayed settles are reported once per process', async (t) => {
  const fake = await fakeFor(t);
  const client = clientFor(t, fake);
  const settled = new SettledLog(client);
  await client.start();
  const invoice = await client.addInvoice(sub);
  fake.settle(invoice.rHash);
  await settled.waitFor(invoice.rHash);
  for (let i = 0; i < 3; i++) { // each reconnect re-lists and replays the settle backlog
    await fake.streamsOpen();
    const down = statusWhere(client, (s) => !s.up);
    if (i % 2 === 0) fake.endStreams();
    else fake.dropStreams();
    await down;
    await statusWhere(client, (s) => s.up);
  }
  const marker = await client.addInvoice({ ...sub, memo: 'marker' });
  fake.settle(marker.rHash);
  await settled.waitFor(marker.rHash);
  t.equal(settled.count(invoice.rHash), 1);
});

t.test('settles racing stream drops are all reported exactly once', async (t) => {
  const fake = await fakeFor(t);
  const client = clientFor(t, fake, { pageSize: 3 });
  const settled = new SettledLog(client);
  await client.start();
  const hashes: Buffer[] = [];
  for (let i = 0; i < 12; i++) hashes.push((await client.addInvoice({ ...sub, memo: `n${i}` })).rHash);
  for (let i = 0; i < hashes.length; i++) {
    fake.settle(hashes[(i * 5) % hashes.length] ?? Buffer.alloc(0)); // out of add order
    if (i % 3 === 0) fake.endStreams();
    if (i % 4 === 1) fake.dropStreams();
    if (i % 2 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  for (const h of hashes) await settled.waitFor(h);
  t.same(hashes.map((h) => settled.count(h)), hashes.map(() => 1));
});

t.test('a restarted client resumes from its state file and reports a settle made while it was down', async (t) => {
  const fake = await fakeFor(t);
  const stateFile = join(tempDir(t), 'lnd-cursor.json');
  const before = clientFor(t, fake, { stateFile });
  const beforeSettled = new SettledLog(before);
  await before.start();
  const a = await before.addInvoice(sub);
  const b = await before.addInvoice({ ...sub, memo: 'b' });
  fake.settle(a.rHash);
  await beforeSettled.waitFor(a.rHash);
  await before.close();
  t.same(JSON.parse(readFileSync(stateFile, 'utf8')), { addIndex: '2', settleIndex: '1' });

  fake.settle(b.rHash);
  const after = clientFor(t, fake, { stateFile, replayMargin: 0 });
  const afterSettled = new SettledLog(after);
  await after.start();
  await afterSettled.waitFor(b.rHash);
  t.equal(afterSettled.count(a.rHash), 0, 'resumed after the saved settle instead of rescanning');
  await after.close();
  t.same(JSON.parse(readFileSync(stateFile, 'utf8')), { addIndex: '2', settleIndex: '2' });
});

t.test('a state file ahead of lnd (a reset node) falls back to a full rescan', async (t) => {
  const fake = await fakeFor(t);
  const stateFile = join(tempDir(t), 'lnd-cursor.json');
  writeFileSync(stateFile, JSON.stringify({ addIndex: '50', settleIndex: '20' }));
  const inv = fake.add({ memo: 'fresh node', value: 5n });
  fake.settle(inv.rHash);
  const client = clientFor(t, fake, { stateFile });
  const settled = new SettledLog(client);
  await client.start();
  await settled.waitFor(inv.rHash);
  t.match(client.logged.join(''), /fewer invoices than the saved cursor/);
});

t.test('a wrong macaroon leaves the backend down with lnd\'s reason and addInvoice rejected', async (t) => {
  const fake = await fakeFor(t);
  const client = clientFor(t, fake, { macaroon: randomBytes(64) });
  await client.start();
  const status = client.status();
  t.equal(status.up, false);
  t.match(status.reason, /^lnd rejected the macaroon \(verification failed: signature mismatch after caveat verification\)$/);
  await t.rejects(client.addInvoice(sub), new LightningError('LN_ERR_UNAVAILABLE', 'lightning unavailable'));
  await t.rejects(client.addInvoice(sub), { code: 'LN_ERR_UNAVAILABLE', message: 'lightning unavailable' });
});

t.test('a TLS certificate that is not lnd\'s is reported as such', async (t) => {
  const fake = await fakeFor(t);
  const client = clientFor(t, fake, { tlsCert: OTHER_CERT });
  await client.start();
  t.equal(client.status().up, false);
  t.match(client.status().reason, new RegExp(`^lnd's TLS certificate at ${fake.host} is not the configured tlsCert \\(14 UNAVAILABLE: `));
});

t.test('an lnd that is down at start is reported unreachable, then joined once it comes up', async (t) => {
  const fake = await fakeFor(t);
  await fake.stop();
  const client = clientFor(t, fake);
  await client.start();
  t.equal(client.status().up, false);
  t.match(client.status().reason, new RegExp(`^lnd unreachable at ${fake.host} \\(14 UNAVAILABLE: `));
  await t.rejects(client.addInvoice(sub), { code: 'LN_ERR_UNAVAILABLE' });
  await fake.restart();
  await statusWhere(client, (s) => s.up);
  const invoice = await client.addInvoice(sub);
  t.equal(invoice.addIndex, 1n);
});

t.test('an lnd that is still starting up is reported not ready until it is', async (t) => {
  const fake = await fakeFor(t);
  fake.refuse = true;
  const client = clientFor(t, fake);
  await client.start();
  t.match(client.status().reason, /^lnd at 127\.0\.0\.1:\d+ is not ready \(the RPC server is in the process of starting up/);
  fake.refuse = false;
  await statusWhere(client, (s) => s.up);
});

t.test('the macaroon never reaches the logs, whichever way the connection goes', async (t) => {
  const fake = await fakeFor(t, { allowGetInfo: true });
  const good = clientFor(t, fake);
  const wrongMacaroon = randomBytes(64);
  const bad = clientFor(t, fake, { macaroon: wrongMacaroon });
  await good.start();
  await bad.start();
  const settled = new SettledLog(good);
  const invoice = await good.addInvoice(sub);
  fake.settle(invoice.rHash);
  await settled.waitFor(invoice.rHash);
  await fake.streamsOpen();
  const down = statusWhere(good, (s) => !s.up);
  fake.endStreams();
  await down;
  await statusWhere(good, (s) => s.up);
  await good.close();
  await bad.close();
  const logs = good.logged.join('') + bad.logged.join('');
  t.match(logs, /lnd node/, 'GetInfo, when permitted, gives one info line');
  t.match(logs, /lnd rejected the macaroon/);
  for (const mac of [fake.macaroon, wrongMacaroon]) {
    for (const encoding of ['hex', 'base64', 'base64url'] as const) {
      t.notOk(logs.includes(mac.toString(encoding)), `no ${encoding} macaroon in the logs`);
    }
  }
});
