// A failing disk under a live tickerplant (src/tick/tickerplant.ts with src/journal/writer.ts): a record
// that did not reach the journal is never published nor acknowledged; sync feeds get 'journal, async
// feeds' rows are refused and counted; subscribers keep being served; the first update after the disk has
// room resumes (one log line per change). Both ingest paths (a typed update taken from its bytes, and an
// update with an untyped column, decoded), zero-latency and batch (-t), a write failing with ENOSPC and an
// fdatasync failing with EIO. The disk is an injected JournalIo over real files; npm run soak fills a real
// 1 MiB tmpfs.
import fs from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { ManualClock } from '../../src/clock.js';
import { replay } from '../../src/journal/index.js';
import { createMetrics } from '../../src/metrics.js';
import { connect, nodeq } from '../helpers/qclient.js';
import type { QClient } from '../helpers/qclient.js';
import { LogSink, startTp, T0, until } from '../helpers/tp.js';
import { disk } from '../helpers/disk.js';
import type { Fault } from '../helpers/disk.js';
import { open } from '../ws/fixture.js';
import type { TestClient } from '../ws/fixture.js';

const q = nodeq as unknown as Record<string, (x: unknown) => unknown>;
const s = (x: string): unknown => q['symbol']?.(x);

/** trade is all typed (the feed's bytes are taken as they are); news has an untyped column (decoded). */
const SCHEMA = [
  'trade:([]time:`timespan$();sym:`symbol$();price:`float$();size:`int$())',
  'news:([]time:`timespan$();sym:`symbol$();text:();size:`int$())',
].join('\n');

type Path = 'bytes' | 'decoded';
const TABLE: Record<Path, string> = { bytes: 'trade', decoded: 'news' };
function row(path: Path, size: number): unknown[] {
  const third = path === 'bytes' ? q['float']?.(size) : `headline ${size}`;
  return [q['timespan']?.(new Date(36_000_000)), s('IBM'), third, q['int']?.(size)];
}
/** The size column of every update a WebSocket subscriber received. */
const wsSizes = (c: TestClient): number[] => c.received.filter((m) => m['type'] === 'upd')
  .flatMap((m) => ((m['data'] as { data: { size: number[] } }).data.size));
const sizes = (c: QClient): number[] => c.updates.flatMap((u) => (u.data as Array<Record<string, unknown>>).map((r) => Number(r['size'])));

/** The size column of every record of the journal in `dir`, read back with the journal reader (-11!). */
function journalSizes(dir: string): number[] {
  const file = fs.readdirSync(dir).find((f) => f.startsWith('sym'));
  const out: number[] = [];
  replay(join(dir, file as string), (r) => {
    const x = r.type === 0 ? r.items[2] : undefined;
    const size = x?.type === 0 ? x.items[3] : undefined;
    if (size?.type === -6) out.push(size.value);
  });
  return out;
}

