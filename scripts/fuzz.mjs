// npm run fuzz [-- --frames N --seed S]: mutated real q messages through Framer → decodeMessage of dist/
// (npm run build); anything but IpcDecodeError/QError is printed with its hex input and exits 1. The engine
// is exported, with no dist import at load time, so test/server/fuzz.test.ts runs it on src/. Spec: §2, §3, §5.4.
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** xorshift32: fast, seedable, and the same sequence in the test and the script. */
export function makeRng(seed) {
  let x = (seed | 0) || 0x2545f491;
  const next = () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return x >>> 0;
  };
  return { next, int: (n) => (n <= 0 ? 0 : next() % n), chance: (p) => next() / 4294967296 < p };
}

/** Values a length or count field is set to: zero, one, boundaries of every width, just over the limit. */
const INTERESTING_32 = [
  0, 1, 7, 8, 9, 12, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
  0x100000, 0x100001, 0x7ffffffe, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff,
];
const INTERESTING_8 = [0, 1, 2, 3, 0x7f, 0x80, 0x81, 0xfe, 0xff];
/** Type bytes: every vector and atom, the composite range, the error type and a few that do not exist. */
const TYPE_BYTES = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 77, 98, 99, 100, 101, 102, 103,
  104, 105, 106, 107, 108, 109, 110, 111, 112, 127, 0x80, 0xec, 0xed, 0xef, 0xf0, 0xf3, 0xf5, 0xf6, 0xf7,
  0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
];

const pick = (rng, xs) => xs[rng.int(xs.length)];

/** One to four mutations of a copy of `frame`; the length field is then repaired half of the time. */
export function mutate(frame, rng, corpus) {
  let b = Buffer.from(frame);
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const at = rng.int(b.length);
    switch (rng.int(11)) {
      case 0: // bit flip
        if (b.length) b[at] ^= 1 << rng.int(8);
        break;
      case 1: // byte set
        if (b.length) b[at] = rng.chance(0.5) ? pick(rng, INTERESTING_8) : rng.int(256);
        break;
      case 2: { // insert 1..8 bytes
        const ins = Buffer.alloc(1 + rng.int(8));
        for (let i = 0; i < ins.length; i++) ins[i] = rng.chance(0.3) ? 0 : rng.int(256);
        b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 3: { // delete 1..8 bytes
        const n = 1 + rng.int(8);
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + n))]);
        break;
      }
      case 4: // length field
        if (b.length >= 8) writeU32(b, 4, rng.chance(0.7) ? pick(rng, INTERESTING_32) : rng.next());
        break;
      case 5: // truncation
        b = b.subarray(0, rng.int(b.length + 1));
        break;
      case 6: // a count or size inside the payload
        if (b.length >= 12) writeU32(b, 8 + rng.int(b.length - 11), pick(rng, INTERESTING_32));
        break;
      case 7: // a type byte inside the payload
        if (b.length > 8) b[8 + rng.int(b.length - 8)] = pick(rng, TYPE_BYTES);
        break;
      case 8: // a header byte: endianness, message type, compression flag, reserved
        if (b.length >= 4) b[rng.int(4)] = rng.chance(0.8) ? rng.int(3) : rng.int(256);
        break;
      case 9: { // splice a slice of another message in
        const other = pick(rng, corpus);
        if (other.length > 8) {
          const from = 8 + rng.int(other.length - 8);
          const piece = other.subarray(from, from + 1 + rng.int(32));
          b = rng.chance(0.5)
            ? Buffer.concat([b.subarray(0, at), piece, b.subarray(at)])
            : Buffer.concat([b.subarray(0, at), piece, b.subarray(Math.min(b.length, at + piece.length))]);
        }
        break;
      }
      default: // duplicate a run (repeated structure: nested lists, long symbol runs)
        if (b.length > 8) {
          const from = 8 + rng.int(b.length - 8);
          const run = b.subarray(from, from + 1 + rng.int(16));
          const times = 1 + rng.int(64);
          b = Buffer.concat([b.subarray(0, from), ...Array.from({ length: times }, () => run), b.subarray(from)]);
        }
    }
  }
  if (b.length >= 8 && rng.chance(0.5)) writeU32(b, 4, b.length); // let it past the framer to the decoder
  return b;
}

