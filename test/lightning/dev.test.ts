// Behaviour of the development Lightning node (src/lightning/dev.ts): real regtest BOLT11 requests checked
// with the bolt11 package's own decoder, a stable node key, settlement events, expiry and persistence.
import { createECDH, createHash } from 'node:crypto';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import bolt11 from 'bolt11';
import { pino } from 'pino';
import t from 'tap';

import { ManualClock } from '../../src/clock.js';
import type { LightningError } from '../../src/errors.js';
import type { Invoice } from '../../src/payments/backend.js';
import {
  DEFAULT_EXPIRY_SECONDS, DEV_INVOICES_FILE, DEV_NODE_KEY_FILE, DevBackend, FORGET_CANCELED_MS, type DevBackendOptions,
} from '../../src/lightning/dev.js';

const REGTEST = { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] };
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, a whole second

type Sub = Parameters<Parameters<typeof t.test>[0]>[0];
type Open = (name: string, extra?: Partial<DevBackendOptions>) => Promise<DevBackend>;

/**
 * A test whose `open(name)` starts a node on `<testdir>/<name>`. Every node is closed when the body ends,
 * before tap removes the test directory.
 */
function nodeTest(name: string, body: (tt: Sub, open: Open, root: string) => Promise<void>): void {
  t.test(name, async (tt) => {
    const root = tt.testdir();
    const nodes: DevBackend[] = [];
    const open: Open = async (sub, extra = {}) => {
      const node = new DevBackend({ dataDir: join(root, sub), ...extra });
      nodes.push(node);
      await node.start();
      return node;
    };
    try {
      await body(tt, open, root);
    } finally {
      for (const node of nodes.reverse()) await node.close();
    }
  });
}

