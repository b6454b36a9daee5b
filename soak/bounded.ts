// Scenario 7: bounded work. Each class of attack from issue 10 runs against the tickerplant process
// beside an honest feed (paced async updates with chasers) and an honest subscriber; each reports whether
// the process stayed up, honest rows lost, RSS before and at its peak, the honest subscriber's worst
// latency during the attack (its max stall) and the defence's log line count.
// Classes: decode amplification (a compressed general list of `::`), pipelined bypass (one write of many
// requests whose replies exceed --max-queued-bytes), partial-frame hoarding, connection exhaustion, disk
// full on a small tmpfs (root only; skipped with a note otherwise), unauthenticated WebSocket.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { compress } from '../src/ipc/compress.js';
import { replay } from '../src/journal/index.js';
import { MiB, sleep } from './env.js';
import { Feed, SeqSet, Subscriber } from './feed.js';
import { TpProcess } from './tp.js';
import { handshake, syncText } from './wire.js';

export type AttackName = 'decode' | 'pipelined' | 'hoarding' | 'connections' | 'diskfull' | 'websocket';

export interface BoundedOptions {
  /** Which attacks to run (all by default). */
  readonly only?: readonly AttackName[];
  /** `::` items in the decode attack (134,217,721 = a 256 MiB message). */
  readonly nullItems: number;
  /** Requests in the one pipelined write. */
  readonly pipelined: number;
  /** Hoarding connections and the MiB each sends of a 250 MiB frame. */
  readonly hoarders: number;
  readonly hoardMiB: number;
  /** Idle connections the exhaustion attack opens (against --max-connections-per-peer = half of it). */
  readonly idle: number;
  /** Unauthenticated WebSocket upgrade attempts. */
  readonly wsAttempts: number;
  /** Honest feed rate, messages a second. */
  readonly rate: number;
  /** Disk full: KiB left free on the 1 MiB tmpfs before the feed fills it. [512] */
  readonly diskRoomKiB?: number;
  readonly progress?: (line: string) => void;
}

export interface AttackResult {
  readonly name: AttackName;
  /** False when the attack could not run here (e.g. no tmpfs); `note` says why. */
  readonly ran: boolean;
  readonly note: string;
  readonly alive: boolean;
  readonly acked: number;
  readonly rowsLost: number;
  readonly rssBefore: number;
  readonly rssPeak: number;
  /** Honest subscriber's worst feed→subscriber latency during the attack, ms. */
  readonly maxStallMs: number;
  /** Log lines of the defence (refusals, drops). */
  readonly defences: number;
  /** What the attacker achieved (accepted WebSockets, published-not-journaled rows, ...): 0 is the target. */
  readonly breaches: number;
  readonly failures: string[];
}

export interface BoundedResult {
  readonly attacks: AttackResult[];
  readonly failures: string[];
}

const USERS = 'feed:honest\n';

interface Ctx { tp: TpProcess; dir: string; o: BoundedOptions }
interface AttackOutcome { defences: number; breaches: number; note?: string; failures?: string[] }

/** Runs each attack in its own tickerplant, with the honest pair beside it. */
export async function runBoundedScenario(o: BoundedOptions): Promise<BoundedResult> {
  const attacks: AttackResult[] = [];
  const want = (n: AttackName): boolean => o.only === undefined || o.only.includes(n);
  if (want('decode')) attacks.push(await run('decode', o, [], decodeAttack));
  if (want('pipelined')) attacks.push(await run('pipelined', o, ['--max-queued-bytes', String(1 * MiB)], pipelinedAttack));
  if (want('hoarding')) attacks.push(await run('hoarding', o, ['--max-inbound-bytes', String(64 * MiB), '--read-timeout', '2000'], hoardingAttack));
  if (want('connections')) {
    attacks.push(await run('connections', o, ['--max-connections', String(o.idle + 50), '--max-connections-per-peer', String(Math.floor(o.idle / 2))], connectionsAttack));
  }
  if (want('diskfull')) attacks.push(await diskFull(o));
  if (want('websocket')) attacks.push(await run('websocket', o, ['--http-port', '0'], websocketAttack, true));
  const failures = attacks.flatMap((a) => a.failures.map((f) => `${a.name}: ${f}`));
  return { attacks, failures };
}