/** A 32-bit field in the byte order announced by header byte 0 (1 little-endian, else big). */
function writeU32(b, at, v) {
  if (b[0] === 1) b.writeUInt32LE(v >>> 0, at);
  else b.writeUInt32BE(v >>> 0, at);
}

/** Frames q-produced payload vectors (hex after a header, one q expression per pair of lines). */
export function readVectorFile(path, compressed) {
  const lines = readFileSync(path, 'latin1').split('\n').filter((l) => l.length > 0);
  const out = [];
  for (let i = 0; i + 1 < lines.length; i += 2) out.push(frameOf(Buffer.from(lines[i + 1], 'hex'), 0, compressed));
  return out;
}

function frameOf(payload, msgType, compressed) {
  const header = Buffer.from([1, msgType, compressed ? 1 : 0, 0, 0, 0, 0, 0]);
  header.writeUInt32LE(payload.length + 8, 4);
  return Buffer.concat([header, payload]);
}

/**
 * The corpus: the given real frames, their sync and big-endian-flagged twins, and a few messages a
 * tickerplant really sees, built with the codec under test (`ipc`: src/ipc or dist/ipc) and compressed.
 */
export function buildCorpus(frames, ipc) {
  const { encodeMessage, compress, list, sym, symbols, str, table, longs, floats, timespans, MsgType } = ipc;
  const trade = (n) => table(['time', 'sym', 'price', 'size'], [
    timespans(Array.from({ length: n }, (_, i) => 34_200_000_000_000n + BigInt(i))),
    symbols(Array.from({ length: n }, (_, i) => ['IBM', 'AAPL', 'MSFT'][i % 3])),
    floats(Array.from({ length: n }, (_, i) => 100 + i / 8)),
    longs(Array.from({ length: n }, (_, i) => BigInt(i * 100))),
  ]);
  const made = [
    encodeMessage(list(sym('upd'), sym('trade'), trade(3)), MsgType.Async),
    encodeMessage(list(str('.u.upd'), sym('trade'), list(floats([1.5]), symbols(['IBM']))), MsgType.Async),
    encodeMessage(list(str('.u.sub'), sym('trade'), symbols(['IBM', 'MSFT'])), MsgType.Sync),
    encodeMessage(str('.u.sub[`trade;`]'), MsgType.Sync),
    encodeMessage(list(sym('upd'), sym('trade'), trade(200)), MsgType.Async),
  ];
  const packed = made.map((m) => compress(m)).filter((m) => m !== undefined);
  const sync = frames.slice(0, 40).map((f) => { const c = Buffer.from(f); c[1] = 1; return c; });
  return [...frames, ...sync, ...made, ...packed];
}

/**
 * Runs `frames` mutated inputs: seven in eight alone through a fresh Framer, one in eight as
 * [real, mutated, real] split into random chunks (the carry-over paths). Returns outcome counts and the
 * unexpected exceptions with their input.
 */
export function runFuzz({ corpus, frames, seed, ipc, errors, limits, maxUnexpected = 20 }) {
  const { Framer, decodeMessage } = ipc;
  const { IpcDecodeError, QError } = errors;
  const rng = makeRng(seed);
  const outcomes = new Map();
  const unexpected = [];
  let unexpectedCount = 0;
  const count = (k) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  for (let i = 0; i < frames; i++) {
    const base = pick(rng, corpus);
    let chunks;
    if (i % 8 === 7) {
      const stream = Buffer.concat([pick(rng, corpus), mutate(base, rng, corpus), pick(rng, corpus)]);
      chunks = split(stream, rng);
    } else {
      chunks = [mutate(base, rng, corpus)];
    }
    const framer = new Framer({ maxMessageBytes: limits.maxMessageBytes });
    let decoded = 0;
    try {
      for (const c of chunks) framer.push(c, (f) => { decodeMessage(f, limits); decoded++; });
      count(decoded === 0 ? 'incomplete' : 'decoded');
    } catch (err) {
      if (err instanceof IpcDecodeError) count(`IpcDecodeError ${err.code}`);
      else if (err instanceof QError) count('QError');
      else {
        count('UNEXPECTED');
        unexpectedCount++;
        if (unexpected.length < maxUnexpected) {
          unexpected.push({ error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
            stack: err instanceof Error ? err.stack : undefined,
            hex: chunks.map((c) => c.toString('hex')).join(' ') });
        }
      }
    }
  }
  return { frames, outcomes: Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])), unexpected, unexpectedCount };
}

