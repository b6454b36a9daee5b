// Scenario 4: pay-per-ticker through lnd faults: QConnection subscribers get invoices from the tickerplant,
// the fake lnd (test/helpers/fake-lnd.ts) settles them at random moments while its stream is dropped, ended or
// restarted; each settlement must reach the ledger once and its subscriber .u.w. Spec: lightning.md §3.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QConnection } from '../src/client/index.js';
import { MsgType, str } from '../src/ipc/index.js';
import type { QValue } from '../src/ipc/index.js';
import { FAKE_LND_CERT_PATH, startFakeLnd } from '../test/helpers/fake-lnd.js';
import type { FakeLnd } from '../test/helpers/fake-lnd.js';
import { makeRng, nowNs, secondsSince, sleep } from './env.js';
import { connectRaw } from './feed.js';
import { TpProcess } from './tp.js';
import { updateOf, UpdTemplate } from './wire.js';

export interface LndOptions {
  /** Invoices to pay (the target). */
  readonly invoices: number;
  /** Stream faults to inject, spread over the invoices. */
  readonly faults: number;
  /** Subscribers working at once. */
  readonly concurrency: number;
  /** Subscribers kept connected to the end (for the .u.w check); the rest hang up once served. */
  readonly keep: number;
  /** Stop issuing new invoices after this long and report how far it got. */
  readonly budgetMs: number;
  readonly seed: number;
  /** Extra tickerplant arguments (e.g. --log-level debug for the secret scan). */
  readonly tpArgs?: readonly string[];
  readonly keepOutput?: boolean;
  readonly progress?: (line: string) => void;
}

export interface LndResult {
  readonly target: number;
  readonly issued: number;
  readonly settled: number;
  /** Settled invoices whose subscriber got no data, or that are not in the ledger. */
  readonly missed: number;
  readonly missedNotInLedger: number;
  readonly missedNoData: number;
  readonly ledgerEntries: number;
  readonly ledgerUnique: number;
  readonly doubleEnables: number;
  readonly orphans: number;
  readonly faults: { drop: number; end: number; restart: number };
  /** .u.sub calls refused while lnd was away ('lightning unavailable'), then retried. */
  readonly retries: number;
  readonly otherErrors: string[];
  /** Settle → first row at the subscriber, ms. */
  readonly settleToData: { p50: number; p99: number; max: number };
  readonly kept: number;
  /** Kept subscribers found exactly once in .u.w with their sym, and receiving a final row. */
  readonly keptInW: number;
  readonly keptReceived: number;
  readonly wEntries: number;
  readonly seconds: number;
  readonly invoicesPerSecond: number;
  readonly failures: string[];
  /** The macaroon and preimages used (for the secret scan). */
  readonly secrets: { macaroon: Buffer; preimages: Buffer[] };
  readonly output: string[];
}

interface Sub {
  readonly i: number;
  readonly sym: string;
  readonly conn: QConnection;
  rHash?: Buffer;
  settledAt?: bigint;
  dataAt?: bigint;
  rows: number;
  finalRows: number;
  closed: boolean;
}

const symOf = (i: number): string => `P${String(i).padStart(5, '0')}`;

function invoiceHash(reply: QValue): Buffer | undefined {
  if (reply.type !== 0 || reply.items.length !== 3) return undefined;
  const inv = reply.items[2] as QValue;
  if (inv.type !== 99 || inv.values.type !== 0) return undefined;
  const h = inv.values.items[0];
  if (!h || h.type !== 10) return undefined;
  return Buffer.from(Buffer.from(h.data).toString('latin1'), 'base64');
}

/** .u.w's trade entries as (handle, syms). */
function tradeEntries(w: QValue): Array<{ handle: number; syms: string[] }> {
  if (w.type !== 99 || w.keys.type !== 11 || w.values.type !== 0) return [];
  const at = w.keys.data.indexOf('trade');
  const entries = w.values.items[at];
  if (!entries || entries.type !== 0) return [];
  return entries.items.map((e) => {
    const pair = e as { items: QValue[] };
    const h = pair.items[0] as QValue;
    const s = pair.items[1] as QValue;
    return { handle: h.type === -6 ? h.value : -1, syms: s.type === 11 ? s.data : s.type === -11 ? [s.value] : [] };
  });
}