/**
 * One attack beside the honest pair. With `journalDir` (disk full) the journal lives there and the honest
 * feed sends paced sync updates instead, so that "acknowledged" is exact: each row answered without an
 * error must reach the subscriber and the journal; refused ones ('journal) are counted, not lost.
 */
async function run(name: AttackName, o: BoundedOptions, args: string[], attack: (c: Ctx) => Promise<AttackOutcome>,
  auth = false, journalDir?: string): Promise<AttackResult> {
  const progress = o.progress ?? (() => undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), `soak-bounded-${name}-`));
  const users = path.join(dir, 'users');
  writeFileSync(users, USERS);
  const dst = journalDir ?? path.join(dir, 'tplog');
  const tp = await TpProcess.start({ dst, args: [...args, ...(auth ? ['-u', users] : [])], logLevel: 'info' });
  const credentials = auth ? 'feed:honest' : '';
  const failures: string[] = [];
  try {
    const sub = await Subscriber.connect(tp.port, { credentials });
    const feed = await Feed.connect(tp.port, 0, { credentials });
    let stop = false;
    const feeding = journalDir === undefined ? feed.runPaced(o.rate, 50, () => stop) : feed.runPacedSync(o.rate, 64, () => stop);
    await sleep(500);
    const rssBefore = tp.rss();
    let rssPeak = rssBefore;
    const sampler = setInterval(() => { const r = tp.rss(); if (r > rssPeak) rssPeak = r; }, 25);
    sub.recording = true;
    let outcome: AttackOutcome;
    try {
      outcome = await attack({ tp, dir, o });
    } finally {
      await sleep(300);
      sub.recording = false;
      clearInterval(sampler);
    }
    stop = true;
    await feeding;
    let rowsLost: number;
    let acked = feed.acked;
    if (journalDir === undefined) {
      rowsLost = await sub.waitFor(0, feed.acked, 15_000);
    } else {
      // Lost: acknowledged rows the subscriber or the journal lacks. Breaches: published rows the journal lacks.
      acked = feed.ackedRows.size;
      const missing = await waitForRows(sub, feed.ackedRows, feed.sent, 15_000);
      const c = journalCheck(sub, feed.ackedRows, feed.sent, journalDir);
      rowsLost = missing + c.ackedNotJournaled;
      // A refused update must not be kept either: the feed sends it again.
      if (c.refusedJournaled > 0) failures.push(`${c.refusedJournaled} rows answered 'journal are in the journal`);
      outcome = {
        ...outcome, breaches: outcome.breaches + c.publishedNotJournaled,
        note: `${outcome.note ?? ''}; ${feed.sent} rows sent, ${acked} acknowledged, ${feed.refusals} refused ('${feed.errors[0] ?? ''}), ${c.note}`,
      };
    }
    const stall = sub.latency.summary();
    const alive = tp.alive;
    if (!alive) failures.push(`the tickerplant exited (${JSON.stringify(tp.exit)})`);
    if (rowsLost > 0) failures.push(`${rowsLost} of ${acked} acknowledged rows never reached the honest subscriber${journalDir ? ' or the journal' : ''}`);
    if (sub.closed) failures.push('the honest subscriber was disconnected');
    if (feed.errors.some((e) => journalDir === undefined || e !== 'journal')) failures.push(`feed errors: ${feed.errors.slice(0, 3).join(', ')}`);
    if (outcome.breaches > 0) failures.push(`the attack got through ${outcome.breaches} times`);
    if (outcome.defences === 0) failures.push('no defence fired (no refusal or drop was logged)');
    failures.push(...(outcome.failures ?? []));
    const r: AttackResult = {
      name, ran: true, note: outcome.note ?? '', alive, acked, rowsLost, rssBefore, rssPeak,
      maxStallMs: stall.max / 1000, defences: outcome.defences, breaches: outcome.breaches, failures,
    };
    progress(`bounded/${name}: alive ${String(alive)}, lost ${rowsLost} of ${acked}, RSS ${(rssBefore / MiB).toFixed(0)} → ${(rssPeak / MiB).toFixed(0)} MiB, max stall ${r.maxStallMs.toFixed(1)} ms, ${outcome.defences} defences, ${outcome.breaches} breaches${r.note ? `; ${r.note}` : ''}`);
    sub.close();
    feed.close();
    return r;
  } finally {
    await tp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A raw socket past the handshake, errors ignored (being cut off is the expected outcome). */
async function attacker(port: number, localAddress?: string): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
  s.on('error', () => undefined);
  await once(s, 'connect');
  s.write(handshake(''));
  await once(s, 'data');
  return s;
}

