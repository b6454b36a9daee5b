// Hostile payloads: every malformed input makes the decoder throw IpcDecodeError with a code naming the fault —
// quickly, without deep recursion and without allocating for lengths the bytes cannot back. Its work budget:
// decoding costs memory bounded by a multiple of the payload's bytes whatever its shape, and a compressed
// header is held to what its stream can expand to (src/ipc/compress.ts maxExpansion).
// Spec: the contracts in src/ipc/decode.ts (decodePayload, decodeAt, skipValue, decodeBudget).
import t from 'tap';
import { errorCode } from '../helpers/errors.js';
import fc from 'fast-check';
import type { Arbitrary } from 'fast-check';
import { IpcDecodeError } from '../../src/errors.js';
import { decodeAt, decodeBudget, decodePayload, DECODE_BUDGET_FLOOR, DEFAULT_MAX_DEPTH, skipValue } from '../../src/ipc/decode.js';
import { holds, qPayload } from '../helpers/arbitrary.js';
import { generalNulls, readVectors } from '../helpers/vectors.js';
import { compress, decompress, maxExpansion } from '../../src/ipc/compress.js';
import { decodeMessage, encodeMessage, encodePayload } from '../../src/ipc/index.js';
import { floats, ints, list, MsgType, sym, symbols, table, timespans } from '../../src/ipc/index.js';
import type { QValue } from '../../src/ipc/index.js';

const vectors = readVectors('q3-expressions.txt');
const h = (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ''), 'hex');

/** The IpcDecodeError code f throws, 'ok' when it returns, or the name and text of anything else thrown. */
function outcome(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof IpcDecodeError) return e.code;
    return e instanceof Error ? `${e.name}: ${e.message}` : `thrown ${String(e)}`;
  }
}
const decodeOutcome = (b: Buffer): string => outcome(() => decodePayload(b));
const skipOutcome = (b: Buffer): string => outcome(() => skipValue(b, 0, b.length));
/** 'ok', or 'IPC_ERR_…' — anything else (RangeError, TypeError, stack overflow) is a crash. */
const isClean = (o: string): boolean => o === 'ok' || o.startsWith('IPC_ERR_');

const int32le = (n: number): string => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b.toString('hex');
};
const hexType = (t: number): string => (t & 0xff).toString(16).padStart(2, '0');

