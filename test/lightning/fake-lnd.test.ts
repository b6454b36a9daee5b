// The fake lnd (test/helpers/fake-lnd.ts) checked with a bare grpc-js client, so that the other lnd tests
// rest on lnd's real semantics: lightning.md §2.2 (macaroon errors) and §3.1–3.6 (what a fake must do).
import { createHash, randomBytes } from 'node:crypto';
import { Client, Metadata, credentials, status } from '@grpc/grpc-js';
import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import bolt11 from 'bolt11';
import t from 'tap';
import { lndMethod } from '../../src/lightning/lnd-proto.js';
import type { LndMethodName } from '../../src/lightning/lnd-proto.js';
import { FAKE_LND_CERT } from '../helpers/fake-lnd.js';
import type { FakeLnd } from '../helpers/fake-lnd.js';
import { fakeFor } from './lnd-harness.js';
import type { WithTeardown } from './lnd-harness.js';

type Msg = Readonly<Record<string, unknown>>;

/** A bare client: `macaroon` null sends no macaroon metadata at all. */
function bare(t: WithTeardown, fake: FakeLnd, macaroon: Buffer | null = fake.macaroon) {
  const client = new Client(fake.host, credentials.createSsl(FAKE_LND_CERT));
  t.teardown(() => client.close());
  const metadata = (): Metadata => {
    const md = new Metadata();
    if (macaroon) md.set('macaroon', macaroon.toString('hex'));
    return md;
  };
  return {
    call(name: Exclude<LndMethodName, 'SubscribeInvoices'>, request: object): Promise<Msg> {
      const m = lndMethod(name);
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, metadata(),
          (err: ServiceError | null, reply?: object) => (err ? reject(err) : resolve((reply ?? {}) as Msg)));
      });
    },
    subscribe(request: { add_index: number; settle_index: number }): ClientReadableStream<Msg> {
      const m = lndMethod('SubscribeInvoices');
      return client.makeServerStreamRequest<object, Msg>(m.path, m.requestSerialize,
        (b) => m.responseDeserialize(b) as Msg, request, metadata());
    },
  };
}

/** Messages of `stream` up to and including the first one whose add_index is `until`. */
function collect(stream: ClientReadableStream<Msg>, until: string): Promise<Msg[]> {
  const got: Msg[] = [];
  return new Promise((resolve, reject) => {
    stream.on('data', (m: Msg) => {
      got.push(m);
      if (m['add_index'] === until) resolve(got);
    });
    stream.on('error', (err: Error) => { if ((err as ServiceError).code !== status.CANCELLED) reject(err); });
  });
}

/** The status a call failed with (a call that succeeds fails the test). */
async function failure(call: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('the call succeeded');
}

const brief = (m: Msg): string => `${String(m['add_index'])}:${String(m['state'])}`;

t.test('calls without the macaroon, or with another one, fail like lnd', async (t) => {
  const fake = await fakeFor(t);
  t.match(await failure(bare(t, fake, null).call('ListInvoices', {})), { code: status.UNKNOWN, details: 'expected 1 macaroon, got 0' });
  t.match(await failure(bare(t, fake, randomBytes(64)).call('ListInvoices', {})),
    { code: status.UNKNOWN, details: 'verification failed: signature mismatch after caveat verification' });
  t.match(await failure(bare(t, fake).call('GetInfo', {})), { code: status.UNKNOWN, details: 'permission denied' },
    'GetInfo needs info:read, which invoice.macaroon lacks');
  fake.refuse = true;
  t.match(await failure(bare(t, fake).call('ListInvoices', {})), { details: /in the process of starting up/ });
});

t.test('AddInvoice keeps lnd\'s rules and returns a signed regtest request', async (t) => {
  const fake = await fakeFor(t);
  const lnd = bare(t, fake);
  t.match(await failure(lnd.call('AddInvoice', { value: 1, value_msat: 1000 })), { details: 'sat and msat arguments are mutually exclusive' });
  t.match(await failure(lnd.call('AddInvoice', { memo: 'x'.repeat(1025) })), { details: /^memo too large/ });
  t.match(await failure(lnd.call('AddInvoice', { memo: 'x'.repeat(700) })), { details: 'data length too big to fit within 10 bits' });
  const preimage = randomBytes(32);
  const first = await lnd.call('AddInvoice', { value_msat: 1500, memo: 'msat', r_preimage: preimage });
  t.same(first['r_hash'], createHash('sha256').update(preimage).digest());
  t.equal(first['add_index'], '1');
  t.equal((first['payment_addr'] as Buffer).length, 32);
  const decoded = bolt11.decode(String(first['payment_request']));
  t.equal(decoded.millisatoshis, '1500');
  t.equal(decoded.tagsObject.payment_secret, (first['payment_addr'] as Buffer).toString('hex'));
  t.equal(decoded.tagsObject.min_final_cltv_expiry, 80);
  t.equal(decoded.tagsObject.expire_time, 86_400, 'lnd\'s default expiry');
  t.match(await failure(lnd.call('AddInvoice', { r_preimage: preimage })), { details: 'invoice with payment hash already exists' });
  t.equal((await lnd.call('AddInvoice', { value: 2 }))['add_index'], '2');
});