function split(b, rng) {
  const cuts = Array.from({ length: 1 + rng.int(3) }, () => rng.int(b.length + 1)).sort((x, y) => x - y);
  const out = [];
  let at = 0;
  for (const c of cuts) { out.push(b.subarray(at, c)); at = c; }
  out.push(b.subarray(at));
  return out.filter((c) => c.length > 0);
}

// ---- the command ------------------------------------------------------------------------------

function parseArgs(argv) {
  const opts = { frames: 2_000_000, seed: (Date.now() ^ (process.pid << 16)) >>> 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if ((a === '--frames' || a === '--seed') && v !== undefined && /^\d+$/.test(v)) {
      opts[a.slice(2)] = Number(v);
      i++;
    } else if (a === '--help' || a === '-h') {
      console.log('usage: npm run fuzz -- [--frames N] [--seed S]   (needs npm run build)');
      process.exit(0);
    } else {
      console.error(`unknown or incomplete argument: ${a}`);
      process.exit(2);
    }
  }
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const root = new URL('../', import.meta.url);
  let ipc;
  let errors;
  try {
    ipc = await import(new URL('dist/ipc/index.js', root).href);
    errors = await import(new URL('dist/errors.js', root).href);
  } catch (err) {
    console.error(`cannot load the build in dist/ (${err.message}); run npm run build first`);
    process.exit(2);
  }
  const fixtures = (name) => fileURLToPath(new URL(`test/fixtures/ipc/${name}`, root));
  const real = [...readVectorFile(fixtures('q3-expressions.txt'), false),
    ...readVectorFile(fixtures('q3-compressed-expressions.txt'), true)];
  const corpus = buildCorpus(real, ipc);
  const limits = { maxMessageBytes: 1024 * 1024, maxDepth: 64 };
  console.log(`fuzz: ${opts.frames} frames from ${corpus.length} real messages, seed ${opts.seed}`);

  const totals = {};
  const unexpected = [];
  let unexpectedCount = 0;
  const batch = 100_000;
  const start = process.hrtime.bigint();
  for (let done = 0, b = 0; done < opts.frames; b++) {
    const n = Math.min(batch, opts.frames - done);
    // Each batch has its own seed derived from the run's, so any batch can be replayed alone.
    const r = runFuzz({ corpus, frames: n, seed: (opts.seed + b * 0x9e3779b9) >>> 0, ipc, errors, limits });
    for (const [k, v] of Object.entries(r.outcomes)) totals[k] = (totals[k] ?? 0) + v;
    for (const u of r.unexpected) if (unexpected.length < 20) unexpected.push({ batch: b, ...u });
    unexpectedCount += r.unexpectedCount;
    done += n;
    const s = Number(process.hrtime.bigint() - start) / 1e9;
    const line = `${done} frames, ${Math.round(done / s)} frames/s, ${unexpectedCount} unexpected`;
    if (process.stdout.isTTY) process.stdout.write(`\r${line}   `);
    else if ((b + 1) % 5 === 0 || done === opts.frames) console.log(line);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (process.stdout.isTTY) process.stdout.write('\n');
  console.log(`${opts.frames} frames in ${seconds.toFixed(1)} s: ${Math.round(opts.frames / seconds)} frames/s`);
  for (const [k, v] of Object.entries(totals).sort((a, b) => b[1] - a[1])) {
    console.log(`  ${String(v).padStart(9)}  ${k}`);
  }
  if (unexpectedCount > 0) {
    console.log(`\n${unexpectedCount} unexpected exceptions; the first ${unexpected.length}:`);
    for (const u of unexpected) console.log(`\n[batch ${u.batch}] ${u.error}\n  input: ${u.hex}\n${u.stack ?? ''}`);
    process.exit(1);
  }
  console.log('no unexpected exceptions');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
