// The revenue ledger: one JSON line per settled invoice of ours, recorded once per payment hash, kept
// in memory and retried when the disk refuses it, and read back whole after a restart.
import t from 'tap';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/log.js';
import { openAppendFile } from '../../src/payments/append-file.js';
import { Ledger } from '../../src/payments/ledger.js';
import type { LedgerEntry } from '../../src/payments/ledger.js';
import { FlakyFile } from './harness.js';
import { LogSink, T0 } from '../helpers/tp.js';

const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `l${n++}`, 'ledger.jsonl');

const entry = (hash: string, over: Partial<LedgerEntry> = {}): LedgerEntry => ({
  time: '2026-12-01T10:00:00.000Z', r_hash: hash, amount_sat: 100,
  requests: [{ table: 'trade', syms: ['IBM'] }], handle: 7, user: 'alice', orphan: false, until: null, ...over,
});

function open(path: string, file = openAppendFile(path)) {
  const clock = new ManualClock(T0);
  const sink = new LogSink();
  const ledger = new Ledger({ file, after: (ms, fn) => clock.after(ms, fn), log: createLogger('info', sink) });
  return { clock, sink, ledger };
}

t.test('a settled invoice is recorded as one JSON line and answered for by its hash', async (t) => {
  const path = fresh();
  const { ledger } = open(path);
  const e = entry('aa'.repeat(32), { requests: [{ table: 'trade', syms: null }], orphan: true, handle: null, user: null });
  t.equal(ledger.record(e), true);
  t.ok(ledger.has(e.r_hash));
  t.same(ledger.get(e.r_hash), e);
  t.equal(ledger.size, 1);
  t.equal(ledger.path, path);
  const lines = readFileSync(path, 'utf8').split('\n');
  t.equal(lines.length, 2, 'one line, newline-terminated');
  t.same(JSON.parse(lines[0]!), e);
  t.notOk(ledger.has('bb'.repeat(32)));
  t.equal(ledger.get('bb'.repeat(32)), undefined);
  ledger.close();
});

t.test('a payment hash is recorded once: a second settlement of it is refused and not written', async (t) => {
  const path = fresh();
  const { ledger } = open(path);
  t.equal(ledger.record(entry('01'.repeat(32))), true);
  t.equal(ledger.record(entry('01'.repeat(32), { amount_sat: 999 })), false);
  t.equal(ledger.get('01'.repeat(32))?.amount_sat, 100, 'the first record stands');
  t.equal(readFileSync(path, 'utf8').trim().split('\n').length, 1);
  ledger.close();
});

t.test('a restarted ledger knows every recorded hash, so nothing is recorded twice across restarts', async (t) => {
  const path = fresh();
  const a = open(path);
  a.ledger.record(entry('01'.repeat(32)));
  a.ledger.record(entry('02'.repeat(32), { renews: '01'.repeat(32), until: '2026-12-02T10:00:00.000Z' }));
  a.ledger.close();
  const b = open(path);
  t.equal(b.ledger.size, 2);
  t.same(b.ledger.get('02'.repeat(32)), entry('02'.repeat(32), { renews: '01'.repeat(32), until: '2026-12-02T10:00:00.000Z' }));
  t.equal(b.ledger.record(entry('01'.repeat(32))), false);
  t.same([...b.ledger.entries()].map((e) => e.r_hash), ['01'.repeat(32), '02'.repeat(32)]);
  b.ledger.close();
});

t.test('a line that is not JSON, or has no hash, or was torn by a crash is skipped on reading', async (t) => {
  const path = fresh();
  const a = open(path);
  a.ledger.record(entry('01'.repeat(32)));
  a.ledger.close();
  appendFileSync(path, 'not json\n{"time":"x"}\n' + JSON.stringify(entry('02'.repeat(32))) + '\n{"r_hash":"03');
  const b = open(path);
  t.equal(b.ledger.size, 2);
  t.ok(b.ledger.has('01'.repeat(32)));
  t.ok(b.ledger.has('02'.repeat(32)));
  t.notOk(b.ledger.has('03'), 'the torn line is not a record');
  b.ledger.close();
});

t.test('a settlement the disk refuses is answered for at once, kept in memory and written on a retry', async (t) => {
  const path = fresh();
  const file = new FlakyFile(path);
  const { ledger, clock, sink } = open(path, file);
  file.failing = 'ENOSPC';
  t.doesNotThrow(() => ledger.record(entry('0a'.repeat(32))), 'a full disk never throws into the payment path');
  t.ok(ledger.has('0a'.repeat(32)), 'has() already answers for it');
  t.equal(ledger.unwritten, 1);
  t.equal(ledger.writeFailures, 1);
  t.ok(sink.messages().includes('payment record not written; kept in memory, retrying'));
  t.notMatch(sink.text(), /"r_hash"|preimage/, 'the log line names the file, not the payment');
  file.failing = undefined;
  clock.advanceMs(5000);
  t.equal(ledger.unwritten, 0);
  t.same(open(path).ledger.get('0a'.repeat(32)), entry('0a'.repeat(32)), 'on disk after the retry');
  ledger.close();
});

t.test('closing while the disk still refuses says how many records are lost, in the log and to the caller', async (t) => {
  const path = fresh();
  const file = new FlakyFile(path);
  const { ledger, sink } = open(path, file);
  file.failing = 'ENOSPC';
  ledger.record(entry('0b'.repeat(32)));
  ledger.record(entry('0c'.repeat(32)));
  t.equal(ledger.close(), 2, 'two lost');
  t.match(sink.lines.filter((l) => l['msg'] === 'payment records not written at shutdown'), [{ lost: 2 }]);
  const { ledger: clean } = open(fresh());
  t.equal(clean.close(), 0, 'nothing lost when the disk took everything');
});
