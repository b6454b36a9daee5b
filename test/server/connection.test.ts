// Hostile bytes on raw sockets: each offender is closed with exactly one log line and nothing allocated past
// the limits, while an honest node-q client keeps getting right answers.
// Spec: kdb-ipc-and-tick.md §1 (handshake), §2.1 (framing), §5.4 (decompression), §8 (q closes on 'badmsg).
import t from 'tap';
import type { Test } from 'tap';
import { connectQ, offences, RawClient, readWithNodeQ, startServer, syncRequest } from './fixture.js';

const MAX_MESSAGE = 1024 * 1024;
const MAX_HANDSHAKE = 1024;

const { server, port, sink, handler } = await startServer(t, {
  limits: { maxMessageBytes: MAX_MESSAGE, maxHandshakeBytes: MAX_HANDSHAKE, maxDepth: 64 },
});
const honest = await connectQ(t, { port });
const honestHandle = handler.opened[0] as number;

/** A little-endian message around `payload` with header bytes 1..3 as given. */
function msg(payload: Buffer | number[], msgType = 1, compressed = 0): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const header = Buffer.from([1, msgType, compressed, 0, 0, 0, 0, 0]);
  header.writeUInt32LE(body.length + 8, 4);
  return Buffer.concat([header, body]);
}

/** A header alone, announcing `length` bytes. */
function header(length: number, bytes: [number, number, number] = [1, 1, 0]): Buffer {
  const h = Buffer.from([...bytes, 0, 0, 0, 0, 0]);
  h.writeUInt32LE(length, 4);
  return h;
}

const int32 = (n: number): number[] => { const b = Buffer.alloc(4); b.writeInt32LE(n); return [...b]; };

