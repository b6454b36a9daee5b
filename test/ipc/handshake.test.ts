// Handshake parsing as clients send it (kdb-ipc-and-tick.md §1.1–1.3): q, node-q, qPython, old clients.
import t from 'tap';
import { createServer, type AddressInfo } from 'node:net';
import { parseHandshake, replyCapability, type Handshake } from '../../src/ipc/handshake.js';
import { nodeq } from '../helpers/qclient.js';
import { errorCode } from '../helpers/errors.js';

const MAX = 1024;

const bytes = (text: string, ...tail: number[]): Buffer => Buffer.concat([Buffer.from(text, 'latin1'), Buffer.from(tail)]);


t.test('user:password with capability 3 parses into its parts', async (t) => {
  const hs = bytes('user:pass', 3, 0);
  t.equal(hs.toString('hex'), '757365723a7061737303' + '00', 'the §1.1 example bytes');
  t.same(parseHandshake(hs, MAX), { user: 'user', password: 'pass', capability: 3, consumed: 11 });
});

t.test('node-q\'s bare "anonymous" is a user with an empty password', async (t) => {
  t.same(parseHandshake(bytes('anonymous', 3, 0), MAX), { user: 'anonymous', password: '', capability: 3, consumed: 11 });
});

t.test('qPython\'s lone colon is an empty user and an empty password', async (t) => {
  t.same(parseHandshake(bytes(':', 3, 0), MAX), { user: '', password: '', capability: 3, consumed: 3 });
});

t.test('either credential part may be empty', async (t) => {
  t.same(parseHandshake(bytes('user:', 1, 0), MAX), { user: 'user', password: '', capability: 1, consumed: 7 });
  t.same(parseHandshake(bytes(':secret', 6, 0), MAX), { user: '', password: 'secret', capability: 6, consumed: 9 });
  t.same(parseHandshake(bytes('', 3, 0), MAX), { user: '', password: '', capability: 3, consumed: 2 });
});

t.test('only the first colon separates user from password', async (t) => {
  t.same(parseHandshake(bytes('u:p:q', 3, 0), MAX), { user: 'u', password: 'p:q', capability: 3, consumed: 7 });
});

t.test('an old client without a capability byte gets capability 0 and keeps its last character', async (t) => {
  t.same(parseHandshake(bytes('user:pass', 0), MAX), { user: 'user', password: 'pass', capability: 0, consumed: 10 });
  t.same(parseHandshake(bytes('', 0), MAX), { user: '', password: '', capability: 0, consumed: 1 });
  // 7 is not a capability (§1.2 stops at 6): it is part of the password.
  t.same(parseHandshake(bytes('u:p', 7, 0), MAX), { user: 'u', password: 'p\x07', capability: 0, consumed: 5 });
});

t.test('every capability from 1 to 6 is read from the byte before the NUL', async (t) => {
  for (let cap = 1; cap <= 6; cap++) t.equal(parseHandshake(bytes('a:b', cap, 0), MAX)?.capability, cap);
});

t.test('a handshake split at every offset parses only once complete', async (t) => {
  const hs = bytes('trader:s3cret', 3, 0);
  for (let k = 0; k < hs.length; k++) t.equal(parseHandshake(hs.subarray(0, k), MAX), undefined, `first ${k} bytes`);
  t.same(parseHandshake(hs, MAX), { user: 'trader', password: 's3cret', capability: 3, consumed: hs.length });
});

t.test('bytes pipelined after the NUL are not consumed', async (t) => {
  const first = Buffer.from('010000000d000000fa01000000', 'hex');
  const buf = Buffer.concat([bytes('anonymous', 3, 0), first]);
  const hs = parseHandshake(buf, MAX);
  t.equal(hs?.consumed, 11);
  t.equal(buf.subarray(hs?.consumed).toString('hex'), first.toString('hex'));
});

t.test('a handshake with no NUL within maxBytes is rejected', async (t) => {
  t.equal(parseHandshake(Buffer.alloc(15, 0x61), 16), undefined, 'one byte short of the limit: wait');
  t.equal(errorCode(() => parseHandshake(Buffer.alloc(16, 0x61), 16)), 'IPC_ERR_HANDSHAKE', 'limit reached');
  t.equal(errorCode(() => parseHandshake(Buffer.alloc(100, 0x61), 16)), 'IPC_ERR_HANDSHAKE', 'far past the limit');
  t.equal(errorCode(() => parseHandshake(bytes('a'.repeat(20), 3, 0), 16)), 'IPC_ERR_HANDSHAKE', 'NUL after the limit');
  t.same(parseHandshake(bytes('a'.repeat(14), 3, 0), 16)?.consumed, 16, 'a NUL at the last allowed byte is accepted');
});

t.test('UTF-8 credentials decode as UTF-8 and other bytes losslessly as latin-1', async (t) => {
  const utf8 = Buffer.concat([Buffer.from('jürgen:pässword', 'utf8'), Buffer.from([3, 0])]);
  t.same(parseHandshake(utf8, MAX), { user: 'jürgen', password: 'pässword', capability: 3, consumed: utf8.length });
  // 0xff and 0xfe are not UTF-8: they must not both become U+FFFD and compare equal.
  const a = parseHandshake(bytes('u:\xff', 3, 0), MAX);
  const b = parseHandshake(bytes('u:\xfe', 3, 0), MAX);
  t.equal(a?.password, '\xff');
  t.not(a?.password, b?.password);
});

t.test('the reply capability is the client\'s, capped at 3', async (t) => {
  t.same([0, 1, 2, 3, 4, 5, 6].map(replyCapability), [0, 1, 2, 3, 3, 3, 3]);
});

/** Accepts one node-q connection, parses its handshake from however the bytes arrive, replies, closes. */
async function nodeqHandshake(t: { teardown(fn: () => void): void }, params: Record<string, unknown>): Promise<Handshake> {
  let parsed: Handshake | undefined;
  const server = createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      parsed = parseHandshake(buf, MAX);
      if (parsed) socket.end(Buffer.from([replyCapability(parsed.capability)]));
    });
  });
  t.teardown(() => server.close());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => {
    nodeq.connect({ host: '127.0.0.1', port, ...params }, (err, con) => {
      if (err) { reject(err); return; }
      con.on('error', () => undefined);
      con.close(() => resolve());
    });
  });
  if (!parsed) throw new Error('no handshake parsed');
  return parsed;
}

t.test('node-q\'s real handshake parses and its client accepts our reply byte', async (t) => {
  t.same(await nodeqHandshake(t, {}), { user: 'anonymous', password: '', capability: 3, consumed: 11 });
  t.same(await nodeqHandshake(t, { user: 'feed', password: 'pw:1' }),
    { user: 'feed', password: 'pw:1', capability: 3, consumed: 11 });
});