/** Counts 'settled' events. */
function recordSettled(node: DevBackend): Invoice[] {
  const seen: Invoice[] = [];
  node.on('settled', (inv: Invoice) => seen.push(inv));
  return seen;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function tagData(decoded: ReturnType<typeof bolt11.decode>, name: string): unknown {
  return decoded.tags.find((tag) => tag.tagName === name)?.data;
}

function lnError(code: LightningError['code'], message: string | RegExp): { name: string; code: string; message: string | RegExp } {
  return { name: 'LightningError', code, message };
}

nodeTest('a minted payment request decodes on regtest with the amount, memo, expiry, hash and node pubkey', async (tt, open, root) => {
  const node = await open('n', { now: () => T0 });
  const inv = await node.addInvoice({ valueSat: 250n, memo: 'AAPL 1h', expirySeconds: 600 });
  tt.match(inv.paymentRequest, /^lnbcrt2500n1/);
  const decoded = bolt11.decode(inv.paymentRequest, REGTEST);
  tt.equal(decoded.satoshis, 250);
  tt.equal(decoded.timestamp, T0 / 1000);
  tt.equal(tagData(decoded, 'description'), 'AAPL 1h');
  tt.equal(tagData(decoded, 'expire_time'), 600);
  tt.equal(tagData(decoded, 'min_final_cltv_expiry'), 80);
  tt.equal(tagData(decoded, 'payment_hash'), inv.rHash.toString('hex'));
  tt.match(tagData(decoded, 'payment_secret'), /^[0-9a-f]{64}$/);
  // The signature recovers the key derived independently from the key file.
  const ecdh = createECDH('secp256k1');
  ecdh.setPrivateKey(Buffer.from(readFileSync(join(root, 'n', DEV_NODE_KEY_FILE), 'utf8').trim(), 'hex'));
  tt.equal(decoded.payeeNodeKey, ecdh.getPublicKey('hex', 'compressed'));
  tt.equal(decoded.payeeNodeKey, node.identityPubkey());

  const preimage = node.preimageOf(inv.rHash);
  tt.ok(preimage);
  tt.same(createHash('sha256').update(preimage ?? Buffer.alloc(0)).digest(), inv.rHash);
  tt.match(inv, {
    addIndex: 1n, settleIndex: 0n, state: 'OPEN', valueSat: 250n, amountPaidSat: 0n, memo: 'AAPL 1h',
    creationDate: T0 / 1000, expirySeconds: 600, settleDate: 0,
  });
  const second = await node.addInvoice({ valueSat: 1n, memo: '', expirySeconds: 0 });
  tt.equal(second.addIndex, 2n);
  tt.equal(second.expirySeconds, DEFAULT_EXPIRY_SECONDS, 'expiry 0 means lnd’s 24 h default');
  tt.equal(tagData(bolt11.decode(second.paymentRequest, REGTEST), 'expire_time'), DEFAULT_EXPIRY_SECONDS);
  tt.notSame(second.rHash, inv.rHash);
});

nodeTest('the node key is created once with mode 0600 and reused by the next instance on the same dir', async (tt, open, root) => {
  const first = await open('n');
  const keyPath = join(root, 'n', DEV_NODE_KEY_FILE);
  tt.equal(statSync(keyPath).mode & 0o777, 0o600);
  tt.equal(statSync(join(root, 'n', DEV_INVOICES_FILE)).mode & 0o777, 0o600, 'the invoice file holds preimages');
  const keyText = readFileSync(keyPath, 'utf8');
  const a = await first.addInvoice({ valueSat: 10n, memo: 'a', expirySeconds: 60 });
  await first.close();

  const second = await open('n');
  tt.equal(readFileSync(keyPath, 'utf8'), keyText);
  const b = await second.addInvoice({ valueSat: 10n, memo: 'b', expirySeconds: 60 });
  tt.equal(bolt11.decode(b.paymentRequest, REGTEST).payeeNodeKey, bolt11.decode(a.paymentRequest, REGTEST).payeeNodeKey);

  const other = await open('other');
  tt.not(other.identityPubkey(), second.identityPubkey(), 'a fresh dir gets a fresh identity');
});

nodeTest('pay settles the invoice, returns the preimage and then emits exactly one settled event', async (tt, open) => {
  let now = T0;
  const node = await open('n', { now: () => now });
  const seen = recordSettled(node);
  const inv = await node.addInvoice({ valueSat: 2n, memo: 'MSFT', expirySeconds: 600 });
  now += 5_000;
  const paid = node.pay(inv.paymentRequest);
  tt.equal(seen.length, 0, 'the event comes after pay() returns, as a stream event would');
  tt.same(createHash('sha256').update(paid.preimage).digest(), inv.rHash);
  tt.match(paid.invoice, {
    state: 'SETTLED', settleIndex: 1n, settleDate: T0 / 1000 + 5, amountPaidSat: 2n, addIndex: 1n,
  });
  await tick();
  tt.equal(seen.length, 1);
  tt.same(seen[0]?.rHash, inv.rHash);
  tt.equal(seen[0]?.state, 'SETTLED');
  tt.equal(seen[0]?.settleIndex, 1n);
  tt.equal((await node.lookupInvoice(inv.rHash))?.state, 'SETTLED');
});

nodeTest('paying an invoice twice fails with lnd’s "invoice is already paid" and emits nothing more', async (tt, open) => {
  const node = await open('n');
  const seen = recordSettled(node);
  const inv = await node.addInvoice({ valueSat: 3n, memo: 'x', expirySeconds: 600 });
  node.pay(inv.paymentRequest);
  tt.throws(() => node.pay(inv.paymentRequest), lnError('LN_ERR_PROTOCOL', 'invoice is already paid'));
  tt.throws(() => node.settleByHash(inv.rHash), lnError('LN_ERR_PROTOCOL', 'invoice is already paid'));
  await tick();
  tt.equal(seen.length, 1);
});

nodeTest('settle_index counts settlements in the order they happen, not the order invoices were added', async (tt, open) => {
  const node = await open('n');
  const a = await node.addInvoice({ valueSat: 1n, memo: 'a', expirySeconds: 600 });
  const b = await node.addInvoice({ valueSat: 1n, memo: 'b', expirySeconds: 600 });
  tt.equal(node.settleByHash(b.rHash).invoice.settleIndex, 1n);
  tt.equal(node.pay(a.paymentRequest).invoice.settleIndex, 2n);
});

nodeTest('autopay settles each invoice once the configured delay has passed', async (tt, open) => {
  const clock = new ManualClock(BigInt(T0) * 1_000_000n);
  const now = (): number => Number(clock.nowNanos() / 1_000_000n);
  const node = await open('n', { autopayMs: 20, now, timers: clock });
  const seen = recordSettled(node);
  const inv = await node.addInvoice({ valueSat: 5n, memo: 'demo', expirySeconds: 600 });
  clock.advanceMs(19);
  await tick();
  tt.equal(seen.length, 0, 'not before the delay');
  tt.equal((await node.lookupInvoice(inv.rHash))?.state, 'OPEN');
  clock.advanceMs(1);
  await tick();
  const settled = seen[0] as Invoice;
  tt.equal(seen.length, 1, 'settled at the delay');
  tt.same(settled.rHash, inv.rHash);
  tt.equal(settled.amountPaidSat, 5n);
  tt.equal((await node.lookupInvoice(inv.rHash))?.state, 'SETTLED');
});

nodeTest('an OPEN invoice past creation + expiry becomes CANCELED silently and can no longer be paid', async (tt, open) => {
  let now = T0;
  const node = await open('n', { now: () => now });
  const seen = recordSettled(node);
  const inv = await node.addInvoice({ valueSat: 7n, memo: 'IBM', expirySeconds: 60 });
  now = T0 + 60_000;
  tt.equal((await node.lookupInvoice(inv.rHash))?.state, 'OPEN', 'still payable at the deadline');
  now = T0 + 60_001;
  tt.equal((await node.lookupInvoice(inv.rHash))?.state, 'CANCELED');
  tt.throws(() => node.pay(inv.paymentRequest), lnError('LN_ERR_PROTOCOL', 'invoice expired'));
  tt.throws(() => node.settleByHash(inv.rHash), lnError('LN_ERR_PROTOCOL', 'invoice expired'));
  await tick();
  tt.equal(seen.length, 0, 'no event for a cancellation, as on lnd’s SubscribeInvoices');
  tt.ok(node.preimageOf(inv.rHash), 'the node still knows the preimage');
});

nodeTest('the expiry timer cancels an invoice that nobody looks at', async (tt, open, root) => {
  const lines: string[] = [];
  let heard = (): void => {};
  const expired = new Promise<void>((resolve) => { heard = resolve; });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const line = chunk.toString();
      lines.push(line);
      if (line.includes('"invoice expired"')) heard();
      done();
    },
  });
  // One ms before a second boundary, so the 1 s expiry's deadline is 1 ms away: the node's timer fires
  // when the clock passes it, with no lookup in between.
  const clock = new ManualClock(BigInt(T0 + 999) * 1_000_000n);
  const now = (): number => Number(clock.nowNanos() / 1_000_000n);
  const node = await open('n', { now, timers: clock, log: pino({ level: 'debug' }, sink) });
  const inv = await node.addInvoice({ valueSat: 1n, memo: 'x', expirySeconds: 1 });
  clock.advanceMs(2);
  await expired;
  const onDisk = readFileSync(join(root, 'n', DEV_INVOICES_FILE), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as { rHash: string; state: string });
  tt.match(onDisk.at(-1), { rHash: inv.rHash.toString('hex'), state: 'CANCELED' }, 'recorded without any lookup');
  const preimage = node.preimageOf(inv.rHash)?.toString('hex') ?? 'missing';
  tt.notOk(lines.some((l) => l.includes(preimage)), 'no preimage in logs');
});