t.test('SubscribeInvoices replays after the indices: adds then settles, current state, canceled dropped', async (t) => {
  const fake = await fakeFor(t);
  const lnd = bare(t, fake);
  const [i1, i2, i3] = [fake.add({ value: 1n }), fake.add({ value: 2n }), fake.add({ value: 3n })];
  fake.add({ value: 4n });
  fake.settle(i3.rHash);
  fake.settle(i1.rHash);
  fake.expire(i2.rHash);
  const none = lnd.subscribe({ add_index: 0, settle_index: 0 });
  const adds = lnd.subscribe({ add_index: 1, settle_index: 0 });
  const both = lnd.subscribe({ add_index: 1, settle_index: 1 });
  const results = [collect(none, '5'), collect(adds, '5'), collect(both, '5')];
  await fake.streamsOpen(3);
  fake.add({ value: 5n });
  const [fromNone, fromAdds, fromBoth] = await Promise.all(results);
  t.same(fromNone?.map(brief), ['5:OPEN'], '0 means no backlog');
  t.same(fromAdds?.map(brief), ['3:SETTLED', '4:OPEN', '5:OPEN']);
  t.same(fromBoth?.map(brief), ['3:SETTLED', '4:OPEN', '1:SETTLED', '5:OPEN'], 'settle_index 2 (#1) is after 1');
  for (const s of [none, adds, both]) s.cancel();
});

t.test('live events are OPEN adds and SETTLED settles; expiry stays silent', async (t) => {
  const fake = await fakeFor(t);
  const stream = bare(t, fake).subscribe({ add_index: 0, settle_index: 0 });
  const events = collect(stream, '3');
  await fake.streamsOpen();
  const a = fake.add({ value: 10n });
  const b = fake.add({ value: 20n });
  fake.expire(b.rHash);
  fake.settle(a.rHash, 12_000n);
  fake.add({ value: 30n });
  const got = await events;
  t.same(got.map(brief), ['1:OPEN', '2:OPEN', '1:SETTLED', '3:OPEN']);
  const settled = got[2] ?? {};
  t.match(settled, { settled: true, settle_index: '1', amt_paid_sat: '12', amt_paid_msat: '12000', amt_paid: '12000' });
  stream.cancel();
});

t.test('LookupInvoice checks the hash length and answers NOT_FOUND for an unknown one', async (t) => {
  const fake = await fakeFor(t);
  const lnd = bare(t, fake);
  const inv = fake.add({ value: 7n, memo: 'look' });
  t.match(await lnd.call('LookupInvoice', { r_hash: inv.rHash }), { memo: 'look', value: '7', state: 'OPEN' });
  t.match(await lnd.call('LookupInvoice', { r_hash_str: inv.rHash.toString('hex') }), { memo: 'look' });
  t.match(await failure(lnd.call('LookupInvoice', { r_hash: Buffer.alloc(5) })),
    { code: status.UNKNOWN, details: 'payment hash must be exactly 32 bytes, is instead 5' });
  t.match(await failure(lnd.call('LookupInvoice', { r_hash: randomBytes(32) })), { code: status.NOT_FOUND, details: 'unable to locate invoice' });
});

t.test('ListInvoices pages by add_index forwards and backwards', async (t) => {
  const fake = await fakeFor(t);
  const lnd = bare(t, fake);
  for (let i = 0; i < 5; i++) fake.add({ value: BigInt(i + 1) });
  const page = await lnd.call('ListInvoices', { index_offset: 1, num_max_invoices: 2 });
  t.same((page['invoices'] as Msg[]).map(brief), ['2:OPEN', '3:OPEN']);
  t.match(page, { first_index_offset: '2', last_index_offset: '3' });
  const newest = await lnd.call('ListInvoices', { reversed: true, num_max_invoices: 1 });
  t.same((newest['invoices'] as Msg[]).map(brief), ['5:OPEN']);
  const before = await lnd.call('ListInvoices', { reversed: true, index_offset: 4, num_max_invoices: 2 });
  t.same((before['invoices'] as Msg[]).map(brief), ['2:OPEN', '3:OPEN']);
  const empty = await lnd.call('ListInvoices', { index_offset: 5 });
  t.same(empty['invoices'], []);
});

