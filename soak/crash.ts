// Scenario 3: kill -9 under a sync and an async feed, restart on the same DST; acknowledged and published
// rows vs the journal (validate/replay), hand-cut torn tails (refusal, --truncate-log), replayed records
// well-formed. Spec: kdb-ipc-and-tick.md §6.4 (.u.ld), §7 (log format).
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeMessage, decodePayload, skipValue } from '../src/ipc/index.js';
import { replay, validate } from '../src/journal/index.js';
import { makeRng, nowNs, secondsSince, sleep } from './env.js';
import { connectRaw, Feed, SeqSet, Subscriber } from './feed.js';
import { runCli, TpProcess } from './tp.js';
import { syncText, updateOf } from './wire.js';

export const SYNC_SYM = 'SOAKSYNC';
export const ASYNC_SYM = 'SOAKASYN';

export interface CrashOptions {
  readonly cycles: number;
  /** Cycles (0-based) after which the journal is cut mid-record by hand. */
  readonly tornCycles: readonly number[];
  /** The kill lands this long after the feeds start: uniformly in [min, max] ms. */
  readonly minRunMs: number;
  readonly maxRunMs: number;
  /** Sync requests in flight. */
  readonly window: number;
  /** Async feed rate (updates a second) and chaser interval. */
  readonly asyncRate: number;
  readonly asyncChaserEvery: number;
  readonly seed: number;
  readonly progress?: (line: string) => void;
}

export interface CrashResult {
  readonly cycles: number;
  readonly kills: number;
  readonly journalRecords: number;
  readonly syncSent: number;
  readonly syncAcked: number;
  /** Acknowledged sync rows missing from the journal (must be 0). */
  readonly syncAckedMissing: number;
  /** Sync rows a subscriber received that the journal lacks (must be 0). */
  readonly syncPublishedMissing: number;
  readonly asyncSent: number;
  readonly asyncAcked: number;
  /** Async rows acknowledged by an answered chaser but missing from the journal (measured). */
  readonly asyncAckedMissing: number;
  /** Async rows a subscriber received that the journal lacks (measured). */
  readonly asyncPublishedMissing: number;
  /** Cycles killed the moment an async chaser was answered (SIGSTOP first, then the journal was read). */
  readonly ackProbes: number;
  readonly ackProbesMissing: number;
  /** Journal records replayed that are not a well-formed (`upd;`trade;row) (must be 0). */
  readonly corruptReplayed: number;
  readonly duplicateRecords: number;
  /** Torn tails left by kill -9 itself (found at restart), and made by hand. */
  readonly tornByKill: number;
  readonly tornByHand: number;
  readonly refusalsOk: number;
  readonly truncationsOk: number;
  /** Restarts whose .u.i equalled the journal's valid record count. */
  readonly restartsConsistent: number;
  readonly restarts: number;
  readonly seconds: number;
  readonly failures: string[];
}

/** The tickerplant's journal files in `dir` (one per day; a run may cross midnight). */
export function journalFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => /^sym\d{4}\.\d{2}\.\d{2}$/.test(f)).sort().map((f) => path.join(dir, f));
}

/** Start offsets of every whole record after the header (walking with skipValue). */
export function recordOffsets(file: string): number[] {
  const buf = readFileSync(file);
  const out: number[] = [];
  let p = 8;
  for (;;) {
    if (p >= buf.length) return out;
    let end: number;
    try { end = skipValue(buf, p, buf.length); } catch { return out; }
    out.push(p);
    p = end;
  }
}

/** Rows of `sym` in records that start at or after byte `from` of `file` (whole records only). */
export function rowsFrom(file: string, from: number, sym: string): SeqSet {
  const buf = readFileSync(file);
  const out = new SeqSet();
  let p = Math.max(8, from);
  while (p < buf.length) {
    let end: number;
    try { end = skipValue(buf, p, buf.length); } catch { break; }
    const u = updateOf(decodePayload(buf, p, end));
    if (u) for (let i = 0; i < u.syms.length; i++) if (u.syms[i] === sym) out.add(u.size[i] as number);
    p = end;
  }
  return out;
}