nodeTest('a restart keeps invoices, their states, preimages and both indices', async (tt, open) => {
  let now = T0;
  const first = await open('n', { now: () => now });
  const a = await first.addInvoice({ valueSat: 10n, memo: 'paid', expirySeconds: 600 });
  const b = await first.addInvoice({ valueSat: 20n, memo: 'open', expirySeconds: 600 });
  const c = await first.addInvoice({ valueSat: 30n, memo: 'expires', expirySeconds: 60 });
  first.pay(a.paymentRequest);
  const preimageA = first.preimageOf(a.rHash);
  await first.close();

  now = T0 + 120_000;
  const second = await open('n', { now: () => now });
  tt.match(await second.lookupInvoice(a.rHash), { state: 'SETTLED', settleIndex: 1n, amountPaidSat: 10n, memo: 'paid' });
  tt.match(await second.lookupInvoice(b.rHash), { state: 'OPEN', addIndex: 2n, paymentRequest: b.paymentRequest });
  tt.match(await second.lookupInvoice(c.rHash), { state: 'CANCELED', addIndex: 3n }, 'expired while down');
  tt.same(second.preimageOf(a.rHash), preimageA);
  tt.throws(() => second.pay(a.paymentRequest), lnError('LN_ERR_PROTOCOL', 'invoice is already paid'));
  tt.equal((await second.addInvoice({ valueSat: 1n, memo: 'd', expirySeconds: 600 })).addIndex, 4n);
  tt.equal(second.pay(b.paymentRequest).invoice.settleIndex, 2n);
});