t.test('stop ends streams with status OK and restart serves the same invoices on the same port', async (t) => {
  const fake = await fakeFor(t);
  const inv = fake.add({ value: 1n });
  const lnd = bare(t, fake);
  const stream = lnd.subscribe({ add_index: 0, settle_index: 0 });
  const ended = new Promise<number>((resolve) => stream.on('status', (s: { code: number }) => resolve(s.code)));
  stream.on('error', () => undefined);
  await fake.streamsOpen();
  const port = fake.port;
  await fake.stop();
  t.equal(await ended, status.OK);
  await fake.restart();
  t.equal(fake.port, port);
  t.match(await lnd.call('LookupInvoice', { r_hash: inv.rHash }), { add_index: '1' });
});

t.test("macaroon permissions per method: invoice.macaroon mints and reads, readonly.macaroon cannot AddInvoice", async (t) => {
  const readonlyMacaroon = randomBytes(64);
  const fake = await fakeFor(t, { readonlyMacaroon });
  const invoice = bare(t, fake);
  const added = await invoice.call('AddInvoice', { value: 10, memo: 'x' });
  t.ok(await invoice.call('LookupInvoice', { r_hash: added['r_hash'] }), 'LookupInvoice');
  t.ok(await invoice.call('ListInvoices', {}), 'ListInvoices');
  const stream = invoice.subscribe({ add_index: 0, settle_index: 0 });
  const seen = collect(stream, '2');
  await fake.streamsOpen(1);
  fake.add({ value: 1n });
  t.equal((await seen).length, 1, 'SubscribeInvoices');
  stream.cancel();
  const readonly = bare(t, fake, readonlyMacaroon);
  t.match(await failure(readonly.call('AddInvoice', { value: 10 })), { code: status.UNKNOWN, details: 'permission denied' });
  t.ok(await readonly.call('LookupInvoice', { r_hash: added['r_hash'] }), 'a readonly macaroon reads');
  t.ok(await readonly.call('GetInfo', {}), 'and has info:read');
});

t.test("lnd's expiry watcher cancels an OPEN invoice at creation_date + expiry, visible to lookups, never streamed", async (t) => {
  let now = 1_767_225_600_000;
  const fake = await fakeFor(t, { now: () => now });
  const lnd = bare(t, fake);
  const added = await lnd.call('AddInvoice', { value: 10, expiry: 60 });
  now += 60_000;
  t.equal((await lnd.call('LookupInvoice', { r_hash: added['r_hash'] }))['state'], 'OPEN', 'payable at the deadline');
  now += 1;
  t.equal((await lnd.call('LookupInvoice', { r_hash: added['r_hash'] }))['state'], 'CANCELED');
  const listed = await lnd.call('ListInvoices', {});
  t.match(listed['invoices'], [{ state: 'CANCELED' }]);
  t.throws(() => fake.settle(added['r_hash'] as Buffer), /CANCELED/, 'a payment to it fails');
});

t.test('keysend and AMP payments and other applications\' invoices settle on the node with lnd\'s flags', async (t) => {
  const fake = await fakeFor(t);
  const lnd = bare(t, fake);
  const stream = lnd.subscribe({ add_index: 0, settle_index: 0 });
  const seen: Msg[] = [];
  stream.on('data', (m: Msg) => seen.push(m));
  stream.on('error', () => undefined);
  await fake.streamsOpen(1);
  const k = fake.keysend(5n);
  const a = fake.amp(6n);
  const f = fake.foreign(7n);
  const settled = async (): Promise<Msg[]> => {
    for (let i = 0; i < 200 && seen.filter((m) => m['state'] === 'SETTLED').length < 3; i++) await new Promise((r) => setTimeout(r, 5));
    return seen.filter((m) => m['state'] === 'SETTLED');
  };
  const got = await settled();
  t.match(got, [
    { r_hash: k.rHash, is_keysend: true, is_amp: false, payment_request: '', amt_paid_sat: '5' },
    { r_hash: a.rHash, is_keysend: false, is_amp: true, amt_paid_sat: '6' },
    { r_hash: f.rHash, is_keysend: false, is_amp: false, amt_paid_sat: '7', memo: 'coffee' },
  ]);
  stream.cancel();
  fake.add({ value: 1n });
  const open = fake.invoices().at(-1);
  fake.cancel(open?.rHash as Buffer);
  t.equal((await lnd.call('LookupInvoice', { r_hash: open?.rHash }))['state'], 'CANCELED', 'CancelInvoice');
});
