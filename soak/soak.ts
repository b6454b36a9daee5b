// npm run soak: the tickerplant process under seven kinds of abuse on loopback (fuzz, 1,000 churning clients,
// kill -9, lnd faults, slow subscribers, injections/secrets, bounded work); a table, then one JSON line,
// exit 1 if an invariant failed. SOAK_ONLY=1,3 picks scenarios; SOAK_SEED fixes the seed.
import os from 'node:os';
import { fdLimits, MiB, nowNs, secondsSince } from './env.js';
import { runConnectionsScenario } from './connections.js';
import type { ConnectionsResult } from './connections.js';
import { runCrashScenario } from './crash.js';
import type { CrashResult } from './crash.js';
import { runFuzzScenario } from './fuzz.js';
import type { FuzzResult } from './fuzz.js';
import { runLndScenario } from './lnd.js';
import type { LndResult } from './lnd.js';
import { runSecurityScenario } from './security.js';
import type { SecurityResult } from './security.js';
import { runSlowScenario } from './slow.js';
import type { SlowResult } from './slow.js';
import { killAll } from './tp.js';
import { runBoundedScenario } from './bounded.js';
import type { BoundedResult } from './bounded.js';

const LIMIT_MS = 9.5 * 60_000;
const started = nowNs();
const ONLY = new Set((process.env['SOAK_ONLY'] ?? '1,2,3,4,5,6,7').split(',').map((s) => Number(s.trim())));
const SEED = Number(process.env['SOAK_SEED'] ?? (Date.now() >>> 0));

const progress = (line: string): void => { process.stderr.write(`  [${secondsSince(started).toFixed(0).padStart(4)} s] ${line}\n`); };
const remainingMs = (): number => LIMIT_MS - secondsSince(started) * 1000;

interface Results {
  fuzz?: FuzzResult; connections?: ConnectionsResult; crash?: CrashResult; lnd?: LndResult; slow?: SlowResult; security?: SecurityResult;
  bounded?: BoundedResult;
}
const results: Results = {};
const errors: Record<string, string> = {};

const watchdog = setTimeout(() => {
  process.stderr.write('soak: the 10-minute limit is near; reporting what finished\n');
  report(true);
  killAll();
  process.exit(1);
}, LIMIT_MS);
watchdog.unref();

async function scenario<T>(n: number, name: string, run: () => Promise<T>, store: (r: T) => void): Promise<void> {
  if (!ONLY.has(n)) return;
  progress(`(${n}) ${name}`);
  const t0 = nowNs();
  try {
    const r = await run();
    store(r);
    progress(`(${n}) ${name} done in ${secondsSince(t0).toFixed(0)} s`);
  } catch (err) {
    errors[name] = err instanceof Error ? err.stack ?? err.message : String(err);
    progress(`(${n}) ${name} FAILED: ${errors[name]}`);
  }
}

async function main(): Promise<void> {
  const fds = fdLimits();
  progress(`soak on ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ulimit -n ${fds.soft}/${fds.hard}, seed ${SEED}`);
  await scenario(1, 'fuzz', () => runFuzzScenario({
    inputs: 1_000_000, concurrency: 64, seed: SEED, feedRate: 5000, chaserEvery: 100, randomMean: 12,
    budgetMs: Math.min(150_000, remainingMs() - 330_000), progress,
  }), (r) => { results.fuzz = r; });
  await scenario(2, 'connections', () => runConnectionsScenario({
    clients: 1000, feedRate: 50_000, symCount: 5000, baselineMs: 3000, churnMs: 30_000, seed: SEED, progress,
  }), (r) => { results.connections = r; });
  await scenario(3, 'crash recovery', () => runCrashScenario({
    cycles: 20, tornCycles: [3, 9, 15], minRunMs: 150, maxRunMs: 1500, window: 64, asyncRate: 20_000, asyncChaserEvery: 50,
    seed: SEED, progress,
  }), (r) => { results.crash = r; });
  await scenario(4, 'lnd faults', () => runLndScenario({
    invoices: 10_000, faults: 100, concurrency: 200, keep: 1000, budgetMs: Math.max(30_000, Math.min(150_000, remainingMs() - 75_000)),
    seed: SEED, progress,
  }), (r) => { results.lnd = r; });
  await scenario(5, 'slow subscribers', () => runSlowScenario({
    slow: 10, maxQueuedBytes: 8 * MiB, rate: 5000, rows: 20, phaseAMs: 8000, maxPhaseBMs: 30_000, marginBytes: 32 * MiB, progress,
  }), (r) => { results.slow = r; });
  await scenario(6, 'security', () => runSecurityScenario({ payments: 10, progress }), (r) => { results.security = r; });
  await scenario(7, 'bounded work', () => runBoundedScenario({
    nullItems: 134_217_721, pipelined: 200_000, hoarders: 12, hoardMiB: 40, idle: 2000, wsAttempts: 200, rate: 2000, progress,
  }), (r) => { results.bounded = r; });
  clearTimeout(watchdog);
  const failed = report(false);
  process.exit(failed ? 1 : 0);
}