const VECTOR_TYPES = [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
/** A well-formed one-column table (`([] a:enlist 1)`) and its inner dict. */
const TABLE_DICT = '630b0001000000 6100 0000 01000000 0700 01000000 0100000000000000';
const TABLE = '6200' + TABLE_DICT;

// ---- truncation ----------------------------------------------------------------------------------

t.test('every strict prefix of every q-produced payload is rejected as truncated', async (t) => {
  const wrong: string[] = [];
  let prefixes = 0;
  for (const { expr, bytes } of vectors) {
    for (let k = 0; k < bytes.length; k++) {
      prefixes++;
      const prefix = Buffer.from(bytes.subarray(0, k)); // its own buffer: nothing readable past the end
      const results = {
        decodePayload: decodeOutcome(prefix),
        // the same bytes, bounded by `end` inside the whole buffer rather than by the buffer's length
        bounded: outcome(() => decodePayload(bytes, 0, k)),
        decodeAt: outcome(() => decodeAt(prefix, 0, k)),
        skipValue: outcome(() => skipValue(bytes, 0, k)),
      };
      for (const [fn, got] of Object.entries(results)) {
        if (got !== 'IPC_ERR_TRUNCATED') wrong.push(`${expr} [0,${k}) ${fn}: ${got}`);
      }
    }
  }
  t.ok(prefixes > 3000, `${prefixes} prefixes of ${vectors.length} payloads`);
  t.same(wrong.slice(0, 20), [], `${wrong.length} prefixes not rejected as truncated`);
});

t.test('a payload cut at its end offset inside a longer buffer is rejected, never read past end', async (t) => {
  // The NUL that would end the symbol sits at `end`: outside the window, so the symbol is unterminated.
  const sym = h('f5 616263 00');
  t.equal(outcome(() => decodePayload(sym, 0, 4)), 'IPC_ERR_TRUNCATED');
  t.equal(outcome(() => skipValue(sym, 0, 4)), 'IPC_ERR_TRUNCATED');
  const longAtom = h('f9 0100000000000000 ffff');
  t.equal(outcome(() => decodePayload(longAtom, 0, 8)), 'IPC_ERR_TRUNCATED');
  t.equal(outcome(() => decodeAt(longAtom, 0, 8)), 'IPC_ERR_TRUNCATED');
  t.equal(outcome(() => skipValue(longAtom, 0, 8)), 'IPC_ERR_TRUNCATED');
});

// ---- types and attributes -----------------------------------------------------------------------------

const UNKNOWN_TYPES = [
  3, -3, 112, -20,
  ...Array.from({ length: 78 }, (_, i) => 20 + i), // 20..97: enumerations and mapped types
  ...Array.from({ length: 14 }, (_, i) => 113 + i), // 113..126
  ...Array.from({ length: 107 }, (_, i) => -21 - i), // -21..-127
];

t.test('unknown type codes are rejected as bad types, at the top level and inside a list', async (t) => {
  const wrong: string[] = [];
  for (const type of UNKNOWN_TYPES) {
    const body = hexType(type) + '00 01000000 f5 6100 00000000 00000000';
    const cases = { top: h(body), nested: h('0000 01000000' + body), dictValue: h('63 0b00 01000000 6100' + body) };
    for (const [where, b] of Object.entries(cases)) {
      const d = outcome(() => decodeAt(b, 0, b.length));
      const s = skipOutcome(b);
      if (d !== 'IPC_ERR_BAD_TYPE') wrong.push(`type ${type} ${where}: decode ${d}`);
      if (s !== 'IPC_ERR_BAD_TYPE') wrong.push(`type ${type} ${where}: skip ${s}`);
    }
  }
  t.same(wrong, [], `${UNKNOWN_TYPES.length} type codes`);
});

t.test('an attribute byte above 4 is rejected as a bad type on every vector, general list and table', async (t) => {
  const wrong: string[] = [];
  for (const a of [5, 6, 0x7f, 0x80, 0xff]) {
    for (const type of [0, ...VECTOR_TYPES]) {
      const b = h(hexType(type) + hexType(a) + '00000000');
      const d = decodeOutcome(b);
      if (d !== 'IPC_ERR_BAD_TYPE') wrong.push(`type ${type} attr ${a}: ${d}`);
    }
    const tb = h('62' + hexType(a) + TABLE_DICT);
    const d = decodeOutcome(tb);
    if (d !== 'IPC_ERR_BAD_TYPE') wrong.push(`table attr ${a}: ${d}`);
  }
  t.same(wrong, []);
});

t.test('attributes 0 to 4 are accepted on every vector, general list and table', async (t) => {
  for (const a of [0, 1, 2, 3, 4]) {
    for (const type of [0, ...VECTOR_TYPES]) t.equal(decodeOutcome(h(hexType(type) + hexType(a) + '00000000')), 'ok');
    t.equal(decodeOutcome(h('62' + hexType(a) + TABLE_DICT)), 'ok');
  }
});

// ---- counts -----------------------------------------------------------------------------------------

const negativeCounts = (): Array<[string, Buffer]> => [-1, -2, -0x80000000].flatMap((n) => [
  ...[0, ...VECTOR_TYPES].map((type): [string, Buffer] => [`type ${type} count ${n}`, h(hexType(type) + '00' + int32le(n) + '00'.repeat(16))]),
  [`projection count ${n}`, h('68' + int32le(n) + '6500')],
  [`composition count ${n}`, h('69' + int32le(n) + '6500')],
]);

t.test('negative counts are rejected as bad lengths on vectors, lists, projections and compositions', async (t) => {
  const wrong: string[] = [];
  for (const [name, b] of negativeCounts()) {
    const d = decodeOutcome(b);
    if (d !== 'IPC_ERR_BAD_LENGTH') wrong.push(`${name}: ${d}`);
  }
  t.same(wrong, []);
});

t.test('skipValue reports a negative count as a bad length, never as truncation', async (t) => {
  // journal/reader.ts reads TRUNCATED (not at EOF) as "the record continues in the next block": a negative
  // count must not look like truncation, or a corrupt journal is read to its end before being called bad.
  const wrong: string[] = [];
  for (const [name, b] of negativeCounts()) {
    const s = skipOutcome(b);
    if (s !== 'IPC_ERR_BAD_LENGTH') wrong.push(`${name}: ${s}`);
  }
  t.same(wrong, []); // 3 counts × list, projection, composition
});

t.test('a long vector claiming 2^31-1 elements in a 20-byte message throws at once without allocating', async (t) => {
  const b = h('0700 ffffff7f' + '00'.repeat(14));
  t.equal(b.length, 20);
  const before = process.memoryUsage().arrayBuffers;
  const start = performance.now();
  const got = decodeOutcome(b);
  const ms = performance.now() - start;
  const grown = process.memoryUsage().arrayBuffers - before;
  t.equal(got, 'IPC_ERR_TRUNCATED');
  t.ok(ms < 100, `took ${ms.toFixed(2)} ms`);
  t.ok(grown < 1 << 20, `array buffers grew by ${grown} bytes`);
  t.equal(skipOutcome(b), 'IPC_ERR_TRUNCATED');
});

t.test('counts larger than the remaining bytes are rejected as truncated, for every counted type, quickly', async (t) => {
  const wrong: string[] = [];
  const start = performance.now();
  for (const n of [0x7fffffff, 0x10000000, 15]) {
    const cases: Array<[string, Buffer]> = [
      ...[0, ...VECTOR_TYPES].map((type): [string, Buffer] => [`type ${type}`, h(hexType(type) + '00' + int32le(n) + '0101010101010101')]),
      ['projection', h('68' + int32le(n) + '6500')],
      ['composition', h('69' + int32le(n) + '6500')],
      ['table column', h('6200 630b00 01000000 6100 0000 01000000 0700' + int32le(n) + '00')],
    ];
    for (const [name, b] of cases) {
      const d = decodeOutcome(b);
      if (d !== 'IPC_ERR_TRUNCATED') wrong.push(`${name} count ${n}: decode ${d}`);
      const s = skipOutcome(b);
      if (s !== 'IPC_ERR_TRUNCATED') wrong.push(`${name} count ${n}: skip ${s}`);
    }
  }
  const ms = performance.now() - start;
  t.same(wrong, []);
  t.ok(ms < 100, `${ms.toFixed(2)} ms for all`);
});

t.test('a count one more than the bytes that remain is rejected, and the exact count accepted', async (t) => {
  for (const type of VECTOR_TYPES.filter((x) => x !== 11)) {
    const width = [0, 1, 16, 0, 1, 2, 4, 8, 4, 8, 1, 0, 8, 4, 4, 8, 8, 4, 4, 4][type] as number;
    const exact = h(hexType(type) + '00' + int32le(3) + '00'.repeat(3 * width));
    t.equal(decodeOutcome(exact), 'ok', `type ${type} with 3 elements`);
    const over = h(hexType(type) + '00' + int32le(4) + '00'.repeat(3 * width));
    t.equal(decodeOutcome(over), 'IPC_ERR_TRUNCATED', `type ${type} claiming 4`);
  }
});

// ---- symbols -----------------------------------------------------------------------------------------

t.test('unterminated symbols, symbol vectors, errors and lambda contexts are rejected as truncated', async (t) => {
  const cases: Record<string, string> = {
    'symbol atom': 'f5 616263',
    'empty buffer after the type': 'f5',
    'last of a symbol vector': '0b00 02000000 6100 62',
    'error text': '80 6e6f7065',
    'lambda context': '64 6464',
    'column name': '6200 630b00 01000000 616263',
    'symbol inside a list': '0000 02000000 f5 6100 f5 62',
  };
  for (const [name, hex] of Object.entries(cases)) {
    t.equal(decodeOutcome(h(hex)), 'IPC_ERR_TRUNCATED', `${name}: decode`);
    t.equal(skipOutcome(h(hex)), 'IPC_ERR_TRUNCATED', `${name}: skip`);
  }
});

// ---- depth -----------------------------------------------------------------------------------------

const LONG_ATOM = 'f9 0100000000000000';
const nest = (prefix: string, n: number, inner: string): Buffer => h(prefix.repeat(n) + inner);
/** Self-similar nestings; `be` is the same prefix with its count in big-endian order. */
const NESTERS: Record<string, { prefix: string; be: string; inner: string }> = {
  'general lists': { prefix: '0000 01000000', be: '0000 00000001', inner: LONG_ATOM },
  'dict keys': { prefix: '63', be: '63', inner: LONG_ATOM + LONG_ATOM },
  'projections': { prefix: '68 01000000', be: '68 00000001', inner: '6600' },
  'derived functions': { prefix: '6a', be: '6a', inner: '6600' },
  'tables': { prefix: '6200', be: '6200', inner: LONG_ATOM },
};

t.test('general lists nested exactly maxDepth deep decode, and one level more is rejected as too deep', async (t) => {
  t.equal(DEFAULT_MAX_DEPTH, 64);
  const at = nest('0000 01000000', 64, LONG_ATOM);
  t.equal(decodeOutcome(at), 'ok', '64 nested lists');
  t.equal(skipOutcome(at), 'ok');
  const over = nest('0000 01000000', 65, LONG_ATOM);
  t.equal(decodeOutcome(over), 'IPC_ERR_TOO_DEEP', '65 nested lists');
  t.equal(skipOutcome(over), 'IPC_ERR_TOO_DEEP');
  const three = nest('0000 01000000', 3, LONG_ATOM);
  t.equal(outcome(() => decodePayload(three, 0, three.length, { maxDepth: 3 })), 'ok', 'maxDepth 3 takes 3 levels');
  t.equal(outcome(() => decodePayload(nest('0000 01000000', 4, LONG_ATOM), 0, 4 * 6 + 9, { maxDepth: 3 })), 'IPC_ERR_TOO_DEEP');
  t.equal(outcome(() => skipValue(nest('0000 01000000', 4, LONG_ATOM), 0, 4 * 6 + 9, 3)), 'IPC_ERR_TOO_DEEP');
});

t.test('100,000-deep nesting of lists, dicts, projections, derived functions and tables throws too-deep, not a stack overflow', async (t) => {
  for (const [name, { prefix, be, inner }] of Object.entries(NESTERS)) {
    const b = nest(prefix, 100_000, inner);
    t.equal(decodeOutcome(b), 'IPC_ERR_TOO_DEEP', `${name}: decodePayload`);
    t.equal(outcome(() => decodeAt(b, 0, b.length)), 'IPC_ERR_TOO_DEEP', `${name}: decodeAt`);
    const bigEndian = nest(be, 100_000, inner);
    t.equal(outcome(() => decodePayload(bigEndian, 0, bigEndian.length, { littleEndian: false })), 'IPC_ERR_TOO_DEEP', `${name}: big-endian`);
    t.equal(skipOutcome(b), 'IPC_ERR_TOO_DEEP', `${name}: skipValue`);
    // Cut short too: depth is hit long before the missing end.
    const cut = b.subarray(0, b.length - 3);
    t.equal(decodeOutcome(cut), 'IPC_ERR_TOO_DEEP', `${name}: truncated deep input`);
  }
});

// ---- trailing bytes -----------------------------------------------------------------------------------

t.test('trailing bytes after a complete payload are rejected as a bad length, and decodeAt stops before them', async (t) => {
  const wrong: string[] = [];
  for (const { expr, bytes } of vectors) {
    for (const extra of ['00', '6500', 'ffffffff']) {
      const b = Buffer.concat([bytes, h(extra)]);
      const d = decodeOutcome(b);
      if (d !== 'IPC_ERR_BAD_LENGTH') wrong.push(`${expr} + ${extra}: ${d}`);
      const at = decodeAt(b, 0, b.length).end;
      if (at !== bytes.length) wrong.push(`${expr} + ${extra}: decodeAt end ${at}`);
      const s = skipValue(b, 0, b.length);
      if (s !== bytes.length) wrong.push(`${expr} + ${extra}: skipValue ${s}`);
    }
  }
  t.same(wrong.slice(0, 20), [], `${wrong.length} wrong`);
});

// ---- tables ------------------------------------------------------------------------------------------

const MALFORMED_TABLES: Record<string, string> = {
  'a long atom instead of a dict': '6200' + LONG_ATOM,
  'a general list instead of a dict': '6200 0000 00000000',
  'a sorted dict (127)': '6200 7f' + TABLE_DICT.slice(2),
  'names that are a long vector': '6200 63 0700 01000000 0100000000000000 0000 01000000 0700 01000000 0100000000000000',
  'names that are a symbol atom': '6200 63 f5 6100 0000 01000000 0700 01000000 0100000000000000',
  'columns that are a long vector, not a list': '6200 63 0b00 01000000 6100 0700 01000000 0100000000000000',
  'two names and one column': '6200 63 0b00 02000000 6100 6200 0000 01000000 0700 01000000 0100000000000000',
  'one name and two columns': '6200 63 0b00 01000000 6100 0000 02000000 0700 01000000 0100000000000000 0700 01000000 0200000000000000',
  'a table inside a table': '6200 ' + TABLE,
};

t.test('a table whose dict is malformed is rejected as a bad type', async (t) => {
  for (const [name, hex] of Object.entries(MALFORMED_TABLES)) t.equal(decodeOutcome(h(hex)), 'IPC_ERR_BAD_TYPE', name);
  t.equal(decodeOutcome(h('6200 63 0b00 01000000 6100 0000 01000000 0700 01000000 01000000')), 'IPC_ERR_TRUNCATED', 'a dict cut short');
  t.equal(decodeOutcome(h('62')), 'IPC_ERR_TRUNCATED', 'no attribute byte');
  t.equal(decodeOutcome(h('6200')), 'IPC_ERR_TRUNCATED', 'no dict');
});

t.test('a table whose columns differ in length, or hold an atom, is rejected as malformed', async (t) => {
  // q cannot build such a table, and code walking its rows would read past a shorter column.
  const unequal = h('6200 63 0b00 02000000 6100 6200 0000 02000000 0700 01000000 0100000000000000 0700 00000000');
  t.equal(decodeOutcome(unequal), 'IPC_ERR_BAD_TYPE', 'columns of 1 and 0 rows');
  const atomColumn = h('6200 63 0b00 01000000 6100 0000 01000000' + LONG_ATOM);
  t.equal(decodeOutcome(atomColumn), 'IPC_ERR_BAD_TYPE', 'a column that is an atom');
});

// ---- skipValue rejects what decodePayload rejects ------------------------------------------------------------

t.test('skipValue rejects every malformed table, lambda and attribute that decodePayload rejects', async (t) => {
  // The journal validator counts records with skipValue: it must refuse what replay could not decode.
  const cases: Record<string, string> = {
    'general list with attribute 5': '0005 00000000',
    'table with attribute 5': '6205' + TABLE_DICT,
    'lambda whose source is a long atom': '6400' + LONG_ATOM,
    ...MALFORMED_TABLES,
  };
  for (const [name, hex] of Object.entries(cases)) {
    const b = h(hex);
    const d = decodeOutcome(b);
    t.not(d, 'ok', `${name}: decodePayload rejects it (${d})`);
    t.equal(skipOutcome(b), d, `${name}: skipValue rejects it with the same code`);
  }
});

// ---- fuzzing ------------------------------------------------------------------------------------------

/** Bytes that usually start with a real type code, so the fuzz reaches past the first byte. */
const TYPE_BYTES = [0, ...VECTOR_TYPES, ...VECTOR_TYPES.map((x) => -x), 98, 99, 100, 101, 102, 103, 104, 105, 106, 111, 127, -128]
  .map((x) => x & 0xff);
const randomPayload: Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.tuple(fc.constantFrom(...TYPE_BYTES), fc.constantFrom(0, 1, 2, 3, 4, 5), fc.uint8Array({ maxLength: 48 }))
    .map(([type, a, rest]) => Buffer.concat([Buffer.from([type, a]), rest])),
);