const closedOrTimeout = (s: net.Socket, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    if (s.destroyed) { resolve(true); return; }
    const timer = setTimeout(() => resolve(false), ms);
    s.once('close', () => { clearTimeout(timer); resolve(true); });
  });

/** The `.u.sub` call head that gets a message past pre-decode admission, so that the decoder itself is attacked. */
const CALL_HEAD = Buffer.from([0, 0, 3, 0, 0, 0, 0xf5, ...Buffer.from('.u.sub\0', 'latin1'), 0xf5, ...Buffer.from('trade\0', 'latin1')]);

/**
 * The compressed sync message: a general list of n `::` (type 101, index 0), 2n + 14 bytes uncompressed;
 * with `call`, that list is the third item of (`.u.sub;`trade;list), a form admission lets through.
 */
export function nullListMessage(n: number, call: boolean): Buffer {
  const head = call ? CALL_HEAD.length : 0;
  const plain = Buffer.alloc(8 + head + 6 + 2 * n);
  plain[0] = 1;
  plain[1] = 1;
  plain.writeUInt32LE(plain.length, 4);
  if (call) CALL_HEAD.copy(plain, 8);
  plain.writeInt32LE(n, 8 + head + 2);
  for (let i = 8 + head + 6; i < plain.length; i += 2) plain[i] = 101;
  const wire = compress(plain);
  if (!wire) throw new Error('the :: list did not compress');
  return wire;
}

/** Whether the socket was closed, or answered a q error, within ms. */
const refusedOrClosed = (s: net.Socket, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    if (s.destroyed) { resolve(true); return; }
    const timer = setTimeout(() => resolve(false), ms);
    s.once('close', () => { clearTimeout(timer); resolve(true); });
    s.once('data', (d: Buffer) => { clearTimeout(timer); resolve(d.length > 8 && d[8] === 0x80); }); // type -128: an error
  });

/**
 * Decode amplification, twice over: the bare list is refused by admission ('access, never decoded); inside
 * a `.u.sub` call it reaches the decoder, whose work budget refuses it (8 × payload + 1 MiB) and closes.
 */
async function decodeAttack({ tp, o }: Ctx): Promise<AttackOutcome> {
  // One item fewer per call message, so both stay within --max-message-bytes when n is the 256 MiB maximum.
  const bare = nullListMessage(o.nullItems, false);
  const call = nullListMessage(o.nullItems - CALL_HEAD.length, true);
  let refused = 0;
  for (const wire of [bare, call, bare, call]) {
    const s = await attacker(tp.port);
    s.write(wire);
    if (await refusedOrClosed(s, 60_000)) refused++;
    s.destroy();
  }
  const defences = tp.count('undecodable message') + tp.count('message refused');
  return {
    defences, breaches: 4 - refused,
    note: `${(call.length / MiB).toFixed(1)} MB compressed → ${((2 * o.nullItems + 14) / MiB).toFixed(0)} MiB of ${o.nullItems.toLocaleString('en-US')} \`::\`, bare (admission) and in a .u.sub call (decode budget), twice each`,
  };
}

async function pipelinedAttack({ tp, o }: Ctx): Promise<AttackOutcome> {
  const s = await attacker(tp.port);
  s.pause(); // reads nothing: every reply must queue on the server
  const one = syncText('.u.sub[`trade;`]');
  s.write(Buffer.concat(new Array<Buffer>(o.pipelined).fill(one)));
  const end = Date.now() + 60_000;
  while (tp.count('slow consumer dropped') === 0 && Date.now() < end && tp.alive) await sleep(20);
  s.on('data', () => undefined);
  s.resume(); // a paused socket reports its close only once what was in flight is read
  const closed = await closedOrTimeout(s, 10_000);
  s.destroy();
  return { defences: tp.count('slow consumer dropped'), breaches: closed ? 0 : 1, note: `${o.pipelined.toLocaleString('en-US')} requests in one write (${((o.pipelined * one.length) / MiB).toFixed(1)} MB)` };
}

