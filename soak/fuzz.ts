// Scenario 1: mutated (scripts/fuzz.mjs), random and garbage frames and hostile handshakes at a running
// tickerplant over many pipelined connections, beside a feed and an honest subscriber. A `.u.t` chaser
// after each lethal frame proves what was read: `processed` is a lower bound. Spec: kdb-ipc-and-tick.md §1–§3, §8.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as errors from '../src/errors.js';
import * as ipc from '../src/ipc/index.js';
import { encodeMessage, MsgType, symbols } from '../src/ipc/index.js';
import { cpuSeconds, makeRng, nowNs, ownCpuSeconds, ROOT, secondsSince, sleep } from './env.js';
import type { Rng } from './env.js';
import { connectRaw, Feed, Subscriber } from './feed.js';
import { TpProcess } from './tp.js';
import { handshake, splitFrames, syncText } from './wire.js';

/** The engine of npm run fuzz (plain JS, shared with test/server/fuzz.test.ts). */
interface FuzzEngine {
  mutate(frame: Buffer, rng: { next(): number; int(n: number): number; chance(p: number): boolean }, corpus: Buffer[]): Buffer;
  buildCorpus(frames: Buffer[], codec: typeof ipc): Buffer[];
  readVectorFile(path: string, compressed: boolean): Buffer[];
  runFuzz(opts: { corpus: Buffer[]; frames: number; seed: number; ipc: typeof ipc; errors: typeof errors;
    limits: { maxMessageBytes: number; maxDepth: number } }): { unexpectedCount: number };
}

export async function loadFuzzEngine(): Promise<FuzzEngine> {
  return await import(pathToFileURL(path.join(ROOT, 'scripts', 'fuzz.mjs')).href) as FuzzEngine;
}

/** Real q messages (test/fixtures/ipc) plus the engine's own, as npm run fuzz builds them. */
export async function fuzzCorpus(): Promise<{ engine: FuzzEngine; corpus: Buffer[] }> {
  const engine = await loadFuzzEngine();
  const fixture = (name: string): string => path.join(ROOT, 'test', 'fixtures', 'ipc', name);
  const real = [...engine.readVectorFile(fixture('q3-expressions.txt'), false),
    ...engine.readVectorFile(fixture('q3-compressed-expressions.txt'), true)];
  return { engine, corpus: engine.buildCorpus(real, ipc) };
}

const require = createRequire(import.meta.url);
const nodeq = require('node-q/lib/c.js') as { serialize(x: unknown): Buffer };

const CHASER = syncText('.u.t');
const CHASER_REPLY = encodeMessage(symbols(['quote', 'trade']), MsgType.Response);

const TOKENS = ['.u.sub', '[', ']', ';', '`trade', '`quote', '`', '`IBM', '`SOAKFEED', '.u.w', '.u.i', '.u.j', '.u.L',
  '.u.d', 'tables', '[]', '(', ')', '"abc"', '1', '2.5', '0N', '-1', 'system', '"ls"', 'value', '\\\\', '\\l', '.z.pw', ':',
  '{1b}', '::', 'exit', ' ', 'count', '.u.upd', '.u.pendingInvoices', '.u.subPaid', '"00"', 'x', '1b', '`a`b`c',
  '2024.01.01', '0x00', '.q.', 'hopen', '"', '/', '\n', '0D00:00:01', '`:/tmp/x', 'set', 'get', '.u.end', '.z.ts', '@', '$'];

/** A random JS value for node-q's serializer (nested at most `depth`). */
function randomJs(rng: Rng, depth: number): unknown {
  switch (rng.int(depth > 0 ? 10 : 7)) {
    case 0: return rng.float() * 1e6 - 5e5;
    case 1: return rng.int(1000);
    case 2: return Array.from({ length: rng.int(12) }, () => String.fromCharCode(32 + rng.int(95))).join('');
    case 3: return '`' + ['trade', 'quote', 'IBM', '', 'SOAKFEED', '.u.sub', 'upd'][rng.int(7)];
    case 4: return rng.chance(0.5);
    case 5: return null;
    case 6: return new Date(rng.int(2_000_000_000) * 1000);
    case 7: case 8: return Array.from({ length: rng.int(6) }, () => randomJs(rng, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--) o[`k${rng.int(100)}`] = randomJs(rng, depth - 1);
      return o;
    }
  }
}