/** Every decoder entry point: each must either return or throw IpcDecodeError. */
function crashes(b: Buffer): string | undefined {
  const results = {
    decodePayload: decodeOutcome(b), // decodeAt plus the trailing-bytes check
    bigEndian: outcome(() => decodePayload(b, 0, b.length, { littleEndian: false })),
    shallow: outcome(() => decodePayload(b, 0, b.length, { maxDepth: 2 })),
    skipValue: skipOutcome(b),
  };
  for (const [fn, got] of Object.entries(results)) if (!isClean(got)) return `${fn}(${b.toString('hex')}): ${got}`;
  return undefined;
}

t.test('20,000 random byte strings each decode or throw IpcDecodeError, never another error', async (t) => {
  holds(t, 'random bytes never crash the decoder', randomPayload, (b) => {
    const crash = crashes(b);
    if (crash !== undefined) throw new Error(crash);
  }, { numRuns: 20_000 });
});

/** Real messages: q's own payloads and our encodings of generated values. */
const REAL: Buffer[] = [...vectors.map((v) => v.bytes), ...fc.sample(qPayload, { numRuns: 300, seed: 7 }).map(encodePayload)];
const EDGE_INT32 = [0, 1, -1, 0x7fffffff, -0x80000000, 0x10000, 255];

