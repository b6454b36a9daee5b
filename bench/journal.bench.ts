// npm run bench:journal — the cost of each --fsync policy on this machine's disk. Appends single-row
// update records, flushing every `turn` records as the tickerplant does once per event-loop turn. The
// peer, measured in the same run: one write(2) per record and no fsync, as tick.q appends.
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { list, sym, timespan, float, int } from '../src/ipc/index.js';
import { JournalWriter, updRecord } from '../src/journal/index.js';
import type { FsyncPolicy } from '../src/journal/index.js';
import { fmt } from './stats.js';

const dir = mkdtempSync(join(tmpdir(), 'tp-journal-'));
const record = updRecord('trade', list(timespan(36_000_000_000_000n), sym('IBM'), float(100), int(10)));
const TURN = 10; // records per event-loop turn (a busy feed)

function run(policy: FsyncPolicy | 'write-each', n: number): number {
  if (policy === 'write-each') {
    const fd = openSync(join(dir, 'log-each'), 'a');
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) writeSync(fd, record);
    closeSync(fd);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  }
  const w = JournalWriter.open(join(dir, `log-${policy}-${n}`), { fsync: policy });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    w.append(record);
    if (i % TURN === TURN - 1) w.flush();
  }
  w.close();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const rows: Array<[string, number, number]> = [];
for (const [policy, n] of [['write-each', 1_000_000], ['none', 1_000_000], ['batch', 20_000], ['record', 5_000]] as const) {
  const s = run(policy, n);
  rows.push([policy, n, s]);
}
rmSync(dir, { recursive: true, force: true });
console.log(`journal benchmark on ${process.version}, ${new Date().toISOString()}; ${record.length}-byte records, flush every ${TURN}`);
for (const [policy, n, s] of rows) {
  console.log(`${policy.padEnd(10)} ${String(n).padStart(8)} records ${s.toFixed(3).padStart(8)} s ${fmt(n / s).padStart(9)} records/s ${(1e6 * s / n).toFixed(2).padStart(9)} µs/record`);
}
const per = Object.fromEntries(rows.map(([p, n, s]) => [`${p}_records_per_s`, Math.round(n / s)]));
console.log(JSON.stringify({ bench: 'journal', ...per }));