export async function runLndScenario(o: LndOptions): Promise<LndResult> {
  const progress = o.progress ?? (() => undefined);
  const rng = makeRng(o.seed);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'soak-lnd-'));
  const fake: FakeLnd = await startFakeLnd();
  const macaroonFile = path.join(dir, 'invoice.macaroon');
  writeFileSync(macaroonFile, fake.macaroon);
  const tp = await TpProcess.start({
    dst: dir, keepOutput: o.keepOutput ?? false,
    args: ['--lnd', fake.host, '--lnd-tlscert', FAKE_LND_CERT_PATH, '--lnd-macaroon', macaroonFile, '--data-dir', dir, ...(o.tpArgs ?? [])],
  });
  const failures: string[] = [];
  const otherErrors: string[] = [];
  const t0 = nowNs();
  try {
    await fake.streamsOpen(1);
    const template = new UpdTemplate(6);
    const publisher = await connectRaw(tp.port);
    publisher.on('error', () => undefined);
    let seq = 0;
    const active = new Set<Sub>();
    const publish = (subs: Iterable<Sub>): void => {
      const parts: Buffer[] = [];
      for (const s of subs) parts.push(template.message(MsgType.Async, nowNs(), seq++, () => s.sym));
      if (parts.length) publisher.write(Buffer.concat(parts));
    };
    const pubTimer = setInterval(() => publish(active), 20);

    const subs: Sub[] = [];
    const kept: Sub[] = [];
    const settleQueue: Sub[] = [];
    let issued = 0;
    let settled = 0;
    let retries = 0;
    let finalPhase = false;
    const faults = { drop: 0, end: 0, restart: 0 };
    const deadline = Date.now() + o.budgetMs;
    const preimages: Buffer[] = [];
    let lastReport = Date.now();

    // Settler: each invoice is paid after a random pause, in random order.
    let settling = true;
    const settler = (async () => {
      while (settling || settleQueue.length > 0) {
        if (settleQueue.length === 0) { await sleep(2); continue; }
        const k = rng.int(settleQueue.length);
        const s = settleQueue.splice(k, 1)[0] as Sub;
        await sleep(rng.int(3));
        try {
          const inv = fake.settle(s.rHash as Buffer);
          preimages.push(inv.preimage);
          s.settledAt = nowNs();
          settled++;
          active.add(s);
        } catch (err) {
          otherErrors.push(`settle: ${String(err)}`);
        }
      }
    })();

    // Faults: one every invoices/faults settlements, cycling drop → end → stop/restart.
    let stopFaults = false;
    const injector = (async () => {
      let k = 0;
      while (!stopFaults && k < o.faults) {
        const due = Math.floor(((k + 1) * o.invoices) / (o.faults + 1));
        if (settled < due && Date.now() < deadline) { await sleep(5); continue; }
        if (Date.now() >= deadline && settled < due) break;
        const kind = k % 3;
        if (kind === 0) { fake.dropStreams(); faults.drop++; }
        else if (kind === 1) { fake.endStreams(); faults.end++; }
        else {
          await fake.stop();
          await sleep(50 + rng.int(400));
          await fake.restart();
          faults.restart++;
        }
        k++;
      }
    })();

    const worker = async (): Promise<void> => {
      while (issued < o.invoices && Date.now() < deadline) {
        const i = issued++;
        let conn: QConnection;
        try {
          conn = await QConnection.connect({ port: tp.port });
        } catch (err) {
          otherErrors.push(`connect: ${String(err)}`);
          continue;
        }
        const s: Sub = { i, sym: symOf(i), conn, rows: 0, finalRows: 0, closed: false };
        subs.push(s);
        let onData: (() => void) | undefined;
        conn.on('message', (v: QValue) => {
          const u = updateOf(v);
          if (!u) return;
          for (const x of u.syms) {
            if (x !== s.sym) { otherErrors.push(`${s.sym} got a row for ${x}`); continue; }
            if (finalPhase) s.finalRows++; else s.rows++;
            if (s.dataAt === undefined) { s.dataAt = nowNs(); active.delete(s); onData?.(); }
          }
        });
        conn.on('close', () => { s.closed = true; onData?.(); });
        // .u.sub, again while lnd is away
        let rHash: Buffer | undefined;
        for (let attempt = 0; rHash === undefined && attempt < 200 && !s.closed; attempt++) {
          try {
            const reply = await conn.sync(str(`.u.sub[\`trade;\`${s.sym}]`));
            rHash = invoiceHash(reply);
            if (!rHash) { otherErrors.push(`${s.sym}: a reply without an invoice`); break; }
          } catch (err) {
            const m = err instanceof Error ? err.message : String(err);
            if (m === 'lightning unavailable') { retries++; await sleep(50 + rng.int(200)); } else { otherErrors.push(`${s.sym}: ${m}`); break; }
          }
        }
        if (!rHash) { conn.close(); continue; }
        s.rHash = rHash;
        settleQueue.push(s);
        // Served when its first row arrives (after the settlement made it into .u.w).
        const served = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 60_000);
          onData = () => { if (s.dataAt !== undefined || s.closed) { clearTimeout(timer); resolve(s.dataAt !== undefined); } };
          onData();
        });
        if (!served) continue;
        if (kept.length < o.keep) kept.push(s);
        else conn.close();
        if (Date.now() - lastReport > 5000) {
          lastReport = Date.now();
          progress(`lnd: ${settled} settled, ${subs.filter((x) => x.dataAt !== undefined).length} served, ${faults.drop + faults.end + faults.restart} faults, ${retries} retries, ${(settled / secondsSince(t0)).toFixed(0)}/s`);
        }
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, () => worker()));
    settling = false;
    await settler;
    stopFaults = true;
    await injector;
    const seconds = secondsSince(t0);
    // Whatever is still active gets up to 30 s more (lnd may be reconnecting).
    for (let w = 0; w < 300 && active.size > 0; w++) await sleep(100);
    clearInterval(pubTimer);

    // .u.w: every kept subscriber exactly once, with its sym; then one last row each must arrive once.
    const observer = await QConnection.connect({ port: tp.port });
    const entries = tradeEntries(await observer.sync(str('.u.w')));
    const bySym = new Map<string, number>();
    for (const e of entries) for (const x of e.syms) bySym.set(x, (bySym.get(x) ?? 0) + 1);
    const keptOpen = kept.filter((s) => !s.closed);
    const keptInW = keptOpen.filter((s) => bySym.get(s.sym) === 1).length;
    finalPhase = true;
    publish(keptOpen);
    await observer.sync(str(''));
    for (let w = 0; w < 100 && keptOpen.some((s) => s.finalRows === 0 && !s.closed); w++) await sleep(50);
    const keptReceived = keptOpen.filter((s) => s.finalRows === 1).length;
    observer.close();

    const ledgerLines = readLedger(path.join(dir, 'ledger.jsonl'));
    const ledgerHashes = new Map<string, number>();
    for (const l of ledgerLines) ledgerHashes.set(l.r_hash, (ledgerHashes.get(l.r_hash) ?? 0) + 1);
    const settledSubs = subs.filter((s) => s.settledAt !== undefined);
    const missedNotInLedger = settledSubs.filter((s) => !ledgerHashes.has((s.rHash as Buffer).toString('hex'))).length;
    const missedNoData = settledSubs.filter((s) => s.dataAt === undefined).length;
    const missed = settledSubs.filter((s) => s.dataAt === undefined || !ledgerHashes.has((s.rHash as Buffer).toString('hex'))).length;
    const doubleEnables = [...ledgerHashes.values()].filter((n) => n > 1).length + [...bySym.values()].filter((n) => n > 1).length;
    const orphans = ledgerLines.filter((l) => l.orphan).length;
    const lat = settledSubs.filter((s) => s.dataAt !== undefined)
      .map((s) => Number((s.dataAt as bigint) - (s.settledAt as bigint)) / 1e6).sort((a, b) => a - b);
    const pct = (p: number): number => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN;
    for (const s of subs) s.conn.close();
    publisher.destroy();

    if (missed > 0) failures.push(`${missed} settled invoices missed (${missedNotInLedger} not in the ledger, ${missedNoData} without data)`);
    if (ledgerLines.length !== settled) failures.push(`${ledgerLines.length} ledger entries for ${settled} settlements`);
    if (doubleEnables > 0) failures.push(`${doubleEnables} double enables`);
    if (orphans > 0) failures.push(`${orphans} settlements recorded as orphans although their subscriber was connected`);
    if (keptInW !== keptOpen.length) failures.push(`${keptOpen.length - keptInW} kept subscribers not in .u.w exactly once`);
    if (keptReceived !== keptOpen.length) failures.push(`${keptOpen.length - keptReceived} kept subscribers did not get exactly one final row`);
    if (entries.length !== keptOpen.length) failures.push(`.u.w has ${entries.length} trade entries for ${keptOpen.length} connected subscribers`);
    if (otherErrors.length > 0) failures.push(`errors: ${otherErrors.slice(0, 3).join('; ')}`);
    if (!tp.alive) failures.push('the tickerplant exited');
    if (tp.errorLines.length > 0) failures.push(`error-level log lines: ${tp.errorLines[0] ?? ''}`);
    return {
      target: o.invoices, issued, settled, missed, missedNotInLedger, missedNoData, ledgerEntries: ledgerLines.length,
      ledgerUnique: ledgerHashes.size, doubleEnables, orphans, faults, retries, otherErrors: otherErrors.slice(0, 10),
      settleToData: { p50: pct(50), p99: pct(99), max: lat[lat.length - 1] ?? NaN },
      kept: keptOpen.length, keptInW, keptReceived, wEntries: entries.length, seconds,
      invoicesPerSecond: settled / seconds, failures, secrets: { macaroon: fake.macaroon, preimages }, output: tp.output,
    };
  } finally {
    await tp.stop();
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface LedgerLine { r_hash: string; orphan: boolean }

function readLedger(file: string): LedgerLine[] {
  let text = '';
  try { text = readFileSync(file, 'utf8'); } catch { return []; }
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as LedgerLine);
}