/** One to four edits of a real message: byte flips, int32 overwrites, insertions, deletions, cuts. */
const mutated: Arbitrary<Buffer> = fc.tuple(
  fc.integer({ min: 0, max: REAL.length - 1 }),
  fc.array(fc.tuple(fc.constantFrom('set', 'flip', 'int32', 'insert', 'delete', 'cut'), fc.nat(), fc.nat(255), fc.constantFrom(...EDGE_INT32)),
    { minLength: 1, maxLength: 4 }),
).map(([which, edits]) => {
  let b = Buffer.from(REAL[which] as Buffer);
  for (const [kind, at, byte, n] of edits) {
    const p = b.length === 0 ? 0 : at % b.length;
    switch (kind) {
      case 'set': if (b.length) b[p] = byte; break;
      case 'flip': if (b.length) b[p] = (b[p] as number) ^ (1 << (byte % 8)); break;
      case 'int32': if (b.length >= 4) b.writeInt32LE(n, Math.min(p, b.length - 4)); break;
      case 'insert': b = Buffer.concat([b.subarray(0, p), Buffer.from([byte]), b.subarray(p)]); break;
      case 'delete': b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1 + (byte % 4))]); break;
      case 'cut': b = b.subarray(0, p); break;
    }
  }
  return b;
});