interface JournalScan {
  records: number;
  corrupt: number;
  duplicates: number;
  ok: boolean;
  validBytes: number;
  fileBytes: number;
  readonly bySym: Map<string, SeqSet>;
}

/** validate() and replay() of every journal file; rows collected by sym and sequence number. */
export function scanJournal(dir: string): JournalScan {
  const scan: JournalScan = { records: 0, corrupt: 0, duplicates: 0, ok: true, validBytes: 0, fileBytes: 0, bySym: new Map() };
  for (const file of journalFiles(dir)) {
    const v = validate(file);
    const r = replay(file, (rec) => {
      const u = updateOf(rec);
      if (!u || u.table !== 'trade' || rec.type !== 0 || (rec.items[0] as { value?: string }).value !== 'upd') { scan.corrupt++; return; }
      for (let i = 0; i < u.syms.length; i++) {
        const s = u.syms[i] as string;
        let set = scan.bySym.get(s);
        if (!set) { set = new SeqSet(); scan.bySym.set(s, set); }
        if (!set.add(u.size[i] as number)) scan.duplicates++;
      }
    });
    if (r.chunks !== v.chunks) scan.corrupt += Math.abs(r.chunks - v.chunks);
    scan.records += r.chunks;
    scan.ok &&= v.ok;
    scan.validBytes = v.validBytes;
    scan.fileBytes = v.fileBytes;
  }
  return scan;
}

const CORRUPT = /is a corrupt log\. Truncate to length (\d+) and restart/;

async function queryLong(port: number, q: string): Promise<bigint | undefined> {
  const s = await connectRaw(port);
  s.write(syncText(q));
  const frame = await new Promise<Buffer | undefined>((resolve) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => resolve(undefined), 5000);
    s.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      if (got.length >= 8 && got.length >= got.readUInt32LE(4)) { clearTimeout(timer); resolve(got); }
    });
  });
  s.destroy();
  if (!frame) return undefined;
  const v = decodeMessage(frame, { maxMessageBytes: 1 << 20, maxDepth: 8 }).value;
  return v.type === -7 ? v.value : undefined;
}