function sample(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function scenario(t: Test, path: Path, batch: boolean, fault: Fault): Promise<void> {
  const dir = t.testdir({ 'sym.q': SCHEMA, journal: {} });
  const journalDir = join(dir, 'journal');
  const d = disk(fault);
  const sink = new LogSink();
  const clock = new ManualClock(T0, 0);
  const app = await startTp(t, {
    args: [join(dir, 'sym.q'), journalDir, '--fsync', 'batch', '--http-port', '0', ...(batch ? ['-t', '20'] : [])],
    journalIo: d.io, sink, clock,
  });
  const metrics = createMetrics({ tp: app.tp, server: app.server, payments: app.payments });
  t.teardown(() => metrics.close());
  const feed = await connect({ port: app.port });
  const sub = await connect({ port: app.port });
  const other = await connect({ port: app.port });
  t.teardown(() => Promise.all([feed.close(), sub.close(), other.close()]));
  const table = TABLE[path];
  await sub.sync(`.u.sub[\`${table};\`]`);
  await other.sync(`.u.sub[\`${table};\`IBM]`);
  const ws = await open(t, `ws://127.0.0.1:${String(app.httpPort)}/ws`);
  ws.send({ op: 'subscribe', id: 1, table });
  await ws.next('subscribed');
  /** Batch mode publishes on its timer: the clock is advanced past -t once the feed's messages are in. */
  const publish = (): void => { if (batch) clock.advanceMs(25); };

  await feed.sync('.u.upd', s(table), row(path, 1));
  publish();
  await sub.waitFor(() => sizes(sub).length === 1);

  d.failing = true;
  feed.async('.u.upd', s(table), row(path, 2));
  feed.async('.u.upd', s(table), row(path, 3));
  await feed.sync('');
  await t.rejects(feed.sync('.u.upd', s(table), row(path, 4)), { message: 'journal' }, "a sync update gets 'journal");
  feed.async('.u.upd', s(table), row(path, 5));
  await feed.sync('');
  publish();
  t.ok(d.failures > 0, `the ${fault} was hit`);
  t.equal(await other.sync('.u.i'), 1, 'other clients are still served; .u.i counts only the journaled record');
  const health = app.tp.journalHealth;
  t.match(health, { up: false, faults: 1 }, 'the journal is down, one fault');
  t.equal(health.refused + health.withdrawn, 4, 'rows 2, 3, 4 and 5 each refused or withdrawn, and counted');
  t.ok(health.refused >= 1, "at least the sync update is counted as refused");
  let text = await metrics.text();
  t.equal(sample(text, 'tickerplant_journal_up'), 0, 'tickerplant_journal_up 0');
  t.equal(sample(text, 'tickerplant_journal_faults_total'), 1, 'tickerplant_journal_faults_total 1');
  t.equal(sample(text, 'tickerplant_journal_refused_updates_total') + sample(text, 'tickerplant_journal_withdrawn_records_total'), 4,
    'refused + withdrawn in the metrics');
  const failed = sink.lines.filter((l) => l['msg'] === 'journal write failed: updates refused until it writes again');
  t.equal(failed.length, 1, 'one log line for the fault, not one per update');
  t.notOk(sink.lines.some((l) => l['msg'] === 'bad update'), 'refused updates are not logged one by one');

  d.failing = false;
  feed.async('.u.upd', s(table), row(path, 6));
  await feed.sync('');
  publish();
  await sub.waitFor(() => sizes(sub).includes(6));
  t.equal(sink.lines.filter((l) => l['msg'] === 'journal writing again').length, 1, 'one log line for the recovery');
  t.equal(app.tp.journalHealth.up, true, 'the journal is up again');
  await feed.sync('.u.upd', s(table), row(path, 7));
  publish();
  await sub.waitFor(() => sizes(sub).includes(7));
  await other.waitFor(() => sizes(other).includes(7));
  t.same(sizes(sub), [1, 6, 7], 'the subscriber got exactly the journaled rows');
  t.same(sizes(other), [1, 6, 7], 'and so did the other one');
  await ws.sync();
  t.same(wsSizes(ws), [1, 6, 7], 'and the WebSocket subscriber');
  await until(() => journalSizes(journalDir).length >= 3);
  t.same(journalSizes(journalDir), [1, 6, 7], 'the journal, replayed, is exactly the acknowledged rows');
  t.equal(await other.sync('.u.i'), 3, '.u.i counts them');
  text = await metrics.text();
  t.equal(sample(text, 'tickerplant_journal_up'), 1, 'tickerplant_journal_up 1');
  t.equal(sample(text, 'tickerplant_journal_faults_total'), 1, 'still one fault');
}

for (const path of ['bytes', 'decoded'] as const) {
  for (const batch of [false, true]) {
    for (const fault of ['write ENOSPC', 'fdatasync EIO'] as const) {
      const mode = batch ? 'batch (-t)' : 'zero-latency';
      t.test(`${path} path, ${mode}, ${fault}: rows the journal could not take are never published nor acknowledged, and writing resumes when the disk has room`,
        (t) => scenario(t, path, batch, fault));
    }
  }
}