t.test('20,000 mutations of real messages each decode or throw IpcDecodeError, never another error', async (t) => {
  t.ok(REAL.length > 400, `${REAL.length} source messages`);
  holds(t, 'mutated messages never crash the decoder', mutated, (b) => {
    const crash = crashes(b);
    if (crash !== undefined) throw new Error(crash);
  }, { numRuns: 20_000 });
});

t.test('skipValue agrees with decodeAt on every mutated message: same end, or both throw', async (t) => {
  holds(t, 'skipValue(b) === decodeAt(b).end, or both throw', fc.oneof(mutated, randomPayload), (b) => {
    const d = outcome(() => decodeAt(b, 0, b.length));
    const s = outcome(() => skipValue(b, 0, b.length));
    if ((d === 'ok') !== (s === 'ok')) throw new Error(`${b.toString('hex')}: decodeAt ${d}, skipValue ${s}`);
    if (d === 'ok' && decodeAt(b, 0, b.length).end !== skipValue(b, 0, b.length)) throw new Error(`${b.toString('hex')}: ends differ`);
  }, { numRuns: 5_000, seed: 20_261_125 });
});


// ---- the work budget ----


t.test('a compressed list of 16M `::` (32 MiB from 1 MB on the wire) is refused at its header, before 16M objects exist', async (t) => {
  const n = 16 * 1024 * 1024;
  const plain = generalNulls(n);
  const wire = compress(plain) as Buffer;
  t.ok(wire.length < plain.length / 20, `${plain.length} bytes compress to ${wire.length}`);
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  t.equal(errorCode(() => decodeMessage(wire, { maxMessageBytes: 256 << 20, maxDepth: 64 })), 'IPC_ERR_TOO_LARGE');
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const grew = process.memoryUsage().heapUsed - heap0;
  t.ok(grew < 64 << 20, `the JS heap grew by ${(grew / 2 ** 20).toFixed(1)} MiB, not the ~800 MiB 16M objects need`);
  t.comment(`decompress + refuse: ${ms.toFixed(0)} ms`);
});

