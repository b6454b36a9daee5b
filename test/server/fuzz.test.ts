// Mutated real q messages (engine: scripts/fuzz.mjs) through Framer → decodeMessage, where only IpcDecodeError
// or QError may escape, then over live sockets beside an honest node-q client.
// Spec: kdb-ipc-and-tick.md §2 (framing), §3 (payload), §5.4 (decompression), §8 (close on 'badmsg).
import t from 'tap';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as errors from '../../src/errors.js';
import * as ipc from '../../src/ipc/index.js';
import { frame, readVectors } from '../helpers/vectors.js';
import { connectQ, handshake, offences, RawClient, startServer } from './fixture.js';

interface Rng { next(): number; int(n: number): number; chance(p: number): boolean }
interface Unexpected { readonly error: string; readonly stack?: string; readonly hex: string }
interface FuzzResult {
  readonly frames: number;
  readonly outcomes: Record<string, number>;
  readonly unexpected: Unexpected[];
  readonly unexpectedCount: number;
}
interface FuzzEngine {
  makeRng(seed: number): Rng;
  mutate(frame: Buffer, rng: Rng, corpus: Buffer[]): Buffer;
  buildCorpus(frames: Buffer[], codec: typeof ipc): Buffer[];
  runFuzz(opts: {
    corpus: Buffer[]; frames: number; seed: number; ipc: typeof ipc; errors: typeof errors;
    limits: { maxMessageBytes: number; maxDepth: number };
  }): FuzzResult;
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const engine = await import(pathToFileURL(join(root, 'scripts/fuzz.mjs')).href) as FuzzEngine;

const SEED = Number(process.env['FUZZ_SEED'] ?? 20240102) >>> 0;
/** At least this many frames; more, in batches, while the time budget lasts (the machine may be shared). */
const MIN_FRAMES = Number(process.env['FUZZ_FRAMES'] ?? 150_000);
const MAX_FRAMES = Math.max(MIN_FRAMES, 400_000);
const BUDGET_MS = 4000;
const BATCH = 25_000;
const LIVE_FRAMES = 3000;
const limits = { maxMessageBytes: 1024 * 1024, maxDepth: 64 };

const real = [
  ...readVectors('q3-expressions.txt').map((v) => frame(v.bytes)),
  ...readVectors('q3-compressed-expressions.txt').map((v) => frame(v.bytes, 0, true)),
];
const corpus = engine.buildCorpus(real, ipc);

t.test('the corpus is real q messages that all decode before mutation', async (t) => {
  t.ok(real.length >= 100, `${real.length} q-produced messages, ${corpus.length} in the corpus`);
  for (const f of corpus) ipc.decodeMessage(f, limits);
});

t.test('mutated frames through Framer and decodeMessage only ever fail with IpcDecodeError or QError', async (t) => {
  t.comment(`seed ${SEED} (FUZZ_SEED to replay, FUZZ_FRAMES for the minimum count)`);
  const started = Date.now();
  const outcomes: Record<string, number> = {};
  const unexpected: Unexpected[] = [];
  let frames = 0;
  let unexpectedCount = 0;
  for (let b = 0; frames < MIN_FRAMES || (frames < MAX_FRAMES && Date.now() - started < BUDGET_MS); b++) {
    // Batch b replays alone with seed SEED + b·0x9e3779b9, as in npm run fuzz.
    const r = engine.runFuzz({ corpus, frames: BATCH, seed: (SEED + b * 0x9e3779b9) >>> 0, ipc, errors, limits });
    frames += r.frames;
    unexpectedCount += r.unexpectedCount;
    unexpected.push(...r.unexpected.map((u) => ({ ...u, error: `[batch ${b}] ${u.error}` })));
    for (const [k, v] of Object.entries(r.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
  }
  const ms = Date.now() - started;
  t.comment(`${frames} mutated frames exercised in ${ms} ms (${Math.round(frames / (ms / 1000))}/s)`);
  for (const [k, v] of Object.entries(outcomes).sort((x, y) => y[1] - x[1])) t.comment(`${String(v).padStart(7)}  ${k}`);
  t.ok(frames >= 100_000, 'at least 100,000 frames');
  t.equal(unexpectedCount, 0, 'no RangeError, TypeError or other exception escaped');
  for (const u of unexpected.slice(0, 5)) t.fail(`${u.error}\ninput: ${u.hex}\n${u.stack ?? ''}`);
  t.ok((outcomes['decoded'] ?? 0) > frames / 20, 'a good share of mutants still decode (the decoder is reached)');
  t.ok(Object.keys(outcomes).filter((k) => k.startsWith('IpcDecodeError')).length >= 6,
    'mutants reach many different rejections');
});

t.test('a live server fed thousands of mutated frames keeps serving an honest node-q client', async (t) => {
  const { server, port, sink, handler } = await startServer(t, { limits });
  const honest = await connectQ(t, { port });
  const honestHandle = handler.opened[0] as number;
  const rng = engine.makeRng(SEED ^ 0x5bd1e995);
  const hello = handshake();
  let sent = 0;
  let honestChecks = 0;

  /** One connection: handshake, one mutated frame, hang up; resolves when the socket has closed. */
  const one = async (): Promise<void> => {
    const base = corpus[rng.int(corpus.length)] as Buffer;
    const mutant = engine.mutate(base, rng, corpus);
    const raw = await RawClient.connect({ port });
    raw.write(Buffer.concat([hello, mutant]));
    raw.socket.end(); // the server reads every byte before it sees the end
    sent++;
    await raw.closed;
  };

  const workers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = w; i < LIVE_FRAMES; i += 8) {
      await one();
      if (w === 0 && i % 200 === 0) {
        honestChecks++;
        t.equal(await honest.sync('add', i, 1), i + 1, `honest answer after ${sent} mutants`);
      }
    }
  });
  const started = Date.now();
  await Promise.all(workers);
  t.comment(`${sent} mutated frames over ${sent} live connections in ${Date.now() - started} ms`);
  t.equal(sent, LIVE_FRAMES);
  t.equal(await honest.sync('ping'), 'pong', 'the honest client is answered at the end');
  t.ok(honestChecks >= 10, `${honestChecks} honest checks during the run`);

  // Every attacker connection that got in is gone; at most one warn/error line each, none at error level.
  await new Promise<void>((resolve) => {
    const check = (): void => { if (server.handles.size === 1) resolve(); else setImmediate(check); };
    check();
  });
  t.same([...server.handles.keys()], [honestHandle], 'only the honest client remains');
  const byHandle = new Map<number, number>();
  for (const l of sink.lines) {
    if (Number(l['level']) >= 40) byHandle.set(l['h'] as number, (byHandle.get(l['h'] as number) ?? 0) + 1);
  }
  const repeated = [...byHandle].filter(([, n]) => n > 1);
  t.same(repeated, [], 'no connection was logged more than once');
  t.equal(offences(sink, honestHandle).length, 0, 'nothing logged against the honest client');
  t.same(sink.lines.filter((l) => Number(l['level']) >= 50).map((l) => l['msg']), [], 'no error-level line');
  const verdicts = new Map<string, number>();
  for (const l of sink.lines) {
    if (Number(l['level']) >= 40) verdicts.set(String(l['msg']), (verdicts.get(String(l['msg'])) ?? 0) + 1);
  }
  t.comment(`${byHandle.size} connections logged one offence each; ${sent - byHandle.size} were well-formed`);
  for (const [msg, n] of verdicts) t.comment(`${String(n).padStart(7)}  ${msg}`);
});