/** A well-formed random message: q text, a (`fn;args) call, or any value; sync or async. */
export function randomFrame(rng: Rng): Buffer {
  let b: Buffer;
  switch (rng.int(4)) {
    case 0: {
      const text = Array.from({ length: 1 + rng.int(12) }, () => TOKENS[rng.int(TOKENS.length)] as string).join('');
      b = text === '.u.t' ? syncText('.u.i') : syncText(text);
      break;
    }
    case 1: {
      const fn = ['`.u.sub', '`.u.upd', '`.u.subPaid', '`upd', '`.u.end', '`system', '`value', '`.z.pw'][rng.int(8)];
      b = nodeq.serialize([fn, ...Array.from({ length: rng.int(4) }, () => randomJs(rng, 2))]);
      break;
    }
    case 2:
      b = syncText(`.u.sub[\`${rng.chance(0.8) ? 'trade' : 'quote'};\`S${rng.int(100)}${rng.chance(0.3) ? '`S' + rng.int(100) : ''}]`);
      break;
    default:
      b = nodeq.serialize(randomJs(rng, 3));
  }
  b[1] = rng.chance(0.7) ? MsgType.Sync : MsgType.Async;
  return b;
}

/** Random bytes behind a header that is plausible (little- or big-endian, any type, sometimes compressed). */
export function garbageFrame(rng: Rng): Buffer {
  const body = Buffer.alloc(rng.int(64));
  for (let i = 0; i < body.length; i++) body[i] = rng.int(256);
  const b = Buffer.concat([Buffer.alloc(8), body]);
  b[0] = rng.chance(0.8) ? 1 : 0;
  b[1] = rng.int(3);
  b[2] = rng.chance(0.1) ? 1 : 0;
  const len = rng.chance(0.8) ? b.length : rng.next();
  if (b[0] === 1) b.writeUInt32LE(len >>> 0, 4); else b.writeUInt32BE(len >>> 0, 4);
  return b;
}

export type HandshakeKind = 'valid' | 'random' | 'mutated' | 'oversized' | 'unterminated' | 'empty';

/** A handshake: 85% well-formed (any user, any capability), else one of the hostile kinds. */
export function randomHandshake(rng: Rng): { kind: HandshakeKind; bytes: Buffer } {
  const user = Array.from({ length: rng.int(16) }, () => String.fromCharCode(33 + rng.int(90))).join('').replace(/:/g, '_');
  const valid = handshake(rng.chance(0.5) ? user : `${user}:${rng.int(1e6)}`, rng.chance(0.7) ? 3 : rng.int(7));
  if (rng.chance(0.85)) return { kind: 'valid', bytes: valid };
  switch (rng.int(5)) {
    case 0: {
      const b = Buffer.alloc(1 + rng.int(48));
      for (let i = 0; i < b.length; i++) b[i] = rng.int(256);
      return { kind: 'random', bytes: b };
    }
    case 1: {
      const b = Buffer.from(valid);
      for (let i = 1 + rng.int(3); i > 0; i--) { const at = rng.int(b.length); b[at] = (b[at] ?? 0) ^ (1 << rng.int(8)); }
      return { kind: 'mutated', bytes: b };
    }
    case 2: return { kind: 'oversized', bytes: handshake('u:' + 'p'.repeat(1025 + rng.int(8192))) };
    case 3: return { kind: 'unterminated', bytes: Buffer.from('user:' + 'x'.repeat(rng.int(900)), 'latin1') };
    default: return { kind: 'empty', bytes: Buffer.from([0]) };
  }
}

export interface FuzzTally {
  connections: number;
  handshakes: number;
  handshakesAccepted: number;
  handshakesHostile: number;
  hostileAccepted: number;
  mutants: number;
  garbage: number;
  random: number;
  chasers: number;
  chasersAnswered: number;
  responses: number;
  /** Frames the tickerplant provably read (answered chasers, and replies), handshakes included. */
  processed: number;
  /** Connections the tickerplant had not closed 10 s after we finished writing. */
  hung: number;
  connectErrors: number;
}

const newTally = (): FuzzTally => ({
  connections: 0, handshakes: 0, handshakesAccepted: 0, handshakesHostile: 0, hostileAccepted: 0, mutants: 0, garbage: 0,
  random: 0, chasers: 0, chasersAnswered: 0, responses: 0, processed: 0, hung: 0, connectErrors: 0,
});

/** One attacker connection: handshake, random frames, then lethal frames each chased; pipelined; hang up. */
async function attack(port: number, host: string, rng: Rng, engine: FuzzEngine, corpus: Buffer[], tally: FuzzTally, randomMean: number): Promise<void> {
  const hs = randomHandshake(rng);
  const parts: Buffer[] = [hs.bytes];
  const r = rng.int(2 * randomMean + 1);
  for (let i = 0; i < r; i++) parts.push(randomFrame(rng));
  parts.push(CHASER); // answered: every random frame was read
  const lethal = rng.chance(0.3) ? 2 : 1;
  let mutants = 0;
  let garbage = 0;
  for (let i = 0; i < lethal; i++) {
    if (rng.chance(0.8)) { parts.push(engine.mutate(corpus[rng.int(corpus.length)] as Buffer, rng, corpus)); mutants++; } else { parts.push(garbageFrame(rng)); garbage++; }
    parts.push(CHASER);
  }
  const bytes = Buffer.concat(parts);
  const got: Buffer[] = [];
  let socket: net.Socket;
  try {
    socket = net.connect({ host, port });
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  } catch {
    tally.connectErrors++;
    return;
  }
  socket.setNoDelay(true);
  socket.on('data', (c: Buffer) => got.push(c));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  if (rng.chance(0.2)) {
    // several writes at random cut points: the handshake and frames arrive in pieces
    const cuts = Array.from({ length: 1 + rng.int(4) }, () => rng.int(bytes.length)).sort((a, b) => a - b);
    let at = 0;
    for (const c of [...cuts, bytes.length]) {
      if (c > at && !socket.destroyed) socket.write(bytes.subarray(at, c));
      at = c;
      await new Promise((res) => setImmediate(res));
    }
  } else {
    socket.write(bytes);
  }
  socket.end();
  const timer = setTimeout(() => { tally.hung++; socket.destroy(); }, 10_000);
  await closed;
  clearTimeout(timer);

  tally.connections++;
  tally.handshakes++;
  tally.processed++; // the handshake was read: answered, refused or timed out
  if (hs.kind !== 'valid') tally.handshakesHostile++;
  const reply = Buffer.concat(got);
  const accepted = reply.length >= 1;
  if (!accepted) return;
  tally.handshakesAccepted++;
  if (hs.kind !== 'valid') tally.hostileAccepted++;
  tally.random += r;
  tally.mutants += mutants;
  tally.garbage += garbage;
  tally.chasers += 1 + lethal;
  const { frames } = splitFrames(reply.subarray(1));
  let chasers = 0;
  for (const f of frames) if (f.equals(CHASER_REPLY)) chasers++;
  tally.chasersAnswered += chasers;
  tally.responses += frames.length - chasers;
  // Chaser 1 answered: every random frame was read; each later one: the lethal frame before it too.
  tally.processed += chasers > 0 ? r + chasers - 1 : Math.min(r, frames.length);
}

export interface FuzzOptions {
  /** Hostile inputs to send: handshakes + random + mutated + garbage frames. */
  readonly inputs: number;
  readonly concurrency: number;
  readonly seed: number;
  /** Feed rate (async updates a second) and its chaser interval. */
  readonly feedRate: number;
  readonly chaserEvery: number;
  /** Mean random well-formed frames per connection before the lethal ones. */
  readonly randomMean?: number;
  /** Give up (and report how far it got) after this long. */
  readonly budgetMs: number;
  readonly progress?: (line: string) => void;
}

export interface FuzzResult {
  readonly tally: FuzzTally;
  readonly inputs: number;
  readonly seconds: number;
  /** CPU used during the attack as a share of one core: the tickerplant and this process. */
  readonly cpu: { readonly tp: number; readonly driver: number };
  readonly crashes: number;
  readonly exit: string | null;
  readonly aliveAtEnd: boolean;
  readonly probes: number;
  readonly probeFailures: number;
  readonly probeMaxMs: number;
  readonly feedSent: number;
  readonly feedAcked: number;
  readonly feedErrors: string[];
  readonly rowsLost: number;
  readonly duplicates: number;
  readonly rssBefore: number;
  readonly rssAfter: number;
  readonly rssPeak: number;
  readonly errorLines: string[];
  readonly topMessages: Array<[string, number]>;
  readonly failures: string[];
}

export const fuzzInputs = (t: FuzzTally): number => t.handshakes + t.random + t.mutants + t.garbage;

export async function runFuzzScenario(o: FuzzOptions): Promise<FuzzResult> {
  const progress = o.progress ?? (() => undefined);
  const { engine, corpus } = await fuzzCorpus();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'soak-fuzz-'));
  const tp = await TpProcess.start({ dst: dir, logLevel: 'warn' });
  const failures: string[] = [];
  try {
    const sub = await Subscriber.connect(tp.port);
    const feed = await Feed.connect(tp.port);
    let stopFeed = false;
    const feeding = feed.runPaced(o.feedRate, o.chaserEvery, () => stopFeed);
    await sleep(500);
    const rssBefore = tp.rss();
    let rssPeak = rssBefore;
    const sampler = setInterval(() => { const r = tp.rss(); if (r > rssPeak) rssPeak = r; }, 200);

    // A prober: one sync query a quarter second, to see the tickerplant answering throughout.
    const prober = await connectRaw(tp.port);
    let probes = 0;
    let probeFailures = 0;
    let probeMaxMs = 0;
    let stopProbe = false;
    const probing = (async () => {
      let pending: ((ok: boolean) => void) | undefined;
      prober.on('data', () => pending?.(true));
      prober.on('close', () => pending?.(false));
      prober.on('error', () => undefined);
      while (!stopProbe) {
        const t0 = nowNs();
        const ok = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 5000);
          pending = (v) => { clearTimeout(timer); pending = undefined; resolve(v); };
          prober.write(syncText('.u.i'));
        });
        probes++;
        if (!ok) probeFailures++;
        probeMaxMs = Math.max(probeMaxMs, secondsSince(t0) * 1000);
        if (prober.destroyed) break;
        await sleep(250);
      }
    })();

    const tally = newTally();
    const t0 = nowNs();
    const cpu0 = { tp: cpuSeconds(tp.pid), own: ownCpuSeconds() };
    const deadline = Date.now() + o.budgetMs;
    let next = 0;
    let lastReport = Date.now();
    const worker = async (w: number): Promise<void> => {
      const wrng = makeRng((o.seed ^ Math.imul(w + 1, 0x9e3779b9)) >>> 0);
      while (fuzzInputs(tally) < o.inputs && Date.now() < deadline && tp.alive) {
        const host = `127.0.0.${1 + (next++ % 250)}`;
        await attack(tp.port, host, wrng, engine, corpus, tally, o.randomMean ?? 10);
        if (w === 0 && Date.now() - lastReport > 5000) {
          lastReport = Date.now();
          progress(`fuzz: ${fuzzInputs(tally)} inputs, ${tally.connections} connections, ${Math.round(fuzzInputs(tally) / secondsSince(t0))}/s, TP RSS ${(tp.rss() / 2 ** 20).toFixed(0)} MiB`);
        }
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
    const seconds = secondsSince(t0);
    const cpu = { tp: (cpuSeconds(tp.pid) - cpu0.tp) / seconds, driver: (ownCpuSeconds() - cpu0.own) / seconds };
    stopFeed = true;
    await feeding;
    stopProbe = true;
    await probing;
    prober.destroy();
    const rowsLost = tp.alive ? await sub.waitFor(0, feed.acked, 15_000) : feed.acked - sub.seen.size;
    let aliveAtEnd = false;
    if (tp.alive) {
      try {
        const c = await connectRaw(tp.port);
        c.write(syncText('.u.i'));
        aliveAtEnd = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 5000);
          c.once('data', () => { clearTimeout(timer); resolve(true); });
        });
        c.destroy();
      } catch { aliveAtEnd = false; }
    }
    await sleep(1500); // let closed connections' buffers go
    const rssAfter = tp.rss();
    clearInterval(sampler);
    sub.close();
    feed.close();
    const crashes = tp.alive ? 0 : 1;
    const exit = tp.exit ? `${tp.exit.code ?? tp.exit.signal}` : null;
    const inputs = fuzzInputs(tally);
    if (crashes > 0) failures.push(`the tickerplant exited (${exit}): ${tp.tail.slice(-5).join(' | ')}`);
    if (!aliveAtEnd) failures.push('the tickerplant did not answer at the end');
    if (rowsLost > 0) failures.push(`${rowsLost} acknowledged rows never reached the honest subscriber`);
    if (sub.duplicates > 0) failures.push(`${sub.duplicates} rows arrived twice`);
    if (probeFailures > 0) failures.push(`${probeFailures} of ${probes} liveness probes unanswered within 5 s`);
    if (tally.hung > 0) failures.push(`${tally.hung} attacker connections were still open 10 s after hanging up`);
    if (tally.connectErrors > 0) failures.push(`${tally.connectErrors} attacker connections could not connect`);
    if (tp.errorLines.length > 0) failures.push(`${tp.errorLines.length} error-level log lines, e.g. ${tp.errorLines[0] ?? ''}`);
    if (feed.errors.length > 0) failures.push(`the feed got errors: ${feed.errors.slice(0, 3).join(', ')}`);
    const topMessages = [...tp.messages].sort((a, b) => b[1] - a[1]).slice(0, 8);
    return {
      tally, inputs, seconds, cpu, crashes, exit, aliveAtEnd, probes, probeFailures, probeMaxMs,
      feedSent: feed.sent, feedAcked: feed.acked, feedErrors: feed.errors, rowsLost, duplicates: sub.duplicates,
      rssBefore, rssAfter, rssPeak, errorLines: tp.errorLines.slice(0, 5), topMessages, failures,
    };
  } finally {
    await tp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