t.test('the same list uncompressed is refused too; one within the floor decodes', async (t) => {
  t.equal(errorCode(() => decodePayload(generalNulls(4 << 20).subarray(8))), 'IPC_ERR_TOO_LARGE');
  const small = generalNulls(10_000).subarray(8);
  t.ok(48 * 10_000 < DECODE_BUDGET_FLOOR);
  const v = decodePayload(small);
  t.equal(v.type === 0 && v.items.length, 10_000, 'small messages are never refused for their shape');
});

t.test('columnar updates, string columns and journal-sized records stay under the budget', async (t) => {
  const rows = 200_000;
  const syms = Array.from({ length: rows }, (_, i) => ['AAPL', 'MSFT', 'IBM', 'GOOG'][i % 4] as string);
  const cols: QValue = list(timespans(new BigInt64Array(rows)), symbols(syms), floats(new Float64Array(rows)), ints(new Int32Array(rows)));
  const upd = encodeMessage(list(sym('.u.upd'), sym('trade'), cols), MsgType.Async);
  t.equal(errorCode(() => decodeMessage(upd, { maxMessageBytes: 256 << 20, maxDepth: 64 })), 'no error', `${rows} rows as columns`);
  const strings: QValue = { type: 0, attr: 0, items: Array.from({ length: rows }, (_, i): QValue => ({ type: 10, attr: 0, data: Buffer.from(`ORD${i}`.padEnd(10, 'x')) })) };
  const withStrings = table(['sym', 'px', 'id'], [symbols(syms), floats(new Float64Array(rows)), strings]);
  const bytes = encodePayload(withStrings);
  t.equal(errorCode(() => decodePayload(bytes)), 'no error', `a table with a 10-character string column (${bytes.length} bytes)`);
  const unique = symbols(Array.from({ length: rows }, (_, i) => `S${i}`));
  t.equal(errorCode(() => decodePayload(encodePayload(unique))), 'no error', `${rows} distinct symbols`);
  t.equal(decodeBudget(1000), 8 * 1000 + DECODE_BUDGET_FLOOR, 'the documented budget: 8 × bytes + 1 MiB');
});

t.test('a compressed header claiming more than its stream can expand to is refused before allocating', async (t) => {
  const plain = generalNulls(100_000);
  const wire = compress(plain) as Buffer;
  t.same(decompress(wire, 1 << 30), plain, 'an honest claim expands');
  const lie = Buffer.from(wire);
  const claim = maxExpansion(lie.length) + 1;
  lie.writeUInt32LE(claim, 8);
  t.equal(errorCode(() => decompress(lie, 1 << 30)), 'IPC_ERR_COMPRESSION', `${lie.length} bytes cannot hold ${claim}`);
  const most = Buffer.from(wire);
  most.writeUInt32LE(maxExpansion(most.length), 8);
  t.equal(errorCode(() => decompress(most, 1 << 30)), 'IPC_ERR_COMPRESSION', 'at the bound the stream still runs out (corrupt, not allocated blindly)');
  t.ok(maxExpansion(12 + 17) >= 8 + 8 * 257, 'one full group of references is within the bound');
});
