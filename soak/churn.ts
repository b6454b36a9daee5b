// Child of the connections scenario: N q clients connect, subscribe to 1–3 syms, re-subscribe, hang up and
// come back; every row must be for the client's syms at that moment (before a .u.sub reply the old ones).
// argv[2]: {"port","clients","syms","seed","durationMs"}; prints `ready <open>` when all are in, then a JSON line.
import net from 'node:net';
import { decodeMessage, MsgType } from '../src/ipc/index.js';
import { makeRng, sleep } from './env.js';
import type { Rng } from './env.js';
import { FrameSplitter, handshake, LIMITS, readUpdate, syncText } from './wire.js';

export interface ChurnConfig {
  readonly port: number;
  readonly clients: number;
  readonly syms: readonly string[];
  readonly seed: number;
  readonly durationMs: number;
}

export interface ChurnStats {
  connects: number;
  connectErrors: number;
  handshakeRefusals: number;
  subscribes: number;
  subscribeErrors: string[];
  disconnects: number;
  /** Connections the server closed under a client. */
  unexpectedCloses: number;
  rows: number;
  wrongSymRows: number;
  maxOpen: number;
}

const stats: ChurnStats = {
  connects: 0, connectErrors: 0, handshakeRefusals: 0, subscribes: 0, subscribeErrors: [], disconnects: 0,
  unexpectedCloses: 0, rows: 0, wrongSymRows: 0, maxOpen: 0,
};
let open = 0;

/** One client's life: connect, 1–5 (re)subscriptions with pauses, hang up; again until `until`. */
let markAllReady: () => void = () => undefined;
/** Every client's first session stays until all are subscribed: then all N are connected at once. */
const allReady = new Promise<void>((resolve) => { markAllReady = resolve; });

async function client(cfg: ChurnConfig, rng: Rng, until: number, first: () => void): Promise<void> {
  let firstDone = false;
  while (Date.now() < until) {
    const socket = net.connect({ host: '127.0.0.1', port: cfg.port });
    socket.setNoDelay(true);
    let closedByUs = false;
    let closed = false;
    let onReply: ((ok: boolean) => void) | undefined;
    let current = new Set<string>();
    let handshaken = false;
    const splitter = new FrameSplitter();
    const ready = new Promise<boolean>((resolve) => {
      socket.once('connect', () => socket.write(handshake(`churn${rng.int(1000)}`)));
      socket.on('data', (chunk: Buffer) => {
        if (!handshaken) {
          handshaken = true;
          resolve(true);
          chunk = chunk.subarray(1);
          if (chunk.length === 0) return;
        }
        splitter.push(chunk, (f) => {
          if (f[1] === MsgType.Response) {
            const v = decodeMessage(f, LIMITS).value;
            if (v.type === -128 && stats.subscribeErrors.length < 20) stats.subscribeErrors.push(v.message);
            const r = onReply; onReply = undefined; r?.(v.type !== -128);
            return;
          }
          const u = readUpdate(f);
          if (!u) return;
          for (const s of u.syms) {
            stats.rows++;
            if (!current.has(s)) stats.wrongSymRows++;
          }
        });
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        closed = true;
        if (!handshaken) resolve(false);
        onReply?.(false);
        if (!closedByUs && handshaken) stats.unexpectedCloses++;
        if (handshaken) open--;
      });
    });
    if (!(await ready)) {
      stats.connectErrors++;
      await sleep(50 + rng.int(200));
      continue;
    }
    stats.connects++;
    open++;
    if (open > stats.maxOpen) stats.maxOpen = open;
    const ops = 1 + rng.int(5);
    for (let i = 0; i < ops && !closed && Date.now() < until; i++) {
      const quote = rng.chance(0.1);
      const picked = Array.from({ length: 1 + rng.int(3) }, () => cfg.syms[rng.int(cfg.syms.length)] as string);
      const next = quote ? new Set<string>() : new Set(picked);
      const ok = await new Promise<boolean>((resolve) => {
        // Switched inside the frame loop: rows after the reply in the same chunk are the new syms'.
        onReply = (good) => { if (good && !quote) current = next; resolve(good); };
        socket.write(syncText(`.u.sub[\`${quote ? 'quote' : 'trade'};${picked.map((s) => '`' + s).join('')}]`));
      });
      if (!ok) break;
      stats.subscribes++; // u.q sub replaces the caller's trade syms; a quote subscription leaves them
      if (!firstDone) { firstDone = true; first(); await allReady; }
      await sleep(100 + rng.int(900));
    }
    if (!closed) {
      closedByUs = true;
      stats.disconnects++;
      if (rng.chance(0.5)) socket.end(); else socket.destroy();
    }
    await sleep(rng.int(200));
  }
  if (!firstDone) first();
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as ChurnConfig;
  const until = Date.now() + cfg.durationMs;
  let started = 0;
  const all = Array.from({ length: cfg.clients }, (_, i) => client(cfg, makeRng((cfg.seed + i * 7919) >>> 0), until, () => {
    started++;
    if (started === cfg.clients) { process.stdout.write(`ready ${open}\n`); markAllReady(); }
  }));
  await Promise.all(all);
  process.stdout.write(JSON.stringify({ ...stats, open }) + '\n');
}

if (process.argv[1] && /churn\.(ts|js)$/.test(process.argv[1])) {
  main().then(() => process.exit(0), (err: unknown) => { process.stderr.write(`churn: ${String(err)}\n`); process.exit(1); });
}