nodeTest('invoices survive a crash without close(), and a torn last line is dropped', async (tt, open, root) => {
  const first = await open('n');
  const a = await first.addInvoice({ valueSat: 10n, memo: 'a', expirySeconds: 600 });
  first.pay(a.paymentRequest);
  const file = join(root, 'n', DEV_INVOICES_FILE);
  appendFileSync(file, '{"rHash":"00'); // killed mid-append

  const second = await open('n');
  tt.match(await second.lookupInvoice(a.rHash), { state: 'SETTLED', addIndex: 1n, settleIndex: 1n });
  tt.equal((await second.addInvoice({ valueSat: 1n, memo: 'b', expirySeconds: 600 })).addIndex, 2n);
  await second.close();
  tt.equal(readFileSync(file, 'utf8').trim().split('\n').length, 2, 'compacted to one line per invoice on close');
});

nodeTest('a corrupt line in the middle of the invoice file stops start() instead of losing invoices', async (tt, open, root) => {
  const first = await open('n');
  await first.addInvoice({ valueSat: 1n, memo: 'a', expirySeconds: 600 });
  await first.close();
  const file = join(root, 'n', DEV_INVOICES_FILE);
  writeFileSync(file, 'not json\n' + readFileSync(file, 'utf8'));
  await tt.rejects(open('n'), { code: 'JOURNAL_ERR_CORRUPT', message: /line 1/ });
});

nodeTest('bad requests are rejected with lnd’s messages and consume no add_index', async (tt, open) => {
  const node = await open('n');
  const req = { valueSat: 1n, memo: 'ok', expirySeconds: 600 };
  await tt.rejects(node.addInvoice({ ...req, valueSat: -1n }), lnError('LN_ERR_PROTOCOL', 'amount cannot be negative'));
  await tt.rejects(node.addInvoice({ ...req, valueSat: 10_000_000_000_001n }),
    lnError('LN_ERR_PROTOCOL', 'invoice amount 100000.00000001 BTC is too large, max is 100000 BTC'));
  await tt.rejects(node.addInvoice({ ...req, memo: 'é'.repeat(513) }),
    lnError('LN_ERR_PROTOCOL', 'memo too large: 1026 bytes (maxsize=1024)'));
  await tt.rejects(node.addInvoice({ ...req, memo: 'm'.repeat(640) }),
    lnError('LN_ERR_PROTOCOL', 'data length too big to fit within 10 bits'));
  await tt.rejects(node.addInvoice({ ...req, expirySeconds: 31_536_001 }),
    lnError('LN_ERR_PROTOCOL', 'expiry of 31536001 seconds greater than max expiry of 31536000 seconds'));
  await tt.rejects(node.addInvoice({ ...req, expirySeconds: -1 }), lnError('LN_ERR_PROTOCOL', /negative/));
  await tt.rejects(node.addInvoice({ ...req, expirySeconds: 1.5 }), lnError('LN_ERR_PROTOCOL', /whole number/));
  await tt.rejects(node.lookupInvoice(Buffer.alloc(31)),
    lnError('LN_ERR_PROTOCOL', 'payment hash must be exactly 32 bytes, is instead 31'));
  tt.equal(await node.lookupInvoice(Buffer.alloc(32)), undefined, 'an unknown hash is undefined');

  const inv = await node.addInvoice({ ...req, memo: 'm'.repeat(639) });
  tt.equal(inv.addIndex, 1n, 'the longest memo BOLT11 can carry is accepted, and rejections used no index');
  tt.throws(() => node.pay('lnbcrt1garbage'), lnError('LN_ERR_PROTOCOL', /^invalid payment request/));
  tt.throws(() => node.pay(inv.paymentRequest.slice(0, -8) + 'qqqqqqqq'), lnError('LN_ERR_PROTOCOL', /^invalid payment request/));
  tt.throws(() => node.settleByHash(Buffer.alloc(32)), lnError('LN_ERR_PROTOCOL', 'invoice not found'));
  const stranger = await open('stranger');
  const theirs = await stranger.addInvoice(req);
  tt.throws(() => node.pay(theirs.paymentRequest), lnError('LN_ERR_PROTOCOL', 'invoice not found'),
    'another node’s request is not ours to settle');
  tt.throws(() => new DevBackend({ dataDir: '' }), { code: 'CONFIG_ERR_INVALID' });
  tt.throws(() => new DevBackend({ dataDir: 'x', autopayMs: -1 }), { code: 'CONFIG_ERR_INVALID' });
});