export async function runCrashScenario(o: CrashOptions): Promise<CrashResult> {
  const progress = o.progress ?? (() => undefined);
  const rng = makeRng(o.seed);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'soak-crash-'));
  const failures: string[] = [];
  const t0 = nowNs();
  const syncAcked = new SeqSet();
  const asyncAcked = new SeqSet();
  const syncPublished = new SeqSet();
  const asyncPublished = new SeqSet();
  /** Rows we destroyed ourselves by cutting a record: not expected in the journal any more. */
  const cutSync = new Set<number>();
  const cutAsync = new Set<number>();
  let syncNext = 0;
  let asyncNext = 0;
  let kills = 0;
  let tornByKill = 0;
  let tornByHand = 0;
  let refusalsOk = 0;
  let truncationsOk = 0;
  let restarts = 0;
  let restartsConsistent = 0;
  let ackProbes = 0;
  let ackProbesMissing = 0;
  let needTruncate = false;
  let expectedChunks = 0;
  try {
    for (let cycle = 0; cycle < o.cycles; cycle++) {
      // Start: a torn tail (left by the kill, or cut by hand) is refused with tick.q's message, exit 1.
      let tp: TpProcess;
      try {
        tp = await TpProcess.start({ dst: dir, args: ['--fsync', 'none', ...(needTruncate ? ['--truncate-log'] : [])] });
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        if (!CORRUPT.test(msg)) throw err;
        tornByKill++;
        const m = CORRUPT.exec(msg);
        const v = validate(journalFiles(dir).at(-1) as string);
        if (m && Number(m[1]) === v.validBytes) refusalsOk++;
        else failures.push(`refusal named length ${m?.[1]}, validate says ${v.validBytes}`);
        expectedChunks = scanJournal(dir).records;
        tp = await TpProcess.start({ dst: dir, args: ['--fsync', 'none', '--truncate-log'] });
        needTruncate = true;
      }
      restarts++;
      const truncated = needTruncate;
      needTruncate = false;
      if (truncated) {
        const after = scanJournal(dir);
        if (after.ok && tp.count('corrupt journal truncated') === 1) truncationsOk++;
        else failures.push(`cycle ${cycle}: --truncate-log left ok=${after.ok}, logged ${tp.count('corrupt journal truncated')} truncation(s)`);
      }
      const ui = await queryLong(tp.port, '.u.i');
      if (ui === BigInt(expectedChunks)) restartsConsistent++;
      else failures.push(`cycle ${cycle}: .u.i is ${ui} after restart, the journal has ${expectedChunks} valid records`);

      const subSync = await Subscriber.connect(tp.port, { subscribe: `.u.sub[\`trade;\`${SYNC_SYM}]`, isFeedSym: (s) => s === SYNC_SYM });
      const subAsync = await Subscriber.connect(tp.port, { subscribe: `.u.sub[\`trade;\`${ASYNC_SYM}]`, isFeedSym: (s) => s === ASYNC_SYM });
      const syncFeed = await Feed.connect(tp.port, syncNext, { symOf: () => SYNC_SYM });
      const asyncFeed = await Feed.connect(tp.port, asyncNext, { symOf: () => ASYNC_SYM });
      const cycleStartBytes = validate(journalFiles(dir).at(-1) as string).validBytes;
      const syncFrom = syncNext;
      const asyncFrom = asyncNext;
      let stop = false;
      const running = [
        syncFeed.runSync(o.window, () => stop).catch(() => undefined),
        asyncFeed.runPaced(o.asyncRate, o.asyncChaserEvery, () => stop).catch(() => undefined),
      ];
      const probe = cycle % 2 === 1;
      const runMs = o.minRunMs + rng.int(o.maxRunMs - o.minRunMs + 1);
      let probeAcked = -1;
      if (probe) {
        // Stop the tickerplant the moment an async chaser comes back (after runMs), then read its journal.
        await sleep(runMs);
        // SIGSTOP inside the data event that carries the answer: as close to the ack as this process gets.
        await new Promise<void>((resolve) => {
          asyncFeed.onAck = (acked) => {
            asyncFeed.onAck = undefined;
            if (tp.pid !== undefined && tp.alive) process.kill(tp.pid, 'SIGSTOP');
            probeAcked = acked;
            resolve();
          };
          void asyncFeed.whenClosed().then(() => { if (probeAcked < 0) { probeAcked = asyncFeed.acked; resolve(); } });
        });
        ackProbes++;
        const frozen = rowsFrom(journalFiles(dir).at(-1) as string, cycleStartBytes, ASYNC_SYM);
        const missing = frozen.missing(asyncFrom, probeAcked);
        if (missing > 0) ackProbesMissing++;
      } else {
        await sleep(runMs);
      }
      await tp.kill9();
      kills++;
      stop = true;
      await Promise.all(running);
      syncNext = syncFeed.sent;
      asyncNext = asyncFeed.sent;
      for (let s = syncFrom; s < syncFeed.acked; s++) syncAcked.add(s);
      for (let s = asyncFrom; s < asyncFeed.acked; s++) asyncAcked.add(s);
      for (let s = syncFrom; s < syncNext; s++) if (subSync.seen.has(s)) syncPublished.add(s);
      for (let s = asyncFrom; s < asyncNext; s++) if (subAsync.seen.has(s)) asyncPublished.add(s);
      for (const c of [subSync, subAsync, syncFeed, asyncFeed]) c.close();
      if (syncFeed.errors.length > 0) failures.push(`cycle ${cycle}: sync feed errors ${syncFeed.errors.slice(0, 3).join(', ')}`);

      // A hand-made torn tail: cut the last record in half; the next start must refuse, then --truncate-log.
      if (o.tornCycles.includes(cycle)) {
        const file = journalFiles(dir).at(-1) as string;
        const v = validate(file);
        if (!v.ok) truncateSync(file, v.validBytes); // a tear by the kill itself comes first
        const offsets = recordOffsets(file);
        const last = offsets.at(-1);
        if (last !== undefined) {
          const end = validate(file).validBytes;
          // the rows of the record we are about to destroy
          let lastRows: { syms: string[]; size: Int32Array } | undefined;
          replay(file, (rec, i) => { if (i === offsets.length - 1) lastRows = updateOf(rec); });
          const cut = last + Math.max(1, Math.floor((end - last) / 2));
          truncateSync(file, cut);
          tornByHand++;
          const refused = await runCli(TpProcess.argv({ dst: dir }));
          const m = CORRUPT.exec(refused.stderr);
          if (refused.code === 1 && m && Number(m[1]) === last) refusalsOk++;
          else failures.push(`torn tail at ${cut}: exit ${refused.code}, stderr ${refused.stderr.trim().slice(0, 200)} (expected length ${last})`);
          if (/\n\s+at /.test(refused.stderr)) failures.push('the refusal printed a stack trace');
          for (let i = 0; i < (lastRows?.syms.length ?? 0); i++) {
            const seq = lastRows?.size[i] as number;
            if (lastRows?.syms[i] === SYNC_SYM) cutSync.add(seq); else cutAsync.add(seq);
          }
          needTruncate = true;
        }
      }
      const files = journalFiles(dir).map((f) => validate(f));
      const scan = { records: files.reduce((n, v) => n + v.chunks, 0), ok: files.every((v) => v.ok) };
      expectedChunks = scan.records; // what .u.i must be after the next start (a torn tail is cut then)
      progress(`crash: cycle ${cycle + 1}/${o.cycles} killed after ${runMs} ms${probe ? ' (on an async ack)' : ''}; journal ${scan.records} records${scan.ok ? '' : ' (torn tail)'}; sync acked ${syncAcked.size}, async acked ${asyncAcked.size}`);
    }

    const scan = scanJournal(dir);
    const inJournal = (sym: string): SeqSet => scan.bySym.get(sym) ?? new SeqSet();
    const js = inJournal(SYNC_SYM);
    const ja = inJournal(ASYNC_SYM);
    let syncAckedMissing = 0;
    let syncPublishedMissing = 0;
    let asyncAckedMissing = 0;
    let asyncPublishedMissing = 0;
    for (let s = 0; s < syncNext; s++) {
      if (cutSync.has(s)) continue;
      if (syncAcked.has(s) && !js.has(s)) syncAckedMissing++;
      if (syncPublished.has(s) && !js.has(s)) syncPublishedMissing++;
    }
    for (let s = 0; s < asyncNext; s++) {
      if (cutAsync.has(s)) continue;
      if (asyncAcked.has(s) && !ja.has(s)) asyncAckedMissing++;
      if (asyncPublished.has(s) && !ja.has(s)) asyncPublishedMissing++;
    }
    if (syncAckedMissing > 0) failures.push(`${syncAckedMissing} acknowledged sync rows are not in the journal`);
    if (syncPublishedMissing > 0) failures.push(`${syncPublishedMissing} sync rows were published but are not in the journal`);
    if (scan.corrupt > 0) failures.push(`${scan.corrupt} corrupt records replayed`);
    if (scan.duplicates > 0) failures.push(`${scan.duplicates} rows appear twice in the journal`);
    if (refusalsOk !== tornByHand + tornByKill) failures.push(`${tornByHand + tornByKill - refusalsOk} torn tails were not refused with tick.q's message`);
    if (truncationsOk !== tornByHand + tornByKill) failures.push(`${tornByHand + tornByKill - truncationsOk} --truncate-log restarts did not leave a valid journal`);
    return {
      cycles: o.cycles, kills, journalRecords: scan.records, syncSent: syncNext, syncAcked: syncAcked.size, syncAckedMissing,
      syncPublishedMissing, asyncSent: asyncNext, asyncAcked: asyncAcked.size, asyncAckedMissing, asyncPublishedMissing,
      ackProbes, ackProbesMissing, corruptReplayed: scan.corrupt, duplicateRecords: scan.duplicates, tornByKill, tornByHand,
      refusalsOk, truncationsOk, restartsConsistent, restarts, seconds: secondsSince(t0), failures,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