/** Deterministic bytes (xorshift32) so a failure can be replayed. */
function randomBytes(n: number, seed: number): Buffer {
  let x = seed | 0 || 1;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Records the largest Buffer allocation requested while it is installed. */
class AllocationSpy {
  largest = 0;
  private readonly saved = { alloc: Buffer.alloc, allocUnsafe: Buffer.allocUnsafe, allocUnsafeSlow: Buffer.allocUnsafeSlow };
  install(): void {
    const note = (n: unknown): void => { if (typeof n === 'number' && n > this.largest) this.largest = n; };
    const { alloc, allocUnsafe, allocUnsafeSlow } = this.saved;
    Buffer.alloc = ((size: number, ...rest: never[]) => { note(size); return alloc(size, ...rest); }) as typeof Buffer.alloc;
    Buffer.allocUnsafe = ((size: number) => { note(size); return allocUnsafe(size); }) as typeof Buffer.allocUnsafe;
    Buffer.allocUnsafeSlow = ((size: number) => { note(size); return allocUnsafeSlow(size); }) as typeof Buffer.allocUnsafeSlow;
  }
  uninstall(): void {
    Buffer.alloc = this.saved.alloc;
    Buffer.allocUnsafe = this.saved.allocUnsafe;
    Buffer.allocUnsafeSlow = this.saved.allocUnsafeSlow;
  }
}

interface Attack {
  /** Complete the handshake (capability 3) before sending `bytes`. */
  readonly handshake?: boolean;
  /** Written one write each, in order. */
  readonly bytes: Buffer[];
  /** Half-close our side after writing (for offences the server can only see at the close). */
  readonly hangUp?: boolean;
  /** The one log message expected for the offence. */
  readonly logged: string | RegExp;
}

/**
 * Runs one attack on a fresh raw connection and checks the outcome: the server closes it, exactly one
 * warn/error line names it, no Buffer beyond maxMessageBytes was requested, and the honest client still
 * gets right answers. Returns what the server sent to the attacker.
 */
async function attack(t: Test, a: Attack): Promise<Buffer> {
  const from = sink.lines.length;
  const raw = await RawClient.connect({ port });
  const peer = `127.0.0.1:${raw.socket.localPort ?? 0}`;
  if (a.handshake) t.same([...await raw.handshake()], [3], 'the handshake is accepted');
  const spy = new AllocationSpy();
  spy.install();
  try {
    for (const b of a.bytes) raw.write(b);
    if (a.hangUp) raw.socket.end();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'open'>((r) => { timer = setTimeout(() => r('open'), 5000); });
    const outcome = await Promise.race([raw.closed.then(() => 'closed' as const), timeout]);
    clearTimeout(timer);
    t.equal(outcome, 'closed', 'the server closed the connection');
  } finally {
    spy.uninstall();
    raw.destroy();
  }
  t.ok(spy.largest <= MAX_MESSAGE, `no allocation beyond maxMessageBytes (largest ${spy.largest})`);
  // A connection that got through the handshake is fully gone once its disconnect line is written.
  const mine = (): Array<Record<string, unknown>> => sink.lines.slice(from).filter((l) => l['peer'] === peer);
  if (mine().some((l) => l['msg'] === 'client connected')) {
    await handler.waitClosed(mine()[0]?.['h'] as number);
  }
  await checkHonest(t);
  const lines = mine();
  const handles = new Set(lines.map((l) => l['h']));
  t.equal(handles.size, 1, 'every line about the attacker carries its one handle');
  const h = lines[0]?.['h'] as number;
  t.not(h, honestHandle);
  const bad = offences(sink, h, from);
  t.equal(bad.length, 1, `exactly one warn/error line: ${bad.map((l) => String(l['msg'])).join(' | ')}`);
  t.match(String(bad[0]?.['msg']), a.logged);
  const others = sink.lines.slice(from).filter((l) => l['h'] !== h && Number(l['level']) >= 40);
  t.same(others, [], 'nothing logged against anyone else');
  return raw.bytes;
}

async function checkHonest(t: Test): Promise<void> {
  t.equal(await honest.sync('ping'), 'pong', 'the honest client still gets answers');
  t.equal(await honest.sync('add', 2, 3), 5);
  t.ok(server.get(honestHandle), 'and is still connected');
}

t.test('random bytes instead of a handshake close the connection with one log line each', async (t) => {
  for (const seed of [1, 2, 3, 42, 1234, 0xdeadbeef, 7, 99]) {
    await t.test(`seed ${seed}`, async (t) => {
      // Whatever the bytes hold, hanging up after them is the end: a NUL inside may even pass for a handshake.
      await attack(t, { bytes: [randomBytes(4096, seed)], hangUp: true, logged: /handshake|frame|message/ });
    });
  }
});

t.test('a handshake with no NUL in maxHandshakeBytes is refused without a reply', async (t) => {
  const got = await attack(t, { bytes: [Buffer.alloc(MAX_HANDSHAKE + 1, 0x41)], logged: 'handshake rejected' });
  t.equal(got.length, 0, 'not one byte back');
  const trickled = Array.from({ length: 12 }, () => Buffer.alloc(100, 0x42));
  t.equal((await attack(t, { bytes: trickled, logged: 'handshake rejected' })).length, 0,
    'the same when it trickles in 100 bytes at a time');
});

t.test('a header announcing 8 bytes or fewer closes the connection', async (t) => {
  for (const length of [0, 1, 8]) {
    await attack(t, { handshake: true, bytes: [header(length)], logged: 'bad frame' });
  }
});

t.test('a header announcing more than maxMessageBytes closes the connection before any payload arrives', async (t) => {
  for (const length of [MAX_MESSAGE + 1, 0x7fffffff, 0xffffffff]) {
    // Only the 8 header bytes are sent: the close must come from the header alone, with nothing allocated.
    await attack(t, { handshake: true, bytes: [header(length)], logged: 'bad frame' });
  }
});

t.test('a bad endianness, message type or compression byte closes the connection', async (t) => {
  for (const bytes of [[2, 1, 0], [1, 3, 0], [1, 1, 2], [0xff, 0xff, 0xff]] as Array<[number, number, number]>) {
    await attack(t, { handshake: true, bytes: [header(20, bytes), Buffer.alloc(12)], logged: 'bad frame' });
  }
});

t.test('a frame cut short by the peer hanging up is one logged offence', async (t) => {
  await attack(t, { handshake: true, bytes: [header(100), Buffer.alloc(50, 1)], hangUp: true,
    logged: 'peer closed mid-message' });
  await attack(t, { handshake: true, bytes: [header(100).subarray(0, 5)], hangUp: true,
    logged: 'peer closed mid-message' });
});

t.test('unknown type codes close the connection', async (t) => {
  // 3 is unused; 20–76 are enums; 77, 112 (dynamic load), 126 are not sent; −3, −20, −127 have no atom.
  for (const type of [3, 20, 77, 112, 126, 0xfd, 0xec, 0x81]) {
    await attack(t, { handshake: true, bytes: [msg([type, 0, 1, 0, 0, 0, 0, 0, 0, 0])], logged: 'undecodable message' });
  }
  await attack(t, { handshake: true, bytes: [msg([6, 9, 1, 0, 0, 0, 1, 0, 0, 0])], logged: 'undecodable message' });
});

t.test('nesting 100,000 deep closes the connection at maxDepth without exhausting the stack', async (t) => {
  const level = Buffer.from([0, 0, 1, 0, 0, 0]); // a general list of one item
  const lists = Buffer.concat([...Array.from({ length: 100_000 }, () => level), Buffer.from([0xfa, 1, 0, 0, 0])]);
  await attack(t, { handshake: true, bytes: [msg(lists)], logged: 'undecodable message' });
  const dicts = Buffer.concat([Buffer.alloc(100_000, 99), Buffer.from([0xfa, 1, 0, 0, 0])]);
  await attack(t, { handshake: true, bytes: [msg(dicts)], logged: 'undecodable message' });
  const eachs = Buffer.concat([Buffer.alloc(100_000, 106), Buffer.from([0x65, 0])]);
  await attack(t, { handshake: true, bytes: [msg(eachs)], logged: 'undecodable message' });
});

t.test('an unterminated symbol closes the connection', async (t) => {
  await attack(t, { handshake: true, bytes: [msg([0xf5, 0x61, 0x62, 0x63])], logged: 'undecodable message' });
  await attack(t, { handshake: true, bytes: [msg([11, 0, ...int32(2), 0x61, 0, 0x62])], logged: 'undecodable message' });
  await attack(t, { handshake: true, bytes: [msg([0x80, 0x6f, 0x6f, 0x70, 0x73])], logged: 'undecodable message' });
});

t.test('a compressed frame with a hostile stream closes the connection', async (t) => {
  const size = (n: number): number[] => int32(n);
  const cases: Array<[string, number[]]> = [
    ['a back-reference to an empty table slot', [...size(100), 0x01, 0x00, 0x10]],
    ['a stream that ends early', [...size(1000), 0x00, 0x61, 0x62, 0x63]],
    ['a back-reference past the stated size', [...size(12), 0x00, 0x61, 0x62, 0x63, 0x64, 0xff, 0x07, 0x00]],
    ['a stated size over maxMessageBytes', [...size(0x7fffffff), 0x00, 0x61]],
    ['a stated size of 4 GiB − 1', [...size(-1), 0x00, 0x61]],
    ['a stated size smaller than a header', [...size(3), 0x00, 0x61]],
    ['a stated size of exactly a header', [...size(8), 0x00, 0x61]],
    ['a frame too short to hold the size', [0x01]],
  ];
  for (const [what, body] of cases) {
    await t.test(what, async (t) => {
      await attack(t, { handshake: true, bytes: [msg(body, 1, 1)], logged: 'undecodable message' });
    });
  }
});

t.test('a count claiming 2^31−1 items closes the connection without allocating them', async (t) => {
  const big = int32(0x7fffffff);
  for (const type of [1, 2, 4, 5, 6, 7, 8, 9, 10, 12, 16]) {
    await attack(t, { handshake: true, bytes: [msg([type, 0, ...big, ...Buffer.alloc(16)])], logged: 'undecodable message' });
  }
  await attack(t, { handshake: true, bytes: [msg([11, 0, ...big, 0x61, 0])], logged: 'undecodable message' });
  await attack(t, { handshake: true, bytes: [msg([0, 0, ...big, 0xfa, 1, 0, 0, 0])], logged: 'undecodable message' });
  await attack(t, { handshake: true, bytes: [msg([104, ...big, 0x65, 0])], logged: 'undecodable message' });
  await attack(t, { handshake: true, bytes: [msg([7, 0, ...int32(-1), 0])], logged: 'undecodable message' });
});

t.test('a well-formed request the server does not understand gets a q error and the connection stays open', async (t) => {
  const from = sink.lines.length;
  const raw = await RawClient.connect({ port });
  t.teardown(() => raw.destroy());
  await raw.handshake();
  raw.write(Buffer.concat([syncRequest('no such thing'), syncRequest('ping')]));
  const [err, pong] = (await raw.messages(2)).map(readWithNodeQ);
  t.ok(err instanceof Error && err.message === 'nyi', 'the unknown request is a q error');
  t.equal(pong, 'pong', 'and the next request on the same connection is answered');
  t.same(sink.lines.slice(from).filter((l) => Number(l['level']) >= 40), [], 'a q error is not an offence');
  await checkHonest(t);
});

t.test('after every attack the process is whole and only the honest client remains', async (t) => {
  await checkHonest(t);
  t.same([...server.handles.keys()], [honestHandle]);
  t.same(handler.closed.filter((c) => c.handle === honestHandle), []);
  t.same(sink.lines.filter((l) => Number(l['level']) >= 50), [], 'no error-level line: nothing escaped as a failure');
});