async function hoardingAttack({ tp, o }: Ctx): Promise<AttackOutcome> {
  const sockets: net.Socket[] = [];
  const header = Buffer.alloc(8);
  header[0] = 1;
  header.writeUInt32LE(250 * MiB, 4);
  const body = Buffer.alloc(MiB);
  for (let i = 0; i < o.hoarders; i++) {
    const s = await attacker(tp.port);
    s.write(header);
    for (let m = 0; m < o.hoardMiB; m++) s.write(body);
    sockets.push(s);
  }
  // Wait for the budget (64 MiB) and the 2 s progress rule to act.
  const all = await Promise.all(sockets.map((s) => closedOrTimeout(s, 20_000)));
  for (const s of sockets) s.destroy();
  return {
    defences: tp.count('inbound budget exceeded') + tp.count('message stalled'),
    breaches: all.filter((c) => !c).length,
    note: `${o.hoarders} × ${o.hoardMiB} MiB of 250 MiB frames: ${tp.count('inbound budget exceeded')} over budget, ${tp.count('message stalled')} stalled`,
  };
}

async function connectionsAttack({ tp, o }: Ctx): Promise<AttackOutcome> {
  const idle: net.Socket[] = [];
  for (let i = 0; i < o.idle; i++) {
    const s = net.connect({ port: tp.port, host: '127.0.0.1' });
    s.on('error', () => undefined);
    idle.push(s);
    if (i % 100 === 99) await sleep(5);
  }
  await sleep(1000);
  // A new honest client from another address still gets in and subscribed.
  const failures: string[] = [];
  let breaches = 0;
  try {
    const sock = net.connect({ port: tp.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
    await once(sock, 'connect');
    sock.write(handshake(''));
    const [reply] = await Promise.race([once(sock, 'data'), sleep(5000).then(() => [Buffer.alloc(0)])]) as [Buffer];
    if (reply.length !== 1) breaches++;
    sock.destroy();
  } catch (err) {
    breaches++;
    failures.push(`a new honest client could not connect: ${String(err)}`);
  }
  for (const s of idle) s.destroy();
  return { defences: tp.count('connection refused: too many connections'), breaches, failures, note: `${o.idle} idle connections from 127.0.0.1; a new client from 127.0.0.2 ${breaches ? 'was locked out' : 'got in'}` };
}

async function websocketAttack({ tp, o }: Ctx): Promise<AttackOutcome> {
  const { default: WebSocket } = await import('ws');
  const port = await httpPortOf(tp);
  let accepted = 0;
  for (let i = 0; i < o.wsAttempts; i++) {
    const protocols = i % 2 === 0 ? undefined : ['tickerplant', `auth.${Buffer.from(`feed:guess${i}`).toString('base64url')}`];
    accepted += await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, protocols);
      ws.once('open', () => { ws.terminate(); resolve(1); });
      ws.once('unexpected-response', () => { ws.terminate(); resolve(0); });
      ws.once('error', () => resolve(0));
    });
  }
  const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (metrics.status !== 401) accepted++;
  return { defences: tp.count('http access denied'), breaches: accepted, note: `${o.wsAttempts} upgrades without or with wrong credentials, and /metrics` };
}

/** The HTTP port from the start-up line ("http listening" carries it). */
async function httpPortOf(tp: TpProcess): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const line = tp.tail.find((l) => l.includes('"msg":"http listening"'));
    const m = line ? /"port":(\d+)/.exec(line) : null;
    if (m) return Number(m[1]);
    await sleep(50);
  }
  throw new Error('no http port in the log');
}