// ---- output ----

const n = (x: number | undefined, d = 0): string => (x === undefined || Number.isNaN(x) ? '—' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const ms = (us: number | undefined): string => (us === undefined || Number.isNaN(us) ? '—' : `${(us / 1000).toFixed(2)} ms`);
const mb = (b: number | undefined): string => (b === undefined || Number.isNaN(b) ? '—' : `${(b / MiB).toFixed(0)} MiB`);

/** Prints the table, the failures and the JSON line; returns whether anything failed. */
function report(partial: boolean): boolean {
  const rows: Array<[string, string, string, string]> = [['scenario / figure', 'value', 'target', '']];
  const add = (figure: string, value: string, target = '', ok?: boolean): void => {
    rows.push([figure, value, target, ok === undefined ? '' : ok ? 'ok' : 'FAIL']);
  };
  const f = results.fuzz;
  if (f) {
    add('(1) fuzz: hostile inputs sent', n(f.inputs), '≥ 1,000,000', f.inputs >= 1_000_000);
    add('    handshakes / random / mutated / garbage', `${n(f.tally.handshakes)} / ${n(f.tally.random)} / ${n(f.tally.mutants)} / ${n(f.tally.garbage)}`);
    add('    inputs proven read by the TP (lower bound)', n(f.tally.processed));
    add('    connections (hostile handshakes accepted)', `${n(f.tally.connections)} (${n(f.tally.hostileAccepted)} of ${n(f.tally.handshakesHostile)})`);
    add('    inputs/s; CPU tp / driver', `${n(f.inputs / f.seconds)}; ${n(f.cpu.tp * 100)}% / ${n(f.cpu.driver * 100)}%`);
    add('    crashes', n(f.crashes), '0', f.crashes === 0 && f.aliveAtEnd);
    add('    rows lost by the honest subscriber', `${n(f.rowsLost)} of ${n(f.feedAcked)}`, '0', f.rowsLost === 0);
    add('    liveness probes unanswered (max ms)', `${n(f.probeFailures)} of ${n(f.probes)} (${n(f.probeMaxMs, 1)})`, '0', f.probeFailures === 0);
    add('    TP RSS before / peak / after', `${mb(f.rssBefore)} / ${mb(f.rssPeak)} / ${mb(f.rssAfter)}`);
    add('    error-level log lines', n(f.errorLines.length), '0', f.errorLines.length === 0);
  }
  const c = results.connections;
  if (c) {
    add('(2) connections: clients at once', `${n(c.allOpen)} (of ${n(c.clients)})`, '1,000', c.allOpen >= 1000);
    add('    connects / subscribes / disconnects', `${n(c.churn.connects)} / ${n(c.churn.subscribes)} / ${n(c.churn.disconnects)}`);
    add('    feed rate achieved', `${n(c.feedRateAchieved)} upd/s`, '50,000', c.feedRateAchieved >= 45_000);
    add('    errors (incl. rows for unsubscribed syms)', `${n(c.errors)} (${n(c.churn.wrongSymRows)})`, '0', c.errors === 0);
    add('    honest p50 / p99 / max, no churn', `${ms(c.baseline.p50)} / ${ms(c.baseline.p99)} / ${ms(c.baseline.max)}`);
    add('    honest p50 / p99 / max, with churn', `${ms(c.latency.p50)} / ${ms(c.latency.p99)} / ${ms(c.latency.max)}`);
    add('    rows lost by the honest subscriber', n(c.rowsLost), '0', c.rowsLost === 0);
    add('    TP descriptors / RSS max; CPU tp/driver/clients', `${n(c.tpMaxFds)} / ${mb(c.tpRssMax)}; ${n(c.cpu.tp * 100)}%/${n(c.cpu.driver * 100)}%/${n(c.cpu.clients * 100)}%`);
    if (c.note) add(`    note: ${c.note}`, '');
  }
  const k = results.crash;
  if (k) {
    add('(3) crash: kill -9 / restarts', `${n(k.kills)} / ${n(k.restarts)}`, '20', k.kills >= 20);
    add('    journal records; sync acked; async acked', `${n(k.journalRecords)}; ${n(k.syncAcked)}; ${n(k.asyncAcked)}`);
    add('    acked sync rows missing from the journal', n(k.syncAckedMissing), '0', k.syncAckedMissing === 0);
    add('    published sync rows missing from the journal', n(k.syncPublishedMissing), '0', k.syncPublishedMissing === 0);
    add('    async rows acked by a chaser / published, not journaled', `${n(k.asyncAckedMissing)} / ${n(k.asyncPublishedMissing)}`, 'measured');
    add('    SIGSTOP on an async ack: probes with rows missing', `${n(k.ackProbesMissing)} of ${n(k.ackProbes)}`, 'measured');
    add('    corrupt records replayed; duplicated rows', `${n(k.corruptReplayed)}; ${n(k.duplicateRecords)}`, '0', k.corruptReplayed === 0 && k.duplicateRecords === 0);
    add('    torn tails (by hand / by kill): refused ok, truncated ok', `${n(k.tornByHand)}/${n(k.tornByKill)}: ${n(k.refusalsOk)}, ${n(k.truncationsOk)}`, 'all', k.refusalsOk === k.tornByHand + k.tornByKill && k.truncationsOk === k.refusalsOk);
    add('    restarts with .u.i = valid records', `${n(k.restartsConsistent)} of ${n(k.restarts)}`, 'all', k.restartsConsistent === k.restarts);
  }
  const l = results.lnd;
  if (l) {
    add('(4) lnd: invoices settled', `${n(l.settled)} in ${n(l.seconds)} s (${n(l.invoicesPerSecond)}/s)`, n(l.target), l.settled >= l.target);
    add('    stream faults: drop / end / restart', `${n(l.faults.drop)} / ${n(l.faults.end)} / ${n(l.faults.restart)}`, '100', l.faults.drop + l.faults.end + l.faults.restart >= 100);
    add('    settlements missed', n(l.missed), '0', l.missed === 0);
    add('    double enables', n(l.doubleEnables), '0', l.doubleEnables === 0);
    add('    ledger entries (unique) = settlements', `${n(l.ledgerEntries)} (${n(l.ledgerUnique)})`, n(l.settled), l.ledgerEntries === l.settled && l.ledgerUnique === l.settled);
    add('    kept subscribers in .u.w once / got the last row', `${n(l.keptInW)} / ${n(l.keptReceived)} of ${n(l.kept)}`, 'all', l.keptInW === l.kept && l.keptReceived === l.kept);
    add('    .u.sub refused while lnd away (retried)', n(l.retries));
    add('    settle → first row p50 / p99', `${n(l.settleToData.p50, 1)} / ${n(l.settleToData.p99, 1)} ms`);
  }
  const s = results.slow;
  if (s) {
    add('(5) slow: subscribers dropped (closed)', `${n(s.dropped)} (${n(s.closedSeen)}) of ${n(s.slow)}`, 'all', s.dropped === s.slow && s.closedSeen === s.slow);
    add('    TP RSS baseline / max / bound', `${mb(s.rssBaseline)} / ${mb(s.rssMax)} / ${mb(s.rssBound)}`, '< bound', s.rssMax <= s.rssBound);
    add('    healthy p99 without / with slow ones', `${ms(s.phaseA.p99)} / ${ms(s.phaseB.p99)} (${n(s.p99Ratio, 2)}×)`, '≤ 2×', s.p99Ratio <= 2);
    add('    healthy max without / with slow ones', `${ms(s.phaseA.max)} / ${ms(s.phaseB.max)}`);
    add('    healthy rows lost; healthy dropped', `${n(s.rowsLost)}; ${s.healthyDropped ? 'yes' : 'no'}`, '0; no', s.rowsLost === 0 && !s.healthyDropped);
  }
  const x = results.security;
  if (x) {
    add('(6) security: injections evaluated', `${n(x.evaluated)} of ${n(x.injections)}`, '0', x.evaluated === 0 && !x.markerCreated && x.stateChanged.length === 0);
    add('    marker file / state changed', `${x.markerCreated ? 'created' : 'absent'} / ${x.stateChanged.length ? x.stateChanged.join(',') : 'none'}`);
    add('    hostile handshakes accepted', `${n(x.accepted)} of ${n(x.handshakes)}`, '0', x.accepted === 0);
    add('    right passwords accepted', `${n(x.controlsAccepted)} of ${n(x.controls)}`, 'all', x.controlsAccepted === x.controls);
    add('    secrets in debug logs', `${n(x.secretHits)} in ${n(x.logLines)} lines`, '0', x.secretHits === 0);
  }
  const b = results.bounded;
  if (b) {
    for (const a of b.attacks) {
      if (!a.ran) { add(`(7) bounded: ${a.name}`, 'skipped', '', undefined); add(`    note: ${a.note}`, ''); continue; }
      add(`(7) bounded: ${a.name}: alive; honest rows lost`, `${a.alive ? 'yes' : 'NO'}; ${n(a.rowsLost)} of ${n(a.acked)}`, 'yes; 0', a.alive && a.rowsLost === 0);
      add('    RSS before / peak; honest max stall', `${mb(a.rssBefore)} / ${mb(a.rssPeak)}; ${n(a.maxStallMs, 1)} ms`);
      add('    defences logged; attacks through', `${n(a.defences)}; ${n(a.breaches)}`, '> 0; 0', a.defences > 0 && a.breaches === 0);
      if (a.note) add(`    ${a.note}`, '');
    }
  }
  const w = [50, 34, 12, 4];
  console.log('');
  console.log(`soak${partial ? ' (PARTIAL)' : ''}: ${new Date().toISOString()}, ${secondsSince(started).toFixed(0)} s, seed ${SEED}`);
  for (const r of rows) console.log(r.map((cell, i) => (i === 1 ? cell.padStart(w[i] as number) : cell.padEnd(w[i] as number))).join('  ').trimEnd());
  const failures: string[] = [];
  for (const [name, r] of Object.entries(results) as Array<[string, { failures: string[] }]>) for (const fl of r.failures) failures.push(`${name}: ${fl}`);
  for (const [name, e] of Object.entries(errors)) failures.push(`${name}: did not finish: ${e.split('\n')[0] ?? ''}`);
  if (failures.length) {
    console.log('');
    console.log('failed invariants:');
    for (const fl of failures) console.log(`  - ${fl}`);
  }
  const r = (v: number | undefined, d = 0): number | null => (v === undefined || Number.isNaN(v) ? null : Math.round(v * 10 ** d) / 10 ** d);
  console.log(JSON.stringify({
    soak: partial ? 'partial' : 'complete', seconds: r(secondsSince(started)), seed: SEED, failures: failures.length,
    fuzz_inputs: r(f?.inputs), fuzz_processed: r(f?.tally.processed), fuzz_mutants: r(f?.tally.mutants), fuzz_crashes: r(f?.crashes),
    fuzz_rows_lost: r(f?.rowsLost), fuzz_rss_before_mib: r(f && f.rssBefore / MiB, 1), fuzz_rss_after_mib: r(f && f.rssAfter / MiB, 1),
    fuzz_rss_peak_mib: r(f && f.rssPeak / MiB, 1),
    conn_clients: r(c?.allOpen), conn_errors: r(c?.errors), conn_feed_rate: r(c?.feedRateAchieved), conn_p99_us: r(c?.latency.p99),
    conn_p99_no_churn_us: r(c?.baseline.p99), conn_rows_lost: r(c?.rowsLost),
    crash_kills: r(k?.kills), crash_sync_acked_missing: r(k?.syncAckedMissing), crash_sync_published_missing: r(k?.syncPublishedMissing),
    crash_async_acked_missing: r(k?.asyncAckedMissing), crash_async_published_missing: r(k?.asyncPublishedMissing),
    crash_corrupt_replayed: r(k?.corruptReplayed), crash_torn_refused_ok: r(k?.refusalsOk), crash_truncated_ok: r(k?.truncationsOk),
    crash_journal_records: r(k?.journalRecords),
    lnd_target: r(l?.target), lnd_settled: r(l?.settled), lnd_faults: r(l && l.faults.drop + l.faults.end + l.faults.restart),
    lnd_missed: r(l?.missed), lnd_double_enables: r(l?.doubleEnables), lnd_ledger_entries: r(l?.ledgerEntries),
    lnd_settle_to_data_p99_ms: r(l?.settleToData.p99, 1),
    slow_dropped: r(s?.dropped), slow_rss_max_mib: r(s && s.rssMax / MiB, 1), slow_rss_bound_mib: r(s && s.rssBound / MiB, 1),
    slow_p99_without_us: r(s?.phaseA.p99), slow_p99_with_us: r(s?.phaseB.p99), slow_p99_ratio: r(s?.p99Ratio, 2),
    bounded: b?.attacks.map((a) => ({ name: a.name, ran: a.ran, alive: a.alive, rows_lost: a.rowsLost, rss_before_mib: r(a.rssBefore / MiB, 1), rss_peak_mib: r(a.rssPeak / MiB, 1), max_stall_ms: r(a.maxStallMs, 1), defences: a.defences, breaches: a.breaches })) ?? null,
    sec_evaluated: r(x?.evaluated), sec_injections: r(x?.injections), sec_accepted: r(x?.accepted), sec_secret_hits: r(x?.secretHits),
  }));
  return failures.length > 0;
}

main().catch((err: unknown) => {
  console.error(`soak failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  report(true);
  process.exit(1);
});