nodeTest('an any-amount invoice carries no amount and needs one from the payer', async (tt, open) => {
  const node = await open('n');
  const inv = await node.addInvoice({ valueSat: 0n, memo: 'tip', expirySeconds: 600 });
  tt.match(inv.paymentRequest, /^lnbcrt1/);
  tt.equal(bolt11.decode(inv.paymentRequest, REGTEST).satoshis, null);
  tt.throws(() => node.pay(inv.paymentRequest),
    lnError('LN_ERR_PROTOCOL', 'amount must be specified when paying a zero amount invoice'));
  tt.equal(node.pay(inv.paymentRequest, 42n).invoice.amountPaidSat, 42n);
  const priced = await node.addInvoice({ valueSat: 5n, memo: 'p', expirySeconds: 600 });
  tt.throws(() => node.pay(priced.paymentRequest, 5n),
    lnError('LN_ERR_PROTOCOL', 'amount must not be specified when paying a non-zero amount invoice'));
});

nodeTest('calls before start() fail as unavailable while status() stays up', async (tt, _open, root) => {
  const node = new DevBackend({ dataDir: join(root, 'n') });
  tt.same(node.status(), { up: true });
  tt.equal(node.kind, 'dev');
  await tt.rejects(node.addInvoice({ valueSat: 1n, memo: '', expirySeconds: 0 }),
    lnError('LN_ERR_UNAVAILABLE', 'dev lightning node is not started'));
  tt.throws(() => node.pay('lnbcrt1x'), { code: 'LN_ERR_UNAVAILABLE' });
  await node.close(); // closing a node that never started is harmless
});

nodeTest('minting one invoice takes a few milliseconds', async (tt, open) => {
  const node = await open('n');
  await node.addInvoice({ valueSat: 1n, memo: 'warm-up', expirySeconds: 600 });
  const n = 50;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    await node.addInvoice({ valueSat: BigInt(i + 1), memo: `SYM${i} 1h`, expirySeconds: 600 });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((x, y) => x - y);
  const median = times[Math.floor(n / 2)] ?? 0;
  const mean = times.reduce((sum, x) => sum + x, 0) / n;
  tt.comment(`mint: median ${median.toFixed(2)} ms, mean ${mean.toFixed(2)} ms, max ${(times.at(-1) ?? 0).toFixed(2)} ms over ${n}`);
  tt.ok(median < 50, 'well under 50 ms, which a paywall can afford per request');
});

nodeTest('an expired invoice is reported canceled and forgotten an hour later, so memory and the file stay bounded', async (tt, open, root) => {
  let now = T0;
  const node = await open('n', { now: () => now });
  const canceled: Invoice[] = [];
  node.on('canceled', (inv: Invoice) => canceled.push(inv));
  const inv = await node.addInvoice({ valueSat: 1n, memo: 'x', expirySeconds: 60 });
  now = T0 + 60_001;
  tt.equal((await node.lookupInvoice(inv.rHash))?.state, 'CANCELED');
  await tick();
  tt.same(canceled.map((c) => c.rHash), [inv.rHash], "the paywall hears of it (lnd's SubscribeInvoices would not)");
  now += FORGET_CANCELED_MS;
  const next = await node.addInvoice({ valueSat: 1n, memo: 'y', expirySeconds: 600 });
  tt.equal(await node.lookupInvoice(inv.rHash), undefined, 'forgotten');
  await node.close();
  const lines = readFileSync(join(root, 'n', DEV_INVOICES_FILE), 'utf8').trim().split('\n');
  tt.equal(lines.length, 1, 'compacted on close');
  const again = await open('n', { now: () => now });
  tt.equal((await again.addInvoice({ valueSat: 1n, memo: 'z', expirySeconds: 600 })).addIndex, next.addIndex + 1n, 'add_index never goes back');
});