/**
 * Disk full on a real 1 MiB tmpfs: a filler leaves `diskRoomKiB` free, the journal fills that while the
 * honest feed sends sync updates; from then on each gets 'journal and nothing unjournaled is published;
 * the filler is removed and writing resumes. Lost (acknowledged rows missing from the subscriber or the
 * journal) must be 0, and so must breaches (published rows missing from the journal). Needs mount (root);
 * otherwise skipped with a note (test/integration/journal-faults.test.ts covers it with a fault hook).
 */
async function diskFull(o: BoundedOptions): Promise<AttackResult> {
  const mnt = mkdtempSync(path.join(os.tmpdir(), 'soak-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    rmSync(mnt, { recursive: true, force: true });
    return {
      name: 'diskfull', ran: false, note: 'mount refused (not root?): covered by test/integration/journal-faults.test.ts', alive: true,
      acked: 0, rowsLost: 0, rssBefore: NaN, rssPeak: NaN, maxStallMs: NaN, defences: 0, breaches: 0, failures: [],
    };
  }
  const FAILED = 'journal write failed: updates refused until it writes again';
  const room = (o.diskRoomKiB ?? 512) * 1024;
  try {
    const filler = path.join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(MiB - room));
    return await run('diskfull', o, [], async ({ tp }) => {
      const end = Date.now() + 60_000;
      while (tp.count(FAILED) === 0 && Date.now() < end && tp.alive) await sleep(50);
      const failed = tp.count(FAILED);
      await sleep(1000); // the disk stays full for a second under the feed
      rmSync(filler, { force: true }); // room again
      const end2 = Date.now() + 15_000;
      while (tp.count('journal writing again') === 0 && Date.now() < end2 && tp.alive) await sleep(50);
      const resumed = tp.count('journal writing again');
      await sleep(500); // and some rows after the recovery
      return {
        defences: failed, breaches: 0,
        note: `1 MiB tmpfs, ${(room / 1024).toFixed(0)} KiB free: fault logged ${failed}x, resumed ${resumed}x once the filler was removed`,
        failures: [...(failed === 0 ? ['the disk never filled'] : []), ...(resumed === 0 ? ['writing did not resume'] : [])],
      };
    }, false, path.join(mnt, 'tplog'));
  } finally {
    try { execFileSync('umount', [mnt], { stdio: 'ignore' }); } catch { /* left mounted: reported by the OS */ }
    rmSync(mnt, { recursive: true, force: true });
  }
}

/** Acknowledged rows (of `sent`) the subscriber has not received, once they arrived or `timeoutMs` passed. */
async function waitForRows(sub: Subscriber, acked: SeqSet, sent: number, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  let from = 0;
  for (;;) {
    while (from < sent && (!acked.has(from) || sub.seen.has(from))) from++;
    if (from >= sent || sub.closed || Date.now() > end) break;
    await sleep(50);
  }
  let missing = 0;
  for (let seq = from; seq < sent; seq++) if (acked.has(seq) && !sub.seen.has(seq)) missing++;
  return missing;
}

/** The journal against what was acknowledged and what was published, by sequence number. */
function journalCheck(sub: Subscriber, acked: SeqSet, sent: number, dir: string):
  { ackedNotJournaled: number; publishedNotJournaled: number; refusedJournaled: number; note: string } {
  const journaled = new SeqSet();
  for (const f of readdirSync(dir)) {
    replay(path.join(dir, f), (r) => {
      const x = r.type === 0 ? r.items[2] : undefined;
      const size = x?.type === 0 ? x.items[3] : undefined;
      if (size?.type === -6) journaled.add(size.value);
      else if (size?.type === 6) for (const v of size.data) journaled.add(v);
    });
  }
  let ackedNotJournaled = 0;
  let publishedNotJournaled = 0;
  let published = 0;
  let extra = 0;
  for (let seq = 0; seq < sent; seq++) {
    const j = journaled.has(seq);
    if (sub.seen.has(seq)) { published++; if (!j) publishedNotJournaled++; }
    if (acked.has(seq) && !j) ackedNotJournaled++;
    if (j && !acked.has(seq)) extra++;
  }
  return {
    ackedNotJournaled, publishedNotJournaled, refusedJournaled: extra,
    note: `${journaled.size} journaled (${extra} of them unacknowledged), ${published} published, ${publishedNotJournaled} published but not journaled`,
  };
}
